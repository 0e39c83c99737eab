"""Moving a desk to PostgreSQL and back: every row as it was, the chains verifying on every side,
and the moved record carrying on where the old one stopped (numbers, sequences, ids)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from oncall_tui import review
from oncall_tui.clock import iso
from oncall_tui.desk import Desk
from oncall_tui.store import open_record
from oncall_tui.verify import verify_store

sys.path.insert(0, str(Path(__file__).parents[1] / "integrity"))
fill = importlib.import_module("test_migrate").fill  # a desk that has lived: every kind of row

pytestmark = pytest.mark.postgres


def everything(target) -> dict[str, list[tuple]]:
    record = open_record(target, readonly=True, create=False)
    try:
        with record.snapshot():
            return {t: [row for _, rows in record.table_batches(t) for row in rows] for t in record.record_tables()}
    finally:
        record.close()


def migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oncall_tui.cli", "migrate", *args], capture_output=True, text=True, timeout=120
    )


def test_a_desk_moves_to_postgresql_and_back_byte_for_byte(desk, db_path, clock, pg_url, tmp_path, postgres_server):
    fill(desk, clock)
    run = migrate("--from", str(db_path), "--to", pg_url)
    assert run.returncode == 0, run.stderr
    assert "OK: verified on both sides — all 2 incident chains hold (11 events)" in run.stdout
    assert "desk-" not in run.stdout + run.stderr  # the URL's password is never printed
    before, on_server = everything(db_path), everything(pg_url)
    assert on_server == before  # same seq numbers, hashes, ids, the desk's own id
    back = tmp_path / "back.db"
    assert migrate("--from", pg_url, "--to", str(back)).returncode == 0
    assert everything(back) == before
    server = open_record(pg_url)
    try:
        assert verify_store(server).ok
        assert server.desk_id() == desk.store.desk_id()
        assert server.sequence_marks()["events"] == desk.store.sequence_marks()["events"]
    finally:
        server.close()


def test_the_moved_record_carries_on_where_the_old_one_stopped(desk, db_path, clock, pg_url, policy):
    fill(desk, clock)
    assert migrate("--from", str(db_path), "--to", pg_url).returncode == 0
    last_seq = max(e.seq for n in (1, 2) for e in desk.timeline(n))
    moved = Desk.open(pg_url, policy=policy, clock=clock, actor="carol")
    try:
        three = moved.declare("Queue backlog", severity="P3")
        assert three.number == 3 and moved.timeline(3)[0].seq == last_seq + 1
        moved.acknowledge(2)
        item = review.add_item(moved, 1, "rotate keys before expiry", owner="dave", due=date(2026, 12, 11))
        assert [i.title for i in review.items(moved, 1)] == ["alert on key expiry", "rotate keys before expiry"]
        assert item is not None
        now = iso(clock.now())
        with moved.store.write():
            new_id = moved.store.add_override(
                {
                    "schedule": "primary",
                    "person": "erin",
                    "starts_at": now,
                    "ends_at": iso(clock.now() + timedelta(hours=2)),
                    "created_by": "carol",
                    "created_at": now,
                }
            )
        assert new_id == 2  # after the copied one, not on top of it
        assert verify_store(moved.store).ok
    finally:
        moved.close()


def test_a_server_record_that_holds_anything_is_refused(desk, db_path, clock, pg_url, policy):
    fill(desk, clock)
    other = Desk.open(pg_url, policy=policy, clock=clock)
    other.declare("Already here")
    other.close()
    run = migrate("--from", str(db_path), "--to", pg_url)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "desk-" not in run.stderr
    assert [i.title for i in open_record(pg_url).incidents()] == ["Already here"]
