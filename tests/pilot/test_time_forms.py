"""Times typed on the board: the declare form refuses the absurd under its field and keeps running;
`e` corrects the start time, and the clocks on screen follow."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall_tui.config import DeskOptions
from oncall_tui.model import Severity
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.dialogs.forms import DeclareScreen
from oncall_tui.ui.dialogs.modals import FieldPicker, TextPrompt

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(desk, db_path, clock):
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1000000d", "more than 366 days ago"),
        ("0001-01-01T00:00:00+14:00", "out of range"),
        ("9999-12-31T23:59:59Z", "in the future"),
    ],
)
async def test_an_absurd_start_is_a_field_error_not_a_crash(app, desk, typed, message):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(
            "d", *"Login failures", "tab", "tab", "tab", "tab", "tab", "tab", *typed, "enter"
        )  # to Started
        assert isinstance(app.screen, DeclareScreen)
        assert message in str(app.screen.query_one("#error-started").render())
        await pilot.press("ctrl+u", *"-5m", "enter")  # mended, the same form declares
        assert not isinstance(app.screen, DeclareScreen)
    assert desk.get(1).started_at == desk.now() - timedelta(minutes=5)


async def test_e_corrects_the_start_time_and_the_clocks_follow(app, desk, clock):
    desk.declare("Login failures", severity=Severity.P1)
    clock.advance(minutes=1)
    async with app.run_test(size=(120, 40)) as pilot:
        app.tick()  # the app was made at 03:00 (a fixture); one tick brings it to now
        await pilot.pause()
        assert "ack in 4m00s" in app.board_screen.board.render_line(1).text
        await pilot.press("e")
        assert isinstance(app.screen, FieldPicker)
        await pilot.press("end", "enter")  # the last field: Start time
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        assert prompt.query_one("#prompt-input").value == "2026-11-27 03:00:00+00:00"
        await pilot.press("ctrl+u", *"20m ago", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, TextPrompt)
        assert "!! ack 15m00s overdue" in app.board_screen.board.render_line(1).text
    inc = desk.get(1)
    assert inc.started_at == clock.now() - timedelta(minutes=20)
    corrected = [e for e in desk.timeline(1) if e.kind == "start_corrected"]
    assert [e.details for e in corrected] == [{"from": "2026-11-27T03:00:00Z", "to": "2026-11-27T02:41:00Z"}]
