"""Waiting on a running app: poll a condition between frames instead of trusting one pause.

A toast raised after the first frame, or a message from a worker thread, lands a frame or two later
on a busy machine (or under libfaketime in CI's second pass): one `pilot.pause()` is a race.
"""

from __future__ import annotations

import time


async def until(pilot, check, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never saw {what} within {timeout}s")
