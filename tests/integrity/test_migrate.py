"""`oncall-tui migrate --from A --to B`: a desk moves whole, chains intact, or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from integrity_helpers import Tamperer, oncall_tui_command
from support.backends import BACKENDS, postgres_database, record_state

from oncall_tui import review
from oncall_tui.clock import iso
from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.store import Store, open_record
from oncall_tui.verify import verify_store


def fill(desk: Desk, clock) -> None:
    """A desk that has lived: every kind of row the record keeps."""
    one = desk.declare("Login failures", severity="P1", services=["identity"], tenants="acme, globex")
    two = desk.declare("Checkout latency", severity="P2")
    clock.advance(minutes=2)
    desk.acknowledge(one.number)
    desk.note(one.number, "identity logs show token expiry — « ünïcode » too")
    desk.check_step(one.number, runbook="login", version="1", step=1, text="check the IdP", checked=True)
    desk.note(two.number, "p99 at 900 ms")
    clock.advance(minutes=30)
    desk.edit(one.number, "root_cause", "expired signing key")
    desk.edit(one.number, "resolution", "rotated the key")
    desk.move(one.number, Status.INVESTIGATING)
    desk.move(one.number, Status.RESOLVED)
    review.add_item(desk, one.number, "alert on key expiry", owner="bob", due=date(2026, 12, 4))
    now = iso(clock.now())
    store = desk.store
    with store.write():
        store.put_alert_silence(
            two.number,
            {
                "silence_id": "s-1",
                "created_by": "alice",
                "comment": f"oncall-tui {store.desk_id()}",
                "starts_at": now,
                "ends_at": iso(clock.now() + timedelta(hours=1)),
                "state": "active",
                "own": 1,
            },
        )
        store.add_override(
            {
                "schedule": "primary",
                "person": "bob",
                "starts_at": now,
                "ends_at": iso(clock.now() + timedelta(hours=8)),
                "covering": "alice",
                "reason": "dentist",
                "created_by": "alice",
                "created_at": now,
            }
        )
        assert store.claim_page(
            {
                "key": f"{two.number}:0:0",
                "incident": two.number,
                "level": 0,
                "level_name": "primary",
                "person": "alice",
                "reason": "declared",
                "round": 0,
                "state": "sending",
                "claimer": "test",
                "claimed_at": now,
                "message": {"title": "INC-2", "body": "Checkout latency"},
                "result": {},
            }
        )


def everything(path: Path) -> dict[str, list[tuple]]:
    """Every record table of a desk file, as stored, through the store's own door."""
    store = Store.open(path, readonly=True)
    try:
        with store.snapshot():
            return {t: [row for _, rows in store.table_batches(t) for row in rows] for t in store.record_tables()}
    finally:
        store.close()


def migrate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*oncall_tui_command(), "migrate", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def lived(desk: Desk, clock) -> Desk:
    fill(desk, clock)
    return desk


def test_a_desk_moves_to_another_file_whole_with_the_same_chains(lived: Desk, db_path, tmp_path, cli_env):
    target = tmp_path / "moved" / "team.db"
    run = migrate("--from", str(db_path), "--to", str(target), env=cli_env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"copied {db_path} to {target}: 2 incidents, 11 events, 1 runbook check, 1 action item, "
        "1 alert silence, 1 override, 1 page",
        "OK: verified on both sides — all 2 incident chains hold (11 events)",
    ]
    before, after = everything(db_path), everything(target)
    assert after == before  # every row, byte for byte: same seq numbers, hashes, ids, the desk's own id
    assert [len(before[t]) for t in ("incidents", "events", "pages")] == [2, 11, 1]
    moved = Store.open(target, readonly=True)
    try:
        assert moved.desk_id() == lived.store.desk_id()  # its own silences are still told apart
        assert moved.sequence_marks() == lived.store.sequence_marks()
        assert verify_store(moved).ok
    finally:
        moved.close()
    verified = subprocess.run([*oncall_tui_command(), "--db", str(target), "verify"], capture_output=True, text=True)
    assert verified.returncode == 0 and verified.stdout.splitlines()[-1].startswith("OK: all 2 incident chains hold")


def test_the_moved_desk_carries_on_where_the_old_one_stopped(lived: Desk, db_path, tmp_path, policy, clock):
    target = tmp_path / "team.db"
    assert migrate("--from", str(db_path), "--to", str(target)).returncode == 0
    last_seq = max(e.seq for n in (1, 2) for e in lived.timeline(n))
    moved = Desk.open(target, policy=policy, clock=clock, actor="carol")
    try:
        three = moved.declare("Queue backlog", severity="P3")
        assert three.number == 3
        assert moved.timeline(3)[0].seq == last_seq + 1  # the sequence continues, it does not restart
        moved.acknowledge(2)
        assert [e.kind for e in moved.timeline(2)][-1] == "acknowledged"
        assert review.items(moved, 1)[0].title == "alert on key expiry"
        assert verify_store(moved.store).ok
    finally:
        moved.close()


def test_a_target_that_holds_anything_is_refused_in_one_line(lived: Desk, db_path, tmp_path, policy, clock):
    target = tmp_path / "other.db"
    other = Desk.open(target, policy=policy, clock=clock, actor="bob")
    other.declare("Someone else's incident")
    other.close()
    kept = everything(target)
    run = migrate("--from", str(db_path), "--to", str(target))
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"oncall-tui: {target} is not empty (it holds 1 incident, 1 event); migrate copies only into an "
        "empty record — nothing was copied"
    ]
    assert everything(target) == kept


def test_a_source_that_does_not_verify_is_refused_and_no_target_is_left(lived: Desk, db_path, tmp_path):
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET actor = 'mallory' WHERE seq = 3")
    target = tmp_path / "team.db"
    run = migrate("--from", str(db_path), "--to", str(target))
    assert run.returncode == 1
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"oncall-tui: {db_path} does not verify (")
    assert line.endswith(
        "nothing was copied — run `oncall-tui verify --db " + f"{db_path}` and restore the desk from a backup first"
    )
    assert not target.exists()  # the file migrate made for the copy is not left behind, empty
    assert not list(tmp_path.glob("team.db*"))


def test_a_damaged_file_or_a_missing_one_is_one_line_too(tmp_path):
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    for source, expected in (
        (garbage, "is damaged or not an SQLite database"),
        (tmp_path / "nowhere.db", "no such desk database"),
    ):
        run = migrate("--from", str(source), "--to", str(tmp_path / "team.db"))
        assert run.returncode == 1, run.stdout
        (line,) = run.stderr.splitlines()
        assert expected in line and "Traceback" not in run.stderr
        assert not (tmp_path / "team.db").exists()


def test_the_same_record_on_both_sides_is_refused(lived: Desk, db_path):
    run = migrate("--from", str(db_path), "--to", str(db_path.parent / "." / db_path.name))
    assert run.returncode == 1
    assert (
        run.stderr.strip() == "oncall-tui: --from and --to name the same record; migrate copies into another, empty one"
    )


@pytest.fixture(params=BACKENDS)
def empty_target(request, tmp_path):
    """(where to migrate to, a test of "the copy is being written, not committed yet") per backend."""
    if request.param == "sqlite":
        target = tmp_path / "team.db"
        wal = target.with_name(target.name + "-wal")
        # Creating the schema alone writes ~120 KB of WAL; a kill then (a slow machine) is not mid-copy.
        schema_only = _schema_wal_bytes(tmp_path / "probe.db")
        yield target, lambda: wal.exists() and wal.stat().st_size > schema_only + 64 * 1024  # pages of the copy
        return
    with postgres_database(request) as url:
        server, name = request.getfixturevalue("postgres_server"), urlsplit(url).path.lstrip("/")

        def writing() -> bool:  # a transaction on the target that has written rows (it holds an xid)
            active = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL"
            try:
                return server.sql(active, name)[0][0] > 0 and record_rows(server, name) == 0
            except Exception:  # the schema is still being created: no incidents table yet
                return False

        yield url, writing


def _schema_wal_bytes(probe: Path) -> int:
    """How much WAL a new, empty desk's schema leaves before its first close."""
    record = open_record(probe, readonly=False, create=True)
    try:
        wal = probe.with_name(probe.name + "-wal")
        return wal.stat().st_size if wal.exists() else 0
    finally:
        record.close()


def record_rows(server, name: str) -> int:
    """Committed incidents in the database, as any other session sees them."""
    return server.sql("SELECT count(*) FROM incidents", dbname=name)[0][0]


def test_a_migrate_killed_half_way_leaves_the_target_empty_and_can_be_run_again(tmp_path, policy, clock, empty_target):
    from oncall_tui.demo import seed_bulk

    target, copying = empty_target
    source = tmp_path / "big.db"
    big = Desk.open(source, policy=policy, clock=clock, actor="alice")
    seed_bulk(big, 1500, span_days=20, open_share=0.3)
    events = sum(len(big.timeline(n)) for n in range(1, 1501))
    big.close()
    killed_mid_copy = False
    for _attempt in range(3):  # the kill must land while the copy is being written, not after its commit
        if isinstance(target, Path):
            for leftover in tmp_path.glob("team.db*"):
                leftover.unlink()
        proc = subprocess.Popen([*oncall_tui_command(), "migrate", "--from", str(source), "--to", str(target)])
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if copying():
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.002)
        finally:
            proc.wait()
        if proc.returncode == -signal.SIGKILL:
            killed_mid_copy = True
            break
    assert killed_mid_copy, "the copy always finished before it could be killed"
    left = open_record(target, readonly=True, create=False)
    try:
        assert left.held_rows() == {}  # nothing half-copied
        assert verify_store(left).ok
    finally:
        left.close()
    run = migrate("--from", str(source), "--to", str(target))
    assert run.returncode == 0, run.stderr
    assert f"1,500 incidents, {events:,} events" in run.stdout
    assert record_state(target) == record_state(source)


def test_migrate_is_in_the_help(tmp_path):
    run = subprocess.run([*oncall_tui_command(), "migrate", "--help"], capture_output=True, text=True)
    assert run.returncode == 0
    assert "--from DB" in run.stdout and "--to DB" in run.stdout
    assert sys.executable  # the command ran from this interpreter's environment


def test_every_table_of_the_schema_is_copied_or_left_on_purpose(desk: Desk):
    """A table a later migration adds is not silently left behind by a move."""
    from oncall_tui.store.sql import NOT_COPIED, RECORD_TABLES

    with desk.store.reading() as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables - {"sqlite_sequence"} == set(RECORD_TABLES) | NOT_COPIED
