"""Writes that meet another process's lock wait for it in a thread, in order, off the event loop.

The board tries a write briefly on its event loop (`FIRST_TRY_MS`); when another process holds
the lock longer, the write is queued here and runs in a thread with its own connection and the full
busy timeout. The board says it is waiting and stays usable; each write's `then` runs when it lands.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import DeskError

if TYPE_CHECKING:
    from .app import OncallApp

# How long a write waits for the lock on the event loop before going to a thread: long enough for
# another desk's ordinary commit (milliseconds), short enough that no key waits for it.
FIRST_TRY_MS = 150


class LockedWrites:
    def __init__(self, app: OncallApp) -> None:
        self.app = app
        self._waiting: deque[tuple[str, tuple, dict, Callable | None]] = deque()

    @property
    def pending(self) -> bool:
        return bool(self._waiting)

    def add(self, fn: Callable[..., Any], args: tuple, kwargs: dict, then: Callable | None) -> None:
        """Queue `fn` (a method of the app's desk) behind the writes already waiting."""
        self._waiting.append((fn.__name__, args, kwargs, then))
        if len(self._waiting) == 1:
            self.app.notify(
                "Another process is writing to the desk file: waiting for its lock… The board stays usable; "
                "this is written as soon as the lock is free.",
                title="Waiting for the lock",
                severity="warning",
                timeout=6,
            )
            self.app.run_worker(self._write, name="waiting for the lock", thread=True, exit_on_error=False)

    def _write(self) -> None:
        """In a thread, with its own connection (a Store is not shared between threads)."""
        app, own = self.app, self.app.desk
        desk = own.reopen()
        try:
            while self._waiting:
                name, args, kwargs, then = self._waiting[0]
                try:
                    result = getattr(desk, name)(*args, **kwargs)
                except DeskError as exc:
                    app.call_from_thread(app.report, exc)
                else:
                    if then is not None:
                        app.call_from_thread(then, result)
                finally:
                    self._waiting.popleft()
                    app.call_from_thread(app.refresh_incidents)
        finally:
            desk.close()
