"""A desk with years of history, read from the shell: `verify` and `list --json --all` stream, so they
finish in seconds and in bounded memory; a generated history is verified as it is written.

Built at 20,000 closed incidents (about 200,000 events), a fifth of the issue's desk: the budgets
below are several times what the reads take on a loaded two-core machine (verify and list about
4 s each), and far under what reading everything into memory, or walking a chain per query, costs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from integrity_helpers import oncall_tui_command
from support.history import CLOSED, OPEN, build_history_desk
from support.peak import run_measured

from oncall_tui.desk import Desk

VERIFY_BUDGET_S = 20.0
LIST_BUDGET_S = 30.0
PEAK_MB = 100


@pytest.fixture(scope="module")
def history_db(tmp_path_factory):
    from oncall_tui.clock import FrozenClock
    from oncall_tui.policy import load_policy

    path = tmp_path_factory.mktemp("history") / "desk.db"
    build_history_desk(path, load_policy(use_user_config=False), FrozenClock("2026-11-27T03:00:00Z"))
    return path


def timed(db, *command: str) -> tuple[int, bytes, bytes, float, float]:
    """(exit status, stdout, stderr, wall seconds, peak RSS in MB) of `oncall-tui --db DB COMMAND`."""
    executable = oncall_tui_command()
    if not Path(executable[0]).is_absolute():
        executable[0] = shutil.which(executable[0]) or executable[0]
    return run_measured([*executable, "--db", str(db), *command], env={**os.environ, "ONCALL_TUI_USER": "alice"})


def test_verify_walks_every_chain_of_the_history_in_seconds(history_db):
    status, out, err, took, peak = timed(history_db, "verify")
    assert status == 0, err.decode()
    assert out.decode().splitlines()[-1].startswith(f"OK: all {CLOSED + OPEN:,} incident chains hold")
    assert took < VERIFY_BUDGET_S, f"verify took {took:.1f} s"
    assert peak < PEAK_MB, f"verify peaked at {peak:.0f} MB"


def test_list_json_all_streams_every_incident_in_seconds(history_db):
    status, out, err, took, peak = timed(history_db, "list", "--json", "--all")
    assert status == 0, err.decode()
    listed = json.loads(out)
    assert len(listed) == CLOSED + OPEN
    assert [i["status"] for i in listed[:OPEN]].count("closed") == 0  # the open ones first
    assert took < LIST_BUDGET_S, f"list --json --all took {took:.1f} s"
    assert peak < PEAK_MB, f"list --json --all peaked at {peak:.0f} MB"


def test_a_generated_history_is_verified_as_written(tmp_path):
    """`demo --closed` runs the desk's own startup check on what it wrote, so the desk's first start
    walks only what comes after, not the whole history again."""
    db = tmp_path / "desk.db"
    run = subprocess.run(
        [*oncall_tui_command(), "--db", str(db), "demo", "--closed", "2000"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ONCALL_TUI_USER": "alice"},
    )
    assert run.returncode == 0, run.stderr
    assert "every chain holds" in run.stderr
    # Not a terminal: no count rewritten in place, one line for what was written.
    assert "\r" not in run.stderr and "2,000 closed incidents written\n" in run.stderr
    desk = Desk.open(db)
    try:
        top = desk.store.changes_since(sys.maxsize)[0]
        assert desk.store.verified_through() == top  # the demo's own open incidents were checked too
    finally:
        desk.close()
