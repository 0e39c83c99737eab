"""Who is on call: now and next per level and per schedule, and the coming two weeks (`O`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ...desk import Desk
from ..dialogs.modals import MODAL_CSS
from ..widgets.paging_status import when

DAYS_AHEAD = 14


def oncall_text(desk: Desk, now: datetime, *, days: int = DAYS_AHEAD) -> Content:
    """The screen's body: the same facts as `oncall-tui oncall`."""
    from ...notify.pager import live_overrides
    from ...roster import RosterSource, holdings

    source = RosterSource(desk.policy)
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
    overrides = live_overrides(desk.store, now)
    lines.append(Content.styled("Levels", "bold"))
    for h in holdings(roster, desk.policy, now, overrides):
        tz = roster.schedules[h.target.split(" ", 1)[1]].tz if h.target.startswith("schedule ") else ""
        if h.person:
            who = roster.people[h.person].name
            until = f" until {when(h.until, tz)}" if h.until else ""
            nxt = f", then {roster.people[h.next_person].name}" if h.next_person else ""
            lines.append(Content.assemble((f"  {h.level:<22}", "$foreground-muted"), (who, "bold"), until + nxt))
        else:
            lines.append(
                Content.assemble(
                    (f"  {h.level:<22}", "$foreground-muted"), ("nobody", "$text-error bold"), f" — {h.why_nobody}"
                )
            )
    for name, sched in roster.schedules.items():
        lines.append(Content(""))
        lines.append(Content.styled(f"{name} ({sched.tz}) — next {days} days", "bold"))
        for s in roster.shifts(name, now, now + timedelta(days=days), overrides):
            who = roster.people[s.person].name if s.person else "nobody"
            mark = f"  override #{s.override.id} by {s.override.created_by}" if s.override else ""
            style = "$text-error" if s.person is None else ("$text-accent" if s.override else "")
            lines.append(
                Content.assemble(
                    (f"  {when(s.starts_at, sched.tz):<26}", "$foreground-muted"),
                    (f"→ {when(s.ends_at, sched.tz):<26} ", "$foreground-muted"),
                    (who, style),
                    (mark, "$text-accent"),
                )
            )
    return Content("\n").join(lines)


class OnCallScreen(ModalScreen[None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="OnCallScreen")
        + """
    OnCallScreen > Vertical { width: 100; height: 90%; }
    OnCallScreen VerticalScroll { height: 1fr; }
    """
    )
    BINDINGS = [Binding("escape,q", "close", "Close", show=False)]

    def __init__(self, desk: Desk, now: datetime) -> None:
        super().__init__()
        self.desk = desk
        self.at = now

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Who is on call", classes="title")
            with VerticalScroll():
                yield Static(oncall_text(self.desk, self.at), id="oncall-body")
            yield Label("oncall-tui override add SCHEDULE PERSON --hours N to cover · esc closes", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
