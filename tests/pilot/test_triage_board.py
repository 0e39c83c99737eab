"""Issue 15 on the board: tenants, the suggestion, roles, fired-before, the blind banner, rough edges."""

from __future__ import annotations

import pytest

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_app(desk, clock, db_path, **options) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path, **options), clock=clock)


async def test_incidents_arriving_on_an_empty_board_select_the_first_row(desk, clock, db_path, policy):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
        for title in ("Login failures", "Checkout errors", "Search slow"):
            other.declare(title)
        other.close()
        app.tick()
        await pilot.pause()
        assert app.board_screen.selected is not None
        await pilot.press("a")
        await pilot.pause()
        assert sum(1 for i in desk.incidents() if i.status is Status.ACKNOWLEDGED) == 1
