"""The `O` screen's forms: take the pager now, cover for a colleague, swap two shifts, cancel.

Each form plans the override as it is typed (`overrides.plan_*`, which writes nothing) and shows
what would change under the fields: who holds the level before and after, from when until when, in
the viewer's zone and the schedule's. A plan the desk refuses (an overlap, an unknown person, an
empty range) is one red line there instead. Enter makes the override shown; the screen below
writes it (`overrides.commit`, which checks again inside the transaction).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ... import overrides
from ...desk import Desk
from ...errors import DeskError
from ...schedules import Override, Roster
from ...when import parse_at
from .forms import FormScreen
from .modals import MODAL_CSS

PERSON_FIELDS = ("person", "covering", "first", "second")


class OverrideForm(FormScreen):
    """Fields, then the live plan; enter makes it when the desk would accept it."""

    DEFAULT_CSS = """
    OverrideForm #plan { height: auto; margin-top: 1; padding: 0 1; width: 1fr; background: $boost; }
    OverrideForm.-short #plan { margin-top: 0; }
    OverrideForm #plan.-refused { color: $text-error; }
    """
    SUBMIT_LABEL = "Make it"
    HINT = "enter: make the change shown · tab: next · esc: cancel"

    def __init__(self, desk: Desk, roster: Roster, values: dict[str, str] | None = None) -> None:
        super().__init__(values)
        self.desk = desk
        self.roster = roster
        self.plan: overrides.Plan | None = None

    @property
    def now(self) -> datetime:
        """The desk's clock at this key: 'now' and '+4h' mean from now, however long the form is open."""
        return self.desk.now()

    def field_widget(self, name: str, placeholder: str) -> Widget:
        widget = super().field_widget(name, placeholder)
        assert isinstance(widget, Input)
        if name in PERSON_FIELDS:
            widget.suggester = SuggestFromList(sorted(self.roster.people), case_sensitive=False)
        elif name == "schedule":
            widget.suggester = SuggestFromList(sorted(self.roster.schedules), case_sensitive=False)
        return widget

    async def on_mount(self) -> None:
        # The plan goes under the fields, above the buttons: what enter will do, in view as it is typed.
        await self.query_one(VerticalScroll).mount(Static("", id="plan", markup=False))
        self.replan()

    @on(Input.Changed)
    def _typed(self) -> None:
        self.replan()

    def zone(self, schedule: str) -> tzinfo | None:
        sched = self.roster.schedules.get(schedule)
        return sched.zone if sched else None

    def schedule(self) -> str:
        return overrides.schedule_named(self.roster, self.desk.policy, self.field("schedule"))

    def make_plan(self) -> overrides.Plan:
        raise NotImplementedError

    def replan(self) -> None:
        plan_view = self.query("#plan")
        if not plan_view:
            return
        view = plan_view.first(Static)
        try:
            self.plan = self.make_plan()
        except DeskError as exc:
            self.plan = None
            view.update(f"✗ {exc}")
            view.add_class("-refused")
            return
        view.remove_class("-refused")
        view.update("\n".join(overrides.describe(self.plan, self.roster, self.desk.policy)))

    def action_submit(self) -> None:
        self.replan()  # the record may have moved since the last key: the plan shown is the one made
        if self.plan is not None:
            self.dismiss(self.plan)


class TakeForm(OverrideForm):
    """Take the pager ("I've got it"): the viewer holds a schedule from now for a few hours."""

    TITLE_TEXT = "Take the pager now"
    SUBMIT_LABEL = "Take it"
    FIELDS = (
        ("schedule", "Schedule (or level: 1, L2, its name)", "primary"),
        ("until", "For how long: 4 (hours), +90m, until 06:00, or an ISO time", "4"),
        ("person", "Who takes it (a handle from people.toml)", ""),
        ("reason", "Why (kept on the audit trail)", "optional"),
    )

    def make_plan(self) -> overrides.Plan:
        schedule = self.schedule()
        until = parse_at(self.field("until"), self.now, self.zone(schedule), bare_hours=True)
        return overrides.plan_add(
            self.desk,
            self.roster,
            schedule,
            self.field("person"),
            ends_at=until,
            reason=self.field("reason"),
        )


class CoverForm(OverrideForm):
    TITLE_TEXT = "Cover for a colleague"
    SUBMIT_LABEL = "Cover"
    FIELDS = (
        ("person", "Who covers", ""),
        ("covering", "For whom", ""),
        ("schedule", "Schedule (or level: 1, L2, its name)", "primary"),
        ("from", "From: now, +2h, 22:00 or an ISO time", "now"),
        ("until", "Until: +8h (after From), 06:00 or an ISO time", "+4h"),
        ("reason", "Why (kept on the audit trail)", "optional"),
    )

    def make_plan(self) -> overrides.Plan:
        schedule = self.schedule()
        zone, now = self.zone(schedule), self.now
        start = parse_at(self.field("from") or "now", now, zone)
        until = parse_at(self.field("until"), now, zone, base=start, bare_hours=True)
        return overrides.plan_add(
            self.desk,
            self.roster,
            schedule,
            self.field("person"),
            starts_at=start,
            ends_at=until,
            covering=self.field("covering") or "",
            reason=self.field("reason"),
        )


class SwapForm(OverrideForm):
    TITLE_TEXT = "Swap shifts: each takes the other's"
    SUBMIT_LABEL = "Swap"
    FIELDS = (
        ("schedule", "Schedule (or level: 1, L2, its name)", "primary"),
        ("first", "First person", ""),
        ("first_at", "Their shift: empty for the current or next, or a time inside it", "next"),
        ("second", "Second person", ""),
        ("second_at", "Their shift: empty for the current or next, or a time inside it", "next"),
        ("reason", "Why (kept on the audit trail)", "optional"),
    )

    def _at(self, name: str, schedule: str) -> datetime | None:
        text = self.field(name)
        if not text or text.lower() == "next":
            return None
        return parse_at(text, self.now, self.zone(schedule))

    def make_plan(self) -> overrides.Plan:
        schedule = self.schedule()
        return overrides.plan_swap(
            self.desk,
            self.roster,
            schedule,
            self.field("first"),
            self.field("second"),
            first_at=self._at("first_at", schedule),
            second_at=self._at("second_at", schedule),
            reason=self.field("reason"),
        )


class CancelPicker(ModalScreen[int | None]):
    """Which live override to cancel (a swap's two halves go together)."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="CancelPicker")
        + """
    CancelPicker > Vertical { width: 90; }
    CancelPicker OptionList { height: auto; max-height: 14; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, live: list[Override], roster: Roster) -> None:
        super().__init__()
        self.live = live
        self.roster = roster

    def compose(self) -> ComposeResult:
        options = []
        for o in self.live:
            entry = overrides.Entry(o.created_at or o.starts_at, o.created_by, o.kind or "made", o)
            options.append(Option(f"{overrides.entry_text(entry, self.roster)} (by {o.created_by})", id=str(o.id)))
        with Vertical():
            yield Label("Cancel which override?", classes="title")
            yield OptionList(*options, id="cancel-options", markup=False)
            yield Label("enter: see what cancelling changes · escape: keep them all", classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
