"""SIGKILL a desk at many random points: nothing it reported committed may be lost or half-written.

On both backends (`record_target`): a desk file, and a PostgreSQL database the desk reaches over TCP."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from oncall_tui.desk import Desk
from oncall_tui.verify import verify_store

TOKEN = re.compile(r"\br\d+s\d+\b")
CHILD = Path(__file__).with_name("crash_child.py")
SEED = 20261127
# A fixed number of lives, each killed after a fixed number of reported commits (drawn from the
# seeded generator): how many kills land, and how many commits they put at risk, is the same on a
# quiet laptop and on a loaded CI box. A slower machine takes longer; it never tests less.
KILLS = 50
MOST_COMMITS_PER_LIFE = 12


def _token(event) -> str | None:
    """The child's token in the one field its action wrote (an edit's "from" holds the previous one)."""
    field = {"declared": "title", "field_edited": "to", "assigned": "to"}.get(event.kind, "text")
    found = TOKEN.search(str(event.details.get(field, "")))
    return found.group() if found else None


def _one_life(db: Path | str, run: int, rng: random.Random) -> tuple[list[dict], bool]:
    """Start a desk, let it commit a few actions, SIGKILL it; return what it reported committed."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), str(run), str(rng.randrange(1 << 30))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Most kills land while actions run; one in five lands during start-up (opening, recovering
    # the WAL left by the previous kill, creating the schema on the first run).
    during_startup = rng.random() < 0.2
    heard: list[str] = []
    if during_startup:
        time.sleep(rng.uniform(0.0, 0.25))  # a Python start-up takes longer than this, loaded or not
    else:
        # Counted in commits, not seconds: on any machine the life reaches this many, and then
        # the kill lands at a random point of whatever comes next (mid-transaction or between).
        wanted = 1 + rng.randrange(MOST_COMMITS_PER_LIFE + 1)  # the "ready" line, then the actions
        while len(heard) < wanted:
            line = proc.stdout.readline()
            assert line.endswith("\n"), "".join(heard) + line + proc.stderr.read()
            heard.append(line)
        assert heard[0].startswith('{"ready"'), heard[0] + proc.stderr.read()
        time.sleep(rng.uniform(0.0, 0.01))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err  # it was still working: it died by our hand
    # Lines shorter than a pipe buffer arrive whole or not at all; only whole lines were reported.
    lines = [json.loads(line) for line in [*heard, *out.splitlines(keepends=True)] if line.endswith("\n")]
    return [r for r in lines if "action" in r], during_startup


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_committed(record_target, record_property):
    db = record_target
    rng = random.Random(SEED)
    committed: list[dict] = []
    kills = startup_kills = 0
    started = time.monotonic()
    for kills in range(1, KILLS + 1):
        reported, during_startup = _one_life(db, kills, rng)
        committed.extend(reported)
        startup_kills += during_startup
    elapsed = time.monotonic() - started
    record_property("sigkills", kills)
    print(f"\n{kills} SIGKILLs ({startup_kills} during start-up), {len(committed)} committed actions, {elapsed:.1f} s")
    assert startup_kills >= 5  # the seed draws both kinds of kill
    assert len(committed) > 200

    desk = Desk.open(db, actor="checker")
    report = verify_store(desk.store)  # every chain, and the engine's own check of its storage
    assert report.ok and report.integrity_checked, report.lines()

    written = Counter(
        (e.incident, _token(e)) for i in desk.incidents(include_closed=True) for e in desk.timeline(i.number)
    )
    for action in committed:
        number, token = action["incident"], action["token"]
        if action["action"] == "ack":
            assert desk.get(number).acknowledged_at is not None
            continue
        assert written[(number, token)] == 1, f"{action} is in the timeline {written[(number, token)]} times"

    # State and event were one transaction each: the incident row is exactly its timeline's projection.
    for inc in desk.incidents(include_closed=True):
        timeline = desk.timeline(inc.number)
        assert inc.version == len(timeline), inc.id
        assert (inc.acknowledged_at is not None) == any(e.kind == "acknowledged" for e in timeline)
        for field in ("impact", "eta", "root_cause", "assignee", "channel"):
            edits = [e for e in timeline if e.kind in ("field_edited", "assigned") and e.details["field"] == field]
            assert getattr(inc, field) == (edits[-1].details["to"] if edits else ""), (inc.id, field)
        updates = [e for e in timeline if e.kind == "message_sent"]
        assert inc.last_update_at == (updates[-1].at if updates else None)
    desk.close()
