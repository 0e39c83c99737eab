"""A desk with years of history, at a size CI can afford: the history generator's closed incidents
(valid chains, rows that replay) and a night's open ones on top, left as yesterday's shift left it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from oncall_tui.clock import FrozenClock
from oncall_tui.desk import Desk
from oncall_tui.history import generate_history
from oncall_tui.policy import Policy

CLOSED = 20_000  # the desk has 100,000; a fifth walks in a fifth of the time
OPEN = 30


def build_history_desk(path: Path, policy: Policy, clock: FrozenClock, *, closed: int = CLOSED) -> None:
    desk = Desk.open(path, policy=policy, clock=clock, actor="alice")
    try:
        generate_history(desk.store, policy, closed, now=clock.now() - timedelta(days=1))
        for i in range(OPEN):
            desk.declare(f"Open incident {i}", severity="P2", started_at=clock.now() - timedelta(minutes=i))
    finally:
        desk.close()
