"""A desk with years of history answers at once: a key is handled and painted within 100 ms while
the startup integrity check walks the history in its worker, right after the first frame.

The issue's desk has 100,000 closed incidents; CI builds 20,000 (about 200,000 events, a few
seconds with the history generator) in the test's own folder: enough that walking their chains on
the event loop (as the desk once did) takes seconds, far past the budget.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
from support.history import build_history_desk
from textual import events

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.key_queue import _idle

pytestmark = pytest.mark.anyio
KEY_BUDGET_S = 0.100


@pytest.fixture
def history_desk(db_path, policy, clock) -> Desk:
    build_history_desk(db_path, policy, clock)
    return Desk.open(db_path, policy=policy, clock=clock, actor="alice")


def quiet(app: OncallApp) -> bool:
    """Nothing queued for the app or any widget on screen (the key queue's own test)."""
    return all(_idle(pump) for pump in [app, *app.screen.walk_children(with_self=True)])


def checking(app: OncallApp) -> bool:
    return any(w.name == "startup integrity check" and w.is_running for w in app.workers)


async def test_the_first_key_on_a_desk_with_history_is_answered_within_100_ms(history_desk, db_path, clock):
    top = history_desk.store.changes_since(sys.maxsize)[0]
    app = OncallApp(history_desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        # Right after the first frame the desk starts its check (where it once froze for seconds);
        # the key goes in once the screen's own post-frame work is done (Textual's settling, the
        # runbooks), while the check is walking the history.
        deadline = time.perf_counter() + 10
        calm = 0
        while calm < 3 or not checking(app):
            assert time.perf_counter() < deadline, "the startup integrity check never started"
            await asyncio.sleep(0.002)
            calm = calm + 1 if quiet(app) else 0
        screen, board = app.board_screen, app.board_screen.board
        painted: list[float] = []
        paint = screen._compositor_refresh

        def timed_paint() -> None:  # the frame, rendered (headless: not written to a terminal)
            paint()
            painted.append(time.perf_counter())

        screen._compositor_refresh = timed_paint  # type: ignore[method-assign]
        first = board.highlighted
        # Posted, not pressed: Pilot.press waits for the whole process to go idle, worker included.
        started = time.perf_counter()
        app.post_message(events.Key("down", None))
        moved_at = None
        while time.perf_counter() - started < 5:
            if moved_at is None and board.highlighted != first:
                moved_at = time.perf_counter()
            if moved_at is not None and painted and painted[-1] >= moved_at:
                break
            await asyncio.sleep(0.001)
        assert moved_at is not None, "the key was never handled"
        took = painted[-1] - started
        assert took < KEY_BUDGET_S, f"the key took {took * 1000:.0f} ms to the painted frame"
        assert checking(app)  # the check was walking the history all along

        # The check does finish, and remembers: the next start walks only what is new.
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.query("#integrity-banner")
    assert history_desk.store.verified_through() >= top  # (the breaches written since, the next start)
    history_desk.close()
