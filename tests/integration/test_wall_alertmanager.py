"""The wall's monitoring line against a real Alertmanager: it asks, never imports or silences."""

from __future__ import annotations

import pytest
from pilot_helpers import until

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.ui.wall.app import WallApp

pytestmark = [pytest.mark.anyio, pytest.mark.alertmanager]


def health_text(app) -> str:
    return str(app.screen.query_one("#wall-health").render())


async def test_the_wall_shows_alertmanager_health_and_changes_nothing(
    alertmanager, live_desk, db_path, policy, live_clock
):
    alertmanager.fire({"alertname": "LoginErrors", "service": "identity", "severity": "critical"})
    desk = Desk.open(db_path, policy=policy, clock=live_clock, readonly=True)
    app = WallApp(desk, DeskOptions(db_path, alertmanager_url=alertmanager.url), clock=live_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        app.tick()
        await until(pilot, lambda: "Alertmanager ok · 1 firing" in health_text(app), "the firing alert counted")
        assert live_desk.incidents() == []  # the wall does not import alerts: the desk does
        assert alertmanager.silences() == []

        alertmanager.process.terminate()
        alertmanager.process.wait(timeout=10)
        live_clock.advance(seconds=60)
        app.tick()
        await until(pilot, lambda: "ALERTMANAGER DOWN" in health_text(app), "Alertmanager reported down")
        assert app.screen.id == "wall"  # and the wall carries on
