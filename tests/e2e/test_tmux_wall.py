"""`oncall-tui --wall` in a real terminal (tmux): large clocks, a resize from 80x24 to 200x60, keys refused."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from test_tmux_board import ONCALL, Terminal, terminal  # noqa: F401  (the fixture)

from oncall_tui.clock import SystemClock
from oncall_tui.desk import Desk

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt install tmux)"),
]


def start_wall(term: Terminal, db: Path, size=(80, 24)) -> None:
    env = {k: os.environ[k] for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "PATH") if k in os.environ}
    env.update(ONCALL_TUI_USER="alice", TZ="UTC", TERM="xterm-256color")
    command = "exec env -u COLUMNS -u LINES " + " ".join(f"{k}={v}" for k, v in env.items())
    command += f" {ONCALL} --wall --db {db}"
    term.tmux("new-session", "-d", "-s", "desk", "-x", str(size[0]), "-y", str(size[1]), "sh")
    term.tmux("send-keys", "-t", "desk", "-l", command)
    term.tmux("send-keys", "-t", "desk", "Enter")
    term.wait_for(lambda s: "ON CALL WALL" in s, "the wall to start")


def test_the_wall_in_a_terminal(terminal, db_path, policy):  # noqa: F811
    desk = Desk.open(db_path, policy=policy, clock=SystemClock(), actor="pagerbot")
    inc = desk.declare("Login failures across all tenants", severity="P0", services=["identity"])
    start_wall(terminal, db_path)
    screen = terminal.wait_for(lambda s: "Login failures" in s and "ACKNOWLEDGE DUE IN" in s, "the P0's large clock")
    assert "NOT ACKNOWLEDGED" in screen and "1 open" in screen

    for key in ("a", "d", "s", "f", "x", "n", "Enter"):
        terminal.keys(key)
    assert desk.get(inc.number).version == 1  # nothing written
    assert "ON CALL WALL" in terminal.screen()  # and no form opened

    desk.acknowledge(inc.number)  # another desk acknowledges: the wall shows it within a tick
    terminal.wait_for(lambda s: "NOTIFY STAKEHOLDERS DUE IN" in s, "the acknowledgement")

    terminal.tmux("resize-window", "-t", "desk", "-x", "200", "-y", "60")
    terminal.wait_for(lambda s: any(len(line) > 150 for line in s.splitlines()), "the wall at 200 columns")
    desk.close()
    terminal.keys("q")
    deadline = time.monotonic() + 10
    while "ON CALL WALL" in terminal.screen() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "ON CALL WALL" not in terminal.screen()
