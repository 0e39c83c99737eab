"""The screen comes first: a desk's background work gives way while the screen answers a key.

An alert storm imports in a worker thread and the recorder writes its breaches in another, in the
same interpreter as the board: whichever thread holds the GIL, the others wait for it. A key takes
the board a dozen milliseconds of Python; with two busy threads beside it, that is three times as
long, and a storm's keys took 100-900 ms. So the screen says when it is answering a key (`busy`,
then `quiet` once its frame is painted), and background loops call a `breather` between small
pieces of work: it lets the GIL go for a moment every few milliseconds, and for as long as the
screen is busy (up to a bound, so that a key held down slows the import without stopping it).

Nothing here knows Textual: the UI's key queue says busy and quiet; the alert intake (its parser,
planner and writer) and the breach recorder breathe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SLICE_SECONDS = 0.004  # of a worker's Python work between breaths
LONGEST_WAIT_SECONDS = 0.1  # a worker waits for a busy screen at most this long per breath
LONGEST_BUSY_SECONDS = 1.0  # a screen that never says it is quiet again is taken to be after this


class Foreground:
    """Whether the screen is answering a key right now (one per process: `FOREGROUND`).

    Busy for at most `longest_busy` seconds after the last `busy()`, whatever happens to the `quiet()`
    meant to follow it (a screen closed before it painted): a background import must never stall.
    """

    def __init__(self, longest_busy: float = LONGEST_BUSY_SECONDS) -> None:
        self._quiet = threading.Event()
        self._quiet.set()
        self._longest_busy = longest_busy
        self._since = 0.0

    def busy(self) -> None:
        self._since = time.monotonic()
        self._quiet.clear()

    def quiet(self) -> None:
        self._quiet.set()

    @property
    def is_busy(self) -> bool:
        return not self._quiet.is_set() and time.monotonic() - self._since < self._longest_busy

    def wait(self, timeout: float) -> None:
        """Until the screen is quiet again, or `timeout` seconds."""
        left = self._longest_busy - (time.monotonic() - self._since)
        self._quiet.wait(max(0.0, min(timeout, left)))


FOREGROUND = Foreground()


def breather(
    slice_seconds: float = SLICE_SECONDS,
    *,
    rest_seconds: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    foreground: Foreground = FOREGROUND,
    longest_wait: float = LONGEST_WAIT_SECONDS,
) -> Callable[[], bool]:
    """A pause for a worker's loop, called between pieces of work: after `slice_seconds` of work it
    sleeps `rest_seconds` (as long again unless told; the GIL free for the event loop's frames), and
    while the screen answers a key it waits until it has (at most `longest_wait`). On the main
    thread it neither sleeps nor waits: code that runs in a worker on the desk also runs on the
    command line, where there is no screen.

    It returns True when `should_stop` (asked after each pause, or each slice on the main thread)
    says the loop should end: a walk the desk no longer needs stops at its next breath.
    """
    started = time.perf_counter()
    main = threading.main_thread()
    rest = slice_seconds if rest_seconds is None else rest_seconds

    def breathe() -> bool:
        nonlocal started
        if threading.current_thread() is main:  # the screen's own thread (or a command's): nobody to give way to
            if should_stop is None or time.perf_counter() - started <= slice_seconds:
                return False
        elif foreground.is_busy:
            foreground.wait(longest_wait)
        elif time.perf_counter() - started > slice_seconds:
            time.sleep(rest)
        else:
            return False
        started = time.perf_counter()
        return should_stop is not None and should_stop()

    return breathe
