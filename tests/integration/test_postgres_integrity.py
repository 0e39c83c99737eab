"""The crash and race suites on PostgreSQL: desks in several processes on one database, racing
(no update lost, every conflict named) and SIGKILLed mid-action (nothing committed lost)."""

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
from oncall_tui.model import Severity
from oncall_tui.policy import load_policy
from oncall_tui.verify import verify_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHILDREN = Path(__file__).parents[1] / "integrity"
ACTORS = ("alice", "bob", "carol")
ACTIONS = 150
KIND = {"ack": "acknowledged", "note": "note", "severity": "severity_set", "move": "status_changed"}
TOKEN = re.compile(r"\br\d+s\d+\b")


def _kind(record: dict) -> str:
    if record["action"] == "edit":
        return "assigned" if record["field"] == "assignee" else "field_edited"
    return KIND[record["action"]]


def test_desks_in_several_processes_lose_no_update_and_name_every_winner(pg_url):
    policy = load_policy(use_user_config=False)
    setup = Desk.open(pg_url, policy=policy, actor="setup")
    for title in ("Login failures", "Checkout latency", "Disk filling"):
        setup.declare(title, severity=Severity.P2)
    setup.close()
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILDREN / "race_child.py"), pg_url, actor, str(seed), str(ACTIONS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed, actor in enumerate(ACTORS, start=7)
    ]
    for p in procs:
        assert p.stdout.readline().startswith('{"ready"')
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    logs = {}
    for actor, p in zip(ACTORS, procs):
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        logs[actor] = [json.loads(line) for line in out.splitlines()]
    desk = Desk.open(pg_url, policy=policy, actor="checker")
    try:
        records = [r for log in logs.values() for r in log]
        outcomes = Counter(r["result"] for r in records)
        print("\noutcomes:", dict(outcomes))
        assert outcomes["error"] == 0, [r for r in records if r["result"] == "error"][:3]
        assert outcomes["conflict"] > 0  # they did race

        timeline = [e for number in (1, 2, 3) for e in desk.timeline(number)]
        written = Counter((e.actor, e.kind, e.incident) for e in timeline if e.actor in ACTORS)
        claimed = Counter(
            (actor, _kind(r), r["incident"]) for actor, log in logs.items() for r in log if r["result"] == "committed"
        )
        assert written == claimed  # 0 lost updates, nothing written twice

        for actor, log in logs.items():
            others = [a for a in ACTORS if a != actor]
            for r in log:
                if r["result"] != "conflict":
                    continue
                inc = f"INC-{r['incident']}"
                if r["action"] == "ack":
                    winner = desk.get(r["incident"]).acknowledged_by
                    assert r["message"].startswith(f"{inc} was already acknowledged by {winner} "), r
                else:
                    assert any(f" was changed by {o} " in r["message"] for o in others), r
                    assert r["message"].endswith("look again before retrying"), r
        assert verify_store(desk.store).ok
    finally:
        desk.close()


def _token(event) -> str | None:
    field = {"declared": "title", "field_edited": "to", "assigned": "to"}.get(event.kind, "text")
    found = TOKEN.search(str(event.details.get(field, "")))
    return found.group() if found else None


def test_sigkill_mid_action_loses_nothing_committed(pg_url, record_property):
    rng = random.Random(20261201)
    committed: list[dict] = []
    kills = 0
    started = time.monotonic()
    while kills < 25 and time.monotonic() - started < 30:
        proc = subprocess.Popen(
            [sys.executable, str(CHILDREN / "crash_child.py"), pg_url, str(kills + 1), str(rng.randrange(1 << 30))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if rng.random() >= 0.2:  # one kill in five during start-up
            ready = proc.stdout.readline()
            assert ready.startswith('{"ready"'), ready + proc.stderr.read()
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        out, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err
        lines = [json.loads(line) for line in out.splitlines(keepends=True) if line.endswith("\n")]
        committed.extend(r for r in lines if "action" in r)
        kills += 1
    record_property("sigkills", kills)
    print(f"\n{kills} SIGKILLs, {len(committed)} committed actions")
    assert kills >= 10 and len(committed) > 50  # each life starts a Python and connects: ~1 s on a busy box

    desk = Desk.open(pg_url, actor="checker")
    try:
        assert verify_store(desk.store).ok
        written = Counter(
            (e.incident, _token(e)) for i in desk.incidents(include_closed=True) for e in desk.timeline(i.number)
        )
        for action in committed:
            if action["action"] == "ack":
                assert desk.get(action["incident"]).acknowledged_at is not None
                continue
            assert written[(action["incident"], action["token"])] == 1, action
        for inc in desk.incidents(include_closed=True):
            timeline = desk.timeline(inc.number)
            assert inc.version == len(timeline), inc.id  # state and event were one transaction
    finally:
        desk.close()
