"""The garbage collector's full passes, at moments nobody is typing.

A full collection walks every object the desk holds that was made after startup: 35-55 ms on a
board of thousands, a key that misses two frames when it lands mid-typing, and an alert storm set
one off every few seconds. So Python's own full passes are turned off (its young-generation passes
still run as it decides: they cost a millisecond), and the app's clock tick runs one when no key
came for a while, or at the latest every few minutes whatever the keys do, so memory in cycles is
still given back.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

QUIET_SECONDS = 2.0  # no key for this long: a pause now is a pause nobody waits for
EVERY_SECONDS = 60.0  # a full pass at a quiet moment at most this often
AT_THE_LATEST_SECONDS = 300.0  # and one even while keys keep coming, after this long
_NEVER = 1_000_000_000  # young-generation passes before Python would run a full one itself


class Collector:
    def __init__(self, steady: Callable[[], float] = time.monotonic) -> None:
        self._steady = steady
        self._last_key = self._last_full = steady()
        self._threshold: tuple[int, int, int] | None = None  # Python's own, while ours is in place

    def start(self) -> None:
        """After the first frame: collect once, keep what startup made out of reach for good (its
        long-lived modules and widgets), and take over the full passes."""
        gc.collect()
        gc.freeze()
        self._threshold = young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, _NEVER)
        gc.enable()
        self._last_full = self._steady()

    def stop(self) -> None:
        """The app is ending: Python's full passes again (a test runs many apps in one process)."""
        if self._threshold is not None:
            gc.set_threshold(*self._threshold)
            self._threshold = None

    def key(self) -> None:
        self._last_key = self._steady()

    def due(self) -> bool:
        now = self._steady()
        since_full = now - self._last_full
        quiet = now - self._last_key >= QUIET_SECONDS
        return (quiet and since_full >= EVERY_SECONDS) or since_full >= AT_THE_LATEST_SECONDS

    def tick(self) -> bool:
        """On the clock tick: a full pass if one is due; True when it ran."""
        if not self.due():
            return False
        gc.collect()
        self._last_full = self._steady()
        return True
