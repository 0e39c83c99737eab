"""Two commands changing the same thing at once: the one that comes second is told, not silently
overwritten. Both read the incident while a third process holds the write lock, then race for it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from integrity_helpers import oncall_tui_command

from oncall_tui.desk import Desk


def _waiting_for_the_lock(pid: int, db: Path) -> bool:
    """Has the database open and sleeps: SQLite's busy handler, retrying the write lock. A command
    still starting (imports, reading) runs, or waits on the disk; it does not sleep."""
    try:
        opened = any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(db) for fd in os.listdir(f"/proc/{pid}/fd"))
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return opened and state == "S"


def _wait_until_waiting_for_the_lock(proc: subprocess.Popen, db: Path, timeout: float = 120.0) -> None:
    """Until the command has read the incident and waits for the write lock (asleep, db open, over
    ten looks 20 ms apart), however long a loaded machine takes to start it."""
    deadline = time.monotonic() + timeout
    asleep = 0
    while asleep < 10:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the command never waited for the lock within {timeout}s"
        asleep = asleep + 1 if _waiting_for_the_lock(proc.pid, db) else 0
        time.sleep(0.02)


@pytest.mark.parametrize(
    "first, second, field",
    [
        (["severity", "INC-1", "P2"], ["severity", "INC-1", "P3"], "severity"),
        (["status", "INC-1", "investigating"], ["status", "INC-1", "mitigated"], "status"),
        (["edit", "INC-1", "impact", "logins fail"], ["edit", "INC-1", "impact", "all logins fail"], "impact"),
    ],
    ids=["severity", "status", "edit"],
)
def test_the_second_of_two_simultaneous_commands_is_told(first, second, field, db_path, policy, clock, cli_env):
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    desk.declare("Login failures", severity="P1")
    desk.acknowledge(1)
    desk.close()

    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # both commands read, then wait here for the write lock
    env = {**cli_env, "ONCALL_TUI_BUSY_TIMEOUT_MS": "20000"}
    procs = [
        subprocess.Popen(
            [*oncall_tui_command(), "--db", str(db_path), *args],
            env={**env, "ONCALL_TUI_USER": who},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, args in (("alice", first), ("bob", second))
    ]
    for proc in procs:
        _wait_until_waiting_for_the_lock(proc, db_path)
    holder.execute("ROLLBACK")
    holder.close()
    results = [(p.wait(timeout=30), *p.communicate()) for p in procs]

    statuses = sorted(r[0] for r in results)
    assert statuses == [0, 1], results
    loser = next(r for r in results if r[0] == 1)
    assert "Traceback" not in loser[2]
    assert "was changed by" in loser[2] and "look again before retrying" in loser[2], loser[2]
    assert loser[2].startswith("oncall-tui: INC-1's ")
    after = Desk.open(db_path, policy=policy, clock=clock)
    changes = [e for e in after.timeline(1) if e.kind in ("severity_set", "status_changed", "field_edited")]
    after.close()
    assert len(changes) == 1, [e.details for e in changes]
