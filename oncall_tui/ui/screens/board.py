"""The board screen: every open incident, the selected one in depth, and every triage action by key.

It is the app's default screen and owns what acts on the board's selection: its bindings (so they
leave the footer, and stop answering, as soon as another screen or a dialog is on top), the
selection, the re-reads of the record and the deadlines that run out while the desk is open.

It listens to the app rather than being told: it watches `app.record_revision` (another desk's
commit, or a write from this desk, moved the record) and `app.now` (the one clock tick).

Adding an action: a `Binding` with a description (and a tooltip for the help screen) plus an
`action_*` method. The footer, the `?` help and the command palette all read `BINDINGS`.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.notifications import Notification, Notifications, Notify, SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets._toast import Toast, ToastRack

from ...breach_news import BreachNews
from ...desk import ActionRefused, Desk, StoreError
from ...errors import InputError
from ...foreground import FOREGROUND, breather
from ...lifecycle import check_move, next_status
from ...memory import release_freed
from ...model import EDITABLE_FIELDS, EDITABLE_TIMES, Incident, IncidentKeys, Severity, Status
from ...paths import config_dir, target_name
from ...tenants import editable_text
from ..board_model import BoardRow, only_its_timeline_grew
from ..breaches import Breach, BreachWatcher, Written, record_all
from ..filtering import SYNTAX_HELP, BoardFilter
from ..incident_source import IncidentSource
from ..widgets.board import IncidentBoard
from ..widgets.detail import IncidentDetail
from ..widgets.footer import DeskFooter
from ..widgets.status_bar import DeskStatus

if TYPE_CHECKING:
    from ...store import Record
    from ..app import OncallApp
    from ..dialogs.forms import Declaration

# Changed incidents re-read at a time, on the event loop: as many as take SLICE_BUDGET_SECONDS of
# its CPU (decoding, deadlines, re-sorting), so a key that arrives meanwhile waits no longer.
RELOAD_SLICE, RELOAD_SLICE_MIN, RELOAD_SLICE_MAX = 50, 5, 400
SLICE_BUDGET_SECONDS = 0.004
DRAIN_GAP_SECONDS = 0.06  # between slices: frames and keys first, a storm reaches the board a little later
RECORD_SLICE = 200  # breaches written per transaction by the recorder
NEWS_SECONDS = 15.0  # breach news stays up at least this long after it last changed
# The first look for deadlines that ran out before the desk opened: rows completed between looks at
# the time (each ~60 µs: its escalation ladder and clocks), within SLICE_BUDGET_SECONDS a slice,
# slices this far apart (a timer: the key queue waits for an idle screen before the next key).
LOOK_ROWS, LOOK_GAP_SECONDS = 5, 0.002
# The first look reads the incidents whole (the first frame read their keys alone) this many a query,
# before it completes their rows.
FILL_ROWS = 50
# A slice of the first look is short, so a tick or a key that arrives meanwhile waits at most this long.
LOOK_BUDGET_SECONDS = 0.002
SAY_MISSED_SECONDS = 1.0  # the first look's summary waits for the next tick at most this long
LOOK_AFTER_TICK_SECONDS = 0.05  # the first look waits this long after each tick, for its frames

# Fields `e` offers; the assignee has its own key and the runbook (symptom) its own picker.
EDIT_LABELS = {
    "title": "Title",
    "impact": "Impact",
    "tenants": "Tenants affected (names, a count, or 40: acme, globex)",
    "services": "Services (comma-separated)",
    "channel": "Channel",
    "eta": "ETA",
    "root_cause": "Root cause",
    "resolution": "Resolution",
    "prevention": "Prevention",
    "contributing_factors": "Contributing factors",
    "started_at": "Start time (-20m, 20m ago, 03:12 or ISO)",
}
assert set(EDIT_LABELS) <= {*EDITABLE_FIELDS, *EDITABLE_TIMES}


class BoardScreen(Screen[None]):
    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    # 24 lines is a first-class layout (tmux panes, a laptop over SSH): the board keeps eight
    # incidents and the detail puts the clocks beside the ticket (see app.tcss, `-short`).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    # Footer order: help first so a narrow terminal still shows where to find everything, then the
    # triage keys in the order a page is worked; an 80-column footer ends around the filter. Quit
    # (an app binding) comes last.
    BINDINGS = [
        Binding(
            "question_mark", "app.help", "Help", id="app.help", tooltip="Every key, the filter syntax and the colours"
        ),
        Binding(
            "d",
            "declare",
            "Declare",
            id="incident.declare",
            tooltip="Declare a new incident: title, severity, services, impact, channel, start time",
        ),
        Binding(
            "a",
            "acknowledge",
            "Ack",
            id="incident.acknowledge",
            tooltip="Acknowledge the selected incident (stops its 5-minute clock)",
        ),
        Binding(
            "s",
            "severity",
            "Severity",
            id="incident.severity",
            tooltip="Set the severity with the runbook's P0–P3 criteria in view",
        ),
        Binding(
            "f",
            "forward",
            "Forward",
            id="incident.forward",
            tooltip="Move the status to the next phase: acknowledged → investigating → mitigated → resolved → closed",
        ),
        Binding(
            "m",
            "compose",
            "Message",
            id="incident.compose",
            tooltip="Compose the status message (Initial Alert, Update, Resolution): copy it or post it to chat",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            id="board.filter",
            tooltip="Filter the board by text, sev:, status:, svc:, who:, is:breached",
        ),
        Binding(
            "r",
            "choose_runbook",
            "Runbook",
            id="incident.runbook",
            tooltip="Choose the runbook for the selected incident from a searchable list",
        ),
        Binding("n", "note", "Note", id="incident.note", tooltip="Add a note to the timeline"),
        Binding(
            "E",
            "escalate",
            "Page",
            show=False,
            id="incident.escalate",
            tooltip="Page a chosen level or person about the selected incident now (every attempt on the timeline)",
        ),
        Binding(
            "O",
            "oncall",
            "On call",
            show=False,
            id="app.oncall",
            tooltip="Who is on call: each level now and next, two weeks ahead; take the pager, cover, swap, cancel",
        ),
        Binding(
            "b",
            "runbook_library",
            "Runbooks",
            show=False,
            id="app.runbooks",
            tooltip="The runbook library: search and read every runbook, edit one in $EDITOR",
        ),
        Binding(
            "R",
            "review",
            "Review",
            show=False,
            id="incident.review",
            tooltip="Post-incident review: timeline, contributing factors, action items, schedule, export",
        ),
        Binding(
            "M",
            "metrics",
            "Metrics",
            show=False,
            id="app.metrics",
            tooltip="How the desk is doing: counts, time to acknowledge and resolve, missed deadlines",
        ),
        Binding(
            "x",
            "resolve",
            "Resolve",
            show=False,
            id="incident.resolve",
            tooltip="Resolve: fill in root cause, resolution and prevention, then confirm",
        ),
        Binding("o", "assign", "Assign", show=False, id="incident.assign", tooltip="Assign the incident to someone"),
        Binding(
            "w",
            "roles",
            "Roles",
            show=False,
            id="incident.roles",
            tooltip="Who holds each role: incident commander, communications lead, scribe (policy [[role]])",
        ),
        Binding(
            "e",
            "edit",
            "Edit",
            show=False,
            id="incident.edit",
            tooltip="Edit a field: impact, services, channel, ETA, root cause, resolution, prevention…",
        ),
        Binding(
            "escape",
            "clear_filter",
            "Clear filter",
            show=False,
            id="board.clear_filter",
            tooltip="Clear the board's filter",
        ),
        Binding("c", "toggle_closed", "Closed", show=False, id="board.closed", tooltip="Show or hide closed incidents"),
        Binding(
            "B",
            "breached",
            "Breached",
            show=False,
            id="board.breached",
            tooltip="Only the incidents with a missed deadline (the filter is:breached); again: all of them",
        ),
        Binding(
            "i",
            "toggle_maintenance",
            "Maintenance",
            show=False,
            id="board.maintenance",
            tooltip="Show or hide incidents in maintenance (alerts that arrived silenced or inhibited; no clock runs)",
        ),
        Binding(
            "A",
            "alertmanager_status",
            "Alertmanager",
            show=False,
            id="alerts.status",
            tooltip="Each Alertmanager's health in full: errors, restarts, warnings",
        ),
        Binding("1", "focus_board", "Board", show=False, id="pane.board", tooltip="Jump to the board"),
        Binding(
            "2",
            "focus_detail",
            "Detail",
            show=False,
            id="pane.detail",
            tooltip="Jump to the detail pane of the selected incident",
        ),
        Binding(
            "right_square_bracket",
            "cycle_tab(1)",
            "Next tab",
            show=False,
            id="pane.next_tab",
            tooltip="Next tab of the detail pane (Clocks, Timeline, …)",
        ),
        Binding(
            "left_square_bracket",
            "cycle_tab(-1)",
            "Previous tab",
            show=False,
            id="pane.previous_tab",
            tooltip="Previous tab of the detail pane",
        ),
    ]

    # repaint=False: the widgets that show the selection repaint only themselves.
    selected: reactive[int | None] = reactive(None, init=False, repaint=False)

    def __init__(self, desk: Desk) -> None:
        super().__init__(id="board-screen")
        self.desk = desk
        self.board = IncidentBoard(desk.policy, id="board")
        self.breaches = BreachWatcher()
        self._source = IncidentSource(desk)
        self.board.model.reader = self._read_whole
        self._checked: dict[tuple[int, str], int] = {}  # ticked runbook steps, of `_has_checks`
        # Whose steps `_checked` holds: the open incidents of the last full read, in order (a list of
        # the incidents' own numbers: a set of 10k is a 0.5 MB table), and those read since.
        self._checked_open: list[int] = []
        self._checked_since: set[int] = set()
        self._pending: set[int] = set()  # changed incidents still to re-read (a storm's, in slices)
        self._slice = RELOAD_SLICE
        self._runbooks_seen = -1
        self._moved_by_cursor = False  # the selection follows the board's cursor, moved by a key
        self._to_record: list[Breach] = []  # breaches for the recorder (a worker thread) to write
        self._recording = False
        self._recording_lock = threading.Lock()
        self._more_to_record = threading.Event()  # set as breaches are queued for the recorder
        self._looking_back = False  # the first look still finds breaches: the recorder waits for more
        self._checking: Record | None = None  # the startup check's connection, while it runs
        self._closing = False  # unmounted: the workers have no screen left to give way to
        self._to_fill = 0  # the first look has read whole the incidents before this index of its numbers
        self._startup_recorded = False  # the recorder has ended once since the first look was over
        self.news = BreachNews(desk.policy)
        self._news_toast: Notification | None = None  # the one toast breach news is shown in
        self._news_text = ""  # what it says (its message may be padded to keep its height)
        self._news_widget: Toast | None = None  # the toast showing `_news_toast`, once looked up
        self._news_held = False  # news the first look found, for the next tick to say
        self._missed_to_say: dict[int, int] | None = None  # the first look's finds, for the next tick
        self._ticked_at = -LOOK_AFTER_TICK_SECONDS  # when the clock last moved (steady seconds)
        self.show_maintenance = False  # incidents whose alerts arrived silenced or inhibited

    def compose(self) -> ComposeResult:
        app = self.app
        # Textual sets the breakpoint class on the first resize, after the first frame: set it before
        # anything is styled, so that frame has this width's layout and nothing is restyled for it.
        # Not restyled now either: the children are styled as they mount, with these classes, and the
        # screen with them when it is resumed, before that frame (each restyle here was ~1 ms).
        width, height = app.size
        horizontal = max((b for b in app.HORIZONTAL_BREAKPOINTS if b[0] <= width), default=(0, ""))[1]
        vertical = max((b for b in self.VERTICAL_BREAKPOINTS if b[0] <= height), default=(0, ""))[1]
        self.add_class(horizontal, vertical, update=False)
        options = app.options
        status = DeskStatus(
            self.board,
            target_name(options.db_path),
            self.desk.actor,
            readonly=self.desk.readonly,
            demo=options.demo,
            alerts=bool(options.alertmanager_url),
            id="desk-status",
        )
        paging = (config_dir() / "people.toml").is_file()  # who is on call shares the top line too
        if options.alertmanager_url or paging:
            from textual.containers import Horizontal

            line: type[Horizontal]
            if options.alertmanager_url:  # the intake's health shares the top line
                from ..widgets.alert_source import AlertSource, StatusLine

                line = StatusLine
            else:
                from ..widgets.paging_status import TopLine

                line = TopLine

            with line(id="top-line"):
                yield status
                if options.alertmanager_url:
                    yield AlertSource(self.desk, options, clock=app.clock)
                if paging:
                    from ..widgets.paging_status import PagingStatus

                    yield PagingStatus(self.desk)
            if options.alertmanager_url:
                from ..widgets.alert_source import BlindBanner

                yield BlindBanner()
        else:
            yield status
        with Vertical(id="main"):
            yield self.board
            yield IncidentDetail(self.desk, id="detail")
        yield DeskFooter()

    def on_mount(self) -> None:
        self._keep_toast_rack_arranged()
        self.watch(self.board, "highlighted", self._board_moved, init=False)
        self.watch(self.app, "record_revision", self._record_changed, init=False)
        self.watch(self.app, "record_touched", self._record_touched, init=False)
        self.watch(self.app, "now", self._tick, init=False)
        self._reload(startup=True)
        # After the first frame, which shows every incident and its clocks: the runbooks (the STEPS
        # column) and walking every hash chain (tens of milliseconds on a big desk).
        self.call_after_refresh(self._runbooks_ready)
        self.call_after_refresh(self._check_integrity)
        self.board.focus()

    def _keep_toast_rack_arranged(self) -> None:
        """Keep Textual's toast rack in the screen's arrangement while it holds no toast.

        Textual takes the rack out of the layout when its last toast goes and puts it back for the
        next one, and either way every other widget's place in the paint order shifts by one: the
        compositor then repaints the whole screen (a breach toast coming or going on a maximised
        10k board repainted its 200 lines, 10-20 ms). Left in, empty, it draws nothing (the rack is
        invisible but for its toasts, and has no height without them).
        """
        rack = next(iter(self.query_children(ToastRack).results(ToastRack)), None)
        if rack is None:
            return
        textual_show = rack.show

        def show(notifications: Notifications) -> None:
            if notifications:
                textual_show(notifications)
            else:  # what Textual's show does then, but for taking the rack out
                for toast in rack.query(Toast):
                    toast.remove()

        rack.show = show  # type: ignore[method-assign]
        rack.display = True

    def _runbooks_ready(self) -> None:
        library = self.app.runbooks
        self._runbooks_seen = library.generation
        self.board.progress_of = self._progress_label
        self.board.progress_changed()
        if skipped := [p for p in library.problems if p.skipped]:
            names = ", ".join(p.path.name for p in skipped)
            self.notify(
                f"Skipped {names}: press b for the runbook library to see why.",
                title="Runbooks",
                severity="warning",
                timeout=10,
                markup=False,
            )

    def server_away(self, since: datetime) -> None:
        """The database server is out of reach: say so across the top until it is back."""
        from ..widgets.server_away import ServerAwayBanner

        if not self.query(ServerAwayBanner):
            self.mount(ServerAwayBanner(since), before=self.query_one("#main"))

    def server_back(self) -> None:
        from ..widgets.server_away import ServerAwayBanner

        for banner in self.query(ServerAwayBanner):
            banner.remove()

    def _check_integrity(self) -> None:
        """Check what is new in the record since the last start, in a worker: on a desk with years
        of history the board answers at once, and the status line shows how far the check got."""
        from textual.worker import get_current_worker

        from ..widgets.integrity_banner import check_in_background

        app, status = self.app, self.query_one(DeskStatus)

        def progress(done: int, total: int) -> None:
            app.call_from_thread(status.show_checking, done, total)

        def check() -> None:
            worker = get_current_worker()
            found = check_in_background(
                self.desk.store,
                progress=progress,
                should_stop=lambda: worker.is_cancelled,
                opened=self._check_opened,
            )
            if found is not None and not worker.is_cancelled:
                app.call_from_thread(self._integrity_checked, found.problem)

        self.run_worker(check, name="startup integrity check", group="integrity", thread=True, exit_on_error=False)

    def _check_opened(self, record: Record | None) -> None:
        self._checking = record

    def _integrity_checked(self, problem: str | None) -> None:
        from ..widgets.integrity_banner import IntegrityBanner

        self.query_one(DeskStatus).show_checking(None, None)
        if problem:  # a tampered or damaged record: say so all session
            self.mount(IntegrityBanner(problem), before=self.query_one("#main"))
        else:
            self.desk.store.note_sound()  # quick_check passed: the first write need not run it again

    # --- time and data ------------------------------------------------------------------------------

    def _tick(self, now: datetime) -> None:
        """The app's clock moved: advance the countdowns, notice deadlines that just ran out."""
        self._ticked_at = time.monotonic()
        self._announce(self._new_breaches(self.board.advance(now)))
        if self._missed_to_say is not None:
            self._say_missed()
        elif self._news_held:
            self._show_news()

    def on_screen_resume(self) -> None:
        self._show_news()  # the dialog that held it back just closed
        self._say_missed()

    def clock_was_set(self) -> None:
        """The wall clock jumped: every row is rebuilt from the new now, none from the old one."""
        self.board.model.forget()

    def _new_breaches(self, rows: list[BoardRow]) -> list[Breach]:
        # While a jump ahead is on probation nothing is noticed, so nothing is marked seen either.
        if self.app.clock_watch.holding:
            return []
        found = self.breaches.observe(rows)
        for row in rows:  # seen: the watcher remembers them, and a board of 10k need not keep 30k clocks
            row.breaches = ()
        return found

    def _record_changed(self, _revision: int) -> None:
        changes = self.app.take_changes()
        written = self.app.take_written()
        if changes is None:
            self._reload()
            return
        if written:
            self._take_written(written)
        draining = bool(self._pending)
        self._pending |= changes
        if not draining:
            self._drain()

    def _record_touched(self, _touched: int) -> None:
        """A commit that changed no incident (a silence seen, a page sent): the detail looks again."""
        self._show_selected()

    def _drain(self) -> None:
        """Re-read a slice of the changed incidents, and the next slice a little later: an alert
        storm's thousands of new incidents reach the board while keys are still answered."""
        if not self._pending:
            return
        storm = self.app.bulk_writes or len(self._pending) > self._slice
        if storm and FOREGROUND.is_busy:  # a key is being answered: it goes first, the slice a little later
            self.set_timer(DRAIN_GAP_SECONDS, self._drain)
            return
        numbers = sorted(self._pending)[: self._slice]
        self._pending.difference_update(numbers)
        started = time.thread_time()
        self._reload_some(numbers)
        # As many as fit the budget next time (the machine, and what each incident costs, vary).
        took = max(time.thread_time() - started, 1e-4)
        self._slice = max(RELOAD_SLICE_MIN, min(RELOAD_SLICE_MAX, int(len(numbers) * SLICE_BUDGET_SECONDS / took)))
        if self._pending:
            # A timer, not a callback after the next frame: between slices the screen is idle, so
            # the key queue (which waits for quiet before the next key) is never held up by them.
            self.set_timer(DRAIN_GAP_SECONDS, self._drain)

    def _catch_up(self) -> None:
        """Re-read every changed incident now (an action needs the board as it is)."""
        numbers, self._pending = sorted(self._pending), set()
        if numbers:
            self._reload_some(numbers)

    def _shown(self, incident: Incident) -> bool:
        return (self.board.show_closed or incident.status is not Status.CLOSED) and (
            self.show_maintenance or incident.alert_state != "maintenance"
        )

    def _reload_some(self, numbers: list[int]) -> None:
        """Re-read the incidents whose timeline moved; the rest of the board stays as it is."""
        app = self.app
        try:
            incidents = self._source.read_some(numbers)
            counts = self.desk.checked_counts(numbers)
        except StoreError as exc:
            self._pending.update(numbers)  # read again once the file answers
            app.record_unreadable(exc)
            return
        app.record_readable()
        wanted = set(numbers)
        for key in [k for k in self._checked if k[0] in wanted]:
            del self._checked[key]
        self._checked.update(counts)
        self._checked_since.update(n for n in numbers if not self._has_checks(n))
        self._show_read(incidents, numbers)

    def _read_whole(self, numbers: list[int]) -> list[Incident]:
        """The incidents the board knows by their keys alone, read whole (none while the record
        cannot be read: they are read when next drawn, or by the first look)."""
        try:
            return self._source.read_some(numbers)
        except StoreError as exc:
            self.app.record_unreadable(exc)
            return []

    def _take_written(self, written: dict[int, Incident]) -> None:
        """Show the incidents this desk's recorder wrote, as it wrote them: nothing to read (and no
        runbook step ticked: it writes breaches only). A row already showing as new a version, read
        meanwhile, is left as it is."""
        board = self.board.model
        fresh: list[Incident] = []
        breached_only: list[Incident] = []
        for i in written.values():
            row = board.get(i.number)
            if row is not None and row.incident.version >= i.version:
                continue
            # A breach written changes nothing the line shows (it showed the breach already): the row
            # keeps its line and its place, and takes the incident as written. At 10k the recorder
            # lands breaches every second, and rebuilding their rows was most of a tick.
            if row is not None and only_its_timeline_grew(row.incident, i):
                row.incident = i
                breached_only.append(i)
            else:
                fresh.append(i)
        if breached_only:
            self._source.remember(breached_only)
            if self.selected in {i.number for i in breached_only}:
                self._show_selected()  # its timeline has the breach now
        if fresh:
            self._source.remember(fresh)
            self._show_read(fresh, [i.number for i in fresh])

    def _show_read(self, incidents: list[Incident], numbers: list[int]) -> None:
        """Put the incidents just read (of `numbers`; the others were not found) on the board."""
        shown = [i for i in incidents if self._shown(i)]
        found = {i.number for i in shown}
        gone = [n for n in numbers if n not in found]
        rebuilt = self.board.update(shown, gone, self.app.clock.now())
        self._announce(self._new_breaches(rebuilt))
        if self.selected in set(numbers):  # (a selection that moved is shown by watch_selected)
            self._show_selected()
        self.query_one(DeskStatus).changed()

    def _reload(self, *, startup: bool = False) -> None:
        """Re-read the incidents so the board and the detail show the record as it is now."""
        app = self.app
        self._pending.clear()
        try:
            # At startup only what the rows sort and count by: the rows on screen are read whole as
            # they are drawn, the rest a slice at a time after the first frame (`_look_back`).
            incidents: Sequence[Incident | IncidentKeys] = (
                self._source.read_keys(include_closed=self.board.show_closed)
                if startup
                else self._source.read(include_closed=self.board.show_closed)
            )
            self._checked = self.desk.checked_counts()  # of the open ones; closed ones when shown
            self._checked_open = sorted(i.number for i in incidents if i.status is not Status.CLOSED)
            self._checked_since = set()
            if not self.show_maintenance:  # arrived silenced or inhibited: behind `i`, no clock runs
                incidents = [i for i in incidents if i.alert_state != "maintenance"]
        except StoreError as exc:
            app.record_unreadable(exc)
            return
        app.record_readable()
        if app.runbooks_read and app.runbooks.generation != self._runbooks_seen:  # a file was edited
            self._runbooks_seen = app.runbooks.generation
            self.board.progress_changed()
        # At startup the rows get only what they sort by (the rows on screen are completed as drawn):
        # the rest, and the breaches it finds, after the first frame, a slice at a time.
        recomputed = self.board.load(incidents, app.clock.now(), lazy=startup)
        if startup:
            numbers = [row.incident.number for row in recomputed]
            self._looking_back = True
            self.call_after_refresh(lambda: self._look_back(numbers, 0, {}))
        else:
            self._announce(self._new_breaches(recomputed))
        self._show_selected()
        self.query_one(DeskStatus).refresh()

    def _look_back(self, numbers: list[int], at: int, missed: dict[int, int]) -> None:
        """Complete the rows a lazy load left (`numbers[at:]`) and note the deadlines that had run out
        before the desk opened, a slice per turn of the event loop: at 10k the whole look is 0.5 s of
        CPU, which in one piece would hold up the clock's ticks and the keys typed meanwhile. What a
        slice finds goes to the recorder at once (its writes overlap the look rather than follow it);
        `missed` counts them per incident for the one summary at the end. Its first slices read the
        incidents whole (the load had their keys alone), so that a filter or the palette soon finds
        them read."""
        # A key is being answered, or the clock just ticked: their frames first (a tick's toast takes
        # a few hops and two layouts to appear), the look a little later.
        if FOREGROUND.is_busy or time.monotonic() < self._ticked_at + LOOK_AFTER_TICK_SECONDS:
            self.set_timer(LOOK_GAP_SECONDS, lambda: self._look_back(numbers, at, missed))
            return
        model = self.board.model
        started = time.thread_time()
        found: list[Breach] = []
        while at < len(numbers):  # at least a few rows a slice, however slow the machine
            if self._to_fill < len(numbers):
                chunk = numbers[self._to_fill : self._to_fill + FILL_ROWS]
                self._to_fill += FILL_ROWS
                model.fill([row for n in chunk if (row := model.get(n)) is not None])
                if time.thread_time() - started >= LOOK_BUDGET_SECONDS:
                    break
                continue
            rows = [model.complete(row) for n in numbers[at : at + LOOK_ROWS] if (row := model.get(n)) is not None]
            at += LOOK_ROWS
            found += self._new_breaches(rows)
            # A row is completed as it stood at the load: what it crossed since is taken now, in this
            # slice, as the clock's tick would (and recorded, with the bell, as it would), not all at
            # the next tick. Its news waits for that tick: shown from here, it would be a frame of its
            # own between two ticks, and every slice of the look before it would be that frame's cost.
            if model.next_change is not None and model.next_change <= self.app.now:
                self._announce(self._new_breaches(self.board.advance(self.app.now)), show=False)
            if time.thread_time() - started >= LOOK_BUDGET_SECONDS:
                break
        for breach in found:
            missed[breach.number] = missed.get(breach.number, 0) + 1
        if found and not self.desk.readonly:
            self._record_in_background(found)
        if at < len(numbers):
            self.set_timer(LOOK_GAP_SECONDS, lambda: self._look_back(numbers, at, missed))
        else:
            self._looked_back()
            # Said with the clock's next tick, as the news is (a frame of its own now would make the
            # look's last slices that frame's cost), or in a second if the clock does not move.
            self._missed_to_say = missed
            self.set_timer(SAY_MISSED_SECONDS, self._say_missed)
            release_freed()  # the startup's read and look are over: what they freed goes back

    def _say_missed(self) -> None:
        """The first look is over: its news, then the summary of what it found (which takes the
        toast over until the next news). Over a dialog it waits, as the news does."""
        if self._missed_to_say is None or isinstance(self.app.screen, ModalScreen):
            return
        missed, self._missed_to_say = self._missed_to_say, None
        if self._news_held:
            self._show_news()
        self._summarize_missed(missed)

    def _looked_back(self) -> None:
        """The first look is over (or never will be: the desk is closing): the recorder ends once done."""
        self._looking_back = False
        self._more_to_record.set()

    def on_unmount(self) -> None:
        """The desk is closing: the recorder ends once done, and the startup check stops now (the
        process would wait for its thread: most of a second on a desk with history)."""
        self._closing = True
        self._looked_back()
        if (checking := self._checking) is not None:
            checking.interrupt()

    def _has_checks(self, number: int) -> bool:
        """Whether `_checked` holds the incident's ticked steps (none ticked is an answer too)."""
        if number in self._checked_since:
            return True
        at = bisect.bisect_left(self._checked_open, number)
        return at < len(self._checked_open) and self._checked_open[at] == number

    def _progress_label(self, incident: Incident) -> str | None:
        if not self._has_checks(incident.number):  # a closed incident, shown on request
            with self.app.reporting():
                self._checked.update(self.desk.checked_counts([incident.number]))
                self._checked_since.add(incident.number)
        progress = self.app.runbooks.progress(incident, self._checked)
        return str(progress) if progress is not None else None

    def _show_selected(self) -> None:
        row = self.board.model.get(self.selected) if self.selected is not None else None
        self.query_one(IncidentDetail).show(self.board.model.full(row) if row else None)

    def _board_moved(self, number: int | None) -> None:
        self._moved_by_cursor = True
        try:
            self.selected = number
        finally:
            self._moved_by_cursor = False

    def watch_selected(self, number: int | None) -> None:
        if number is not None and self.board.selected_number != number:
            self.board.select(number)
        # The cursor's frame comes first, the detail of where it went straight after (key_queue.py).
        if not (self._moved_by_cursor and self.app.key_queue.after_frame(self._show_selected)):
            self._show_selected()

    def go_to(self, number: int) -> None:
        """Select an incident, clearing the filter or showing closed ones if that hides it."""
        if self.board.model.get(number) is None:
            # Just declared: not on the board yet, which does not make it closed.
            self.app.refresh_incidents()
            self._catch_up()
        if self.board.model.get(number) is None and not (self.board.show_closed and self.show_maintenance):
            self.board.show_closed = self.show_maintenance = True
            self._reload()
        if self.board.model.index_of(number) is None and self.board.model.filter.active:
            self.board.set_filter(BoardFilter())
        self.selected = number
        self.board.focus()

    # --- breaches -----------------------------------------------------------------------------------

    def _announce(self, breaches: list[Breach], *, show: bool = True) -> None:
        """Deadlines ran out while the desk was open: ring once per burst, say so in one toast, write
        them down. The toast says what the last minute held (a storm is a count, not a hundred
        toasts) and sits over the detail, never the board; while a dialog is open it waits.
        Not `show`: the toast says it at the next tick (or summary) instead."""
        if not breaches:
            return
        if self.news.add(breaches, time.monotonic()):
            self.app.bell()
        if show:
            self._show_news()
        else:
            self._news_held = True
        if not self.desk.readonly:
            self._record_in_background(breaches)

    def _show_news(self) -> None:
        if isinstance(self.app.screen, ModalScreen):
            return  # over a form being filled in it would hide the form; shown when it closes
        self._news_held = False
        news = self.news.announcement(time.monotonic())
        if news is None or (self._news_toast is not None and self._news_text == news.text):
            return
        if not self._reword_news(news.text, "Deadline breached", "error"):
            self._toast(Notification(news.text, "Deadline breached", "error", NEWS_SECONDS))

    def _reword_news(self, text: str, title: str, severity: str) -> bool:
        """Say `text` under `title` in the breach toast already on screen, in place; False when there
        is none.

        A storm changes the news every second. Replacing the toast re-lays out the screen, and a
        layout repaints every line of the board beside its scrollbar: 50-70 ms a second with 200
        rows on screen (twice: the toast taken back, then the new one). Rewording repaints the toast
        alone (and lays out only when its height changes), and gives it its time again, so it stays
        up as long after its last change as ever. The first look's summary takes it over the same way.
        """
        shown = self._news_toast
        if shown is None or shown.markup or shown.has_expired:
            return False
        toast = self._news_widget
        if toast is None or toast._notification is not shown or not toast.is_attached:
            # Textual's ToastRack names each toast's holder after its notification (a query of the
            # screen: kept, as a storm rewords it every second).
            toast = next(iter(self.app.screen.query(f"#{ToastRack._toast_id(shown)} > Toast").results(Toast)), None)
            self._news_widget = toast
        # A toast's one timer is its expiry (Textual has no public way to reword a toast or give it
        # more time).
        timers = list(getattr(toast, "_timers", ()))
        if toast is None or len(timers) != 1:  # expired, or taken back
            return False
        width = toast.content_region.width
        height = toast.get_content_height(toast.size, self.app.size, width)
        if (shown.title, shown.severity) != (title, severity):
            toast.remove_class(f"-{shown.severity}")  # Textual's Toast styles itself by this class
            shown.title, shown.severity = title, cast(SeverityLevel, severity)
            toast.add_class(f"-{severity}")
        shown.message = text  # what the toast renders
        toast.clear_cached_dimensions()
        taller = toast.get_content_height(toast.size, self.app.size, width) - height
        if taller < 0:  # it keeps its height while up: a count changing every second would make it jump
            shown.message = text + "\n" * -taller
            toast.clear_cached_dimensions()
        elif taller > 0:
            # Textual lays a widget whose size changed out once more, for its virtual size: a frame
            # of its own, tens of milliseconds later behind the first look's slices. That size is
            # the toast's new size, known now.
            width_now, height_now = toast.virtual_size
            toast.set_reactive(Widget.virtual_size, Size(width_now, height_now + taller))
        self._news_text = text
        shown.raised_at = time.time()  # the app's list of notifications keeps it as long as the toast
        timers[0].reset()  # Textual's reset: at least NEWS_SECONDS from now
        toast.refresh(layout=taller > 0)
        return True

    def _toast(self, notification: Notification) -> None:
        """Show `notification` in the board's one slot for breach news, replacing what it held."""
        self._dismiss_news()
        self._news_toast = notification
        self._news_text = notification.message
        self.app.post_message(Notify(notification))

    def _dismiss_news(self) -> None:
        if self._news_toast is not None:
            # Textual has no public way to take one toast back; its own bookkeeping does it.
            with contextlib.suppress(KeyError):
                self.app._unnotify(self._news_toast)
            self._news_toast = None

    def on_screen_suspend(self) -> None:
        self._dismiss_news()  # a dialog opened: the toast would cover its right edge (80x24)

    def _summarize_missed(self, missed: dict[int, int]) -> None:
        """Breaches that happened before the desk opened (count per incident): one summary, no bell."""
        if not missed:
            return
        count, incidents = sum(missed.values()), len(missed)
        text = (
            f"{count} deadline{'s' if count != 1 else ''} had already run out on {incidents} "
            f"incident{'s' if incidents != 1 else ''} when the desk opened; each one's Clocks tab says which."
        )
        if not self._reword_news(text, "Missed deadlines", "warning"):
            self._toast(Notification(text, "Missed deadlines", "warning", 10))

    def _record_in_background(self, breaches: list[Breach]) -> None:
        """Off the clock's path: each new breach is a durable (fsync'd) write. One worker at a time
        drains the queue (a storm's thousands of breaches would otherwise start a thread per tick,
        all contending for the GIL with the board), in slices that leave the event loop its frames.
        Run by the app, whose worker handler reports a failure whatever screen is on top."""
        with self._recording_lock:
            self._to_record.extend(breaches)
            self._more_to_record.set()
            if self._recording:
                return
            self._recording = True
        landed = self.app.own_breaches_landed  # what it wrote is shown as written, not read again
        self.app.run_worker(
            lambda: self._record_queued(landed),
            name="_record_in_background",
            group="breaches",
            thread=True,
            exit_on_error=False,
        )

    def _record_queued(self, landed: Callable[[Written], None]) -> int:
        """The recorder's loop. While the first look is still finding breaches it waits for them
        rather than ending: it would otherwise end and start again (a connection opened each time)
        between the look's slices, hundreds of times at 10k."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        written = 0
        own = self.desk.reopen()  # a Store is not shared across threads
        polite = breather()

        def breathe() -> None:
            # Closing, the rest is written at full speed: no frame is left to paint, and the key
            # that quit leaves the screen "busy" for a second that nobody ends.
            if not self._closing:
                polite()

        try:
            while True:
                self._more_to_record.clear()
                with self._recording_lock:
                    batch, self._to_record = self._to_record[:RECORD_SLICE], self._to_record[RECORD_SLICE:]
                    if not batch and (not self._looking_back or worker.is_cancelled):
                        self._recording = False
                        return written
                if batch:
                    written += record_all(own, batch, breathe=breathe, landed=landed)
                else:
                    self._more_to_record.wait(0.2)
        except BaseException:
            with self._recording_lock:
                self._recording = False
            raise
        finally:
            own.close()
            if not self._looking_back and not self._startup_recorded:
                # The breaches the first look found were written after its end: the connection and
                # its page cache this thread's allocator just freed (3 MB at 10k) go back too, or
                # the settled desk keeps them. Once: from here on a run writes a breach or two.
                self._startup_recorded = True
                release_freed()

    # --- triage actions -----------------------------------------------------------------------------

    def current(self, *, quiet: bool = False) -> Incident | None:
        """The selected incident as last read, or None (telling the user what to do, unless quiet)."""
        row = self.board.model.get(self.selected) if self.selected is not None else None
        if row is None and not quiet:
            self.notify(
                "No incident selected: pick one on the board, or press d to declare one.", severity="warning", timeout=5
            )
        return self.board.model.full(row) if row else None

    def _done(self, text: str) -> None:
        self.notify(text, timeout=3, markup=False)

    def action_declare(self) -> None:
        from ..dialogs.forms import DeclareScreen

        def declare(form: Declaration | None) -> None:
            if form is None:
                return

            def declared(inc: Incident) -> None:
                self.go_to(inc.number)
                self._done(f"{inc.id} declared — acknowledge it with a")

            self.app.run_action_safely(
                self.desk.declare,
                form.title,
                severity=form.severity,
                services=form.services,
                impact=form.impact,
                channel=form.channel,
                started_at=form.started_at,
                tenants=form.tenants,
                then=declared,
            )

        self.app.push_screen(DeclareScreen(self.app.clock.now(), self.desk.policy), declare)

    def action_acknowledge(self) -> None:
        if (inc := self.current()) is None:
            return

        def acknowledged(_: Incident) -> None:
            self._done(f"{inc.id} acknowledged")
            self.alerts_changed()

        self.app.run_action_safely(self.desk.acknowledge, inc.number, then=acknowledged)

    def alerts_changed(self) -> None:
        """An alert-born incident was acknowledged or resolved: silence or unsilence it now."""
        from ..widgets.alert_source import AlertSource

        for source in self.query(AlertSource):
            source.poll_soon()

    def action_severity(self) -> None:
        if (inc := self.current()) is None:
            return
        from ..dialogs.severity_picker import SeverityPicker

        def chosen(severity: Severity | None) -> None:
            if severity is None or severity is inc.severity:
                return
            self.app.run_action_safely(
                self.desk.set_severity,
                inc.number,
                severity,
                expected=inc.severity,
                then=lambda _: self._done(f"{inc.id} is {severity.value}"),
            )

        from ...suggestion import suggest_for

        hint = suggest_for(self.desk.policy, inc)
        self.app.push_screen(SeverityPicker(self.desk.policy, inc.id, inc.severity, hint), chosen)

    def action_forward(self) -> None:
        if (inc := self.current()) is None:
            return
        target = next_status(inc.status)
        if target is None:
            self.notify(f"{inc.id} is closed; there is no next step.", severity="warning")
            return
        if target is Status.RESOLVED:
            self.action_resolve()
            return
        if self._refused(inc, target):
            return

        def move(confirmed: bool | None = True) -> None:
            if confirmed:
                self.app.run_action_safely(
                    self.desk.advance,
                    inc.number,
                    expected=inc.status,
                    then=lambda _: self._done(f"{inc.id} is {target.value}"),
                )

        if target is Status.CLOSED:
            from ..dialogs.modals import ConfirmScreen

            self.app.push_screen(
                ConfirmScreen(
                    f"Close {inc.id}?",
                    "A closed incident cannot be reopened; a recurrence is a new incident.",
                    yes="Close",
                ),
                move,
            )
        else:
            move()

    def action_resolve(self) -> None:
        if (inc := self.current()) is None:
            return
        # Ask the form only when the rest of the move is allowed: root cause and resolution are its job.
        if self._refused(inc.replace(root_cause="-", resolution="-"), Status.RESOLVED):
            return
        from ..dialogs.forms import ResolveScreen
        from ..dialogs.modals import ConfirmScreen

        def resolve(fields: dict[str, str] | None) -> None:
            if fields is None:
                return
            app = self.app
            for name, value in fields.items():
                if app.attempt(self.desk.edit, inc.number, name, value, expected=getattr(inc, name)) is None:
                    app.refresh_incidents()
                    return
            if app.run_action_safely(self.desk.move, inc.number, Status.RESOLVED, expected=inc.status):
                self._done(f"{inc.id} resolved")
                self.alerts_changed()
                app.push_screen(
                    ConfirmScreen(
                        f"{inc.id} resolved. Send the Resolution message?",
                        "The runbook's Resolution template, filled in from the incident.",
                        yes="Compose",
                    ),
                    lambda yes: self.action_compose("resolution") if yes else None,
                )

        self.app.push_screen(ResolveScreen(inc), resolve)

    def _refused(self, inc: Incident, target: Status) -> bool:
        """Whether the process refuses the move (and the engineer was told why)."""
        try:
            check_move(inc, target, self.desk.policy)
        except ActionRefused as refusal:
            self.app.report(refusal)
            return True
        return False

    def action_assign(self) -> None:
        if (inc := self.current()) is None:
            return
        from ..dialogs.modals import TextPrompt

        def assign(who: str | None) -> None:
            if who is None:
                return
            said = f"{inc.id} assigned to {who}" if who else f"{inc.id} unassigned"
            self.app.run_action_safely(
                self.desk.assign, inc.number, who, expected=inc.assignee, then=lambda _: self._done(said)
            )

        self.app.push_screen(
            TextPrompt(f"Assign {inc.id} to", inc.assignee or self.desk.actor, hint="empty: unassign"), assign
        )

    def action_roles(self) -> None:
        if (inc := self.current()) is None:
            return
        roles = self.desk.policy.roles
        if not roles:
            self.notify("The policy defines no roles: add [[role]] tables to policy.toml.", severity="warning")
            return
        from ..dialogs.modals import FieldPicker, TextPrompt

        def picked(role_id: str | None) -> None:
            if role_id is None:
                return
            role = self.desk.policy.role(role_id)
            held = inc.roles.get(role.id, "")

            def save(who: str | None) -> None:
                if who is None:
                    return
                if self.app.run_action_safely(self.desk.set_role, inc.number, role.id, who, expected=held):
                    self._done(f"{inc.id} {role.name.lower()}: {who}" if who else f"{inc.id}: no {role.name.lower()}")

            self.app.push_screen(
                TextPrompt(f"{role.name} of {inc.id}", held or self.desk.actor, hint="empty: nobody holds it"), save
            )

        fields = [(r.id, r.name, inc.roles.get(r.id, "") or "—") for r in roles]
        self.app.push_screen(FieldPicker(fields, title=f"Which role on {inc.id}?"), picked)

    def action_edit(self) -> None:
        if (inc := self.current()) is None:
            return
        from ..dialogs.modals import FieldPicker, TextPrompt

        def shown(name: str) -> str:
            if name == "tenants":
                return editable_text(inc.tenants, inc.tenant_count)
            value = getattr(inc, name)
            if isinstance(value, datetime):  # in the user's zone, exact, so an unchanged value reads back equal
                return value.astimezone().isoformat(sep=" ", timespec="seconds")
            return ", ".join(value) if isinstance(value, tuple) else str(value)

        def edit_field(name: str | None) -> None:
            if name is None:
                return

            def save(value: str | None) -> None:
                if value is None:
                    return
                said = f"{inc.id}: {EDIT_LABELS[name].split(' (')[0].lower()} saved"
                self.app.run_action_safely(
                    self.desk.edit,
                    inc.number,
                    name,
                    value,
                    expected=shown(name) if name == "tenants" else getattr(inc, name),
                    then=lambda _: self._done(said),
                )

            self.app.push_screen(
                TextPrompt(f"{EDIT_LABELS[name]} of {inc.id}", shown(name), allow_empty=name != "title"), save
            )

        self.app.push_screen(FieldPicker([(n, label, shown(n)) for n, label in EDIT_LABELS.items()]), edit_field)

    def action_choose_runbook(self) -> None:
        if (inc := self.current()) is not None:
            from ..widgets.runbook_pane import choose_runbook

            choose_runbook(self, self.desk, self.app.runbooks, inc)

    def action_runbook_library(self) -> None:
        inc = self.current(quiet=True)
        runbooks = self.app.runbooks
        found = runbooks.match(inc).runbook if inc else None
        from .runbook_library import RunbookLibraryScreen

        self.app.push_screen(RunbookLibraryScreen(runbooks, runbook_id=found.id if found else None))

    def action_compose(self, template: str | None = None) -> None:
        if (inc := self.current()) is not None:
            from .composer import ComposerScreen

            self.app.push_screen(ComposerScreen(self.desk, inc.number, options=self.app.options, template=template))

    def action_review(self) -> None:
        if (inc := self.current()) is not None:
            from .review import ReviewScreen

            self.app.push_screen(ReviewScreen(self.desk, inc.number, options=self.app.options))

    def action_metrics(self) -> None:
        from .metrics import MetricsScreen

        self.app.push_screen(MetricsScreen(self.desk))

    def action_note(self) -> None:
        if (inc := self.current()) is None:
            return
        from ..dialogs.modals import TextPrompt

        def add(text: str | None) -> None:
            if text:
                self.app.run_action_safely(
                    self.desk.note, inc.number, text, then=lambda _: self._done(f"note added to {inc.id}")
                )

        self.app.push_screen(
            TextPrompt(f"Note on {inc.id}", placeholder="what you found or did", allow_empty=False), add
        )

    def action_escalate(self) -> None:
        if (inc := self.current()) is None:
            return
        from ..widgets.paging_status import PagingStatus

        status = next(self.query("#paging-status").results(PagingStatus), None)
        if status is None or not status.view.configured:
            self.app.notify(
                "Nobody can be paged: add people.toml and schedules.toml to the config directory "
                "(README, 'Paging'); press O to see who is on call.",
                title="Paging off",
                severity="warning",
                timeout=10,
            )
            return
        from ..dialogs.escalate import EscalatePicker

        def page(choice: tuple[int | None, str | None] | None) -> None:
            if choice is not None:
                level, person = choice
                status.page_by_hand(inc.number, level=level, person=person)
                self._done(f"paging about {inc.id}…")

        self.app.push_screen(EscalatePicker(inc.id, status.view), page)

    def action_oncall(self) -> None:
        from .oncall import OnCallScreen

        self.app.push_screen(OnCallScreen(self.desk, self.app.clock.now()))

    def action_filter(self) -> None:
        from ..dialogs.modals import TextPrompt

        def check(text: str) -> str | None:
            try:
                BoardFilter.parse(text)
            except InputError as exc:
                return str(exc)
            return None

        def apply(text: str | None) -> None:
            if text is not None:
                self.board.set_filter(BoardFilter.parse(text))
                self.query_one(DeskStatus).refresh()

        self.app.push_screen(
            TextPrompt(
                "Filter the board",
                self.board.model.filter.text,
                placeholder="sev:P0 status:triggered login",
                hint=SYNTAX_HELP + "\nempty: show everything",
                check=check,
                id="filter-prompt",
            ),
            apply,
        )

    def action_clear_filter(self) -> None:
        self.board.set_filter(BoardFilter())
        self.query_one(DeskStatus).refresh()

    def action_breached(self) -> None:
        shown = self.board.model.filter.text.strip() == "is:breached"
        self.board.set_filter(BoardFilter() if shown else BoardFilter.parse("is:breached"))
        self.query_one(DeskStatus).refresh()
        self._dismiss_news()  # read: the list is on the board now

    def action_toggle_closed(self) -> None:
        self.board.show_closed = not self.board.show_closed
        self._reload()
        self._done("showing closed incidents too" if self.board.show_closed else "closed incidents hidden")

    def action_toggle_maintenance(self) -> None:
        self.show_maintenance = not self.show_maintenance
        self._reload()
        self._done(
            "showing incidents in maintenance too" if self.show_maintenance else "incidents in maintenance hidden"
        )

    def action_alertmanager_status(self) -> None:
        from ..widgets.alert_source import AlertSource

        sources = list(self.query(AlertSource))
        if not sources:
            self._done("No Alertmanager configured (--alertmanager URL, or url in [alertmanager] of config.toml)")
        for source in sources:
            source.explain()

    def action_focus_board(self) -> None:
        self.board.focus()

    def action_focus_detail(self) -> None:
        self.query_one(IncidentDetail).focus_pane()

    def action_cycle_tab(self, step: int) -> None:
        self.query_one(IncidentDetail).cycle_tab(step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.app.screen is not self:
            # Under a dialog the board's footer stays in view: it must not offer keys that now go
            # to the dialog. (Textual already sends them there; this is what the footer says.)
            return False
        if action == "clear_filter":  # escape means "close" elsewhere; here only with a filter to clear
            return self.board.model.filter.active
        return True
