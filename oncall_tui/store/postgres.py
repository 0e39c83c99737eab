"""Team mode: the record on a PostgreSQL server, shared by desks on many machines.

The same tables and columns as the SQLite file (each `PG_MIGRATIONS[i]` is `sqlite.MIGRATIONS[i]`
in PostgreSQL's words, so a schema version means the same on both), and the same bytes: times stay
ISO text and an event's details stay its canonical JSON text, so the hash chain is computed over
identical strings and a desk moved from SQLite verifies unchanged.

Writes serialise on one transaction-scoped advisory lock, taken first in every write transaction,
as `BEGIN IMMEDIATE` does on the file: the read-check-write of an action is atomic across machines,
the next incident number cannot be taken twice, and events' sequence numbers are committed in
order, so a desk catching up "everything after seq N" never skips a row that committed late. A
write holds it for a few milliseconds; the desk waits for it at most the lock timeout.

Every commit NOTIFYs (triggers, so any writer does), and a desk's listener thread, with its own
connection, turns that into a new change marker: another desk's change reaches the board within a
second with no query at all while nothing changes. NOTIFY is not replayed, so after a reconnect the
marker moves once and the board catches up by sequence.

The server going away is an expected fault, said in one line (`StoreUnreachable`): a transaction
cut mid-way is rolled back by the server, so nothing is half-written; a commit whose answer was lost
is looked up by its transaction id once the server answers again, so the user is told the truth.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ..clock import from_iso
from ..model import Event, Incident
from .chain import canonical_json, event_hash
from .errors import Locked, NoWriteRights, ReadOnlyError, StoreError, StoreUnreachable
from .sqlite import (
    _INCIDENT_COLUMNS,
    MIGRATIONS,
    _encode_fields,
    busy_timeout_ms,
    incident_to_row,
    row_to_event,
    row_to_incident,
    values_to_incident,
)

if TYPE_CHECKING:
    import psycopg

APPLICATION = "oncall-tui"
CHANNEL = "oncall_tui_changes"
# pg_advisory_xact_lock(WRITE_LOCK): the record's one write lock ("ONCA", as the file's application id).
WRITE_LOCK = 0x4F4E4341
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 10_000
SCHEMES = ("postgresql://", "postgres://")


def is_postgres_target(target: object) -> bool:
    return isinstance(target, str) and target.startswith(SCHEMES)


def connect_timeout_s() -> int:
    """How long opening a connection may take: $ONCALL_TUI_PG_CONNECT_TIMEOUT (seconds; libpq's
    smallest is 2)."""
    from ..schema import env_whole_number

    return env_whole_number("ONCALL_TUI_PG_CONNECT_TIMEOUT", CONNECT_TIMEOUT_S, low=2, high=600, unit="seconds")


def statement_timeout_ms() -> int:
    """How long the server may take over one statement, and (with a margin) how long the desk
    waits for its answer before calling the server unreachable: $ONCALL_TUI_PG_TIMEOUT_MS."""
    from ..schema import env_whole_number

    return env_whole_number(
        "ONCALL_TUI_PG_TIMEOUT_MS", STATEMENT_TIMEOUT_MS, low=100, high=3_600_000, unit="milliseconds"
    )


# --- migrations -------------------------------------------------------------------------------
# PG_MIGRATIONS[i] brings the schema from version i to i+1, as sqlite.MIGRATIONS[i] does for the file.

# The guards' names are SQLite's (verify checks they are all there); TRUNCATE is PostgreSQL's own.
_APPEND_ONLY = """
CREATE FUNCTION oncall_tui_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the timeline is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION oncall_tui_append_only();
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION oncall_tui_append_only();
CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION oncall_tui_append_only();
"""

# An event's sequence number is the next after the highest, taken under the record's write lock:
# without gaps, as SQLite's AUTOINCREMENT, because `verify` reads a missing number as an event
# removed (a PostgreSQL sequence would skip one at every rolled-back append). A copied event keeps
# the number it brings.
_NEXT_SEQ = """
CREATE FUNCTION oncall_tui_next_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS NULL THEN
        NEW.seq := COALESCE((SELECT max(seq) FROM events), 0) + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_next_seq BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION oncall_tui_next_seq();
"""

# One NOTIFY per statement that changed a table, carrying the table and, for events, the newest
# sequence number the statement wrote; PostgreSQL sends them at commit, and only then.
_NOTIFY = f"""
CREATE FUNCTION oncall_tui_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', 'events:' || (SELECT max(seq) FROM written));
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION oncall_tui_notify_events();
CREATE FUNCTION oncall_tui_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME || ':');
    RETURN NULL;
END $$;
"""


def _notify_on(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION oncall_tui_notify();"
    )


_TIME_COLUMNS = (
    "started_at TEXT NOT NULL, declared_at TEXT NOT NULL, acknowledged_at TEXT, severity_at TEXT, "
    "notified_at TEXT, last_update_at TEXT, next_update_at TEXT, mitigated_at TEXT, resolved_at TEXT, "
    "closed_at TEXT, review_scheduled_for TEXT, review_done_at TEXT"
)

PG_MIGRATIONS: list[str] = [
    # 1: incidents, the hash-chained timeline, runbook checks, action items.
    f"""
    CREATE TABLE incidents (
        number INTEGER PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL, severity TEXT,
        services TEXT, impact TEXT, channel TEXT, assignee TEXT, symptom TEXT, eta TEXT,
        root_cause TEXT, resolution TEXT, prevention TEXT, contributing_factors TEXT, source TEXT,
        fingerprint TEXT, labels TEXT, {_TIME_COLUMNS},
        acknowledged_by TEXT, review_waived TEXT, alert_state TEXT, silence_id TEXT,
        version INTEGER NOT NULL, head_hash TEXT
    );
    CREATE INDEX idx_incidents_status ON incidents (status);
    CREATE INDEX idx_incidents_fingerprint ON incidents (fingerprint);
    CREATE TABLE events (
        seq BIGINT PRIMARY KEY,
        incident INTEGER NOT NULL REFERENCES incidents(number),
        at TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, details TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE INDEX idx_events_incident_seq ON events (incident, seq);
    CREATE INDEX idx_events_kind ON events (kind);
    {_APPEND_ONLY}
    {_NEXT_SEQ}
    CREATE TABLE checks (
        incident INTEGER, runbook TEXT, step INTEGER, checked INTEGER, at TEXT, actor TEXT,
        PRIMARY KEY (incident, runbook, step)
    );
    CREATE TABLE action_items (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, incident INTEGER, title TEXT,
        owner TEXT, due TEXT, done INTEGER, created_at TEXT, version INTEGER
    );
    CREATE INDEX idx_action_items_incident ON action_items (incident);
    {_NOTIFY}
    {_notify_on("incidents")}
    {_notify_on("checks")}
    {_notify_on("action_items")}
    """,
    # 2: when a maintenance-born incident went live, the silences over its alerts, the desk's id.
    f"""
    ALTER TABLE incidents ADD COLUMN live_at TEXT;
    CREATE TABLE alert_silences (
        incident INTEGER NOT NULL REFERENCES incidents(number), silence_id TEXT NOT NULL,
        created_by TEXT NOT NULL, comment TEXT NOT NULL, starts_at TEXT, ends_at TEXT,
        state TEXT NOT NULL, own INTEGER NOT NULL,
        PRIMARY KEY (incident, silence_id)
    );
    CREATE TABLE desk_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO desk_meta (key, value) VALUES ('desk_id', substr(md5(random()::text || clock_timestamp()::text), 1, 8));
    {_notify_on("alert_silences")}
    """,
    # 3: paging: overrides (cancelled, never deleted), pages (the key makes it exactly-once), watchers.
    f"""
    CREATE TABLE overrides (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, schedule TEXT NOT NULL,
        person TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
        covering TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL, created_at TEXT NOT NULL, cancelled_at TEXT,
        cancelled_by TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX idx_overrides_schedule_ends_at ON overrides (schedule, ends_at);
    CREATE FUNCTION oncall_tui_overrides_kept() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'overrides are cancelled, never deleted' USING ERRCODE = 'restrict_violation';
    END $$;
    CREATE TRIGGER overrides_kept BEFORE DELETE OR TRUNCATE ON overrides
        FOR EACH STATEMENT EXECUTE FUNCTION oncall_tui_overrides_kept();
    CREATE TABLE pages (
        key TEXT PRIMARY KEY, incident INTEGER, level INTEGER NOT NULL,
        level_name TEXT NOT NULL DEFAULT '', person TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL,
        round INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, claimer TEXT NOT NULL,
        claimed_at TEXT NOT NULL, finished_at TEXT, resends INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '{{}}', result TEXT NOT NULL DEFAULT '{{}}'
    );
    CREATE INDEX idx_pages_incident ON pages (incident);
    CREATE INDEX idx_pages_state ON pages (state);
    CREATE TABLE watchers (
        token TEXT PRIMARY KEY, kind TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
        actor TEXT NOT NULL, pages INTEGER NOT NULL, started_at TEXT NOT NULL, seen_at TEXT NOT NULL
    );
    {_notify_on("overrides")}
    {_notify_on("pages")}
    {_notify_on("watchers")}
    """,
    # 4: tenants affected and incident roles.
    """
    ALTER TABLE incidents ADD COLUMN tenants TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE incidents ADD COLUMN tenant_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN roles TEXT NOT NULL DEFAULT '{}';
    """,
]
SCHEMA_VERSION = len(PG_MIGRATIONS)
assert len(MIGRATIONS) == SCHEMA_VERSION, "each SQLite migration needs its PostgreSQL twin in PG_MIGRATIONS"

# The version table: which application's record this is, and at which schema version.
_VERSION_TABLE = "oncall_tui_schema"

# The documented role for desks (README, "Team mode"): everything a desk does, and nothing that
# rewrites history: no UPDATE, DELETE or TRUNCATE on the timeline, no schema changes.
DESK_ROLE_SQL = """\
CREATE ROLE oncall_desk LOGIN PASSWORD 'change-me';
GRANT CONNECT ON DATABASE oncall TO oncall_desk;
GRANT USAGE ON SCHEMA public TO oncall_desk;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO oncall_desk;
REVOKE UPDATE, DELETE, TRUNCATE ON events FROM oncall_desk;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON oncall_tui_schema FROM oncall_desk;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO oncall_desk;
"""


# --- errors -----------------------------------------------------------------------------------


def display_target(target: str) -> str:
    """The URL as it may be shown: without its password (and without any other secret parameter)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(target)
    except Exception:
        return "postgresql://…"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "localhost")
    if "/" in host:  # a unix socket folder
        host = f"[{host}]"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def _unreachable_reason(text: str) -> str | None:
    """Why the server could not be reached, from libpq's words; None when the error is something else."""
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "timeout expired" in lowered or "timed out" in lowered:
        return "no answer in time"
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return "unknown host"
    if "no route to host" in lowered or "network is unreachable" in lowered:
        return "no route to the server"
    if "the database system is shutting down" in lowered or "terminating connection due to administrator" in lowered:
        return "the server is shutting down"
    if "the database system is starting up" in lowered or "in recovery mode" in lowered:
        return "the server is starting up"
    if (
        "server closed the connection" in lowered
        or "connection is lost" in lowered
        or "the connection is closed" in lowered
        or "consuming input failed" in lowered
        or "sending query failed" in lowered
        or "eof detected" in lowered
        or "connection reset" in lowered
        or "broken pipe" in lowered
        or "ssl syscall error" in lowered
    ):
        return "the connection was lost"
    return None


def describe_pg_error(
    where: str, exc: BaseException, *, acting: bool = False, since: float | None = None
) -> StoreError:
    """The StoreError for a driver error: one line for the user, never a traceback."""
    import psycopg
    from psycopg import errors as e

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, psycopg.OperationalError) and not sqlstate:
        # Refused at the door: libpq gives the server's FATAL line, without a SQLSTATE.
        said = text.rpartition("FATAL:")[2].strip() if "FATAL:" in text else ""
        if "password authentication failed" in said:
            exc = e.InvalidPassword(said)
        elif said.startswith("database") and "does not exist" in said:
            exc = e.InvalidCatalogName(said)
        elif (said.startswith("role") and "does not exist" in said) or "no pg_hba.conf entry" in said:
            exc = e.InvalidAuthorizationSpecification(said)
        elif "permission denied for database" in said:
            exc = e.InsufficientPrivilege(said)
        if said:
            text = said
    reason = _unreachable_reason(str(exc)) if isinstance(exc, psycopg.OperationalError) and not sqlstate else None
    if isinstance(exc, (e.AdminShutdown, e.CrashShutdown, e.CannotConnectNow)) or reason:
        reason = reason or _unreachable_reason(str(exc)) or "the server is shutting down"
        if acting:
            return StoreUnreachable(
                f"not recorded: database unreachable ({where}: {reason}); nothing was written — the desk retries by itself",
                since=since,
            )
        return StoreUnreachable(f"database unreachable ({where}: {reason})", since=since)
    if isinstance(exc, e.InvalidPassword):
        return StoreError(
            f"{where}: the password was refused for this user; check the password in the URL (or ~/.pgpass)"
        )
    if isinstance(exc, e.InvalidAuthorizationSpecification):
        return StoreError(f"{where}: the server refused this user ({text}); check the user name and pg_hba.conf")
    if isinstance(exc, e.InvalidCatalogName):
        return StoreError(f"{where}: no such database on the server; create it first (createdb) or fix the URL")
    if isinstance(exc, e.InsufficientPrivilege):
        role = where.removeprefix("postgresql://").partition("@")[0] if "@" in where else "this role"
        return NoWriteRights(
            f"{'not recorded: ' if acting else ''}the database role {role} may not do this ({text}); nothing was "
            "written — grant it the desk's rights (README, Team mode)"
        )
    if isinstance(exc, e.LockNotAvailable):
        waited = busy_timeout_ms() / 1000
        return Locked(
            f"{where}: another desk held the record's write lock for more than {waited:g} s; nothing was written, try again"
        )
    if isinstance(exc, e.QueryCanceled):
        return StoreError(
            f"{where}: the server took longer than {statement_timeout_ms() / 1000:g} s; nothing was written, try again"
        )
    if isinstance(exc, e.ReadOnlySqlTransaction):
        return ReadOnlyError(f"{where} is open read-only; changes are not possible")
    if isinstance(exc, e.RestrictViolation) and "append-only" in text:
        return StoreError(f"{where}: the timeline is append-only; nothing was changed")
    if isinstance(exc, e.DiskFull):
        return StoreError(f"{where}: the server's disk is full; nothing was written — free some space and try again")
    if isinstance(exc, psycopg.OperationalError) and not sqlstate:
        return StoreError(f"{where}: cannot connect ({text})")
    return StoreError(f"{where}: {text}")


P = ParamSpec("P")
R = TypeVar("R")


def _reads(method: Callable[P, R]) -> Callable[P, R]:
    """A read that meets a driver error raises StoreError with a clear message (the board shows it
    and keeps its last state instead of crashing mid-outage)."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store: PostgresStore = args[0]  # type: ignore[assignment]
        for attempt in (1, 2):
            try:
                return method(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                if not _is_driver_error(exc):
                    raise
                fault = store._fault(exc)
                # A connection the server dropped while the desk was idle (a restart): read again
                # once on a new one, outside a write, when the server answers again.
                if attempt == 1 and isinstance(fault, StoreUnreachable) and store._may_retry():
                    continue
                raise fault from None
        raise AssertionError("unreachable")

    return functools.wraps(method)(wrapper)


def _is_driver_error(exc: BaseException) -> bool:
    mod = type(exc).__module__
    return mod.startswith("psycopg")


# --- the client-side deadline ----------------------------------------------------------------


class _Deadline:
    """One thread per store that cuts the connection's socket when the server has not answered in
    time. libpq has no deadline of its own for an answer: a cut network (packets dropped, a proxy
    gone silent) would leave the desk waiting forever, and the board with it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: float | None = None
        self._fd = -1
        self.fired = False
        self._closed = False
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def within(self, seconds: float, fd: int) -> Iterator[None]:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="oncall-pg-deadline", daemon=True)
                self._thread.start()
            self.fired = False
            self._due, self._fd = time.monotonic() + seconds, fd
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._due = None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        import socket

        with self._cond:
            while not self._closed:
                if self._due is None:
                    self._cond.wait()
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self.fired, self._due = True, None
                with contextlib.suppress(OSError):
                    # shutdown, not close: the fd stays libpq's, and its wait ends with an error now.
                    socket.socket(fileno=os.dup(self._fd)).shutdown(socket.SHUT_RDWR)


# --- the store -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PgOpenInfo:
    target: str  # the URL as given (it may hold a password: never show it; see `where`)
    where: str  # the URL as shown
    readonly: bool
    created: bool
    migrated_from: int
    why_readonly: str = ""

    @property
    def path(self) -> str:
        """What reopens this record (another desk in this process, a thread's own connection)."""
        return self.target


def _connect_kwargs(readonly: bool) -> dict[str, Any]:
    options = (
        f"-c statement_timeout={statement_timeout_ms()} -c lock_timeout={busy_timeout_ms()} "
        "-c idle_in_transaction_session_timeout=60000 -c TimeZone=UTC -c client_encoding=UTF8"
    )
    if readonly:
        options += " -c default_transaction_read_only=on"
    return {
        "autocommit": True,
        "connect_timeout": connect_timeout_s(),
        "application_name": APPLICATION,
        "options": options,
        # A dead peer is found within ~10 s even when idle; unacknowledged sends fail after the timeout.
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
        "tcp_user_timeout": statement_timeout_ms() + 2000,
    }


def _new_connection(target: str, readonly: bool) -> psycopg.Connection[Any]:
    import psycopg
    from psycopg.adapt import Dumper

    class BoolAsInteger(Dumper):
        """The schema keeps flags as INTEGER, as SQLite does: True is 1, as sqlite3 writes it."""

        oid = psycopg.postgres.types["int4"].oid

        def dump(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

    conn = psycopg.connect(target, **_connect_kwargs(readonly))
    conn.adapters.register_dumper(bool, BoolAsInteger)
    return conn


class PostgresStore:
    """The record on a PostgreSQL server. Like the SQLite `Store`, one per thread; the listener
    (started by the first `data_version()`) runs in a thread of its own, on its own connection."""

    def __init__(self, conn: psycopg.Connection[Any], info: PgOpenInfo) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        self.info = info
        self._batch = False
        self._deadline = _Deadline()
        self._lost_at: float | None = None  # time.time() the server went away; None while it answers
        self._listener: _Listener | None = None
        self._marker = 0  # moved by the listener: another connection committed
        self._marker_lock = threading.Lock()
        self._pid = conn.info.backend_pid
        self._acting = False  # inside write(): a fault is said as "not recorded: …"
        self._timed_out = False  # the last fault was the deadline cutting a silent connection
        self._stale = False  # set by the listener when the server came back: reconnect before use
        self._retry_at = 0.0  # monotonic: no reconnect attempt on the caller's thread before then

    # --- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, target: str, *, readonly: bool = False, create: bool = True) -> PostgresStore:
        import psycopg

        where = display_target(target)
        try:
            conn = _new_connection(target, readonly)
        except psycopg.Error as exc:
            raise describe_pg_error(where, exc) from None
        try:
            created, start = _prepare(conn, where, readonly=readonly, create=create)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, psycopg.Error):
                raise describe_pg_error(where, exc) from None
            raise
        return cls(conn, PgOpenInfo(target, where, readonly, created, start))

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self._deadline.close()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()

    @property
    def readonly(self) -> bool:
        return self.info.readonly

    @property
    def conn(self) -> psycopg.Connection[Any]:
        """The live connection; when the server went away, a new one (or StoreUnreachable)."""
        conn = self._conn
        if self._stale and not self._acting:
            # The listener lost the server and found it again: this connection died with it.
            self._stale = False
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            conn = None
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        return self._reconnect()

    def _may_retry(self) -> bool:
        """After a lost connection outside a write: is a second try worth it (and quick)?"""
        if self._acting or self._timed_out:
            return False  # a server that is silent (not gone) would make the second try as slow
        conn = self._conn
        if conn is not None and not (conn.closed or conn.broken):
            return False
        listener = self._listener
        # The listener checks its own connection when told of a loss: a quick answer when the
        # server is up (a restart dropped only idle connections), a short wait when it is not.
        return listener is None or listener.reachable.wait(1.0)

    def _reconnect(self) -> psycopg.Connection[Any]:
        import psycopg

        listener = self._listener
        if listener is not None and (not listener.reachable.is_set() or time.monotonic() < self._retry_at):
            # The listener is trying, with backoff, off the event loop; a second try here would
            # block the caller for the connect timeout each time the board ticks.
            raise self._unreachable("still out of reach", acting=self._acting)
        try:
            conn = _new_connection(self.info.target, self.readonly)
        except psycopg.Error as exc:
            self._retry_at = time.monotonic() + 5
            raise self._fault(exc, acting=self._acting) from None
        self._conn, self._pid, self._lost_at = conn, conn.info.backend_pid, None
        return conn

    def _unreachable(self, reason: str, *, acting: bool = False) -> StoreUnreachable:
        if self._lost_at is None:
            self._lost_at = time.time()
        where = self.info.where
        if acting:
            return StoreUnreachable(
                f"not recorded: database unreachable ({where}: {reason}); nothing was written — the desk retries by itself",
                since=self._lost_at,
            )
        return StoreUnreachable(f"database unreachable ({where}: {reason})", since=self._lost_at)

    def _fault(self, exc: BaseException, *, acting: bool = False) -> StoreError:
        """The StoreError for a driver error met by this store (a fired deadline said as such)."""
        acting = acting or self._acting
        self._timed_out = self._deadline.fired
        if self._deadline.fired:
            self._deadline.fired = False
            seconds = statement_timeout_ms() / 1000 + 2
            return self._unreachable(f"no answer within {seconds:g} s", acting=acting)
        error = describe_pg_error(self.info.where, exc, acting=acting)
        if isinstance(error, StoreUnreachable):
            if self._lost_at is None:
                self._lost_at = time.time()
            error.since = self._lost_at
            if self._listener is not None:
                self._listener.lost()
        return error

    @property
    def unreachable_since(self) -> float | None:
        return self._lost_at

    # --- statements -----------------------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> psycopg.Cursor[Any]:
        conn = self.conn
        with self._deadline.within(statement_timeout_ms() / 1000 + 2, conn.fileno()):
            return conn.execute(sql, params)

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._execute(sql, params)
        names = [sys.intern(d.name) for d in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        row = self._execute(sql, params).fetchone()
        return row[0] if row else None

    # --- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[PostgresStore]:
        """One transaction holding the record's write lock: read-check-write is atomic across desks.

        A driver error inside leaves as StoreError; the server rolls back whatever a broken
        connection left open, so a cut action leaves nothing half-written.
        """
        if self.readonly:
            why = f" ({self.info.why_readonly})" if self.info.why_readonly else ""
            raise ReadOnlyError(f"{self.info.where} is open read-only{why}; changes are not possible")
        if self._batch:
            yield from self._savepoint()
            return
        self._acting = True
        try:
            yield from self._transaction()
        finally:
            self._acting = False

    def _transaction(self) -> Iterator[PostgresStore]:
        import psycopg

        try:
            try:
                self._execute("BEGIN")
            except psycopg.OperationalError as exc:
                # Only BEGIN was sent, so nothing can have been written: a connection the server
                # dropped while the desk was idle (a restart) is replaced once.
                fault = self._fault(exc, acting=True)
                self._acting = False
                retry = isinstance(fault, StoreUnreachable) and self._may_retry()
                self._acting = True
                if not retry:
                    raise fault from None
                self._execute("BEGIN")
            xid = self._one("SELECT pg_current_xact_id()::text FROM pg_advisory_xact_lock(%s)", [WRITE_LOCK])
        except psycopg.Error as exc:
            self._rollback()
            raise self._fault(exc, acting=True) from None
        try:
            yield self
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, psycopg.Error):
                raise self._fault(exc, acting=True) from None
            if isinstance(exc, StoreUnreachable) and not str(exc).startswith("not recorded"):
                raise self._unreachable("the connection was lost", acting=True) from None
            raise
        try:
            self._execute("COMMIT")
        except psycopg.Error as exc:
            fault = self._fault(exc, acting=True)
            if not isinstance(fault, StoreUnreachable):
                self._rollback()
                raise fault from None
            # The COMMIT went out and its answer did not come back: it may have been recorded.
            if self._committed(xid):
                return
            raise fault from None

    def _committed(self, xid: str) -> bool:
        """Whether transaction `xid` committed, asked over a new connection; raises the truth, "may
        or may not be recorded", when the server still does not answer."""
        import psycopg

        try:
            with _new_connection(self.info.target, True) as conn:
                status = conn.execute("SELECT pg_xact_status(%s::xid8)", [xid]).fetchone()
        except psycopg.Error:
            raise StoreUnreachable(
                f"database unreachable during the commit ({self.info.where}): the action may or may not be "
                "recorded — look at the incident's timeline once the database is back",
                since=self._lost_at,
            ) from None
        return bool(status and status[0] == "committed")

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        with self.write():
            self._batch = True
            try:
                yield
            finally:
                self._batch = False

    def _savepoint(self) -> Iterator[PostgresStore]:
        self._execute("SAVEPOINT action")
        try:
            yield self
        except BaseException:
            self._execute("ROLLBACK TO SAVEPOINT action")
            self._execute("RELEASE SAVEPOINT action")
            raise
        self._execute("RELEASE SAVEPOINT action")

    def _rollback(self) -> None:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return  # the server rolls back what a lost connection left open
        with contextlib.suppress(Exception):
            if conn.info.transaction_status != 0:  # not IDLE
                conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def waiting(self, ms: int) -> Iterator[None]:
        """Wait at most `ms` for the write lock inside the block (see sqlite.Store.waiting)."""
        self._execute(f"SET lock_timeout = {int(ms)}")
        try:
            yield
        finally:
            with contextlib.suppress(StoreError, Exception):
                self._execute(f"SET lock_timeout = {busy_timeout_ms()}")

    # --- change detection -----------------------------------------------------------------------

    def data_version(self) -> int:
        """Moves whenever another connection commits: the listener's count, no query at all.

        The first call starts the listener. Raises StoreUnreachable while the server is away (the
        board shows its banner and keeps its last state)."""
        if self._listener is None:
            self._listener = _Listener(self)
            self._listener.start()
            self._listener.ready.wait(connect_timeout_s() + 1)
        if self._lost_at is not None and not self._listener.reachable.is_set():
            raise self._unreachable("still out of reach")
        return self._marker

    change_marker = data_version

    def _bump(self) -> None:
        with self._marker_lock:
            self._marker += 1

    def check_same_file(self) -> None:
        """A server has no file to be replaced under the desk."""

    def last_seq(self) -> int:
        return int(self._one("SELECT COALESCE(MAX(seq), 0) FROM events") or 0)

    @_reads
    def changes_since(self, seq: int) -> tuple[int, set[int]]:
        """(the newest sequence number, the incidents whose timeline moved after `seq`)."""
        rows = self._execute("SELECT seq, incident FROM events WHERE seq > %s ORDER BY seq", [seq]).fetchall()
        if not rows:
            return seq, set()
        return int(rows[-1][0]), {int(r[1]) for r in rows}

    # --- reads ----------------------------------------------------------------------------------

    @_reads
    def incident_row(self, number: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM incidents WHERE number = %s", [number])
        return rows[0] if rows else None

    def incident(self, number: int) -> Incident | None:
        row = self.incident_row(number)
        return row_to_incident(row) if row else None

    @_reads
    def incidents(
        self, *, include_closed: bool = False, where: str = "", params: Sequence[Any] | None = None
    ) -> list[Incident]:
        clauses = [] if include_closed else ["status != 'closed'"]
        if where:
            clauses.append(f"({where.replace('?', '%s')})")
        sql = f"SELECT {_INCIDENT_COLUMNS} FROM incidents"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY number"
        return [values_to_incident(v) for v in self._execute(sql, list(params or [])).fetchall()]

    @_reads
    def events(self, number: int) -> list[Event]:
        return [row_to_event(r) for r in self._query("SELECT * FROM events WHERE incident = %s ORDER BY seq", [number])]

    @_reads
    def last_event_at(self, number: int) -> datetime | None:
        at = self._one("SELECT at FROM events WHERE incident = %s ORDER BY seq DESC LIMIT 1", [number])
        return from_iso(at) if at else None

    @_reads
    def last_event(self, number: int, kinds: tuple[str, ...]) -> Event | None:
        rows = self._query(
            "SELECT * FROM events WHERE incident = %s AND kind = ANY(%s) ORDER BY seq DESC LIMIT 1",
            [number, list(kinds)],
        )
        return row_to_event(rows[0]) if rows else None

    @_reads
    def counts_for(self, number: int) -> tuple[int, int]:
        row = self._execute(
            "SELECT (SELECT COUNT(*) FROM events WHERE incident = %s), "
            "(SELECT COUNT(*) FROM action_items WHERE incident = %s)",
            [number, number],
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    @_reads
    def alertname_of(self, number: int) -> str:
        row = self._execute(
            "SELECT COALESCE(i.labels::json ->> 'alertname', e.details::json ->> 'alertname', '') "
            "FROM incidents i LEFT JOIN events e ON e.incident = i.number AND e.kind = 'declared' "
            "WHERE i.number = %s ORDER BY e.seq LIMIT 1",
            [number],
        ).fetchone()
        return str(row[0] or "") if row else ""

    @_reads
    def earlier_alert_incidents(self, number: int, fingerprint: str, alertname: str) -> list[Incident]:
        sql = (
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents i WHERE i.source = 'alert' AND i.number < %(n)s AND ("
            "(%(fp)s != '' AND i.fingerprint = %(fp)s) OR (%(name)s != '' AND "
            "(i.labels::json ->> 'alertname' = %(name)s OR EXISTS ("
            "SELECT 1 FROM events e WHERE e.incident = i.number AND e.kind = 'declared' "
            "AND e.details::json ->> 'alertname' = %(name)s)))) ORDER BY i.number DESC"
        )
        params = {"n": number, "fp": fingerprint, "name": alertname}
        return [values_to_incident(v) for v in self._execute(sql, params).fetchall()]

    @_reads
    def next_number(self) -> int:
        return int(self._one("SELECT COALESCE(MAX(number), 0) FROM incidents")) + 1

    @_reads
    def desk_id(self) -> str:
        return str(self._one("SELECT value FROM desk_meta WHERE key = 'desk_id'") or "")

    @_reads
    def alert_silences(self, number: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM alert_silences"
        if number is not None:
            return self._query(sql + " WHERE incident = %s ORDER BY starts_at, silence_id", [number])
        return self._query(sql + " ORDER BY incident, starts_at, silence_id")

    @_reads
    def recorded_breaches(self) -> set[tuple[int, str, str]]:
        rows = self._execute(
            "SELECT incident, details::json ->> 'deadline', details::json ->> 'due_at' "
            "FROM events WHERE kind = 'deadline_breached'"
        ).fetchall()
        return {(number, key, due) for number, key, due in rows}

    # --- writes (call inside `write()`) -----------------------------------------------------------

    def put_alert_silence(self, number: int, record: dict[str, Any]) -> None:
        row = {"incident": number, **record}
        columns = ", ".join(row)
        updates = ", ".join(f"{k} = EXCLUDED.{k}" for k in row if k not in ("incident", "silence_id"))
        self._execute(
            f"INSERT INTO alert_silences ({columns}) VALUES ({', '.join(['%s'] * len(row))}) "
            f"ON CONFLICT (incident, silence_id) DO UPDATE SET {updates}",
            list(row.values()),
        )

    def insert_incident(self, incident: Incident) -> None:
        row = incident_to_row(incident)
        columns = ", ".join(row)
        self._execute(f"INSERT INTO incidents ({columns}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))

    def update_incident(self, number: int, changes: dict[str, Any]) -> None:
        row = _encode_fields(changes)
        sets = ", ".join(f"{k} = %s" for k in row)
        self._execute(f"UPDATE incidents SET {sets} WHERE number = %s", [*row.values(), number])

    def append_event(self, number: int, at: str, actor: str, kind: str, details: dict[str, Any]) -> Event:
        """Append to the incident's chain and move its head, in the caller's transaction (which
        holds the write lock, so no other desk can read the same head meanwhile)."""
        head = self._one("SELECT head_hash FROM incidents WHERE number = %s", [number])
        prev = head or ""
        details_json = canonical_json(details)
        digest = event_hash(prev, number, at, actor, kind, details_json)
        seq = self._one(
            "WITH moved AS (UPDATE incidents SET head_hash = %(hash)s WHERE number = %(n)s) "
            "INSERT INTO events (incident, at, actor, kind, details, prev_hash, hash) "
            "VALUES (%(n)s, %(at)s, %(actor)s, %(kind)s, %(details)s, %(prev)s, %(hash)s) RETURNING seq",
            {
                "n": number,
                "at": at,
                "actor": actor,
                "kind": kind,
                "details": details_json,
                "prev": prev,
                "hash": digest,
            },
        )
        return Event(int(seq), number, from_iso(at), actor, kind, json.loads(details_json), prev, digest)

    # --- paging -----------------------------------------------------------------------------------

    def claim_page(self, page: dict[str, Any]) -> bool:
        """The claim is the INSERT: the key's uniqueness makes it exactly-once across every desk and
        agent on every machine, in the same transaction that records it."""
        row = {k: (canonical_json(v) if k in ("message", "result") else v) for k, v in page.items()}
        cur = self._execute(
            f"INSERT INTO pages ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))}) ON CONFLICT (key) DO NOTHING",
            list(row.values()),
        )
        return cur.rowcount == 1

    def finish_page(self, key: str, claimer: str, state: str, result: dict[str, Any], at: str) -> bool:
        cur = self._execute(
            "UPDATE pages SET state = %s, result = %s, finished_at = %s "
            "WHERE key = %s AND claimer = %s AND state = 'sending'",
            [state, canonical_json(result), at, key, claimer],
        )
        return cur.rowcount == 1

    def take_over_page(self, key: str, old_claimer: str, new_claimer: str, at: str) -> bool:
        cur = self._execute(
            "UPDATE pages SET claimer = %s, claimed_at = %s, resends = resends + 1 "
            "WHERE key = %s AND claimer = %s AND state = 'sending'",
            [new_claimer, at, key, old_claimer],
        )
        return cur.rowcount == 1

    @_reads
    def page_rows(self, *, incidents: list[int] | None = None, since: str | None = None) -> list[dict[str, Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if incidents is not None:
            clauses.append("incident = ANY(%s)")
            params.append(list(incidents))
        if since is not None:
            clauses.append("claimed_at >= %s")
            params.append(since)
        sql = "SELECT * FROM pages" + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY claimed_at"
        rows = self._query(sql, params)
        for r in rows:
            r["message"], r["result"] = json.loads(r["message"]), json.loads(r["result"])
        return rows

    @_reads
    def pages_in_flight(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM pages WHERE state = 'sending' ORDER BY claimed_at")
        for r in rows:
            r["message"], r["result"] = json.loads(r["message"]), json.loads(r["result"])
        return rows

    @_reads
    def open_incident_numbers_with_pages(self) -> list[int]:
        rows = self._execute(
            "SELECT DISTINCT p.incident FROM pages p JOIN incidents i ON i.number = p.incident "
            "WHERE i.status NOT IN ('resolved', 'closed')"
        ).fetchall()
        return [r[0] for r in rows]

    def add_override(self, row: dict[str, Any]) -> int:
        return int(
            self._one(
                f"INSERT INTO overrides ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))}) RETURNING id",
                list(row.values()),
            )
        )

    def cancel_override(self, override_id: int, by: str, at: str) -> bool:
        cur = self._execute(
            "UPDATE overrides SET cancelled_at = %s, cancelled_by = %s WHERE id = %s AND cancelled_at IS NULL",
            [at, by, override_id],
        )
        return cur.rowcount == 1

    @_reads
    def override_rows(
        self, *, ending_after: str | None = None, include_cancelled: bool = False
    ) -> list[dict[str, Any]]:
        clauses, params = [], []
        if ending_after is not None:
            clauses.append("ends_at > %s")
            params.append(ending_after)
        if not include_cancelled:
            clauses.append("cancelled_at IS NULL")
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return self._query(f"SELECT * FROM overrides{where} ORDER BY starts_at, id", params)

    @_reads
    def override_row(self, override_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM overrides WHERE id = %s", [override_id])
        return rows[0] if rows else None

    def beat(self, row: dict[str, Any]) -> None:
        self._execute(
            "INSERT INTO watchers (token, kind, host, pid, actor, pages, started_at, seen_at) "
            "VALUES (%(token)s, %(kind)s, %(host)s, %(pid)s, %(actor)s, %(pages)s, %(started_at)s, %(seen_at)s) "
            "ON CONFLICT (token) DO UPDATE SET seen_at = EXCLUDED.seen_at, pages = EXCLUDED.pages",
            row,
        )

    def forget_watcher(self, token: str) -> None:
        self._execute("DELETE FROM watchers WHERE token = %s", [token])

    def forget_watchers_before(self, at: str) -> None:
        self._execute("DELETE FROM watchers WHERE seen_at < %s", [at])

    @_reads
    def undone_action_items(self) -> list[dict[str, Any]]:
        return self._query("SELECT id, incident, title, owner, due FROM action_items WHERE done = 0 ORDER BY due, id")

    @_reads
    def watcher_rows(self) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM watchers ORDER BY seen_at DESC")


# --- schema -------------------------------------------------------------------------------------


def _prepare(conn: psycopg.Connection[Any], where: str, *, readonly: bool, create: bool) -> tuple[bool, int]:
    """Check the database is an oncall-tui record at a schema this version knows, and bring it to
    this version; (whether it was created now, the version it was at)."""
    version = _read_version(conn, where)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where} was written by a newer oncall-tui (schema {version}; this version knows up to "
            f"{SCHEMA_VERSION}); upgrade oncall-tui — the database was left untouched"
        )
    if version == SCHEMA_VERSION:
        return False, version
    if readonly:
        what = "is empty" if version == 0 else f"needs an upgrade (schema {version} → {SCHEMA_VERSION})"
        raise StoreError(f"{where} {what} but the desk opened it read-only; open it writable once")
    if version == 0 and not create:
        raise StoreError(f"{where} holds no oncall-tui record")
    import psycopg

    try:
        with conn.transaction():
            # One desk migrates; another opening at the same moment waits here, then finds it done.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            version = _read_version(conn, where)
            if version == 0:
                conn.execute(
                    f"CREATE TABLE {_VERSION_TABLE} (application TEXT PRIMARY KEY, version INTEGER NOT NULL, "
                    "migrated_at TEXT NOT NULL)"
                )
                conn.execute(
                    f"INSERT INTO {_VERSION_TABLE} VALUES (%s, 0, to_char(now() AT TIME ZONE 'UTC', "
                    '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'))',
                    [APPLICATION],
                )
            for step in PG_MIGRATIONS[version:]:
                conn.execute(step)
            conn.execute(
                f"UPDATE {_VERSION_TABLE} SET version = %s, migrated_at = to_char(now() AT TIME ZONE 'UTC', "
                '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\') WHERE application = %s',
                [SCHEMA_VERSION, APPLICATION],
            )
    except psycopg.errors.InsufficientPrivilege:
        raise StoreError(
            f"{where} needs its schema {'created' if version == 0 else 'upgraded'} (schema {version} → "
            f"{SCHEMA_VERSION}), which this database role may not do; open it once as the database's owner"
        ) from None
    return version == 0, version


def _read_version(conn: psycopg.Connection[Any], where: str) -> int:
    """The record's schema version (0: an empty database); refuses another application's database."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).fetchall()
    ]
    if not tables:
        return 0
    if _VERSION_TABLE not in tables:
        shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
        raise StoreError(
            f"{where} is not an oncall-tui record (it holds: {shown}); it was left untouched — pass another --db"
        )
    row = conn.execute(f"SELECT application, version FROM {_VERSION_TABLE}").fetchone()
    if row is None or row[0] != APPLICATION:
        raise StoreError(
            f"{where} is marked for {row[0] if row else 'no application'!r}, not oncall-tui; it was left untouched"
        )
    return int(row[1])


# --- the listener --------------------------------------------------------------------------------


class _Listener(threading.Thread):
    """LISTENs on its own connection and moves the store's change marker at every other
    connection's commit. It sleeps in `select` on the connection's socket: no query, no wake-up,
    while nothing changes. When the server goes away it reconnects with backoff, and moves the marker
    once it is back (NOTIFY is not replayed: the board catches up by sequence)."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(name="oncall-pg-listener", daemon=True)
        self._store = store
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self.ready = threading.Event()  # the first connection attempt is over (either way)
        self.reachable = threading.Event()
        self.last_seq = 0  # the newest event sequence number a NOTIFY carried

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"s")
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=3)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def lost(self) -> None:
        """The store's connection was lost: the listener checks its own at once (a server that
        stopped closed both; a cut network may not have shown on the listener's idle one yet)."""
        self.reachable.clear()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"c")

    def run(self) -> None:
        import psycopg

        backoff = 0.25
        first = True
        while not self._stopping.is_set():
            try:
                conn = _new_connection(self._store.info.target, True)
            except psycopg.Error:
                self._away()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                self.last_seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])  # type: ignore[index]
                backoff = 0.25
                if not first:
                    self._store._stale = True  # the store's connection died with the listener's
                if self._store._lost_at is not None or not first:
                    self._store._lost_at = None
                    self._store._bump()  # back: the board re-reads what it missed
                first = False
                self.reachable.set()
                self.ready.set()
                self._listen(conn)
            except (psycopg.Error, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    conn.close()
            if not self._stopping.is_set():
                self._away()
                self._stopping.wait(backoff)

    def _away(self) -> None:
        self.reachable.clear()
        if self._store._lost_at is None:
            self._store._lost_at = time.time()
        self.ready.set()

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        import select

        pgconn = conn.pgconn
        sock = conn.fileno()
        while not self._stopping.is_set():
            ready, _, _ = select.select([sock, self._wake_r], [], [])
            if self._wake_r in ready:
                command = os.read(self._wake_r, 64)
                if b"c" in command and not self._stopping.is_set():
                    conn.execute("SELECT 1")  # raises when this connection is gone too
                    self.reachable.set()
                continue
            pgconn.consume_input()  # raises when the server closed the connection
            moved = False
            while (note := pgconn.notifies()) is not None:
                table, _, seq = note.extra.decode("utf-8", "replace").partition(":")
                if table == "events" and seq.isdigit():
                    self.last_seq = max(self.last_seq, int(seq))
                moved = moved or note.be_pid != self._store._pid  # this desk's own commits are no news
            if moved:
                self._store._bump()
