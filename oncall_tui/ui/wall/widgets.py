"""The wall's pieces: the top line, a large clock card, the one-line rows, the bottom lines.

None of them has a timer: the wall screen hands each the instant of the app's one tick, and each
repaints only when what it shows changed.
"""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Digits, Static

from ...alerts.poller import Health, State
from ...clock import format_duration, format_local
from ..board_model import BoardRow, Tone
from .model import Counts, Page, clock_of, escalation_of

TONE_STYLE = {
    Tone.BREACHED: "$text-error bold",
    Tone.WARNING: "$text-warning bold",
    Tone.CALM: "$text-success",
    Tone.DONE: "$text-muted",
    Tone.NONE: "$text-muted",
}


def _fit(content: Content, right: Content, width: int) -> Content:
    """`content` then `right` flush to the right edge of `width`, cutting the left part if needed."""
    space = width - right.cell_length
    if content.cell_length > space - 1:
        content = content.truncate(max(0, space - 1), ellipsis=True)
    return content + Content(" " * max(1, space - content.cell_length)) + right


class WallTop(Horizontal):
    """The counts across the top and the time; on a tall screen the time is in large digits."""

    def __init__(self, *, demo: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.demo = demo
        self.counts = Counts(0, 0, 0, 0)
        self.page: tuple[int, int] = (1, 1)
        self._shown: tuple | None = None
        self._summary = Static(id="wall-summary", markup=False)
        self._summary_plain = ""
        self._time = Digits("", id="wall-time")

    def compose(self) -> ComposeResult:
        yield self._summary
        yield self._time

    def show(self, now: datetime, counts: Counts, page: tuple[int, int], large: bool) -> None:
        local = now.astimezone()
        time_text = local.strftime("%H:%M:%S")
        shown = (time_text, counts, page, large, self.size.width)
        if shown == self._shown:
            return
        self._shown = shown
        self.set_class(large, "-large")
        digits = self._time
        digits.display = large
        if large:
            digits.update(time_text)
        # Below 60 columns the counts need the room more than the wall's own name does.
        parts: list[tuple[str, str] | str] = [("ON CALL WALL   ", "bold")] if self.size.width >= 60 else []
        if self.demo:
            parts += [("DEMO", "$text-accent bold"), "  "]
        if not counts.open:
            parts.append(("no open incidents", "$text-success bold"))
        else:
            parts.append((f"{counts.open} open", "bold"))
            if counts.breached:
                parts += [" · ", (f"!! {counts.breached} breached", "$text-error bold")]
            if counts.unacknowledged:
                word = "unacknowledged" if self.size.width >= 100 else "unacked"
                parts += [" · ", (f"{counts.unacknowledged} {word}", "$text-warning bold")]
        if page[1] > 1 and large:
            parts += ["   ", (f"page {page[0]}/{page[1]}", "$text-muted")]
        left = Content.assemble(*parts)
        zone = local.strftime("%Z")
        if large:  # the time is in large digits beside it; the date goes under the counts
            summary = left + Content.styled(f"\n{local:%A %d %B}  {zone}", "$text-muted")
        else:
            right = Content.assemble((time_text, "bold"), (f" {zone}", "$text-muted"))
            summary = _fit(left, right, max(20, self.size.width - 2))
        if summary.plain != self._summary_plain:  # a tall screen's summary changes with the counts only
            self._summary_plain = summary.plain
            self._summary.update(summary)


class ClockCard(Vertical):
    """One breached incident, large: its title on top, its most urgent clock in large digits."""

    def __init__(self) -> None:
        super().__init__(classes="card")
        self._shown: tuple | None = None
        self._title = Static(classes="card-title", markup=False)
        self._digits = Digits("", classes="card-digits")
        self._caption = Static(classes="card-caption", markup=False)
        self._caption_shown: tuple | None = None

    def compose(self) -> ComposeResult:
        yield self._title
        with Horizontal(classes="card-body"):
            yield self._digits
            yield self._caption

    @property
    def number(self) -> int | None:
        """The incident on this card, if any (for tests and the command palette)."""
        return self._shown[0] if self._shown else None

    @property
    def digits(self) -> str:
        return self._digits.value

    @property
    def caption(self) -> str:
        return str(self._caption.content)

    def show(self, row: BoardRow | None, now_ts: float) -> None:
        self.display = row is not None
        if row is None:
            self._shown = None
            return
        clock = clock_of(row, now_ts)
        inc = row.whole
        shown = (inc.number, inc.version, clock, self.size.width)
        if shown == self._shown:
            return
        first = self._shown is None or self._shown[:2] != shown[:2] or self._shown[3] != shown[3]
        self._shown = shown
        self.set_class(clock.tone is Tone.BREACHED, "-breached")
        self.set_class(clock.tone is Tone.WARNING, "-warning")
        self._digits.update(clock.digits)
        if first:
            sev = inc.severity.value if inc.severity else "P?"
            title = Content.assemble((f"{sev} ", "bold reverse"), (f" {inc.id}  ", "bold"), inc.title)
            self._title.update(title)
        who = inc.assignee or ("NOT ACKNOWLEDGED" if inc.acknowledged_at is None else "unassigned")
        caption = (clock.caption, clock.tone, escalation_of(row), who, inc.acknowledged_at is None)
        if caption != self._caption_shown:  # once per change of state, not once per second
            self._caption_shown = caption
            self._caption.update(
                Content.assemble(
                    (clock.caption, TONE_STYLE[clock.tone]),
                    "\n",
                    ("call ", "$text-muted"),
                    (caption[2], "bold"),
                    "\n",
                    (who, "$text-warning bold" if caption[4] else ""),
                )
            )


class IncidentLines(Widget):
    """Every other open incident, one line each: severity, id, its next clock, title, escalation."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page = Page((), 1, 1)
        self.total = 0
        self.now_ts = 0.0
        self._shown: tuple | None = None

    def show(self, page: Page, total: int, now_ts: float) -> None:
        texts = tuple(clock_of(r, now_ts).short for r in page.rows)
        shown = (tuple((r.incident.number, r.incident.version) for r in page.rows), texts, page.number, total)
        self.page, self.total, self.now_ts = page, total, now_ts
        self.display = total > 0
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def render(self) -> Content:
        width = self.content_size.width
        more = f"page {self.page.number}/{self.page.pages}" if self.page.pages > 1 else ""
        head = Content.styled(f"ALSO OPEN  {self.total}", "bold $text-muted")
        lines = [_fit(head, Content.styled(more, "$text-muted"), width)]
        clock_width = max((len(clock_of(r, self.now_ts).short) for r in self.page.rows), default=0)
        for row in self.page.rows:
            inc = row.whole
            clock = clock_of(row, self.now_ts)
            sev = inc.severity.value if inc.severity else "P?"
            left = Content.assemble(
                (f"{sev} ", "bold"),
                (f"{inc.id:<8}", "bold"),
                (f"{clock.short:<{clock_width}}  ", TONE_STYLE[clock.tone]),
                inc.title,
            )
            right = Content.styled(f"  {escalation_of(row)}", "$text-muted") if width >= 100 else Content("")
            lines.append(_fit(left, right, width))
        return Content("\n").join(lines)


class AllClear(Vertical):
    """Nothing open: a quiet screen that still says who is on call and since when all is clear."""

    def compose(self) -> ComposeResult:
        yield Static("All clear", id="all-clear-title", markup=False)
        yield Static("no open incidents", id="all-clear-text", markup=False)


class OnCallLine(Widget):
    """Who is on call: each escalation level, the person holding it (from the schedules, once there
    are any; else the policy's contact), and the incidents that reached it."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ladder: list[tuple[str, str, list[str]]] = []
        self.holders: dict[str, tuple[str, datetime | None, str]] = {}

    def show(
        self, ladder: list[tuple[str, str, list[str]]], holders: dict[str, tuple[str, datetime | None, str]]
    ) -> None:
        if ladder != self.ladder or holders != self.holders:
            self.ladder, self.holders = ladder, dict(holders)
            self.refresh()

    def render(self) -> Content:
        parts: list[tuple[str, str] | str] = [("ON CALL  ", "bold")]
        wide = self.content_size.width >= 160  # narrower, the levels and their incidents come first
        for i, (level, contact, ids) in enumerate(self.ladder):
            if i:
                parts.append(("  ·  ", "$text-muted"))
            parts.append((level, "bold" if not self.holders else "$text-muted"))
            held = self.holders.get(level)
            if held is not None:
                name, until, why = held
                if name:
                    parts.append((f" {name}", "bold"))
                    if until is not None and wide:
                        parts.append((f" until {until.astimezone():%a %H:%M}", "$text-muted"))
                else:
                    parts.append((" NOBODY" + (f" ({why})" if wide and why else ""), "$text-error bold"))
            elif wide and contact and contact.lower() != level.lower():
                parts.append((f" {contact}", "$text-muted"))
            if ids:
                shown = ", ".join(ids[:3]) + (f" +{len(ids) - 3}" if len(ids) > 3 else "")
                parts.append((f" ← {shown}", "$text-warning bold"))
        return Content.assemble(*parts).truncate(self.content_size.width, ellipsis=True)


class HealthLine(Widget):
    """Is the wall telling the truth: the desk file's last read, and Alertmanager's health."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.alertmanager: str | None = None  # its URL, when one is configured
        self.health = Health()
        self.store_problem = ""
        self.read_at: datetime | None = None
        self.now: datetime | None = None

    def render(self) -> Content:
        now = self.now
        parts: list[tuple[str, str] | str] = []
        if self.store_problem:
            parts.append((f"DESK UNREADABLE: {self.store_problem}", "$text-error bold"))
        elif self.read_at is not None and now is not None:
            stale = (now - self.read_at).total_seconds()
            if stale < 5:  # read on the last tick: no need to repaint a time every second
                parts.append(("desk live", "$text-success"))
            else:
                parts.append((f"desk last read {format_local(self.read_at)}", "$text-warning bold"))
        parts.append(("   ", ""))
        parts.append(self._alertmanager(now))
        hint = Content.styled("q quit · ctrl+p commands", "$text-muted")
        return _fit(Content.assemble(*parts), hint, self.content_size.width)

    def _alertmanager(self, now: datetime | None) -> tuple[str, str]:
        if not self.alertmanager:
            return ("Alertmanager not configured", "$text-muted")
        h = self.health
        if h.state is State.STARTING:
            return ("Alertmanager connecting…", "$text-muted")
        if h.state is State.OK:
            age = format_duration((now - h.last_ok_at).total_seconds()) if now and h.last_ok_at else "?"
            firing = f"{h.alerts} firing" if h.alerts else "nothing firing"
            return (f"Alertmanager ok · {firing} · {age} ago", "$text-success")
        return (f"ALERTMANAGER DOWN: {h.error}", "$text-error bold")
