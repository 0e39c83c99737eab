"""The small dialogs, on their own app: what an engineer types or pastes is what comes back."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App

from oncall_tui.ui.dialogs.modals import TextPrompt

pytestmark = pytest.mark.anyio


async def test_a_multi_line_paste_into_a_prompt_keeps_every_line():
    answers: list[str | None] = []
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(TextPrompt("Note on INC-1"), answers.append)
        await pilot.pause()
        field = app.screen.query_one("#prompt-input")
        field.post_message(events.Paste("pool exhausted\n\n  at db.connect()\nretrying"))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    assert answers == ["pool exhausted · at db.connect() · retrying"]
