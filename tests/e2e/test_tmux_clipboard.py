"""End to end in a real terminal: the composer's copy reaches tmux's clipboard through OSC 52.

This is the path an engineer on SSH takes: no system clipboard on the desk's machine, the text goes
to the terminal (tmux here) as an escape sequence, and `tmux show-buffer` holds exactly the message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"),
]

BIN = Path(sys.executable).with_name("oncall-tui")


class Tmux:
    """A private tmux server (its own socket and config), so the developer's tmux is never touched."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.socket = f"oncall-e2e-{uuid.uuid4().hex[:8]}"
        self.conf = tmp / "tmux.conf"
        self.conf.write_text("set -g set-clipboard on\nset -g history-limit 100\n", encoding="utf-8")
        self.env = env

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
            timeout=20,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "desk")

    def wait_for(self, what, *, timeout: float = 20.0) -> str:
        """Poll the screen until `what(screen)` holds: the app's own pace, not a deadline."""
        end = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if what(screen):
                return screen
            if time.monotonic() > end:
                raise AssertionError(f"timed out; the screen shows:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path, cli_env):
    env = {**cli_env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("DISPLAY", None)  # like SSH: no system clipboard, only the terminal's
    env.pop("WAYLAND_DISPLAY", None)
    session = Tmux(tmp_path, env)
    yield session
    session.kill()


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, check=True, timeout=30)
    return done.stdout


def test_copying_in_the_composer_fills_the_tmux_buffer(tmux, db_path):
    env = tmux.env
    cli(
        env,
        "declare",
        "Login failures",
        "--severity",
        "P0",
        "--service",
        "identity",
        "--impact",
        "No tenant can sign in",
        "--assignee",
        "alice",
    )
    # The headless command renders the same template with the same strictness: it is the expectation.
    expected = cli(env, "compose", "INC-1", "--template", "initial").rstrip("\n")
    assert expected.startswith("[P0] Service Issue: identity\n- Timestamp: ")
    assert expected.endswith("- Impact: No tenant can sign in\n- Status: Under Investigation\n- Assigned: alice")

    tmux.run("new-session", "-d", "-s", "desk", "-x", "120", "-y", "40", f"{BIN} --db {db_path}; sleep 30")
    # The impact shows only in the detail pane, i.e. once the board has selected INC-1.
    tmux.wait_for(lambda s: "INC-1" in s and "No tenant can sign in" in s)

    tmux.run("send-keys", "-t", "desk", "m")
    tmux.wait_for(lambda s: "Compose · INC-1" in s and "- Assigned: alice" in s)
    tmux.run("send-keys", "-t", "desk", "C-o")
    # This machine has no system clipboard: only the terminal got it, which nothing confirms, so the
    # desk says so and records nothing until the engineer says it was pasted (a second ctrl+o).
    tmux.wait_for(lambda s: "not confirmed" in s)
    buffers = tmux.run("list-buffers", check=False)
    assert buffers, "tmux received no OSC 52 clipboard write"
    assert tmux.run("show-buffer") == expected
    assert not [e for e in json.loads(cli(env, "show", "INC-1", "--json"))["timeline"] if e["kind"] == "message_sent"]

    tmux.run("send-keys", "-t", "desk", "C-o")
    tmux.wait_for(lambda s: "stakeholders notified in time" in s)

    shown = json.loads(cli(env, "show", "INC-1", "--json"))
    sent = [e for e in shown["timeline"] if e["kind"] == "message_sent"]
    assert [e["details"]["text"] for e in sent] == [expected]
    assert next(d for d in shown["deadlines"] if d["name"] == "stakeholders")["state"] == "met"

    tmux.run("send-keys", "-t", "desk", "Escape")
    tmux.wait_for(lambda s: "Compose · INC-1" not in s)
    tmux.run("send-keys", "-t", "desk", "q")
    tmux.wait_for(lambda s: "INC-1" not in s, timeout=10)  # the desk quit cleanly
