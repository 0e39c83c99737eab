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

import gc
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from ..clock import Clock
from ..config import DeskOptions
from ..desk import ActionRefused, Conflict, Desk, StoreError
from .screens.board import BoardScreen

if TYPE_CHECKING:
    from textual.command import Provider

    from ..runbooks import RunbookLibrary

T = TypeVar("T")

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
        self._runbooks: RunbookLibrary | None = None  # read after the first frame (see `runbooks`)
        self._data_version: int | None = None
        self._store_problem = ""

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
        version = self._read_version()
        if version is not None and version != self._data_version:
            self.refresh_incidents()
        self.now = now

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
        except Conflict as exc:
            # The conflict may be with this very desk (a second `a`): then it is no news from elsewhere.
            mine = f" by {self.desk.actor} " in f"{exc} "
            self.notify(
                str(exc),
                title="Already done" if mine else "Changed by another desk",
                severity="information" if mine else "warning",
                timeout=10,
                markup=False,
            )
        except ActionRefused as exc:
            self.notify(str(exc), title="Not done", severity="warning", timeout=8, markup=False)
        except (StoreError, sqlite3.Error) as exc:
            self.notify(str(exc), title="Database", severity="error", timeout=15, markup=False)
        except ValueError as exc:
            self.notify(str(exc), title="Not done", severity="warning", timeout=8, markup=False)
        return None

    def run_action_safely(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """`attempt` a write, then re-read the record whether it happened or not (after a conflict
        the board shows what the other desk did)."""
        try:
            return self.attempt(fn, *args, **kwargs)
        finally:
            self.refresh_incidents()

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
