"""The real `oncall-tui` in a real terminal (tmux): keys in, screen text out.

Each test runs its own tmux server (`-L <name>`), so a developer's tmux and its environment stay out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from oncall_tui.desk import Desk
from oncall_tui.model import Status

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt install tmux)"),
]

ONCALL = Path(sys.executable).with_name("oncall-tui")


class Terminal:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        return done.stdout

    # Pauses between sends keep them apart as a person's typing is: keys that reach Textual in one
    # read are dispatched before a focus change (tab) has taken effect.
    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "desk", key)
            time.sleep(0.25)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "desk", "-l", text)
        time.sleep(0.25)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "desk")

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if check(text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; the screen shows:\n{text}")
            time.sleep(0.1)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(f"oncall-test-{uuid.uuid4().hex[:8]}")
    yield term
    term.tmux("kill-server")


def start_board(terminal: Terminal, db: Path, size=(120, 40)) -> None:
    env = {k: os.environ[k] for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "PATH") if k in os.environ}
    env.update(ONCALL_TUI_USER="alice", TZ="UTC", TERM="xterm-256color")
    # COLUMNS/LINES (set in some test environments) would pin the app to their size.
    command = "exec env -u COLUMNS -u LINES " + " ".join(f"{k}={v}" for k, v in env.items()) + f" {ONCALL} --db {db}"
    # Start a shell at the final size, then the desk in it: a fresh tmux server may resize a new
    # window just after spawning its command, before the app listens for SIGWINCH.
    terminal.tmux("new-session", "-d", "-s", "desk", "-x", str(size[0]), "-y", str(size[1]), "sh")
    terminal.tmux("send-keys", "-t", "desk", "-l", command)
    terminal.tmux("send-keys", "-t", "desk", "Enter")
    terminal.wait_for(lambda s: "oncall-tui" in s and "? Help" in s, "the board to start")


def cli(db: Path, *args: str, user: str = "bob") -> str:
    env = dict(os.environ, ONCALL_TUI_USER=user)
    done = subprocess.run([str(ONCALL), "--db", str(db), *args], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def board_line(screen: str, incident_id: str) -> str:
    return next((line for line in screen.splitlines() if line.strip().startswith(incident_id + " ")), "")


def test_declare_and_acknowledge_by_keys(terminal, tmp_path):
    db = tmp_path / "desk.db"
    start_board(terminal, db)
    assert "No open incidents" in terminal.screen()

    terminal.keys("d")
    terminal.wait_for(lambda s: "Declare an incident" in s, "the declare form")
    terminal.type("Users cannot log in")
    terminal.keys("Tab")
    terminal.type("P1")
    terminal.keys("Tab")
    terminal.type("identity")
    terminal.wait_for(lambda s: "identity" in s, "the form filled in")
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "INC-1" in board_line(s, "INC-1"), "INC-1 on the board")
    row = board_line(screen, "INC-1")
    assert "P1" in row and "triggered" in row and "Users cannot log in" in row and "identity" in row, screen
    assert "ack in 4m" in row

    terminal.keys("a")
    screen = terminal.wait_for(lambda s: "acknowledged" in board_line(s, "INC-1"), "INC-1 acknowledged")
    assert "acked by   alice" in screen

    desk = Desk.open(db, readonly=True)
    try:
        inc = desk.get(1)
        assert inc.status is Status.ACKNOWLEDGED and inc.acknowledged_by == "alice"
        assert [e.kind for e in desk.timeline(1)] == ["declared", "acknowledged"]
    finally:
        desk.close()

    terminal.keys("q")
    terminal.wait_for(lambda s: "? Help" not in s, "the board to quit")


def test_an_acknowledgement_from_another_process_appears_on_the_running_board(terminal, tmp_path):
    db = tmp_path / "desk.db"
    cli(db, "declare", "Slow API responses", "--severity", "P2", "--service", "api")
    start_board(terminal, db)
    assert "triggered" in board_line(terminal.screen(), "INC-1")

    cli(db, "ack", "INC-1", user="bob")
    started = time.monotonic()
    screen = terminal.wait_for(lambda s: "acknowledged" in board_line(s, "INC-1"), "bob's ack on the board", 5)
    assert time.monotonic() - started < 3  # about a second: one tick of the board's clock
    assert "acked by   bob" in screen


def test_keys_sent_in_one_write_all_reach_their_prompts(terminal, tmp_path):
    """One `send-keys`: two notes and an acknowledgement arrive in one read, as over a laggy link."""
    db = tmp_path / "desk.db"
    cli(db, "declare", "Login failures", "--severity", "P1")
    start_board(terminal, db)
    terminal.wait_for(lambda s: "INC-1" in board_line(s, "INC-1"), "INC-1 on the board")
    terminal.tmux("send-keys", "-t", "desk", "nfirst note", "Enter", "nsecond note", "Enter", "a")
    terminal.wait_for(lambda s: "acknowledged" in board_line(s, "INC-1"), "INC-1 acknowledged")

    desk = Desk.open(db, readonly=True)
    try:
        assert [e.details.get("text") for e in desk.timeline(1) if e.kind == "note"] == ["first note", "second note"]
        assert desk.get(1).status is Status.ACKNOWLEDGED
    finally:
        desk.close()
    terminal.keys("q")
    terminal.wait_for(lambda s: "? Help" not in s, "the board to quit")


@pytest.mark.parametrize("sig", ["TERM", "INT", "HUP"])
@pytest.mark.parametrize("dialog", ["n", "d", "s"], ids=["note-prompt", "declare-form", "severity-picker"])
def test_a_signal_ends_the_board_within_a_second_even_with_a_dialog_open(terminal, tmp_path, sig, dialog):
    import signal as signals

    db = tmp_path / "desk.db"
    cli(db, "declare", "Login failures", "--severity", "P1")
    start_board(terminal, db)
    terminal.wait_for(lambda s: "INC-1" in board_line(s, "INC-1"), "INC-1 on the board")
    pid = int(terminal.tmux("display-message", "-p", "-t", "desk", "#{pane_pid}").strip())
    terminal.keys(dialog)
    time.sleep(0.5)
    os.kill(pid, getattr(signals, f"SIG{sig}"))
    started = time.monotonic()
    while time.monotonic() - started < 3 and _running(pid):
        time.sleep(0.05)
    took = time.monotonic() - started
    assert took < 1.2, f"the board was still running {took:.1f} s after SIG{sig}"


def _running(pid: int) -> bool:
    """Alive, and not a zombie waiting for tmux to reap it (it has ended: only its exit status is left)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def test_escape_then_q_in_one_write_closes_the_help_and_quits(terminal, tmp_path):
    """`send-keys Escape q` reaches the desk as one read, which the terminal protocol calls Alt+q."""
    start_board(terminal, tmp_path / "desk.db", size=(80, 24))
    terminal.keys("?")
    terminal.wait_for(lambda s: "oncall-tui — keys" in s, "the help")
    terminal.tmux("send-keys", "-t", "desk", "Escape", "q")
    terminal.wait_for(lambda s: "? Help" not in s and "oncall-tui — keys" not in s, "the desk to quit")


def test_escape_and_a_filter_in_one_write_close_the_severity_picker_then_filter(terminal, tmp_path):
    """`send-keys Escape '/sev:P1' Enter`: Textual read `ESC /` as a bare `/` and lost the Escape,
    so the picker stayed open and took the 1 as P1."""
    db = tmp_path / "desk.db"
    desk = Desk.open(db, actor="alice")
    desk.declare("Login failures", severity="P0")
    desk.declare("Disk filling", severity="P1")
    desk.close()
    start_board(terminal, db, size=(80, 24))
    terminal.keys("s")
    terminal.wait_for(lambda s: "Severity of INC-" in s, "the severity picker")
    terminal.tmux("send-keys", "-t", "desk", "Escape", "/sev:P1", "Enter")
    shown = terminal.wait_for(lambda s: "filter: sev:P1 (1)" in s, "the board filtered to P1")
    assert "Severity of" not in shown and "Disk filling" in shown
    desk = Desk.open(db, actor="checker")
    assert [i.severity.value for i in desk.incidents()] == ["P0", "P1"]  # nothing was set to P1
    desk.close()
