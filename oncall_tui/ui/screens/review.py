"""The post-incident review of one incident: its timeline, its factors, its action items.

Everything is done by key: `a` add an item, `e`/enter edit it, space tick it; `f` edit the
contributing factors; `s` schedule the review, `c` record it held, `w` waive it; `x` write the
Markdown review document. The timeline shows every missed deadline — the ones a desk recorded and
the ones the milestones prove but nobody was watching when they ran out.

The screen follows the app's one clock: each tick re-reads the incident row (one query) and repaints
only when its version moved, which every review action and every other desk's change does.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, getters, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, Static, TextArea
from textual.widgets.data_table import ColumnKey

from ... import event_text, export_review, review
from ...clock import format_duration, iso
from ...config import DeskOptions
from ...deadlines import State
from ...desk import Desk
from ...errors import DeskError, InputError
from ...model import Event, Incident
from ...when import parse_future as parse_when
from ..dialogs.forms import FormScreen
from ..dialogs.modals import MODAL_CSS, TextPrompt
from ..widgets.footer import DeskFooter

if TYPE_CHECKING:
    from ..app import OncallApp

TIME_FORMAT = "%m-%d %H:%M"
ACTOR_WIDTH = 9
PREFIX = len("11-27 03:00") + 2 + ACTOR_WIDTH + 1  # where an event's text starts
FIXED_COLUMNS = 3 + 4 + 10 + 10  # done, #, owner, due: the action title gets the rest


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return moment.astimezone().strftime(fmt) if moment else "—"


# --- dialogs --------------------------------------------------------------------------------------


class ActionItemForm(FormScreen):
    """Title, owner and due date of one action item; dismisses with (title, owner, due)."""

    SUBMIT_LABEL = "Save"
    FIELDS: tuple[tuple[str, str, str], ...] = (
        ("title", "Action (required): what will be done", "e.g. Alert when the JWKS cache is empty"),
        ("owner", "Owner", "who sees it through"),
        ("due", "Due: {example}, +3d or +2w; empty for none", "+1w"),
    )

    def __init__(self, heading: str, today, values: dict[str, str] | None = None) -> None:
        super().__init__(values)
        self.TITLE_TEXT = heading
        self.today = today
        # The example is a week from the desk's today, so the label never shows a date gone by.
        example = (today + timedelta(days=7)).isoformat()
        self.FIELDS = tuple((n, label.format(example=example), p) for n, label, p in self.FIELDS)

    def action_submit(self) -> None:
        errors: dict[str, str] = {}
        if not self.field("title"):
            errors["title"] = "an action item needs a title"
        due = None
        try:
            due = review.parse_due(self.field("due"), self.today)
        except InputError as exc:
            errors["due"] = str(exc)
        if self.show_errors(errors):
            return
        self.dismiss((self.field("title"), self.field("owner"), due))


class ScheduleForm(FormScreen):
    """When the review is and who attends; dismisses with (instant, attendees)."""

    SUBMIT_LABEL = "Schedule"
    FIELDS: tuple[tuple[str, str, str], ...] = (
        ("when", "When: {example}, 14:00 (the next one) or in 26h", ""),
        ("attendees", "Attendees, comma-separated: everyone relevant", "e.g. ava, sam, dana"),
    )

    def __init__(self, heading: str, now: datetime, values: dict[str, str]) -> None:
        super().__init__(values)
        self.TITLE_TEXT = heading
        self.now = now
        # The example is tomorrow at 14:00 on the desk's clock, so the label never shows a date gone by.
        example = f"{(now.astimezone() + timedelta(days=1)).date().isoformat()} 14:00"
        self.FIELDS = tuple((n, label.format(example=example), p) for n, label, p in self.FIELDS)

    def action_submit(self) -> None:
        when = None
        try:
            when = parse_when(self.field("when"), self.now)
        except InputError as exc:
            self.show_errors({"when": str(exc)})
            return
        self.show_errors({})
        self.dismiss((when, review.parse_attendees(self.field("attendees"))))


class FactorsEditor(ModalScreen[str | None]):
    """Several lines of contributing factors; ctrl+s saves, escape cancels."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="FactorsEditor")
        + """
    FactorsEditor > Vertical { width: 90; }
    FactorsEditor TextArea { height: 12; max-height: 1fr; }
    """
    )
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", show=False),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    def __init__(self, heading: str, text: str) -> None:
        super().__init__()
        self.heading = heading
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading, classes="title", markup=False)
            yield TextArea(self.text, id="factors-text", soft_wrap=True, show_line_numbers=False)
            yield Static(
                "What made it possible, worse or longer — one per line. ctrl+s: save · escape: cancel", classes="hint"
            )

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the screen -----------------------------------------------------------------------------------


class ReviewScreen(Screen[None]):
    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    # Everything stacks, full width (long titles and timeline lines need it); a tall terminal gives
    # the action items and factors more rows.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    ReviewScreen #review-header { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ReviewScreen #review-status { height: auto; padding: 0 1; }
    ReviewScreen #review-body { height: 1fr; }
    ReviewScreen #review-timeline-box { height: 1fr; min-height: 5; }
    ReviewScreen #review-side { height: auto; max-height: 60%; }
    ReviewScreen .section { height: 1; padding: 0 1; color: $text-muted; text-style: bold; }
    ReviewScreen #review-timeline { height: 1fr; padding: 0 1; }
    ReviewScreen #review-timeline-text { width: 1fr; text-wrap: nowrap; text-overflow: clip; }
    ReviewScreen #review-items { height: auto; max-height: 6; }
    ReviewScreen.-tall #review-items { max-height: 12; }
    ReviewScreen #review-factors { height: auto; max-height: 3; padding: 0 1; }
    ReviewScreen.-tall #review-factors { max-height: 8; }
    """
    BINDINGS = [
        Binding("a", "add_item", "Add", id="review.add_item", tooltip="Add an action item (title, owner, due)"),
        Binding("e", "edit_item", "Edit", id="review.edit_item", tooltip="Edit the selected action item"),
        Binding("space", "toggle_item", "Done", id="review.toggle_item", tooltip="Tick or untick the selected item"),
        Binding("f", "factors", "Factors", id="review.factors", tooltip="Edit the contributing factors"),
        Binding(
            "s",
            "schedule",
            "Schedule",
            id="review.schedule",
            tooltip="Schedule the review: when (24–48 h after resolution) and who attends",
        ),
        Binding("c", "complete", "Held", id="review.complete", tooltip="Record that the review took place"),
        Binding("w", "waive", "Waive", id="review.waive", tooltip="Waive the review, with a reason kept on record"),
        Binding("x", "export", "Export", id="review.export", tooltip="Write the Markdown review document"),
        Binding("escape", "close", "Back", id="review.close", tooltip="Back to the board"),
    ]

    def __init__(self, desk: Desk, number: int, *, options: DeskOptions | None = None) -> None:
        super().__init__()
        self.desk = desk
        self.number = number
        self.options = options
        self.incident: Incident = desk.get(number)
        self.items: list[review.ActionItem] = []
        self.review_state = review.state(desk, self.incident)
        self._shown_version = -1

    def compose(self) -> ComposeResult:
        yield Static("", id="review-header", markup=False)
        yield Static("", id="review-status")
        with Vertical(id="review-body"):
            with Vertical(id="review-timeline-box"):
                yield Label("Timeline", classes="section")
                with VerticalScroll(id="review-timeline", can_focus=True):
                    yield Static("", id="review-timeline-text")
            with Vertical(id="review-side"):
                yield Label("Action items", classes="section")
                table: DataTable[Text] = DataTable(id="review-items", cursor_type="row", zebra_stripes=False)
                table.add_column("", key="done", width=3)
                table.add_column("#", key="id", width=4)
                table.add_column("Action", key="title")
                table.add_column("Owner", key="owner", width=10)
                table.add_column("Due", key="due", width=10)
                yield table
                yield Label("Contributing factors", classes="section")
                yield Static("", id="review-factors")
        yield DeskFooter()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#review-items", DataTable).focus()
        self.watch(self.app, "now", self._tick, init=False)

    # --- data -------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.app.now

    def _tick(self, now: datetime) -> None:
        try:
            fresh = self.desk.get(self.number)
        except DeskError:
            return  # the app's own tick reports database trouble; keep showing what we have
        if fresh.version != self._shown_version:
            self.reload()
        else:
            self._paint_status(now)

    def reload(self) -> None:
        self.incident = self.desk.get(self.number)
        self._shown_version = self.incident.version
        self.items = review.items(self.desk, self.number)
        self.review_state = review.state(self.desk, self.incident)
        inc = self.incident
        sev = inc.severity.value if inc.severity else "P?"
        self.query_one("#review-header", Static).update(f"Review · {inc.id} · {sev} · {inc.status.value} · {inc.title}")
        self._paint_status(self.now)
        self._paint_timeline()
        self._paint_items()
        factors = inc.contributing_factors.strip()
        self.query_one("#review-factors", Static).update(
            Content(factors) if factors else Content.from_markup("[$text-muted]None yet — press f to add them.[/]")
        )

    def _paint_status(self, now: datetime) -> None:
        inc = self.incident
        state = self.review_state
        deadline = self.desk.deadlines(inc, now).get("review")
        parts: list[Content] = []
        if state.done_at:
            parts.append(
                Content.from_markup(
                    "[$text-success]Review held[/] $when by $who", when=_local(state.done_at), who=state.done_by
                )
            )
        elif state.waived:
            parts.append(
                Content.from_markup(
                    "[$text-warning]Review waived[/] by $who: $why", who=state.waived_by, why=state.waived
                )
            )
        elif deadline.state is State.BREACHED:
            parts.append(
                Content.from_markup(
                    "[$text-error bold]Review overdue by $late[/] (was due $due)",
                    late=format_duration(-(deadline.seconds_left or 0)),
                    due=_local(deadline.due_at),
                )
            )
        elif deadline.state is State.PENDING:
            parts.append(
                Content.from_markup(
                    "Review due in [bold]$left[/] ($due)",
                    left=format_duration(deadline.seconds_left or 0),
                    due=_local(deadline.due_at),
                )
            )
        elif not review.review_required(self.desk, inc):
            parts.append(Content.from_markup("[$text-muted]No review required for this severity (optional)[/]"))
        else:
            parts.append(Content.from_markup("[$text-muted]The review clock starts when the incident is resolved[/]"))
        if state.scheduled_for and not state.done_at:
            who = f" with {', '.join(state.attendees)}" if state.attendees else ""
            parts.append(Content.from_markup("scheduled for $when$who", when=_local(state.scheduled_for), who=who))
        elif not state.done_at and not state.waived and review.review_required(self.desk, inc):
            parts.append(Content.from_markup("[$text-warning]not scheduled[/] — press s"))
        self.query_one("#review-status", Static).update(Content(" · ").join(parts))

    def _paint_timeline(self) -> None:
        events = self.desk.timeline(self.number)
        rows = [(e.at, e.actor, event_text.describe(e)[0], export_review.is_missed_deadline(e)) for e in events]
        rows += [(at, "(desk)", text, True) for at, text in self._unrecorded_breaches(events)]
        rows.sort(key=lambda row: row[0])
        width = self.query_one("#review-timeline-text", Static).size.width
        wrap_at = max(20, (width or 100) - PREFIX)
        lines = [self._line(at, actor, text, breach, wrap_at) for at, actor, text, breach in rows]
        body = Content("\n").join(lines) if lines else Content("No events.")
        self.query_one("#review-timeline-text", Static).update(body)

    @staticmethod
    def _line(at: datetime, actor: str, text: str, breach: bool, wrap_at: int) -> Content:
        """One event; long text wraps under itself, so the times stay a clean column."""
        style = "$text-error bold" if breach else ""
        parts = textwrap.wrap(text, wrap_at, break_long_words=True, replace_whitespace=True) or [""]
        head = Content.assemble(
            (at.astimezone().strftime(TIME_FORMAT), "$text-muted"),
            "  ",
            (f"{actor[:ACTOR_WIDTH]:<{ACTOR_WIDTH}}", "$text-accent"),
            " ",
            (parts[0], style),
        )
        rest = [Content.assemble(" " * PREFIX, (part, style)) for part in parts[1:]]
        return Content("\n").join([head, *rest])

    def _unrecorded_breaches(self, events: list[Event]) -> list[tuple[datetime, str]]:
        """Deadlines the milestones show as missed that no desk wrote down (nobody was watching)."""
        recorded = {
            (e.details.get("deadline"), e.details.get("due_at")) for e in events if e.kind == "deadline_breached"
        }
        out = []
        for d in self.desk.deadlines(self.incident, self.now).breached:
            if d.key.startswith("escalate:") or (d.key, iso(d.due_at)) in recorded or d.due_at is None:
                continue
            out.append((d.due_at, f"Deadline missed: {d.label} (not recorded by any desk)"))
        return out

    def _paint_items(self) -> None:
        table = self.query_one("#review-items", DataTable)
        selected = self._selected_item_id()
        table.clear()
        # Cells are Text, never markup: a title like "[WIP] fix" must show as typed. The title takes
        # whatever width the fixed columns leave.
        title_width = max(12, (table.size.width or 60) - FIXED_COLUMNS - 2 * 5 - 1)
        title = table.columns[ColumnKey("title")]
        title.width = title_width
        title.auto_width = False
        today = self.now.astimezone().date()
        for item in self.items:
            due = item.due.isoformat() if item.due else "—"
            table.add_row(
                Text("[x]", style=self._theme("text-success")) if item.done else Text("[ ]"),
                Text(str(item.id)),
                Text(item.title, style="strike dim" if item.done else "", overflow="ellipsis", no_wrap=True),
                Text(item.owner or "—", overflow="ellipsis", no_wrap=True),
                Text(due, style=self._theme("text-error", "bold")) if item.overdue(today) else Text(due),
                key=str(item.id),
            )
        if self.items:
            ids = [i.id for i in self.items]
            table.move_cursor(row=ids.index(selected) if selected in ids else 0)

    def _theme(self, variable: str, extra: str = "") -> str:
        """A theme colour as a Rich style, for the table's cells (which are Rich Text)."""
        color = self.app.theme_variables.get(variable, "")
        return f"{extra} {color}".strip() if color.startswith("#") else f"{extra} dim".strip()

    def on_resize(self, event: events.Resize) -> None:
        # Wrapping and the title column depend on widths known only once the new layout is done.
        self.call_after_refresh(self._repaint_widths)

    def _repaint_widths(self) -> None:
        self._paint_timeline()
        self._paint_items()

    def _selected_item_id(self) -> int | None:
        table = self.query_one("#review-items", DataTable)
        if not self.items or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None

    def _selected_item(self, verb: str) -> review.ActionItem | None:
        item_id = self._selected_item_id()
        found = next((i for i in self.items if i.id == item_id), None)
        if found is None:
            self.notify(f"No action item to {verb}: press a to add one.", severity="warning", timeout=4)
        return found

    def _run(self, fn, *args, **kwargs):
        result = self.app.run_action_safely(fn, *args, **kwargs)
        self.reload()
        return result

    # --- actions ----------------------------------------------------------------------------------

    def action_add_item(self) -> None:
        def add(values) -> None:
            if values is None:
                return
            title, owner, due = values
            item = self._run(review.add_item, self.desk, self.number, title, owner=owner, due=due)
            if item is not None:
                self.notify(f"Action item #{item.id} added", timeout=3)
                self.query_one("#review-items", DataTable).move_cursor(row=len(self.items) - 1)

        today = self.now.astimezone().date()
        self.app.push_screen(ActionItemForm(f"New action item for {self.incident.id}", today), add)

    @on(DataTable.RowSelected, "#review-items")
    def _row_chosen(self) -> None:
        self.action_edit_item()

    def action_edit_item(self) -> None:
        item = self._selected_item("edit")
        if item is None:
            return

        def save(values) -> None:
            if values is None:
                return
            title, owner, due = values
            if self._run(
                review.edit_item, self.desk, item.id, title=title, owner=owner, due=due, expected_version=item.version
            ):
                self.notify(f"Action item #{item.id} saved", timeout=3)

        values = {"title": item.title, "owner": item.owner, "due": item.due.isoformat() if item.due else ""}
        today = self.now.astimezone().date()
        self.app.push_screen(ActionItemForm(f"Action item #{item.id} of {self.incident.id}", today, values), save)

    def action_toggle_item(self) -> None:
        item = self._selected_item("tick")
        if item is None:
            return
        done = self._run(review.set_done, self.desk, item.id, not item.done, expected_version=item.version)
        if done is not None:
            self.notify(f"#{item.id} {'done' if done.done else 'reopened'}", timeout=2)

    def action_factors(self) -> None:
        before = self.incident.contributing_factors

        def save(text: str | None) -> None:
            if text is not None and self._run(
                self.desk.edit, self.number, "contributing_factors", text, expected=before
            ):
                self.notify("Contributing factors saved", timeout=3)

        self.app.push_screen(FactorsEditor(f"Contributing factors of {self.incident.id}", before), save)

    def action_schedule(self) -> None:
        inc = self.incident
        state = self.review_state
        suggested = state.scheduled_for or self._suggested_time(state)
        values = {
            "when": _local(suggested, "%Y-%m-%d %H:%M"),
            "attendees": ", ".join(state.attendees)
            or ", ".join(dict.fromkeys(p for p in (inc.assignee, inc.acknowledged_by, self.desk.actor) if p)),
        }

        def save(values) -> None:
            if values is None:
                return
            when, attendees = values
            result = self._run(review.schedule, self.desk, self.number, when, attendees)
            if result is None:
                return
            for warning in result.warnings:
                self.notify(warning, title="Scheduled, but", severity="warning", timeout=10, markup=False)
            self.notify(f"Review scheduled for {_local(when)}", timeout=4, markup=False)

        self.app.push_screen(ScheduleForm(f"Schedule the review of {inc.id}", self.now, values), save)

    def _suggested_time(self, state: review.ReviewState) -> datetime:
        """The next whole hour inside the window (or an hour from now, if the window is unknown or past)."""
        now = self.now
        start = state.window_opens if state.window_opens and state.window_opens > now else now + timedelta(hours=1)
        return start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    def action_complete(self) -> None:
        def done(notes: str | None) -> None:
            if notes is not None and self._run(review.complete, self.desk, self.number, notes=notes):
                self.notify(f"Review of {self.incident.id} recorded as held", timeout=4)

        self.app.push_screen(
            TextPrompt(
                f"The review of {self.incident.id} took place",
                placeholder="notes (optional)",
                hint="enter records it on the timeline now",
            ),
            done,
        )

    def action_waive(self) -> None:
        def waive(reason: str | None) -> None:
            if reason and self._run(review.waive, self.desk, self.number, reason):
                self.notify(f"Review of {self.incident.id} waived", timeout=4)

        self.app.push_screen(
            TextPrompt(
                f"Waive the review of {self.incident.id}: why?",
                allow_empty=False,
                placeholder="e.g. duplicate of INC-41, reviewed there",
                hint="the reason is kept on the timeline",
            ),
            waive,
        )

    def action_export(self) -> None:
        options = self.options
        configured = options.section("export").get("dir") if options else None
        directory = Path(str(configured)).expanduser() if configured else export_review.default_export_dir()
        path = None
        with self.app.reporting(title="Export failed"):  # e.g. a broken own template, a locked file
            path = export_review.export_markdown_file(
                self.desk, self.number, directory, template_dirs=options.template_dirs if options else ()
            )
        if path is None:
            return
        self.notify(f"Review of {self.incident.id} written to {path}", title="Exported", timeout=10, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
