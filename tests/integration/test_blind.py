"""Monitoring is blind: the board says so first, in red, against a real Alertmanager."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from pilot_helpers import board_text, until

from oncall_tui.alerts.poller import State
from oncall_tui.config import DeskOptions

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WATCHDOG = {"alertname": "Watchdog", "severity": "none"}
IDENTITY = {"alertname": "IdentityHighErrorRate", "severity": "critical", "service": "identity"}


def banner(app) -> str:
    found = app.screen.query("#blind-banner")
    if not found or not found.first().has_class("-blind"):
        return ""
    return str(found.first().render())


async def test_the_watchdog_going_away_makes_the_board_say_monitoring_is_blind(
    alertmanager, live_desk, live_clock, db_path
):
    from oncall_tui.ui.app import OncallApp
    from oncall_tui.ui.widgets.alert_source import AlertSource

    began = datetime.now(UTC) - timedelta(minutes=1)
    alertmanager.fire(WATCHDOG, starts_at=began)
    alertmanager.fire(IDENTITY, annotations={"summary": "Users cannot log in"})
    app = OncallApp(live_desk, DeskOptions(db_path=db_path, alertmanager_url=alertmanager.url), clock=live_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.query_one(AlertSource)
        await until(pilot, lambda: "Users cannot log in" in board_text(app), "the alert on the board")
        assert banner(app) == ""
        assert [i.title for i in live_desk.incidents()] == ["Users cannot log in"]  # the Watchdog is no incident

        alertmanager.resolve(WATCHDOG, starts_at=began)
        source.poll_soon()
        await until(pilot, lambda: banner(app), "the blind banner")
        assert "MONITORING IS BLIND: the always-firing Watchdog alert is gone" in banner(app)
        # First on the board: right under the top line, above the incidents.
        screen_children = list(app.screen.children)
        assert screen_children.index(app.screen.query_one("#blind-banner")) < screen_children.index(
            app.screen.query_one("#main")
        )

        alertmanager.fire(WATCHDOG)
        source.poll_soon()
        await until(pilot, lambda: not banner(app), "the banner gone once the Watchdog is back")


async def test_an_unreachable_alertmanager_makes_the_board_say_monitoring_is_blind(live_desk, live_clock, db_path):
    from oncall_tui.ui.app import OncallApp
    from oncall_tui.ui.widgets.alert_source import AlertSource

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = OncallApp(live_desk, DeskOptions(db_path=db_path, alertmanager_url=url), clock=live_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        source = app.query_one(AlertSource)
        await until(pilot, lambda: source.poller.health.state is State.DOWN, "the failed poll")
        await until(pilot, lambda: banner(app), "the blind banner")
        assert banner(app).startswith("MONITORING IS BLIND: Alertmanager cannot be reached")
        assert "connection refused" in banner(app)


async def test_no_alertmanager_says_alerts_are_off_and_how_to_turn_them_on(live_desk, live_clock, db_path):
    from oncall_tui.ui.app import OncallApp

    app = OncallApp(live_desk, DeskOptions(db_path=db_path), clock=live_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        status = str(app.screen.query_one("#desk-status").render())
        assert "alerts: off (--alertmanager URL turns them on)" in status
        assert not app.screen.query("#blind-banner")
    narrow = OncallApp(live_desk, DeskOptions(db_path=db_path), clock=live_clock)
    async with narrow.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "alerts: off" in str(narrow.screen.query_one("#desk-status").render())
