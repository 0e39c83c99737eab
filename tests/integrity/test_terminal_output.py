"""Text another writer put in the file (a script, an older version, a hand edit) reaches the terminal
as text only: `list`, `show`, `export` and the board strip escape sequences, C1 controls and bidi
overrides on the way out, with the same function that cleans input on the way in."""

from __future__ import annotations

import json
import sqlite3

import pytest

from oncall_tui.desk import Desk

OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"  # sets the clipboard to "rm -rf ~"
HOSTILE = f"Login {OSC52}fail\u009b2Jures \u202eexe.txt\u202c"
SHOWN = "Login ]52;c;cm0gLXJmIH4Kfail2Jures exe.txt"
CONTROLS = ("\x1b", "\x07", "\u009b", "\u202e", "\u202c")


@pytest.fixture
def written_elsewhere(db_path, policy, clock) -> Desk:
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    desk.declare("Login failures", severity="P1", services=["identity"])
    desk.note(1, "looking")
    desk.close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("DROP TRIGGER events_append_only_update")
    conn.execute(
        "UPDATE incidents SET title = ?, impact = ?, services = ? WHERE number = 1",
        [HOSTILE, HOSTILE, json.dumps([HOSTILE])],
    )
    conn.execute(
        "UPDATE events SET actor = ?, details = ? WHERE kind = 'note'",
        [f"mal{OSC52}lory", json.dumps({"text": HOSTILE})],
    )
    conn.close()
    return Desk.open(db_path, policy=policy, clock=clock, actor="alice")


def _clean(text: str) -> None:
    assert not any(c in text for c in CONTROLS), repr(text)


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["list", "--json"],
        ["show", "INC-1"],
        ["show", "INC-1", "--json"],
        ["export", "INC-1"],
        ["export", "INC-1", "--format", "json"],
    ],
)
def test_the_cli_prints_no_escape_sequences_read_from_the_file(written_elsewhere, db_path, run_cli, args):
    run = run_cli("--db", str(db_path), *args)
    assert run.status == 0, run.err
    _clean(run.out)
    if "--json" not in args and "json" not in args:
        assert SHOWN in run.out


def test_what_the_board_reads_is_clean(written_elsewhere: Desk):
    inc = written_elsewhere.get(1)
    assert inc.title == SHOWN and inc.impact == SHOWN and inc.services == (SHOWN,)
    note = written_elsewhere.timeline(1)[-1]
    assert note.actor == "mal]52;c;cm0gLXJmIH4Klory" and note.details == {"text": SHOWN}
    assert [i.title for i in written_elsewhere.incidents()] == [SHOWN]


@pytest.mark.anyio
async def test_the_board_paints_no_escape_sequence(written_elsewhere: Desk, tmp_path):
    from oncall_tui.config import DeskOptions
    from oncall_tui.ui.app import OncallApp

    app = OncallApp(written_elsewhere, DeskOptions(db_path=written_elsewhere.store.info.path))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        painted = app.export_screenshot()
    assert "Login ]52;c;cm0gLXJmIH4Kfail2Jures" in painted.replace("&#160;", " ")
    _clean(painted)
