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
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Locked, NoWriteRights, ReadOnlyError, StoreError, StoreUnreachable
from .sql import SQLRecord, reads
from .sqlite import MIGRATIONS, busy_timeout_ms

if TYPE_CHECKING:
    import psycopg

APPLICATION = "oncall-tui"
CHANNEL = "oncall_tui_changes"
# pg_advisory_xact_lock(WRITE_LOCK): the record's one write lock ("ONCA", as the file's application id);
# pg_try_advisory_lock(INTAKE_LOCK): the desk importing alerts.
WRITE_LOCK = 0x4F4E4341
INTAKE_LOCK = WRITE_LOCK + 1
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 10_000


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

# An event's sequence number is the next after the highest ever handed out, taken under the
# record's write lock: without gaps, as SQLite's AUTOINCREMENT, because `verify` reads a missing
# number as an event removed (a PostgreSQL sequence would skip one at every rolled-back append). The
# high-water mark (SQLite's sqlite_sequence) lets `verify` see a removed newest event; a copied
# event keeps the number it brings and moves the mark.
_NEXT_SEQ = """
CREATE TABLE oncall_tui_marks (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
CREATE FUNCTION oncall_tui_next_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS NULL THEN
        NEW.seq := GREATEST(
            COALESCE((SELECT max(seq) FROM events), 0),
            COALESCE((SELECT seq FROM oncall_tui_marks WHERE name = 'events'), 0)
        ) + 1;
    END IF;
    INSERT INTO oncall_tui_marks VALUES ('events', NEW.seq)
        ON CONFLICT (name) DO UPDATE SET seq = GREATEST(oncall_tui_marks.seq, EXCLUDED.seq);
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

# Every column but the cancel's: an override, once written, changes only by being cancelled, once.
_OVERRIDE_KEPT = (
    *("id", "schedule", "person", "starts_at", "ends_at", "covering", "reason"),
    *("created_by", "created_at", "kind", "swap_of"),
)
_OVERRIDE_REWRITTEN = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _OVERRIDE_KEPT)

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
    # 5: overrides as an audit trail (what each was, a swap's halves), changed only by one cancel.
    f"""
    ALTER TABLE overrides ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE overrides ADD COLUMN swap_of BIGINT REFERENCES overrides(id);
    CREATE INDEX idx_overrides_swap_of ON overrides (swap_of);
    CREATE FUNCTION oncall_tui_overrides_settled() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {_OVERRIDE_REWRITTEN} OR OLD.cancelled_at IS NOT NULL OR NEW.cancelled_at IS NULL
           OR NEW.cancelled_by = '' THEN
            RAISE EXCEPTION 'an override is never rewritten: cancel it (once) and make a new one'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER overrides_settled BEFORE UPDATE ON overrides
        FOR EACH ROW EXECUTE FUNCTION oncall_tui_overrides_settled();
    """,
    # 6: indexes for a desk with years of history, and what the startup check has verified.
    """
    CREATE INDEX incidents_open ON incidents (number) WHERE status != 'closed';
    CREATE INDEX events_breaches ON events (incident, (details::json ->> 'deadline'), (details::json ->> 'due_at'))
        WHERE kind = 'deadline_breached';
    CREATE TABLE verified_heads (incident INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);
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
    where: str, exc: BaseException, *, acting: bool = False, since: float | None = None, waited_ms: int | None = None
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
        waited = (waited_ms if waited_ms is not None else busy_timeout_ms()) / 1000
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


def _is_driver_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("psycopg")


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
    target: str  # the URL as given (it may hold a password: never shown; see `where`)
    where: str  # the URL as shown
    readonly: bool
    created: bool
    migrated_from: int
    why_readonly: str = ""


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


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """The shared SQL's `?` placeholders as psycopg's `%s` (and a literal `%` kept literal)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresStore(SQLRecord):
    """The record on a PostgreSQL server. Like the SQLite `Store`, one per thread; the listener
    (started by the first `change_marker()`) runs in a thread of its own, on its own connection."""

    info: PgOpenInfo

    def __init__(self, conn: psycopg.Connection[Any], info: PgOpenInfo) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        self.info = info
        self._deadline = _Deadline()
        self._lost_at: float | None = None  # time.time() the server went away; None while it answers
        self._listener: _Listener | None = None
        self._marker = 0  # moved by the listener: another connection committed
        self._marker_lock = threading.Lock()
        self._pid = conn.info.backend_pid
        self._acting = False  # inside write(): a fault is said as "not recorded: …"
        self._in_snapshot = False
        self._beginning = False  # sending BEGIN: a fault is "not recorded", and a stale connection may be replaced
        self._xid = ""  # the open write transaction's id, to ask after a lost COMMIT
        self._timed_out = False  # the last fault was the deadline cutting a silent connection
        self._stale = False  # set by the listener when the server came back: reconnect before use
        self._retry_at = 0.0  # monotonic: no reconnect attempt on the caller's thread before then
        self._on_change: Callable[[], None] | None = None
        self._waiting_ms: int | None = None

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

    def interrupt(self) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            return

        def cancel() -> None:  # a round trip to the server: never on the caller's (the event loop's) thread
            with contextlib.suppress(Exception):
                conn.cancel_safe(timeout=connect_timeout_s())

        threading.Thread(target=cancel, name="oncall-tui cancel", daemon=True).start()

    def reopen(self, *, readonly: bool = False) -> PostgresStore:
        return PostgresStore.open(self.info.target, readonly=readonly or self.readonly, create=False)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self._deadline.close()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()

    @property
    def location(self) -> str:
        """The server's URL without its password (a second desk in this process uses `reopen`)."""
        return self.info.where

    # --- the connection -------------------------------------------------------------------------

    @property
    def conn(self) -> psycopg.Connection[Any]:
        """The live connection; when the server went away, a new one (or StoreUnreachable)."""
        conn = self._conn
        if self._stale and not self._acting and not self._in_snapshot:
            # The listener lost the server and found it again: this connection died with it.
            self._stale = False
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            conn = None
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        return self._reconnect()

    def _reconnect(self) -> psycopg.Connection[Any]:
        import psycopg

        listener = self._listener
        if listener is not None and (not listener.reachable.is_set() or time.monotonic() < self._retry_at):
            # The listener is trying, with backoff, off the event loop; a second try here would
            # block the caller for the connect timeout each time the board ticks.
            raise self._unreachable("still out of reach", acting=self._acting or self._beginning)
        try:
            conn = _new_connection(self.info.target, self.readonly)
        except psycopg.Error as exc:
            self._retry_at = time.monotonic() + 5
            raise self._fault(exc) from None
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
        acting = acting or self._acting or self._beginning
        # Whether the deadline cut this error's connection: asked once per error (it may be
        # described twice on its way up), then remembered on the error itself.
        timed_out = getattr(exc, "oncall_timed_out", None)
        if timed_out is None:
            timed_out, self._deadline.fired = self._deadline.fired, False
            with contextlib.suppress(AttributeError):
                exc.oncall_timed_out = timed_out  # type: ignore[attr-defined]
        self._timed_out = timed_out
        if timed_out:
            seconds = statement_timeout_ms() / 1000 + 2
            return self._unreachable(f"no answer within {seconds:g} s", acting=acting)
        error = describe_pg_error(self.info.where, exc, acting=acting, waited_ms=self._waiting_ms)
        if isinstance(error, StoreUnreachable):
            if self._lost_at is None:
                self._lost_at = time.time()
            error.since = self._lost_at
            if self._listener is not None:
                self._listener.lost()
        return error

    def _may_retry(self, *, known_away: bool) -> bool:
        """After a lost connection outside a transaction: is a second try worth it (and quick)?"""
        if known_away or self._acting or self._in_snapshot or self._timed_out:
            return False  # a server that is silent (not gone) would make the second try as slow
        conn = self._conn
        if conn is not None and not (conn.closed or conn.broken):
            return False
        listener = self._listener
        # The listener checks its own connection when told of a loss: a quick answer when the
        # server is up (a restart dropped only idle connections), a short wait when it is not.
        return listener is None or listener.reachable.wait(0.3)

    # --- SQLRecord's dialect hooks ----------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        import psycopg

        query = _placeholders(sql)
        # The listener already lost the server before this call: the board's banner says so, and an
        # action must be refused at once rather than after waiting for a reconnect that is not coming.
        listener = self._listener
        known_away = listener is not None and not listener.reachable.is_set()
        for attempt in (1, 2):
            conn = self.conn
            try:
                with self._deadline.within(statement_timeout_ms() / 1000 + 2, conn.fileno()):
                    return conn.execute(query, params or None)
            except psycopg.OperationalError as exc:
                # A connection the server dropped while the desk was idle (a restart): one more
                # try on a new one, outside any transaction (nothing was sent that could be half-done).
                if (
                    attempt == 2
                    or not isinstance(self._fault(exc), StoreUnreachable)
                    or not self._may_retry(known_away=known_away)
                ):
                    raise
        raise AssertionError("unreachable")

    def _json_text(self, column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')"

    def _read_error(self, exc: Exception) -> StoreError | None:
        if isinstance(exc, StoreError):
            return exc
        return self._fault(exc) if _is_driver_error(exc) else None

    def _damage(self, exc: Exception) -> bool:
        from psycopg import errors as e

        return isinstance(exc, (e.DataCorrupted, e.IndexCorrupted))

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        self._execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._in_snapshot = True
        try:
            yield
        finally:
            self._in_snapshot = False
            self._rollback()

    def _file_check(self, name: str) -> tuple[str, ...]:
        if name not in ("integrity_check", "quick_check"):
            raise ValueError(f"unknown file check {name!r}")
        return ("ok",)  # the server keeps its own storage sound (checksums, WAL); nothing to ask

    def _last_seq(self) -> int | None:
        row = self._execute("SELECT seq FROM oncall_tui_marks WHERE name = 'events'").fetchone()
        return int(row[0]) if row else None

    # --- moving a record (SQLRecord's copy, PostgreSQL's sequences) -------------------------------

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn = self.conn
        with self._deadline.within(statement_timeout_ms() / 1000 + 2, conn.fileno()), conn.cursor() as cur:
            cur.executemany(_placeholders(sql), rows)

    @reads
    def sequence_marks(self) -> dict[str, int]:
        marks = {}
        if (events := self._last_seq()) is not None:
            marks["events"] = events
        row = self._execute(  # last_value is NULL until the sequence first hands one out
            "SELECT last_value FROM pg_sequences WHERE schemaname = current_schema() AND sequencename = ?",
            ["overrides_id_seq"],
        ).fetchone()
        if row and row[0] is not None:
            marks["overrides"] = int(row[0])
        return marks

    def set_sequence_marks(self, marks: dict[str, int]) -> None:
        """Inside `write()`: the events' mark, and every id sequence past both the mark it is given
        and the highest id copied in (SQLite numbers action items without a sequence to copy)."""
        if "events" in marks:
            self._execute(
                "INSERT INTO oncall_tui_marks VALUES ('events', ?) "
                "ON CONFLICT (name) DO UPDATE SET seq = GREATEST(oncall_tui_marks.seq, EXCLUDED.seq)",
                [marks["events"]],
            )
        for table in ("overrides", "action_items"):
            self._execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), ?, 1), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), ?) > 0)",
                [marks.get(table, 0), marks.get(table, 0)],
            )

    def _append_only_guards(self) -> frozenset[str]:
        rows = self._execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal AND tgenabled != 'D'"
        )
        return frozenset(r[0] for r in rows)

    # --- transactions: the hooks of SQLRecord.write -------------------------------------------------

    def _readonly_error(self) -> ReadOnlyError:
        why = f" ({self.info.why_readonly})" if self.info.why_readonly else ""
        return ReadOnlyError(f"{self.info.where} is open read-only{why}; changes are not possible")

    def _begin_write(self) -> None:
        """BEGIN, then the record's write lock (transaction-scoped), waiting at most the lock timeout."""
        import psycopg

        self._beginning = True
        try:
            self._execute("BEGIN")  # a stale connection is replaced here, where nothing can be half-done
        except psycopg.Error as exc:
            raise self._fault(exc, acting=True) from None
        finally:
            self._beginning = False
        self._acting = True
        try:
            if self._waiting_ms is not None:
                self._execute(f"SET LOCAL lock_timeout = {self._waiting_ms}")
            row = self._execute(
                "SELECT pg_current_xact_id()::text FROM pg_advisory_xact_lock(?)", [WRITE_LOCK]
            ).fetchone()
        except psycopg.Error as exc:
            self._rollback()
            raise self._fault(exc, acting=True) from None
        self._xid = row[0] if row else ""

    def _commit(self) -> None:
        import psycopg

        try:
            self._execute("COMMIT")
        except psycopg.Error as exc:
            fault = self._fault(exc, acting=True)
            if isinstance(fault, StoreUnreachable) and self._xid and self._committed(self._xid):
                self._acting = False
                return  # the COMMIT went out and its answer was lost, but it was recorded
            raise fault from None
        self._acting = False

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

    def _rollback(self) -> None:
        self._acting = False
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return  # the server rolls back what a lost connection left open
        with contextlib.suppress(Exception):
            if conn.info.transaction_status != 0:  # not IDLE
                conn.execute("ROLLBACK")

    def _write_error(self, exc: BaseException) -> StoreError | None:
        if isinstance(exc, StoreUnreachable) and not str(exc).startswith("not recorded"):
            return self._unreachable("the connection was lost", acting=True)
        if isinstance(exc, StoreError):
            return None
        return self._fault(exc, acting=True) if _is_driver_error(exc) else None

    @contextlib.contextmanager
    def waiting(self, ms: int) -> Iterator[None]:
        """Wait at most `ms` for the write lock inside the block (see sqlite.Store.waiting): set on
        each transaction begun inside it, so nothing is sent to the server until one is."""
        self._waiting_ms = int(ms)
        try:
            yield
        finally:
            self._waiting_ms = None

    @contextlib.contextmanager
    def bulk_fill(self) -> Iterator[None]:
        # Generated history need not wait for the WAL flush of every action.
        self._execute("SET synchronous_commit = off")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                self._execute("SET synchronous_commit = on")

    @contextlib.contextmanager
    def intake_lock(self) -> Iterator[bool]:
        """A session-level advisory lock: one desk imports alerts at a time, on every machine; a desk
        that dies (or loses the server) lets go of it with its connection."""
        row = self._execute("SELECT pg_try_advisory_lock(?)", [INTAKE_LOCK]).fetchone()
        got = bool(row and row[0])
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(Exception):
                    self._execute("SELECT pg_advisory_unlock(?)", [INTAKE_LOCK])

    def backup_to(self, path: Path) -> None:
        raise StoreError(
            f"{self.info.where} is a PostgreSQL record: back it up with pg_dump (or copy it into a desk file "
            f"with `oncall-tui migrate --from {self.info.where} --to {path}`)"
        )

    # --- change detection -----------------------------------------------------------------------

    def change_marker(self) -> int:
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

    data_version = change_marker

    def watch_changes(self, callback: Callable[[], None]) -> bool:
        """`callback` runs on the listener's thread after each NOTIFY from another connection, and
        when the server is lost or back: the board re-reads at once instead of at its next tick."""
        self._on_change = callback
        with contextlib.suppress(StoreError):
            self.change_marker()  # starts the listener
        return True

    def _bump(self) -> None:
        with self._marker_lock:
            self._marker += 1
        self._changed()

    def _changed(self) -> None:
        if (callback := self._on_change) is not None:
            with contextlib.suppress(Exception):  # the app may be closing; the tick catches up anyway
                callback()

    def check_same_file(self) -> None:
        """A server has no file to be replaced under the desk."""


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

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"s")
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=3)
        if self.is_alive():
            return  # still inside a connect to a silent server: it ends on its own; its pipe stays open
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
                backoff = 0.25
                back = not first or self._store._lost_at is not None
                if not first:
                    self._store._stale = True  # the store's connection died with the listener's
                first = False
                self._store._lost_at = None
                self.reachable.set()
                self.ready.set()
                if back:
                    self._store._bump()  # the board re-reads what it missed
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
            self._store._changed()  # the board says so now, not at its next read
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
            # The payload ("events:<seq>", "pages:", …) says what moved; the board asks
            # `changes_since` its own last sequence number, which also covers what NOTIFY missed.
            while (note := pgconn.notifies()) is not None:
                moved = moved or note.be_pid != self._store._pid  # this desk's own commits are no news
            if moved:
                self._store._bump()
