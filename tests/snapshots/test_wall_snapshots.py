"""Snapshots of the wall at a frozen instant: all clear, and twelve open with three breached; 80x24 and 200x60.

Each SVG under __snapshots__/ was looked at before it was accepted.
"""

from __future__ import annotations

import pytest
from wall_fixtures import twelve_open_three_breached

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.ui.wall.app import WallApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((200, 60), id="200x60")]


def wall(db_path, policy, clock) -> WallApp:
    desk = Desk.open(db_path, policy=policy, clock=clock, readonly=True)
    return WallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def settle(pilot) -> None:
    await pilot.pause()
    pilot.app.tick()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_wall_all_clear(snap_compare, desk, db_path, policy, clock, size):
    assert snap_compare(wall(db_path, policy, clock), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_wall_twelve_open_three_breached(snap_compare, desk, db_path, policy, clock, size):
    twelve_open_three_breached(desk, clock)
    assert snap_compare(wall(db_path, policy, clock), terminal_size=size, run_before=settle)
