"""Another process holding the write lock does not freeze the board: `a` says it is waiting, the
board answers keys meanwhile, and the acknowledgement lands (in order with what follows) once the
lock is free."""

from __future__ import annotations

import sqlite3
import time

import pytest
from textual.widgets._toast import Toast

from oncall_tui.config import DeskOptions
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


def _toasts(app) -> list[str]:
    return [str(t.render()) for t in app.screen.query(Toast)]


async def test_a_held_lock_does_not_freeze_the_board(desk, db_path, clock, monkeypatch):
    monkeypatch.setenv("ONCALL_TUI_BUSY_TIMEOUT_MS", "20000")
    desk.declare("Login failures", severity="P1")
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        await _hold_and_press(app, desk, holder)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


async def _hold_and_press(app, desk, holder) -> None:
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        await pilot.press("a")
        answered = time.monotonic() - started
        assert answered < 3, f"the board froze for {answered:.1f} s (the busy timeout is 20 s)"
        await pilot.press("n", *"after the ack", "enter")
        assert any("waiting for its lock" in t for t in _toasts(app)), _toasts(app)
        assert desk.get(1).status is Status.TRIGGERED  # nothing written yet, nothing claimed

        holder.execute("ROLLBACK")
        for _ in range(50):
            await pilot.pause(0.1)
            if desk.timeline(1)[-1].kind == "note":
                break
        assert [e.kind for e in desk.timeline(1)] == ["declared", "acknowledged", "note"]
        assert desk.get(1).status is Status.ACKNOWLEDGED
        await pilot.pause()
        assert any("INC-1 acknowledged" in t for t in _toasts(app)), _toasts(app)
