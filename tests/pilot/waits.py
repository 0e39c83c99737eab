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


async def keys_done(pilot, timeout: float = 10.0) -> None:
    """Until every key pressed has been handled: the desk's key queue hands them on one by one, so
    a check that nothing happened must wait for the queue, not for a fixed pause."""
    queue = pilot.app.key_queue
    deadline = time.monotonic() + timeout
    while queue._keys or (queue._pump is not None and not queue._pump.done()):
        if time.monotonic() > deadline:
            raise AssertionError(f"keys still being handled after {timeout}s")
        await pilot.pause(0.05)
    for _ in range(3):
        await pilot.pause()


async def palette_offers(pilot, wanted: str, timeout: float = 10.0) -> None:
    """Until the command palette's highlighted command (the one enter runs) is `wanted`: its search
    runs in the background, and a loaded machine may not have finished it after a fixed pause."""
    from textual.command import CommandList

    def highlighted() -> str:
        found = pilot.app.screen.query(CommandList)
        if not found or found.first().highlighted is None:
            return ""
        options = found.first()
        return str(options.get_option_at_index(options.highlighted).prompt)

    await until(pilot, lambda: wanted.lower() in highlighted().lower(), f"{wanted!r} first in the palette", timeout)
