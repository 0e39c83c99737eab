"""A desk and an agent on one file, in a real terminal: a deadline runs out, the next tier is paged
(exactly once, though both are watching), and the board shows the delivery on the timeline."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from paging_fixtures import POLICY, write_config
from paging_receivers import SmtpServer
from test_tmux_board import ONCALL, Terminal

from oncall_tui.clock import SystemClock
from oncall_tui.desk import Desk
from oncall_tui.policy import load_policy
from oncall_tui.roster import RosterSource

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt install tmux)"),
]


def test_a_breach_pages_the_next_tier_once_and_the_board_shows_the_delivery(tmp_path):
    smtp = SmtpServer()
    terminal = Terminal(f"oncall-paging-{uuid.uuid4().hex[:8]}")
    config = write_config(
        tmp_path / "config",
        urls={h: smtp.url(f"{h}@example.com") for h in ("ava", "ben", "chen")},
        policy=POLICY.replace('schedule = "primary"', 'person = "ava"').replace(
            'schedule = "secondary"', 'person = "ben"'
        ),
    )
    db = tmp_path / "desk.db"
    env = {k: os.environ[k] for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "PATH") if k in os.environ}
    env.update(ONCALL_TUI_USER="alice", TZ="UTC", TERM="xterm-256color", ONCALL_TUI_CONFIG=str(config))
    policy = load_policy(config / "policy.toml")
    desk = Desk.open(db, policy=policy, clock=SystemClock(), actor="alice")
    agent = subprocess.Popen(
        [str(ONCALL), "--db", str(db), "agent"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert "paging 3 people" in agent.stdout.readline()
        command = (
            "exec env -u COLUMNS -u LINES " + " ".join(f"{k}={v}" for k, v in env.items()) + f" {ONCALL} --db {db}"
        )
        terminal.tmux("new-session", "-d", "-s", "desk", "-x", "130", "-y", "40", "sh")
        terminal.tmux("send-keys", "-t", "desk", "-l", command)
        terminal.tmux("send-keys", "-t", "desk", "Enter")
        terminal.wait_for(lambda s: "☎ Ava Jones" in s and "agent ✓" in s, "who is on call and a live agent", 20)

        # Its acknowledge deadline runs out four seconds from now.
        started = datetime.now(UTC) - policy.acknowledge + timedelta(seconds=4)
        desk.declare("Checkout errors", severity="P1", started_at=started)
        smtp.wait_for("ava@example.com", timeout=15)
        smtp.wait_for("ben@example.com", timeout=20)
        terminal.keys("]")  # the Timeline tab
        screen = terminal.wait_for(lambda s: "Page delivered to Ben Okafor" in s, "the delivery on the board", 15)
        assert "Paging Ben Okafor as Secondary On-Call (not acknowledged in time)" in screen
        time.sleep(2)  # both processes keep looking: neither sends it again
        assert len(smtp.to("ben@example.com")) == 1 and len(smtp.to("ava@example.com")) == 1
        assert RosterSource(policy, config).get().configured
    finally:
        terminal.tmux("kill-server")
        agent.send_signal(signal.SIGTERM)
        agent.communicate(timeout=30)
        smtp.stop()
        desk.close()
