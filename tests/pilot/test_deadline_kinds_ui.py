"""A made-up deadline kind (the `extra_deadline_kind` fixture) reaches the composer with no change to
it: sending the message that meets it says what that did to its clock."""

from __future__ import annotations

import pyperclip
import pytest
from textual.widgets import Static

from oncall_tui.config import DeskOptions
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def no_system_clipboard():
    saved = pyperclip.copy, pyperclip.paste
    pyperclip.set_clipboard("no")
    yield
    pyperclip.copy, pyperclip.paste = saved


async def test_sending_the_initial_alert_reports_the_new_kind(extra_deadline_kind, desk, clock, db_path):
    inc = desk.declare(
        "Login failures", severity="P0", services=["identity"], impact="No tenant can sign in", assignee="alice"
    )
    clock.advance(minutes=6)
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        for _ in range(2):  # no system clipboard: the second ctrl+o says it was pasted
            await pilot.press("ctrl+o")
            await app.workers.wait_for_complete()
            await pilot.pause()
        result = str(app.screen.query_one("#result", Static).render())
        assert "stakeholders notified in time; next update due 03:36 UTC; status page posted in time." in result
    assert desk.deadlines(desk.get(inc.number)).get("status_page").done_at is not None
