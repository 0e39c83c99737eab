"""Waiting on a running app in the integration tests: poll a condition between frames."""

from __future__ import annotations

import time


async def until(pilot, check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never saw {what} within {timeout}s")


def board_text(app) -> str:
    board = app.board_screen.board
    return "\n".join(board.render_line(y).text for y in range(board.size.height))
