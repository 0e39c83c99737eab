"""Three paging processes on one database file, killed 20 times with SIGKILL: every page reaches
its person exactly once (counted at the SMTP server), and each page whose sender died between its
claim and its send is resent once by another process, which says so on the timeline.

The kills land in the window the claim exists for: ONCALL_TUI_PAGE_PAUSE holds each sender for
1 s between recording its claim and sending (a third of it is the kill window, so a loaded machine still kills before the send), and a process is killed either there or while it
holds no page at all. (A kill after the SMTP server took a message but before the result was
written would make a resend arrive twice; the timeline says "it may arrive twice" for that case.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from paging_fixtures import POLICY, write_config

from oncall_tui.clock import SystemClock, from_iso
from oncall_tui.desk import Desk
from oncall_tui.policy import load_policy
from oncall_tui.store import open_record

CHILD = Path(__file__).with_name("paging_child.py")
PAUSE = 1.0
KILLS = 20
INCIDENTS = 15

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    """The record the processes share: a desk file, or a PostgreSQL database (desks on many hosts)."""
    return tmp_path / "desk.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")


def start(db: Path | str, config: Path) -> subprocess.Popen:
    env = {**os.environ, "ONCALL_TUI_PAGE_PAUSE": str(PAUSE)}
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout.readline().strip() == b"ready", proc.stderr.read().decode()
    return proc


def test_three_processes_and_twenty_kills_send_each_page_exactly_once(tmp_path, smtp, db):
    config = write_config(
        tmp_path / "config",
        urls={h: smtp.url(f"{h}@example.com") for h in ("ava", "ben", "chen")},
        policy=POLICY.replace("repeat_minutes = 5", "repeat_minutes = 600"),
    )
    policy = load_policy(config / "policy.toml")
    desk = Desk.open(db, policy=policy, clock=SystemClock(), actor="test")
    procs = [start(db, config) for _ in range(3)]
    rng = random.Random(13)
    kills = declared = 0
    deadline = time.monotonic() + 240
    try:
        while (kills < KILLS or declared < INCIDENTS) and time.monotonic() < deadline:
            if declared < INCIDENTS:
                ago = [0, 6, 61][declared % 3]  # a new incident, a missed ack, the manager's hour
                desk.declare(f"Outage {declared}", severity="P1", started_at=datetime.now(UTC) - timedelta(minutes=ago))
                declared += 1
            time.sleep(rng.uniform(0.05, 0.25))
            if kills >= KILLS:
                continue
            victim = _victim(db, procs, rng)
            if victim is None:
                continue
            i = procs.index(victim)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            procs[i] = start(db, config)
        assert kills == KILLS and declared == INCIDENTS
        _settle(db, timeout=120)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    pages = open_record(db).page_rows()
    assert len(pages) == INCIDENTS and all(p["state"] == "delivered" for p in pages), pages
    subjects = sorted(m.subject for m in smtp.mails)
    expected = sorted(f"[P1] INC-{n} Outage {n - 1}" for n in range(1, INCIDENTS + 1))
    assert subjects == expected, _why_twice(desk, subjects)  # each incident's page arrived, and arrived once
    resent = [e for n in range(1, INCIDENTS + 1) for e in desk.timeline(n) if e.kind == "page_resent"]
    print(
        f"\n{kills} kills, {len(resent)} pages resent after their sender died, {len(smtp.mails)} mails for {INCIDENTS} pages"
    )
    assert resent, "no kill landed between a claim and its send"
    assert sum(p["resends"] for p in pages) == len(resent)
    desk.close()


def _why_twice(desk: Desk, subjects: list[str]) -> str:
    """The paging events of each incident whose page arrived other than once."""
    lines = []
    for subject in sorted({s for s in subjects if subjects.count(s) != 1}):
        number = int(subject.split()[1].removeprefix("INC-"))
        lines.append(f"{subject}: {subjects.count(subject)} mails")
        lines += [f"  {e.at} {e.kind} {e.details}" for e in desk.timeline(number) if e.kind.startswith("page")]
    return "\n".join(lines)


def _victim(db: Path | str, procs: list[subprocess.Popen], rng: random.Random) -> subprocess.Popen | None:
    """A process inside its claim-to-send pause, else (one time in three) one holding no page."""
    store = open_record(db)
    try:
        flying = store.pages_in_flight()
    finally:
        store.close()
    now = datetime.now(UTC)
    by_pid = {p.pid: p for p in procs}
    ages: dict[int, list[float]] = {}  # a process's claims in flight: how long ago each was made
    for r in flying:
        ages.setdefault(int(r["claimer"].split(":")[-2]), []).append((now - from_iso(r["claimed_at"])).total_seconds())
    holding = set(ages)
    # Every claim it holds still in its pause: a process also holding an older page may be sending
    # that one, or writing down that it was sent, and killing it then makes the resend a second mail
    # (on a loaded machine a result's write is slow enough to overlap the next claim's pause).
    fresh = [by_pid[pid] for pid, held in ages.items() if pid in by_pid and max(held) < PAUSE / 3]
    if fresh:
        return fresh[0]
    idle = [p for p in procs if p.pid not in holding]
    if idle and rng.random() < 0.33:
        return rng.choice(idle)
    return None


def _settle(db: Path | str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        store = open_record(db)
        try:
            if not store.pages_in_flight() and len(store.page_rows()) >= INCIDENTS:
                return
        finally:
            store.close()
        time.sleep(0.1)
    raise AssertionError("pages still in flight after the kills stopped")
