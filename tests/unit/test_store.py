"""The desk's SQLite file: created and migrated, refused when it is not ours, and a timeline that
cannot be rewritten."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.store import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, Store, StoreError, event_hash


def pragma(path: Path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


# --- creating and migrating ---------------------------------------------------------------------


def test_schema_version_matches_the_migrations():
    assert len(MIGRATIONS) == SCHEMA_VERSION


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_a_new_or_empty_file_is_migrated_to_the_current_schema(db_path, how):
    if how == "empty":
        db_path.write_bytes(b"")
    store = Store.open(db_path)
    try:
        assert store.info.created is (how == "missing")
        assert store.info.migrated_from == 0
        assert not store.readonly
    finally:
        store.close()
    assert pragma(db_path, "application_id") == APPLICATION_ID
    assert pragma(db_path, "user_version") == SCHEMA_VERSION
    assert {"incidents", "events", "checks", "action_items"} <= tables(db_path)
    assert {"events_append_only_update", "events_append_only_delete"} <= tables(db_path)
    assert pragma(db_path, "journal_mode") == "wal"


def test_a_missing_folder_is_created(tmp_path):
    path = tmp_path / "deep" / "er" / "desk.db"
    Store.open(path).close()
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_reopening_is_idempotent(db_path, desk):
    desk.declare("Login failures", severity="P0")
    desk.close()
    schema_before = _schema(db_path)
    for _ in range(2):
        store = Store.open(db_path)
        try:
            assert store.info.migrated_from == SCHEMA_VERSION
            assert not store.info.created
            assert [i.title for i in store.incidents()] == ["Login failures"]
        finally:
            store.close()
    assert _schema(db_path) == schema_before


def _schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()


def test_the_boards_queries_have_indexes(db_path):
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    try:
        indexed = {
            (table, col)
            for table in ("incidents", "events")
            for (idx,) in conn.execute(f"SELECT name FROM pragma_index_list('{table}')")
            for (col,) in conn.execute(f"SELECT name FROM pragma_index_info('{idx}')")
        }
    finally:
        conn.close()
    assert {("incidents", "status"), ("incidents", "fingerprint"), ("events", "incident")} <= indexed


# --- refusing files that are not ours -----------------------------------------------------------


def test_a_foreign_sqlite_file_is_refused_and_left_untouched(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()
    before, files = digest(db_path), siblings(db_path)
    with pytest.raises(StoreError) as refused:
        Store.open(db_path)
    message = str(refused.value)
    assert str(db_path) in message
    assert "not an oncall-tui desk database" in message and "invoices" in message
    assert "left untouched" in message
    assert digest(db_path) == before
    assert siblings(db_path) == files
    assert pragma(db_path, "application_id") == 0


def test_a_file_from_a_newer_version_is_refused_and_left_untouched(db_path, desk):
    desk.declare("Login failures")
    desk.close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(db_path)
    with pytest.raises(StoreError) as refused:
        Store.open(db_path)
    message = str(refused.value)
    assert f"schema {SCHEMA_VERSION + 1}" in message
    assert "upgrade oncall-tui" in message and "left untouched" in message
    assert digest(db_path) == before
    assert pragma(db_path, "user_version") == SCHEMA_VERSION + 1


@pytest.mark.parametrize("content", [b"hello, this is a text file\n" * 200, bytes(range(256)) * 40])
def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(db_path, content):
    db_path.write_bytes(content)
    with pytest.raises(StoreError) as refused:
        Store.open(db_path)
    message = str(refused.value)
    assert str(db_path) in message and "not an SQLite database" in message
    assert "\n" not in message
    assert db_path.read_bytes() == content


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path)


# --- the timeline -------------------------------------------------------------------------------


def test_the_timeline_cannot_be_updated_or_deleted(db_path, desk):
    inc = desk.declare("Login failures", severity="P0")
    desk.acknowledge(inc.number)
    conn = sqlite3.connect(db_path)
    try:
        for sql in (
            "UPDATE events SET actor = 'mallory'",
            "UPDATE events SET details = '{}' WHERE kind = 'acknowledged'",
            "DELETE FROM events",
            "DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()
    assert [(e.actor, e.kind) for e in desk.timeline(inc.number)] == [("alice", "declared"), ("alice", "acknowledged")]


def test_events_form_a_hash_chain_per_incident(desk):
    a = desk.declare("Login failures", severity="P0")
    b = desk.declare("Slow search", severity="P3")
    desk.acknowledge(a.number)
    desk.note(b.number, "looking")
    desk.note(a.number, "rolled back auth-service")
    for number in (a.number, b.number):
        events = desk.timeline(number)
        assert events[0].prev_hash == ""
        for prev, event in zip(events, events[1:]):
            assert event.prev_hash == prev.hash
        for event in events:
            raw = desk.store.conn.execute("SELECT at, details FROM events WHERE seq = ?", [event.seq]).fetchone()
            assert event.hash == event_hash(event.prev_hash, number, raw[0], event.actor, event.kind, raw[1])
        assert desk.get(number).head_hash == events[-1].hash
    # Chains are per incident: b's second event links to b's first, not to a's acknowledgement.
    assert desk.timeline(b.number)[1].prev_hash == desk.timeline(b.number)[0].hash


def test_an_action_writes_state_and_event_in_one_transaction(desk):
    inc = desk.declare("Login failures", severity="P0")
    events_before = desk.timeline(inc.number)
    # Make the event insert fail inside the action's transaction (a temp trigger lives only on
    # this connection): the status update that preceded it must be rolled back with it.
    desk.store.conn.execute(
        "CREATE TEMP TRIGGER fail_event BEFORE INSERT ON main.events BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    with pytest.raises(StoreError, match="disk on fire"):  # the driver's error, in the store's words
        desk.acknowledge(inc.number)
    assert not desk.store.conn.in_transaction
    after = desk.get(inc.number)
    assert after == inc
    assert (after.status, after.acknowledged_at, after.version) == (Status.TRIGGERED, None, 1)
    assert desk.timeline(inc.number) == events_before

    desk.store.conn.execute("DROP TRIGGER temp.fail_event")
    assert desk.acknowledge(inc.number).status is Status.ACKNOWLEDGED
    assert [e.kind for e in desk.timeline(inc.number)] == ["declared", "acknowledged"]


def test_a_failed_declaration_leaves_no_incident(desk):
    desk.store.conn.execute(
        "CREATE TEMP TRIGGER fail_event BEFORE INSERT ON main.events BEGIN SELECT RAISE(ABORT, 'nope'); END"
    )
    with pytest.raises(StoreError, match="nope"):
        desk.declare("Login failures")
    assert desk.incidents(include_closed=True) == []
    assert desk.store.next_number() == 1


def test_every_action_bumps_the_version_and_appends_one_event(desk, clock):
    inc = desk.declare("Login failures", severity="P1")
    steps = [
        lambda: desk.acknowledge(inc.number),
        lambda: desk.set_severity(inc.number, "P0"),
        lambda: desk.move(inc.number, Status.INVESTIGATING),
        lambda: desk.edit(inc.number, "root_cause", "JWKS cache"),
        lambda: desk.assign(inc.number, "bob"),
        lambda: desk.note(inc.number, "paged identity team"),
        lambda: desk.record_message(inc.number, template="initial", text="…", via="clipboard"),
    ]
    for n, step in enumerate(steps, start=2):
        clock.advance(seconds=10)
        after = step()
        assert after.version == n
        assert len(desk.timeline(inc.number)) == n


# --- change detection between processes -----------------------------------------------------------


def test_data_version_changes_when_another_connection_commits(db_path, policy, clock, desk):
    inc = desk.declare("Login failures")
    seen = desk.data_version()
    assert desk.data_version() == seen  # reading changes nothing

    other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
    try:
        other.acknowledge(inc.number)
    finally:
        other.close()
    changed = desk.data_version()
    assert changed != seen
    assert desk.get(inc.number).acknowledged_by == "bob"
    assert desk.data_version() == changed


def test_changes_since_names_the_incidents_whose_timeline_moved(db_path, policy, clock, desk):
    first, second = desk.declare("Login failures"), desk.declare("Checkout slow")
    seq, changed = desk.store.changes_since(0)
    assert changed == {first.number, second.number}
    assert desk.store.changes_since(seq) == (seq, frozenset())

    marker = desk.store.change_marker()
    other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
    try:
        other.acknowledge(second.number)
        # A commit that touches no incident (a watcher's heartbeat) moves the marker, not the timeline.
        with other.store.write():
            other.store.beat(
                {"token": "t", "kind": "desk", "host": "h", "pid": 1, "actor": "bob", "pages": 0}
                | {"started_at": "2026-11-27T03:00:00Z", "seen_at": "2026-11-27T03:00:00Z"}
            )
    finally:
        other.close()
    assert desk.store.change_marker() != marker
    now, changed = desk.store.changes_since(seq)
    assert now > seq and changed == {second.number}


def test_a_second_desk_sees_the_first_ones_actions(db_path, policy, clock, desk):
    other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
    try:
        inc = desk.declare("Login failures")
        assert other.get(inc.number).title == "Login failures"
        other.note(inc.number, "on it")
        assert desk.timeline(inc.number)[-1].actor == "bob"
    finally:
        other.close()


def test_the_boards_bulk_read_decodes_every_field_as_the_single_read_does(desk):
    """`Store.incidents` decodes by position (it is on the path to the board's first frame);
    `Store.incident` by name. Every field of every kind of incident must come out the same."""
    from oncall_tui.demo import seed_demo

    seed_demo(desk)
    bulk = desk.store.incidents(include_closed=True)
    assert len(bulk) >= 5
    assert any(inc.labels for inc in bulk) and any(inc.services for inc in bulk)
    assert any(inc.severity is None for inc in bulk) and any(inc.resolved_at for inc in bulk)
    assert bulk == [desk.store.incident(inc.number) for inc in bulk]


def test_a_connection_opened_beside_a_checked_one_does_not_read_the_whole_file_again(db_path):
    """The breach recorder opens its own connection for each batch: on a desk with history the
    file's check before a first write is most of a second of reading, once is enough."""
    from oncall_tui.store import Store

    store = Store.open(db_path)
    with store.write():  # the first write checks the file
        pass
    beside = store.reopen()
    statements: list[str] = []
    beside.conn.set_trace_callback(statements.append)
    try:
        with beside.write():
            pass
    finally:
        beside.close()
        store.close()
    assert not [s for s in statements if "quick_check" in s]
    assert "BEGIN IMMEDIATE" in statements


# --- stopping a worker's statement ----------------------------------------------------------------


def test_a_statement_running_on_a_workers_connection_is_interrupted_from_another_thread(db_path):
    """The desk closing stops its startup check's long read (the file's own check of a desk with
    history is one statement of most of a second) instead of waiting for it."""
    from support.interrupting import interrupt_a_running_statement

    def run_forever(store: Store) -> None:
        store.conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
        ).fetchone()

    raised, _ = interrupt_a_running_statement(lambda: Store.open(db_path), run_forever, sqlite3.OperationalError)
    assert [str(exc) for exc in raised] == ["interrupted"]
