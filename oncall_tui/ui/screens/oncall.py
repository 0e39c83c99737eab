"""Who is on call (`O`): now and next per level and per schedule, the coming two weeks, and the
overrides' audit trail; and, from here, taking the pager, covering, swapping and cancelling.

Each change is a form that shows what it will do before enter makes it (see
dialogs/override_forms.py); the screen shows the result at once, and re-reads the record whenever
another desk changes it (`app.record_revision`, and `record_touched` for a commit that touched no
incident, as an override is).
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Label, Static

from ... import overrides
from ...desk import Desk
from ...errors import DeskError
from ...schedules import Override, Roster
from ..widgets.footer import DeskFooter
from ..widgets.paging_status import when

if TYPE_CHECKING:
    from ...roster import RosterSource
    from ..app import OncallApp

DAYS_AHEAD = 14
HISTORY_SHOWN = 40  # the newest entries; `oncall-tui override history` has them all


def dated(moment: datetime, zone: tzinfo) -> str:
    """'Mon 07 Dec 09:00 (10:00)': the viewer's time with the date, the schedule's in brackets
    when its clock reads otherwise (with its weekday when even the day differs)."""
    mine, theirs = moment.astimezone(), moment.astimezone(zone)
    text = f"{mine:%a %d %b %H:%M}"
    if theirs.utcoffset() != mine.utcoffset():
        text += f" ({theirs:%a %H:%M})" if theirs.date() != mine.date() else f" ({theirs:%H:%M})"
    return text


def oncall_text(source: RosterSource, desk: Desk, now: datetime, *, days: int = DAYS_AHEAD, width: int = 78) -> Content:
    """The screen's body: the same facts as `oncall-tui oncall`, packed into `width` columns."""
    from ...notify.pager import live_overrides
    from ...roster import holdings

    roster = source.get()
    lines: list[Content] = []
    if source.problem:
        lines.append(Content.styled(source.problem, "$text-error"))
    if not roster.configured:
        lines.append(
            Content(
                f"Nobody can be paged: there is no people.toml in {source.directory}.\n"
                "Add people.toml and schedules.toml there and name a schedule or person for each level\n"
                "of the escalation matrix in policy.toml (README, 'Paging')."
            )
        )
        return Content("\n").join(lines)
    live = live_overrides(desk.store, now)
    lines.append(Content.styled("Levels", "bold"))
    pad = " " * 24
    for h in holdings(roster, desk.policy, now, live):
        tz = roster.schedules[h.target.split(" ", 1)[1]].tz if h.target.startswith("schedule ") else ""
        if h.person:
            who = roster.people[h.person].name
            until = f" until {when(h.until, tz)}" if h.until else ""
            line = Content.assemble((f"  {h.level:<22}", "$foreground-muted"), (who, "bold"), until)
            if h.next_person:
                nxt = f", then {roster.people[h.next_person].name}"
                if line.cell_length + len(nxt) <= width:
                    line += Content(nxt)
                else:  # the next holder on a line of their own, under the name, never cut
                    lines.append(line)
                    line = Content(pad + nxt.removeprefix(", "))
            lines.append(line)
        else:
            lines.append(
                Content.assemble(
                    (f"  {h.level:<22}", "$foreground-muted"), ("nobody", "$text-error bold"), f" — {h.why_nobody}"
                )
            )
    viewer = now.astimezone().strftime("%Z")
    for name, sched in roster.schedules.items():
        lines.append(Content(""))
        lines.append(
            Content.assemble(
                (f"{name} — next {days} days", "bold"), (f"  ({viewer}; {sched.tz} in brackets)", "$foreground-muted")
            )
        )
        for s in roster.shifts(name, now, now + timedelta(days=days), live):
            who = roster.people[s.person].name if s.person else "nobody"
            mark = f"  #{s.override.id} by {s.override.created_by}" if s.override else ""
            style = "$text-error" if s.person is None else ("$text-accent" if s.override else "")
            span = f"  {dated(s.starts_at, sched.zone)} → {dated(s.ends_at, sched.zone)}  "
            if len(span) + len(who) + len(mark) > width:
                mark = f"  #{s.override.id}" if s.override else ""
            lines.append(Content.assemble((span, "$foreground-muted"), (who, style), (mark, "$text-accent")))
    return Content("\n").join(lines)


def history_text(desk: Desk, roster: Roster, *, width: int = 78) -> Content:
    """The overrides' audit trail, newest first: when, who did it, what (wrapped under itself)."""
    entries = overrides.history(desk, limit=HISTORY_SHOWN)
    if not entries:
        return Content.styled("  No override yet: t takes the pager, c covers, s swaps.", "$foreground-muted")
    lines = []
    for e in entries:
        style = "$foreground-muted" if e.action == "cancelled" else ""
        when_who = Content.assemble(
            (f"  {e.at.astimezone():%a %d %b %H:%M}  ", "$foreground-muted"), (f"{e.actor:<8} ", "bold")
        )
        indent = when_who.cell_length
        wrapped = textwrap.wrap(overrides.entry_text(e, roster), max(20, width - indent)) or [""]
        lines.append(when_who + Content.styled(wrapped[0], style))
        lines.extend(Content.styled(" " * indent + rest, style) for rest in wrapped[1:])
    return Content("\n").join(lines)


class OnCallScreen(Screen[None]):
    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    DEFAULT_CSS = """
    OnCallScreen { layout: vertical; }
    OnCallScreen #oncall-header { height: 1; padding: 0 1; background: $panel; text-style: bold; width: 1fr; }
    OnCallScreen #oncall-scroll { height: 1fr; padding: 0 1; }
    OnCallScreen .section { text-style: bold; margin-top: 1; width: 1fr; }
    OnCallScreen #oncall-history { height: auto; }
    """
    BINDINGS = [
        Binding("t", "take", "Take", id="oncall.take", tooltip="Take the pager now for a few hours (I've got it)"),
        Binding(
            "c",
            "cover",
            "Cover",
            id="oncall.cover",
            tooltip="Cover for a colleague: who covers whom, on which schedule, from when until when",
        ),
        Binding(
            "s",
            "swap",
            "Swap",
            id="oncall.swap",
            tooltip="Swap two people's shifts: each takes the other's (made and cancelled together)",
        ),
        Binding(
            "x",
            "cancel_override",
            "Cancel override",
            id="oncall.cancel",
            tooltip="Cancel an override: the rotation holds again (the audit trail keeps it)",
        ),
        Binding("escape", "close", "Back", id="oncall.close", tooltip="Back to the board"),
    ]

    def __init__(self, desk: Desk, now: datetime) -> None:
        super().__init__()
        from ...roster import RosterSource

        self.desk = desk
        self.at = now
        self.source = RosterSource(desk.policy)

    def compose(self) -> ComposeResult:
        yield Static("", id="oncall-header", markup=False)
        with VerticalScroll(id="oncall-scroll"):
            yield Static("", id="oncall-body")
            yield Label("Overrides: the audit trail, newest first", classes="section")
            yield Static("", id="oncall-history")
        yield DeskFooter()

    def on_mount(self) -> None:
        self.call_after_refresh(self.show)  # once laid out: the body packs its lines to its width
        # Another desk's override touches no incident: it moves `record_touched`, not `record_revision`.
        self.watch(self.app, "record_revision", lambda _: self.show(), init=False)
        self.watch(self.app, "record_touched", lambda _: self.show(), init=False)
        self.query_one("#oncall-scroll").focus()

    def on_resize(self) -> None:
        self.call_after_refresh(self.show)

    def show(self) -> None:
        """Read the schedules, the overrides and their history again, and paint them."""
        self.at = now = self.app.clock.now()
        self.query_one("#oncall-header", Static).update(f"Who is on call · {now.astimezone():%a %d %b %H:%M %Z}")
        with self.app.reporting():
            # The scroll's width, less its padding and a scrollbar (there is one whenever the body is long).
            width = (self.query_one("#oncall-scroll").size.width or self.app.size.width) - 4
            self.query_one("#oncall-body", Static).update(oncall_text(self.source, self.desk, now, width=width))
            self.query_one("#oncall-history", Static).update(history_text(self.desk, self.source.roster, width=width))

    # --- actions ------------------------------------------------------------------------------

    def _roster(self) -> Roster | None:
        """The roster when overrides can be made here, else None (and the engineer was told why)."""
        roster = self.source.get()
        if not roster.configured:
            self.notify(
                "Nobody can be paged: add people.toml and schedules.toml to the config directory (README, 'Paging').",
                title="No schedules",
                severity="warning",
            )
            return None
        if self.desk.readonly:
            self.notify("This desk is read-only: overrides cannot be made here.", severity="warning")
            return None
        return roster

    def _defaults(self, roster: Roster) -> dict[str, str]:
        """The first level's schedule, and the viewer when they are in people.toml."""
        first = next((t.schedule for t in self.desk.policy.escalation if t.schedule), "")
        schedule = first or next(iter(roster.schedules), "")
        me = self.desk.actor if self.desk.actor in roster.people else ""
        return {"schedule": schedule, "person": me}

    def _make(self, plan: overrides.Plan | None) -> None:
        if plan is None:
            return
        made = self.app.attempt(overrides.commit, self.desk, plan)
        self.show()
        if made:
            change = plan.changes[0]
            roster = self.source.roster
            if plan.kind == "swap":
                a, b = (roster.people[o.person].name for o in made)
                said = f"{a} and {b} swapped shifts on {made[0].schedule} (#{made[0].id}, #{made[1].id})"
            else:
                o = made[0]
                said = f"{roster.people[o.person].name} holds {o.schedule} until {when(change.ends_at, roster.schedules[o.schedule].tz)} (#{o.id})"
            self.notify(said, title="Override made", timeout=6, markup=False)

    def action_take(self) -> None:
        if (roster := self._roster()) is None:
            return
        from ..dialogs.override_forms import TakeForm

        values = self._defaults(roster) | {"until": "4"}
        self.app.push_screen(TakeForm(self.desk, roster, values), self._make)

    def action_cover(self) -> None:
        if (roster := self._roster()) is None:
            return
        from ..dialogs.override_forms import CoverForm

        values = self._defaults(roster) | {"from": "now", "until": "+4h"}
        self.app.push_screen(CoverForm(self.desk, roster, values), self._make)

    def action_swap(self) -> None:
        if (roster := self._roster()) is None:
            return
        from ..dialogs.override_forms import SwapForm

        values = self._defaults(roster)
        values = {"schedule": values["schedule"], "first": values["person"]}
        self.app.push_screen(SwapForm(self.desk, roster, values), self._make)

    def action_cancel_override(self) -> None:
        if (roster := self._roster()) is None:
            return
        from ...notify.pager import live_overrides

        now = self.app.clock.now()
        live: list[Override] | None = self.app.attempt(live_overrides, self.desk.store, now)
        live = [o for o in live or [] if o.ends_at > now]
        if not live:
            self.notify("No live override to cancel.", timeout=4)
            return
        from ..dialogs.modals import ConfirmScreen
        from ..dialogs.override_forms import CancelPicker

        def picked(override_id: int | None) -> None:
            if override_id is None:
                return
            try:
                plan = overrides.plan_cancel(self.desk, roster, override_id)
            except DeskError as exc:
                self.app.report(exc)
                self.show()
                return
            pair = " and the other half of its swap" if len(plan.changes) > 1 else ""
            self.app.push_screen(
                ConfirmScreen(
                    f"Cancel override #{override_id}{pair}?",
                    "\n".join(overrides.describe(plan, roster, self.desk.policy)),
                    yes="Cancel it",
                    no="Keep it",
                ),
                lambda yes: self._cancelled(override_id) if yes else None,
            )

        self.app.push_screen(CancelPicker(live, roster), picked)

    def _cancelled(self, override_id: int) -> None:
        gone = self.app.attempt(overrides.cancel, self.desk, override_id)
        self.show()
        if gone:
            ids = ", ".join(f"#{o.id}" for o in gone)
            self.notify(f"Cancelled {ids}: {gone[0].schedule} follows its rotation again", timeout=6, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
