"""Paging inside the desk: the pager as a worker on the app's one tick, and what it knows as one
short piece of the top line (`☎ Ava until Mon 10:00 · agent ✓`) plus a red line when somebody
could not be reached.

`PagingStatus` watches `app.now` (no timer of its own). Each tick, unless the last look is still
running, it starts one thread worker that opens its own connection to the file (a Store is not
shared between threads), lets the core `Pager` claim and send whatever is due — the claim keeps this
desk, other desks and agents to one sender — and reads back who holds each level, who is watching
and who could not be reached. Apprise is imported in that thread, after the first frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual import work
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

from ...clock import format_duration
from ...desk import Desk
from ...errors import DeskError

if TYPE_CHECKING:
    from ...notify.pager import Pager

COMPACT_BELOW = 110
PAGING_MAX_WIDTH = 60  # its share of the top line, at most (see PagingStatus's CSS)


class TopLine(Horizontal):
    """The top line when paging shares it without the Alertmanager indicator."""

    DEFAULT_CSS = """
    TopLine { height: 1; }
    TopLine > * { width: 1fr; }
    TopLine > PagingStatus { width: auto; }
    """


@dataclass(frozen=True, slots=True)
class Holder:
    level: str
    person: str  # display name, "" when nobody
    until: datetime | None
    tz: str  # the schedule's zone, "" for a level that names a person
    why_nobody: str = ""


@dataclass(frozen=True, slots=True)
class PagingView:
    """What the last look found; built in the worker thread, read on the UI thread."""

    configured: bool = False
    holders: tuple[Holder, ...] = ()
    agents: int = 0
    pagers: int = 0  # desks and agents that page (this desk included)
    unreached: tuple[tuple[int, str], ...] = ()  # (incident number, "could not reach Ava")
    problem: str = ""  # the roster files, as read
    address_problems: tuple[str, ...] = ()
    people: tuple[tuple[str, str], ...] = ()  # (handle, name)
    at: datetime | None = None
    error: str = ""
    sent: tuple[Any, ...] = field(default_factory=tuple)


def when(moment: datetime | None, tz: str = "") -> str:
    """'Mon 10:00' in the viewer's zone, with the schedule's own when it differs."""
    if moment is None:
        return ""
    local = moment.astimezone()
    text = local.strftime("%a %H:%M")
    if tz:
        from zoneinfo import ZoneInfo

        theirs = moment.astimezone(ZoneInfo(tz))
        if theirs.utcoffset() != local.utcoffset():
            text += f" ({theirs.strftime('%H:%M')} {tz.rsplit('/', 1)[-1].replace('_', ' ')})"
    return text


class PagingStatus(Widget):
    DEFAULT_CSS = """
    PagingStatus { width: auto; max-width: 60; height: 1; padding: 0 1; background: $panel; }
    StatusLine > PagingStatus { width: auto; }
    """

    def __init__(self, desk: Desk, *, id: str | None = "paging-status") -> None:
        super().__init__(id=id)
        self.desk = desk
        self.view = PagingView()
        self._busy = False
        self._pager: Pager | None = None
        self._addresses_for: object = None
        self._address_problems: tuple[str, ...] = ()
        self._told: set[str] = set()

    def on_mount(self) -> None:
        self.watch(self.app, "now", self._tick, init=False)

    def on_unmount(self) -> None:
        if self._pager is not None:
            pager, self._pager = self._pager, None
            pager.close(wait=5)
            pager.desk.close()

    def _tick(self, now: datetime) -> None:
        if not self._busy:
            self._busy = True
            self.look(now)
        self.refresh()

    # --- the worker ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="paging")
    def look(self, now: datetime) -> None:
        try:
            view = self._look(now)
        except Exception as exc:  # a bug or a broken file: the board keeps running and says so
            view = PagingView(configured=self.view.configured, holders=self.view.holders, error=f"{exc}")
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._seen, view)

    def _look(self, now: datetime) -> PagingView:
        from ...notify.pager import Pager, live_overrides, unreached
        from ...roster import RosterSource, holdings

        if self._pager is None:
            desk = self.desk.reopen(
                readonly=self.desk.readonly,
            )
            self._pager = Pager(desk, RosterSource(self.desk.policy), kind="desk")
        pager = self._pager
        roster = pager.roster.get()
        if not roster.configured:
            return PagingView(problem=pager.roster.problem, at=now)
        pager.step(now)
        store = pager.desk.store
        overrides = live_overrides(store, now)
        holders = []
        for h in holdings(roster, self.desk.policy, now, overrides):
            tz = roster.schedules[h.target.split(" ", 1)[1]].tz if h.target.startswith("schedule ") else ""
            name = roster.people[h.person].name if h.person else ""
            holders.append(Holder(h.level, name, h.until, tz, h.why_nobody))
        stale = timedelta(seconds=self.desk.policy.paging.watcher_stale_seconds)
        from ...clock import from_iso

        fresh = [w for w in store.watcher_rows() if (seen := from_iso(w["seen_at"])) and now - seen <= stale]
        names = {p.handle: p.name for p in roster.people.values()}
        lost = tuple((inc.number, text) for inc, text in unreached(pager.desk, pager.desk.incidents(), names))
        if self._addresses_for is not roster:
            self._addresses_for = roster
            self._address_problems = _address_problems(roster)
        return PagingView(
            configured=True,
            holders=tuple(holders),
            agents=sum(1 for w in fresh if w["kind"] == "agent"),
            pagers=sum(1 for w in fresh if w["pages"]),
            unreached=lost,
            problem=pager.roster.problem,
            address_problems=self._address_problems,
            people=tuple((p.handle, p.name) for p in roster.people.values()),
            at=now,
        )

    def _seen(self, view: PagingView) -> None:
        self._busy = False
        self.view = view
        self.refresh(layout=True)  # width: auto — the line is as long as what it says
        for text, severity in (
            (view.problem, "error"),
            (view.error and f"paging: {view.error}", "error"),
            *((p, "warning") for p in view.address_problems),
        ):
            if text and text not in self._told:
                self._told.add(text)
                self.notify(text, title="Paging", severity=severity, timeout=15, markup=False)  # type: ignore[arg-type]
        screen = self.screen  # the board's: a dialog on top must not receive the line
        banner = screen.query("#unreached-banner")
        text = "  ".join(f"INC-{n}: {t}" for n, t in view.unreached)
        if text and not banner:
            main = screen.query("#main")
            if main:
                screen.mount(UnreachedBanner(text), before=main.first())  # where the integrity banner goes
        elif banner:
            if text:
                banner.first(UnreachedBanner).update_text(text)
            else:
                banner.remove()

    # --- what the line says -------------------------------------------------------------------

    def contact(self, level: str) -> str:
        """Who holds `level` now, for the Clocks tab: 'Ava Jones until Mon 10:00'."""
        for h in self.view.holders:
            if h.level == level:
                if not h.person:
                    return f"nobody — {h.why_nobody}"
                return h.person + (f" until {when(h.until, h.tz)}" if h.until else "")
        return ""

    def render(self) -> Content:
        v = self.view
        compact = self.app.size.width < COMPACT_BELOW
        if v.at is None:
            return Content.styled("☎ …", "$foreground-muted")
        if not v.configured:
            return Content.styled("☎ paging off" if compact else "☎ paging off: no people.toml", "$text-warning")
        # The most detail that fits its share of the line; a name is shortened to the first name,
        # never cut mid-word (the line's max-width would cut it).
        budget = PAGING_MAX_WIDTH - 2 if not compact else max(16, self.app.size.width - 56)
        steps = [(False, True, True), (False, False, True), (False, False, False), (True, False, False)]
        line = Content("")
        for first_name, duration, long_agent in steps[3:] if compact else steps:
            line = self._line(v, first_name=first_name, duration=duration, long_agent=long_agent)
            if line.cell_length <= budget:
                break
        return line

    def _line(self, v: PagingView, *, first_name: bool, duration: bool, long_agent: bool) -> Content:
        parts: list[tuple[str, str]] = []
        first = v.holders[0] if v.holders else None
        if first and first.person:
            name = first.person.split()[0] if first_name else first.person
            parts.append((f"☎ {name}", "bold"))
            if first.until and duration and v.at is not None:
                left = format_duration((first.until - v.at).total_seconds())
                parts.append((f" {left}", "$foreground-muted"))
        else:
            parts.append(("☎ nobody", "$text-error bold"))
        parts.append((" · ", ""))
        if v.agents:
            parts.append(("agent ✓", "$text-success"))
        elif v.pagers and not self.desk.readonly:
            parts.append(("no agent: pages while open" if long_agent else "no agent", "$text-warning"))
        else:
            parts.append(("nobody will be paged", "$text-error bold"))
        return Content.assemble(*parts)

    def page_by_hand(self, number: int, *, level: int | None, person: str | None) -> None:
        self._page_by_hand(number, level, person)

    @work(thread=True, exit_on_error=False, group="escalate")
    def _page_by_hand(self, number: int, level: int | None, person: str | None) -> None:
        from ...notify.pager import Pager
        from ...roster import RosterSource

        desk = self.desk.reopen()
        pager = Pager(desk, RosterSource(self.desk.policy), kind="desk")
        try:
            outcome = pager.page_now(number, level=level, person=person)
        except DeskError as exc:  # no such level or person, nobody configured: said, and the desk goes on
            self.app.call_from_thread(
                self.notify, str(exc), title="Not paged", severity="error", timeout=10, markup=False
            )
            return
        finally:
            pager.close(wait=1)
            desk.close()
        ok = outcome.state == "delivered"
        self.app.call_from_thread(
            self.notify,
            f"INC-{number}: {outcome.person or 'nobody'} — {outcome.state}: {outcome.summary}",
            title="Paged" if ok else "Page failed",
            severity="information" if ok else "error",
            timeout=10,
            markup=False,
        )


def _address_problems(roster) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    from ...notify.channels import problem

    out = []
    for person in roster.people.values():
        if not person.notify:
            out.append(f"{person.name} has no notify address in people.toml: a page to them reaches nobody")
            continue
        bad = [p for p in (problem(u) for u in person.notify) if p]
        if len(bad) == len(person.notify):
            out.append(f"{person.name} has no working address: {bad[0]}")
    return tuple(out)


class UnreachedBanner(Static):
    """The red line: a page reached nobody, and the next tier was paged instead."""

    DEFAULT_CSS = """
    UnreachedBanner { height: auto; max-height: 2; background: $error; color: $text; padding: 0 1; }
    """

    def __init__(self, text: str) -> None:
        super().__init__(self._content(text), id="unreached-banner")

    @staticmethod
    def _content(text: str) -> Content:
        return Content.assemble(("Paging: ", "bold"), text)

    def update_text(self, text: str) -> None:
        self.update(self._content(text))
