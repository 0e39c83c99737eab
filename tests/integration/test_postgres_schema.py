"""The record on PostgreSQL: the same tables and columns as the desk file, the same bytes in the
hash chain, a version table that refuses what is not ours, and a timeline nobody can rewrite."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from oncall_tui.clock import FrozenClock
from oncall_tui.desk import Desk
from oncall_tui.store import StoreError, open_record
from oncall_tui.store.postgres import DESK_ROLE_SQL, PG_MIGRATIONS, SCHEMA_VERSION, PostgresStore
from oncall_tui.store.sqlite import MIGRATIONS

pytestmark = pytest.mark.postgres


def _pg_columns(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def _sqlite_columns(path) -> dict[str, set[str]]:
    store = open_record(path)
    try:
        tables = [r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            t: {r[1] for r in store.conn.execute(f"PRAGMA table_info({t})")} for t in tables if t != "sqlite_sequence"
        }
    finally:
        store.close()


def test_the_same_tables_and_columns_as_the_desk_file(pg_url, tmp_path):
    assert len(PG_MIGRATIONS) == len(MIGRATIONS), "a migration was added to sqlite.py without its PostgreSQL twin"
    open_record(pg_url).close()
    pg = _pg_columns(pg_url)
    assert pg.pop("oncall_tui_schema") == {"application", "version", "migrated_at"}
    assert pg.pop("oncall_tui_marks") == {"name", "seq"}  # sqlite_sequence's part
    assert pg == _sqlite_columns(tmp_path / "desk.db")


def _script(desk: Desk, clock: FrozenClock) -> None:
    """A night's work, with text the JSON must keep byte for byte: accents, quotes, emoji, newlines."""
    a = desk.declare("Connexions refusées — “login”", severity="P1", services=["identity", "édge"], impact="EU 🇪🇺")
    clock.advance(timedelta(minutes=3))
    desk.acknowledge(a.number)
    b = desk.declare("Disk filling", labels={"alertname": "DiskFull", "instance": "db-1"})
    clock.advance(timedelta(seconds=41, microseconds=123456))
    desk.set_severity(b.number, "P2")
    desk.note(a.number, 'rolled back "v2.3"\nwaiting on the CDN\t✓')
    desk.edit(a.number, "eta", "20 min")
    desk.set_tenants(a.number, "acme, globex +40")
    clock.advance(timedelta(minutes=10))
    desk.move(a.number, "mitigated")
    desk.edit(a.number, "root_cause", "a bad deploy")
    desk.edit(a.number, "resolution", "rolled back")
    desk.move(a.number, "resolved")


def test_the_hash_chain_is_byte_identical_on_both_backends(pg_url, tmp_path, policy):
    chains = []
    for target in (tmp_path / "desk.db", pg_url):
        clock = FrozenClock("2026-11-27T03:00:00Z")
        desk = Desk.open(target, policy=policy, clock=clock, actor="alice")
        try:
            _script(desk, clock)
            chains.append(
                [(e.incident, e.kind, e.actor, e.prev_hash, e.hash) for number in (1, 2) for e in desk.timeline(number)]
            )
            heads = [desk.store.incident_row(n)["head_hash"] for n in (1, 2)]
            chains[-1].append(tuple(heads))
        finally:
            desk.close()
    sqlite_chain, pg_chain = chains
    assert len(pg_chain) == 12  # 11 events and the heads
    assert pg_chain == sqlite_chain


def test_the_version_table_names_the_application_and_the_schema(pg_url):
    store = open_record(pg_url)
    assert isinstance(store, PostgresStore)
    assert store.info.created and store.info.migrated_from == 0
    store.close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT application, version FROM oncall_tui_schema").fetchall() == [
            ("oncall-tui", SCHEMA_VERSION)
        ]
    again = open_record(pg_url)
    assert not again.info.created and again.info.migrated_from == SCHEMA_VERSION
    again.close()


def test_an_older_schema_is_migrated(pg_url, policy, clock):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE oncall_tui_schema (application TEXT PRIMARY KEY, version INTEGER NOT NULL, migrated_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO oncall_tui_schema VALUES ('oncall-tui', 2, '2026-01-01T00:00:00Z')")
        for step in PG_MIGRATIONS[:2]:
            conn.execute(step)
        conn.execute(
            "INSERT INTO incidents (number, title, status, started_at, declared_at, version, services, labels) "
            "VALUES (1, 'Old one', 'triggered', '2026-11-27T02:00:00Z', '2026-11-27T02:00:00Z', 0, '[]', '{}')"
        )
    desk = Desk.open(pg_url, policy=policy, clock=clock)
    try:
        assert desk.store.info.migrated_from == 2
        old = desk.get(1)
        assert old.title == "Old one" and old.tenants == () and old.roles == {}
        desk.set_role(1, "commander", "alice")
        assert desk.get(1).roles == {"commander": "alice"}
    finally:
        desk.close()


def test_a_newer_schema_is_refused_in_one_line(pg_url):
    open_record(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE oncall_tui_schema SET version = 99")
    with pytest.raises(StoreError) as caught:
        open_record(pg_url)
    message = str(caught.value)
    assert "newer oncall-tui (schema 99" in message and "left untouched" in message
    assert "\n" not in message and "desk-" not in message  # no password in what the user reads


def test_a_database_of_another_application_is_left_untouched(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError) as caught:
        open_record(pg_url)
    assert "is not an oncall-tui record (it holds: customers, orders)" in str(caught.value)
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"customers", "orders"}


def test_the_timeline_is_append_only_for_everyone(pg_url, desk_on_pg):
    desk_on_pg.declare("Login failures")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in ("UPDATE events SET actor = 'mallory'", "DELETE FROM events", "TRUNCATE events CASCADE"):
            with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT actor FROM events").fetchall() == [("alice",)]


def test_the_readme_documents_the_role_the_tests_use():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert f"```sql\n{DESK_ROLE_SQL}```" in readme


def test_the_documented_desk_role_acts_but_cannot_rewrite_the_timeline(
    postgres_server, pg_database, pg_url, policy, clock
):
    open_record(pg_url).close()  # the owner creates the schema
    sql = DESK_ROLE_SQL.replace("oncall_desk", "night_desk").replace("DATABASE oncall", f"DATABASE {pg_database}")
    sql = sql.replace("'change-me'", "'night-secret'")
    with postgres_server.admin(pg_database) as conn:
        conn.execute("DROP ROLE IF EXISTS night_desk")  # a re-run on the session's server
        conn.execute(sql)
    url = postgres_server.url(pg_database, user="night_desk", password="night-secret")
    try:
        desk = Desk.open(url, policy=policy, clock=clock, actor="bob")
        try:
            inc = desk.declare("Checkout latency", severity="P2")
            desk.acknowledge(inc.number)
            desk.note(inc.number, "looking")
            assert [e.kind for e in desk.timeline(inc.number)] == ["declared", "acknowledged", "note"]
        finally:
            desk.close()
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in ("UPDATE events SET actor = 'mallory'", "DELETE FROM events"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    finally:
        with postgres_server.admin(pg_database) as conn:
            conn.execute("DROP OWNED BY night_desk")
            conn.execute("DROP ROLE night_desk")


def test_the_postgresql_backend_is_a_record(pg_url, postgres_server):
    from oncall_tui.store import Record

    store = open_record(pg_url)
    try:
        assert isinstance(store, Record)
        assert store.location == f"postgresql://desk@127.0.0.1:{postgres_server.port}/{pg_url.rsplit('/', 1)[1]}"
        again = store.reopen(readonly=True)
        assert again.readonly and again.location == store.location  # reopened with the password it had
        again.close()
    finally:
        store.close()


def test_one_desk_imports_alerts_at_a_time_across_machines(pg_url):
    first, second = open_record(pg_url), open_record(pg_url)
    try:
        with first.intake_lock() as mine:
            assert mine
            with second.intake_lock() as theirs:
                assert not theirs
        with second.intake_lock() as theirs:
            assert theirs  # released with the block
    finally:
        first.close()
        second.close()
