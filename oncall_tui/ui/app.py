"""The desk's Textual app: what every screen shares, and nothing that belongs to one of them.

The app holds the desk (the one door to the record), the options, the clock, the runbook library
and the one error-to-toast adapter. The board, with its bindings and actions, is its default
screen (`screens/board.py`); the others are pushed on top of it.

One `set_interval(1, tick)` drives all time on screen: it asks the record's `change_marker()`
(another desk's changes appear within a second at the cost of one pragma) and moves `now`. Screens
and widgets watch the app rather than being called by it:

- `now`: the clock moved; countdowns and ages repaint.
- `record_revision`: incidents changed (another desk committed, or this desk wrote: its own
  commits do not move the marker, so a write ends with `refresh_incidents()`); `take_changes()`
  says which — the incidents whose timeline moved past the sequence number last seen — and views
  re-read those alone. A commit that touched no incident (a watcher's heartbeat, a page's
  bookkeeping) moves `record_touched` instead: the detail pane looks again, the board does not.
  The breaches this desk's recorder writes come back with the incidents as written
  (`own_breaches_landed`, then `take_written()`): the board takes them as they are, unread.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from ..breaches import Written
from ..clock import Clock, ClockWatch
from ..config import DeskOptions
from ..desk import Conflict, Desk, StoreError
from ..errors import DeskError
from ..model import Incident
from ..store import Locked, StoreUnreachable
from .collector import Collector
from .key_queue import KeyQueue
from .locked_writes import FIRST_TRY_MS, LockedWrites
from .partial_paint import paint_only_changed_lines
from .screens.board import BoardScreen

if TYPE_CHECKING:
    from textual.command import Provider

    from ..runbooks import RunbookLibrary

T = TypeVar("T")
BULK_REFRESH_SECONDS = 3.0  # how often the board re-reads the record while an alert storm imports

# Screens opened on demand are imported on demand (inside their actions), and warmed up after the
# first frame: their modules (and jinja2, httpx, markdown) would otherwise delay the board's first
# frame, which is what an engineer paged at 3 a.m. waits for.
_ON_DEMAND = (
    "dialogs.forms",
    "dialogs.modals",
    "dialogs.severity_picker",
    "screens.help",
    "widgets.integrity_banner",
    "widgets.server_away",
    "widgets.runbook_pane",
    "widgets.timeline",
)


def _triage_commands() -> type[Provider]:
    from .commands import TriageCommands

    return TriageCommands


class OncallApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "oncall-tui"
    COMMANDS = App.COMMANDS | {_triage_commands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    # Keys every screen answers to; the board's own keys live on the board screen.
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key, the filter syntax and the colours"),
        # Where ? is text (the composer's fields), f1 still opens the help of the screen in front.
        Binding("f1", "help", "Help", show=False, id="app.help_f1", tooltip="This screen's keys and colours"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit (nothing is lost: every change is already saved)"),
    ]

    # repaint=False: a change of an App reactive would otherwise repaint the whole screen; the
    # widgets that show these watch them and repaint only themselves.
    now: reactive[datetime] = reactive(datetime.min, init=False, repaint=False)
    record_revision: reactive[int] = reactive(0, init=False, repaint=False)
    record_touched: reactive[int] = reactive(0, init=False, repaint=False)

    def __init__(self, desk: Desk, options: DeskOptions, *, clock: Clock | None = None) -> None:
        super().__init__()
        self.desk = desk
        self.options = options
        self.clock = clock or desk.clock
        self.set_reactive(OncallApp.now, self.clock.now())
        self.board_screen = BoardScreen(desk)
        self.clock_watch = ClockWatch()  # the wall clock being set, told from time passing
        self._runbooks: RunbookLibrary | None = None  # read after the first frame (see `runbooks`)
        self._marker: int | None = None  # the record's change marker when last looked at
        self._seq = 0  # the highest timeline sequence number read
        self._changes: set[int] | None = set()  # incidents to re-read (None: all of them)
        self._written: dict[int, Incident] = {}  # incidents as this desk's recorder wrote them
        self._landed: list[Written] = []  # the recorder's commits not looked at yet (its thread adds)
        self._landed_lock = threading.Lock()
        self.bulk_writes = False  # an alert storm is importing: re-read the record less often
        self._refreshed_at = 0.0
        self._store_problem = ""
        self._move_pending = False
        self._pushed = False
        self.locked_writes = LockedWrites(self)
        self.key_queue = KeyQueue(self, super().on_event)
        paint_only_changed_lines()
        self.collector = Collector()  # full garbage collections at quiet moments (collector.py)

    async def on_event(self, event: events.Event) -> None:
        # Keys go through one queue, one at a time, so type-ahead reaches the prompt it was typed
        # for (see key_queue.py).
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.collector.key()
            self.key_queue.put(event)
            return
        await super().on_event(event)

    def get_default_screen(self) -> BoardScreen:
        # Before the board's first read, so no change is missed.
        self._marker = self._read_marker()
        with suppress(StoreError):  # the board's first read meets it too, and says so
            self._seq = self.desk.store.changes_since(sys.maxsize)[0]  # the top, and nothing read
        return self.board_screen

    def on_mount(self) -> None:
        if not self.is_headless:
            from .signals import end_on_signals

            end_on_signals(self)
        # After the first frame: import the other screens, then let the collector back in.
        self.call_after_refresh(self._warm_up)
        # The launcher turns the collector off while the board starts (its passes over Textual's freshly
        # imported modules cost tens of milliseconds before the first frame); it comes back on here.
        self.call_after_refresh(self.collector.start)
        self.set_interval(1, self.tick, name="desk-clock")
        # A backend that pushes commits (team mode's LISTEN/NOTIFY) wakes the board at once; the
        # tick's poll stays for the clocks and for a backend that cannot push.
        self._pushed = self.desk.store.watch_changes(self._moved_elsewhere)

    def on_unmount(self) -> None:
        self.collector.stop()

    class RecordMoved(Message):
        """Another desk committed (or the database server went away or came back)."""

    def _moved_elsewhere(self) -> None:
        """On the record's listener thread: one message at a time, however fast commits come."""
        if not self._move_pending:
            self._move_pending = True
            self.post_message(self.RecordMoved())

    def on_oncall_app_record_moved(self, _message: RecordMoved) -> None:
        self._move_pending = False
        marker = self._read_marker()
        changed = marker is not None and marker != self._marker
        if changed and self.bulk_writes and time.monotonic() - self._refreshed_at < BULK_REFRESH_SECONDS:
            return  # the tick catches up, as it does for a storm on the desk file
        if changed:
            self.refresh_incidents()

    @property
    def runbooks(self) -> RunbookLibrary:
        """Every runbook, parsed once; the board, the panes and the screens share it.

        Read on first use, which is right after the first frame unless a pane asks sooner: the board's
        first frame shows the incidents and their clocks, and its STEPS column fills in the next.
        """
        if self._runbooks is None:
            from ..runbooks import RunbookLibrary

            self._runbooks = RunbookLibrary(self.options.runbook_dirs)
        return self._runbooks

    @property
    def runbooks_read(self) -> bool:
        return self._runbooks is not None

    def _warm_up(self) -> None:
        """Import the on-demand screens now the board is up, so the first `d` or `s` opens at once."""
        import importlib

        for name in _ON_DEMAND:
            importlib.import_module(f"{__package__}.{name}")

    # --- time and the record ------------------------------------------------------------------------

    def tick(self) -> None:
        """The one clock: poll for other desks' changes, then move `now` (countdowns, breaches)."""
        now = self.clock.now()
        jumped = self._clock_jumped(now)
        marker = self._read_marker()
        changed = marker is not None and marker != self._marker
        # An alert storm commits a batch every fraction of a second; re-reading thousands of rows
        # at each tick would leave no time for keys. While one imports, the board catches up every
        # few seconds (its first batch, the gravest alerts, at once).
        if changed and self.bulk_writes and time.monotonic() - self._refreshed_at < BULK_REFRESH_SECONDS:
            changed = False
        # The server is back but the board's last read met it still away: read again until one holds.
        retry = marker is not None and self._store_problem == "unreachable"
        if jumped:
            self.refresh_incidents(everything=True)
        elif changed or retry:
            self.refresh_incidents()
        self.now = now
        self.collector.tick()

    def _clock_jumped(self, now: datetime) -> bool:
        """True when every row must be rebuilt: the wall clock was set (either way), or a jump ahead
        has held long enough to be believed and the breaches it made are now real."""
        holding = self.clock_watch.holding
        jump = self.clock_watch.observe(now, self.clock.steady())
        if jump is not None:
            self.notify(jump.describe(), title="System clock", severity="warning", timeout=30, markup=False)
        if jump is None and not (holding and not self.clock_watch.holding):
            return False
        self.board_screen.clock_was_set()
        return True

    def refresh_incidents(self, *, everything: bool = False) -> None:
        """The record may have changed: the views re-read the incidents whose timeline moved (all of
        them with `everything`), or, when a commit touched no incident, only the detail looks again.

        What this desk's breach recorder committed is not read again: its incidents are handed over
        as written (`take_written`), unless someone else wrote before it (then all is read)."""
        self._refreshed_at = time.monotonic()
        self._marker = self._read_marker()
        seq, written = self._own_writes(self._seq)
        moved: frozenset[int] | None
        try:
            top, moved = self.desk.store.changes_since(seq)
        except StoreError:
            top, moved = seq, None  # the views' own read meets the error and says so
        if top < seq:  # the timeline went back: the file was restored from a backup
            moved = None
        self._seq = max(seq, top) if moved is not None else top
        if everything or moved is None:
            self._changes = None
            self._written.clear()
        else:
            written = {n: inc for n, inc in written.items() if n not in moved}  # moved again since: read
            if not moved and not written:
                self.record_touched += 1
                return
            if self._changes is not None:
                self._changes |= moved
                self._written.update(written)
        self.record_revision += 1

    def own_breaches_landed(self, written: Written) -> None:
        """The breach recorder committed (called from its thread): the next look at the record takes
        these incidents as written rather than reading them again."""
        with self._landed_lock:
            self._landed.append(written)

    def _own_writes(self, seq: int) -> tuple[int, dict[int, Incident]]:
        """(how far the timeline is known once this desk's own commits right after `seq` are taken as
        read, the incidents they wrote). A commit after a gap is dropped: someone else wrote in the
        gap, and reading everything after `seq` covers both."""
        with self._landed_lock:
            landed, self._landed = self._landed, []
        written: dict[int, Incident] = {}
        for commit in sorted(landed, key=lambda w: w.after):
            if commit.after < seq:  # already read past it
                continue
            if commit.after > seq:
                break
            seq = commit.through
            written.update((inc.number, inc) for inc in commit.incidents)
        return seq, written

    def take_changes(self) -> set[int] | None:
        """The incidents changed since the last call (None: re-read them all), for the board."""
        changes, self._changes = self._changes, set()
        return changes

    def take_written(self) -> dict[int, Incident]:
        """The incidents this desk's recorder wrote since the last call, as it wrote them (no need to
        read them again; one that has moved since is among `take_changes` instead)."""
        written, self._written = self._written, {}
        return written

    def go_to(self, number: int) -> None:
        """Show incident `number` on the board (the command palette's "Go to")."""
        self.board_screen.go_to(number)

    def _read_marker(self) -> int | None:
        try:
            return self.desk.store.change_marker()
        except StoreError as exc:
            self.record_unreadable(exc)
            return None

    def record_unreadable(self, exc: StoreError) -> None:
        """The database cannot be read: say so once per problem, not once per second.

        A server out of reach (team mode) gets a banner that stays until it is back, rather than a
        toast: the board goes on showing what it last read, and that must not pass for the present."""
        if isinstance(exc, StoreUnreachable):
            self.board_screen.server_away(self.clock.now())
            self._store_problem = "unreachable"
            return
        if str(exc) != self._store_problem:
            self._store_problem = str(exc)
            self.report(exc, timeout=20)

    def record_readable(self) -> None:
        if self._store_problem == "unreachable":
            self._store_problem = ""
            self.board_screen.server_back()
            self.notify("The database is reachable again; the board has caught up.", title="Database")
        elif self._store_problem:
            self._store_problem = ""
            self.notify("The database is readable again.", title="Database")

    # --- errors -------------------------------------------------------------------------------------

    def report(self, error: DeskError, *, title: str | None = None, timeout: float | None = None) -> None:
        """The one place a desk error becomes a notification: its message as is, under its title."""
        if isinstance(error, StoreUnreachable):  # an action met the outage first: the banner too
            self.record_unreadable(error)
        heading, severity = title or error.title, cast(SeverityLevel, error.severity)
        if isinstance(error, Conflict):
            # The conflict may be with this very desk (a second `a`): then it is no news from elsewhere.
            if f" by {self.desk.actor} " in f"{error} ":
                heading, severity = "Already done", "information"
            timeout = timeout or 10
        timeout = timeout or (15 if severity == "error" else 8)
        self._say_once(str(error), heading, severity, timeout)

    def _say_once(self, message: str, title: str, severity: SeverityLevel, timeout: float | None = None) -> None:
        """A toast, unless the very same one is still up: a damaged file fails every breach write,
        and a toast each (ten a second at 10k open) would bury the board. Once it has gone, the next
        failure says it again: the problem is still there."""
        if any(n.message == message and n.title == title for n in self._notifications):
            return
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    @contextmanager
    def reporting(self, *, title: str | None = None) -> Iterator[None]:
        """Run a block whose desk errors are reported (and end the block) rather than raised."""
        try:
            yield
        except DeskError as error:
            self.report(error, title=title)

    def attempt(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a desk action; returns its result, or None when it was refused (and said so)."""
        with self.reporting():
            return fn(*args, **kwargs)
        return None

    def run_action_safely(
        self, fn: Callable[..., T], *args: Any, then: Callable[[T], object] | None = None, **kwargs: Any
    ) -> T | None:
        """`attempt` a write, then re-read the record whether it happened or not (after a conflict
        the board shows what the other desk did); `then(result)` runs once it is written.

        A write to this desk (`fn` one of its methods) waits for the lock only briefly, on the event
        loop; one that must wait longer is queued in `locked_writes` (a thread; the board stays
        usable) and `then` runs when it lands. Writes queued that way keep their order.
        """
        desk_method = getattr(fn, "__self__", None) is self.desk and not self.desk.readonly
        if desk_method and self.locked_writes.pending:
            self.locked_writes.add(fn, args, kwargs, then)  # behind the ones already waiting, in order
            return None
        try:
            with self.reporting():
                try:
                    with self.desk.store.waiting(FIRST_TRY_MS) if desk_method else nullcontext():
                        result = fn(*args, **kwargs)
                except Locked:
                    if not desk_method:
                        raise
                    self.locked_writes.add(fn, args, kwargs, then)
                    return None
                if then is not None and (desk_method or result is not None):
                    then(result)
                return result
            return None
        finally:
            self.refresh_incidents()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if isinstance(error := event.worker.error, DeskError):
            self.report(error)
        else:  # a bug: say which task, in full
            self._say_once(f"{event.worker.name}: {error}", "Background task failed", "error")

    # --- app-wide actions ---------------------------------------------------------------------------

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        # The keys of the screen in front (the composer's, the review's…), not always the board's;
        # a dialog is small enough to say its own keys, so the screen under it is described.
        shown = next((s for s in reversed(self.screen_stack) if not isinstance(s, ModalScreen)), self.board_screen)
        self.push_screen(HelpScreen(shown))
