"""Keys typed faster than the screen: every key that arrives before a prompt is ready reaches that
prompt, in order, and the keys after it reach whatever comes next. Bursts post every key at once,
as one SSH packet or one `tmux send-keys` would deliver them."""

from __future__ import annotations

import pytest
from key_bursts import burst
from waits import keys_done, until

from oncall_tui.config import DeskOptions
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(desk, db_path, clock):
    desk.declare("Login failures", severity="P1")
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


def _notes(desk) -> list[str]:
    return [e.details["text"] for e in desk.timeline(1) if e.kind == "note"]


async def _settle(pilot) -> None:
    for _ in range(6):
        await pilot.pause()


async def test_two_notes_and_an_acknowledgement_typed_back_to_back(app, desk):
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await burst(pilot, "n", *"first note", "enter", "n", *"second note", "enter", "a")
        await _settle(pilot)
        assert _notes(desk) == ["first note", "second note"]
        assert desk.get(1).status is Status.ACKNOWLEDGED


async def test_a_pasted_line_fills_and_submits_the_prompt(app, desk):
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await burst(pilot, "n", *"first note", "enter")
        await _settle(pilot)
        assert _notes(desk) == ["first note"]
        assert app.screen is app.board_screen


async def test_escape_in_a_burst_cancels_only_its_prompt(app, desk):
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await burst(pilot, "n", *"never mind", "escape", "n", *"kept", "enter")
        await _settle(pilot)
        assert _notes(desk) == ["kept"]


def _terminal_keys(data: str) -> list:
    """The key events Textual's own terminal parser makes of `data` read at once (as from one write)."""
    import time

    from textual._xterm_parser import XTermParser

    parser = XTermParser()
    keys = list(parser.feed(data))
    time.sleep(0.15)  # past the escape delay: what the parser waited for did not come
    return keys + list(parser.tick())


async def test_escape_and_q_in_one_write_close_the_help_then_quit(app):
    keys = _terminal_keys("\x1bq")
    assert [k.key for k in keys] == ["alt+q"]  # what the terminal protocol makes of them
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("question_mark")
        await _settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"
        for key in keys:
            app.post_message(key)
        await _settle(pilot)
        assert app.return_code == 0 and not app.is_running  # escape closed the help, q quit


async def test_escape_and_a_letter_in_one_write_cancel_the_prompt_then_act_on_the_board(app, desk):
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("n", *"never mind")
        await _settle(pilot)
        for key in _terminal_keys("\x1ba"):  # alt+a: escape, then a (acknowledge)
            app.post_message(key)
        await _settle(pilot)
        assert app.screen is app.board_screen and _notes(desk) == []
        assert desk.get(1).status is Status.ACKNOWLEDGED


@pytest.mark.parametrize(
    "written, keys",
    [
        ("\x1b/", ["alt+slash"]),  # Textual's own parser made this a bare "/", and lost the Escape
        ("\x1b:", ["alt+colon"]),
        ("\x1b\r", ["alt+enter"]),
        ("\x1bq\x1b", ["alt+q", "escape"]),
        # Longer than the parser looks ahead for an escape sequence: the Escape came out as "^".
        ("\x1b" + "x" * 40, ["alt+x", *["x"] * 39]),
        ("\x1b[A", ["up"]),  # real escape sequences are untouched
        ("\x1b[1;3A", ["alt+up"]),
        ("a^b", ["a", "circumflex_accent", "b"]),  # and a typed ^ is a ^
    ],
    ids=["slash", "colon", "enter", "escape-again", "long", "up", "alt-up", "caret"],
)
def test_the_terminal_parser_keeps_an_escape_typed_with_the_next_key(app, written, keys):
    assert [k.key for k in _terminal_keys(written)] == keys


@pytest.mark.parametrize(
    "opens, modal",
    [
        ("s", "SeverityPicker"),  # its 1 would set P1: the reported bug
        ("n", "TextPrompt"),  # a note prompt would take the text as the note
        ("question_mark", "HelpScreen"),
        ("x", "ResolveScreen"),  # a form: the text would fill its first field
        ("f", "ConfirmScreen"),  # closing a resolved incident asks first; its n and y are in the text
    ],
)
async def test_escape_and_a_filter_in_one_write_close_the_modal_then_filter_the_board(app, desk, opens, modal):
    desk.declare("Disk filling", severity="P3")  # P3: closed without a review
    selected = 2 if opens == "f" else 1
    if opens in ("x", "f"):
        desk.acknowledge(selected)
        desk.move(selected, Status.INVESTIGATING)
        desk.move(selected, Status.MITIGATED)
    if opens == "f":
        desk.edit(selected, "root_cause", "expired certificate")
        desk.edit(selected, "resolution", "renewed")
        desk.move(selected, Status.RESOLVED)
    before = [(i.number, i.severity, i.status, i.version) for i in desk.incidents(include_closed=True)]
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        app.board_screen.selected = selected
        await pilot.press(opens)
        await until(pilot, lambda: type(app.screen).__name__ == modal, modal)
        for key in _terminal_keys("\x1b/sev:P1 nyc\r"):  # as `tmux send-keys Escape '/sev:P1 nyc' Enter`
            app.post_message(key)
        await keys_done(pilot)
        assert app.screen is app.board_screen
        assert app.board_screen.board.model.filter.text == "sev:P1 nyc"
    assert [(i.number, i.severity, i.status, i.version) for i in desk.incidents(include_closed=True)] == before
    assert _notes(desk) == []
