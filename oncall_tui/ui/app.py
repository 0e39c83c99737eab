"""The desk's Textual app: what every screen shares, and nothing that belongs to one of them.

The app holds the desk (the one door to the record), the options, the clock, the runbook library
and the one error-to-toast adapter. The board, with its bindings and actions, is its default
screen (`screens/board.py`); the others are pushed on top of it.

One `set_interval(1, tick)` drives all time on screen: it checks SQLite's `data_version` (another
desk's changes appear within a second at the cost of one pragma) and moves `now`. Screens and
widgets watch the app rather than being called by it:

- `now`: the clock moved; countdowns and ages repaint.
- `record_revision`: the record changed (another desk committed, or this desk wrote: its own
  commits do not move `data_version`, so a write ends with `refresh_incidents()`); views re-read it.
"""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.message_pump import MessagePump
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from ..clock import Clock, ClockWatch
from ..config import DeskOptions
from ..desk import ActionRefused, Conflict, Desk, StoreError
from ..store import Locked
from .screens.board import BoardScreen

if TYPE_CHECKING:
    from textual.command import Provider

    from ..runbooks import RunbookLibrary

T = TypeVar("T")

# How long a write waits for the lock on the event loop before going to a thread: long enough for
# another desk's ordinary commit (milliseconds), short enough that no key waits for it.
FIRST_TRY_MS = 150
# The longest a key waits for the one before it to settle (see OncallApp._settled).
SETTLE_SECONDS = 1.0

# Screens opened on demand are imported on demand (inside their actions), and warmed up after the
# first frame: their modules (and jinja2, httpx, markdown) would otherwise delay the board's first
# frame, which is what an engineer paged at 3 a.m. waits for.
_ON_DEMAND = (
    "dialogs.forms",
    "dialogs.modals",
    "dialogs.severity_picker",
    "screens.help",
    "widgets.integrity_banner",
    "widgets.runbook_pane",
    "widgets.timeline",
)


def _freeze_startup_objects() -> None:
    """Move everything allocated at startup out of the garbage collector's reach: its full
    collections over those long-lived objects were the 100-190 ms stalls seen on key presses.

    The launcher turns the collector off while the board starts (its passes over Textual's freshly
    imported modules cost tens of milliseconds before the first frame); it comes back on here.
    """
    gc.collect()
    gc.freeze()
    gc.enable()


def _takes_text(widget: object) -> bool:
    # By name: importing TextArea to test against it would slow the board's first frame.
    return any(cls.__name__ in ("Input", "TextArea") for cls in type(widget).__mro__)


def _idle(pump: MessagePump) -> bool:
    """Nothing queued for `pump` and nothing of it in progress (asyncio.Queue counts a message as
    unfinished until its handler returned)."""
    queue = pump._message_queue
    return queue.empty() and not getattr(queue, "_unfinished_tasks", 0) and not pump._next_callbacks


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
    # widgets that show these watch them and repaint only themselves. `now` tells its watchers of
    # every tick, even one that finds the (frozen, in tests) clock where it was.
    now: reactive[datetime] = reactive(datetime.min, init=False, repaint=False, always_update=True)
    record_revision: reactive[int] = reactive(0, init=False, repaint=False)

    def __init__(self, desk: Desk, options: DeskOptions, *, clock: Clock | None = None) -> None:
        super().__init__()
        self.desk = desk
        self.options = options
        self.clock = clock or desk.clock
        self.set_reactive(OncallApp.now, self.clock.now())
        self.board_screen = BoardScreen(desk)
        self.clock_watch = ClockWatch()  # the wall clock being set, told from time passing
        self._runbooks: RunbookLibrary | None = None  # read after the first frame (see `runbooks`)
        self._data_version: int | None = None
        self._store_problem = ""
        self._writes_waiting: deque[tuple[str, tuple, dict, Callable | None]] = deque()
        self._keys: deque[events.Key] = deque()
        self._key_pump: asyncio.Task[None] | None = None

    # --- keys typed faster than the screen -----------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Keys go through one queue, one at a time: a key that opens a prompt (n, a, e…) is followed
        by the keys typed after it only once the prompt is up and focused, so type-ahead reaches it.

        Textual forwards each key to the focused widget as it arrives; in one read of `nfirst note\r`
        the text would reach the board before the prompt existed, and be lost. See `_pump_keys`.
        """
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._keys.append(event)
            if self._key_pump is None or self._key_pump.done():
                self._key_pump = asyncio.create_task(self._pump_keys(), name="key-pump")
            return
        await super().on_event(event)

    async def _pump_keys(self) -> None:
        try:
            while self._keys:
                event = self._keys.popleft()
                target = self.focused or self.screen
                await super().on_event(event)
                # Characters typed into a text field cannot change the screen: they go straight on,
                # so a pasted line is not slowed to one character per frame.
                if not (event.is_printable and _takes_text(target)):
                    await self._settled()
        except Exception as exc:  # as if raised in a handler: the app shows it and exits
            self._handle_exception(exc)

    async def _settled(self) -> None:
        """Wait until every message the key set off has been handled: the widget's binding, the
        messages it posted (an Input's Submitted bubbling to its screen), the screen pushed or
        popped and its focus. Then the next key reaches the widget that is focused now.

        Polled over a few turns of the event loop (a key handled by the board settles in a
        couple of milliseconds), and bounded, so a widget that never goes quiet delays keys by at
        most that bound instead of holding them forever.
        """
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        calm = 0
        while calm < 2 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0)
            calm = calm + 1 if self._quiet() else 0

    def _quiet(self) -> bool:
        pumps: list[MessagePump] = [self]
        for screen in self.screen_stack:
            pumps.extend(screen.walk_children(with_self=True))
        return all(_idle(pump) for pump in pumps)

    def get_default_screen(self) -> BoardScreen:
        self._data_version = self._read_version()  # before the board's first read: no change is missed
        return self.board_screen

    def on_mount(self) -> None:
        # After the first frame: import the other screens, then let the collector back in.
        self.call_after_refresh(self._warm_up)
        self.call_after_refresh(_freeze_startup_objects)
        self.set_interval(1, self.tick, name="desk-clock")

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
        version = self._read_version()
        if jumped or (version is not None and version != self._data_version):
            self.refresh_incidents()
        self.now = now

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

    def refresh_incidents(self) -> None:
        """The record changed: every view of it re-reads it (the board and the detail at once)."""
        self._data_version = self._read_version()
        self.record_revision += 1

    def go_to(self, number: int) -> None:
        """Show incident `number` on the board (the command palette's "Go to")."""
        self.board_screen.go_to(number)

    def _read_version(self) -> int | None:
        try:
            return self.desk.data_version()
        except (StoreError, sqlite3.Error) as exc:
            self.record_unreadable(exc)
            return None

    def record_unreadable(self, exc: Exception) -> None:
        """The database cannot be read: say so once per problem, not once per second."""
        message = str(exc)
        if message != self._store_problem:
            self._store_problem = message
            self.notify(message, title="Database", severity="error", timeout=20, markup=False)

    def record_readable(self) -> None:
        if self._store_problem:
            self._store_problem = ""
            self.notify("The database is readable again.", title="Database")

    # --- errors -------------------------------------------------------------------------------------

    def attempt(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a desk action; a refusal, a conflict or a database error becomes a notification.

        Returns the action's result, or None if it did not happen.
        """
        try:
            return fn(*args, **kwargs)
        except (ActionRefused, StoreError, sqlite3.Error, ValueError) as exc:
            self.report(exc)
        return None

    def report(self, exc: Exception) -> None:
        """The one place a failed action becomes a toast."""
        if isinstance(exc, Conflict):
            # The conflict may be with this very desk (a second `a`): then it is no news from elsewhere.
            mine = f" by {self.desk.actor} " in f"{exc} "
            title, severity = ("Already done", "information") if mine else ("Changed by another desk", "warning")
            self.notify(str(exc), title=title, severity=severity, timeout=10, markup=False)
        elif isinstance(exc, (StoreError, sqlite3.Error)):
            self.notify(str(exc), title="Database", severity="error", timeout=15, markup=False)
        else:  # ActionRefused, ValueError: the process says no, and why
            self.notify(str(exc), title="Not done", severity="warning", timeout=8, markup=False)

    def run_action_safely(
        self, fn: Callable[..., T], *args: Any, then: Callable[[T], object] | None = None, **kwargs: Any
    ) -> T | None:
        """`attempt` a write, then re-read the record whether it happened or not (after a conflict
        the board shows what the other desk did); `then(result)` runs once it is written.

        A write to this desk (`fn` one of its methods) first waits for the lock only briefly, on the
        event loop. When another process holds the lock longer, the write goes to a thread with its
        own connection and the full busy timeout, the board says it is waiting and stays usable, and
        `then` runs when the write lands. Writes queued that way keep their order.
        """
        desk_method = getattr(fn, "__self__", None) is self.desk and not self.desk.readonly
        if desk_method and self._writes_waiting:
            self._queue_write(fn, args, kwargs, then)  # behind the ones already waiting, in order
            return None
        try:
            if desk_method:
                try:
                    with self.desk.store.waiting(FIRST_TRY_MS):
                        result = fn(*args, **kwargs)
                except Locked:
                    self._queue_write(fn, args, kwargs, then)
                    return None
                except (ActionRefused, StoreError, sqlite3.Error, ValueError) as exc:
                    self.report(exc)
                    return None
            else:
                result = self.attempt(fn, *args, **kwargs)
                if result is None:
                    return None
            if then is not None:
                then(result)
            return result
        finally:
            self.refresh_incidents()

    def _queue_write(self, fn: Callable[..., Any], args: tuple, kwargs: dict, then: Callable | None) -> None:
        self._writes_waiting.append((fn.__name__, args, kwargs, then))
        if len(self._writes_waiting) == 1:
            self.notify(
                "Another process is writing to the desk file: waiting for its lock… The board stays usable; "
                "this is written as soon as the lock is free.",
                title="Waiting for the lock",
                severity="warning",
                timeout=6,
            )
            self.run_worker(self._write_waiting, name="waiting for the lock", thread=True, exit_on_error=False)

    def _write_waiting(self) -> None:
        """In a thread, with its own connection (a Store is not shared between threads)."""
        desk = Desk.open(
            self.desk.store.info.path, policy=self.desk.policy, clock=self.desk.clock, actor=self.desk.actor
        )
        try:
            while self._writes_waiting:
                name, args, kwargs, then = self._writes_waiting[0]
                try:
                    result = getattr(desk, name)(*args, **kwargs)
                except (ActionRefused, StoreError, sqlite3.Error, ValueError) as exc:
                    self.call_from_thread(self.report, exc)
                else:
                    if then is not None:
                        self.call_from_thread(then, result)
                finally:
                    self._writes_waiting.popleft()
                    self.call_from_thread(self.refresh_incidents)
        finally:
            desk.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.notify(
                f"{event.worker.name}: {event.worker.error}",
                title="Background task failed",
                severity="error",
                markup=False,
            )

    # --- app-wide actions ---------------------------------------------------------------------------

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        # The keys of the screen in front (the composer's, the review's…), not always the board's;
        # a dialog is small enough to say its own keys, so the screen under it is described.
        shown = next((s for s in reversed(self.screen_stack) if not isinstance(s, ModalScreen)), self.board_screen)
        self.push_screen(HelpScreen(shown))
