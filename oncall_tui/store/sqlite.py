"""The desk's SQLite file: schema, migrations, the append-only hash-chained timeline.

One file. sqlite-utils builds and migrates the schema; everyday reads and writes are plain `sqlite3`
calls, so opening the desk does not pay for importing sqlite-utils (a third of the board's startup
budget) unless the file needs creating or migrating. Every action is one `BEGIN IMMEDIATE` transaction that reads
the incident, checks it, writes the new state and appends the event, so two desks on the same file
serialise on SQLite's own lock and the second sees what the first did. Durability: WAL with
`synchronous=FULL`, because in WAL mode NORMAL may lose the last committed transactions on power loss,
and a timeline that forgets an acknowledgement is worse than a few milliseconds per action.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import quote

from ..clock import from_iso
from ..model import Event, Incident, Severity, Status
from ..terminal_text import printable, printable_value
from .chain import canonical_json, event_hash
from .errors import Damaged, FileReplaced, Locked, ReadOnlyError, StoreError

if TYPE_CHECKING:
    import sqlite_utils

_CHUNK = 500  # bound parameters per `IN (…)`: far below SQLite's limit, and plans stay index lookups
APPLICATION_ID = 0x4F4E4341  # "ONCA": marks a file as an oncall-tui desk
BUSY_TIMEOUT_MS = 5000


def busy_timeout_ms() -> int:
    """How long an action waits for another desk's transaction before giving up.

    $ONCALL_TUI_BUSY_TIMEOUT_MS overrides the default, so a test of a locked file (or a user on a
    slow network filesystem) need not live with 5 s.
    """
    from ..schema import env_whole_number

    return env_whole_number("ONCALL_TUI_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS, low=0, high=600_000, unit="milliseconds")


INCIDENT_TIME_FIELDS = (
    "started_at",
    "declared_at",
    "acknowledged_at",
    "severity_at",
    "notified_at",
    "last_update_at",
    "next_update_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "review_scheduled_for",
    "review_done_at",
    "live_at",
)
INCIDENT_JSON_FIELDS = ("services", "labels", "tenants", "roles")


# --- migrations -------------------------------------------------------------------------------
# Each entry brings the schema from version i to i+1. Append, never edit: files in the wild are at
# every one of these versions.


def _migrate_1(db: sqlite_utils.Database) -> None:
    db.table("incidents").create(
        {
            "number": int,
            "title": str,
            "status": str,
            "severity": str,
            "services": str,
            "impact": str,
            "channel": str,
            "assignee": str,
            "symptom": str,
            "eta": str,
            "root_cause": str,
            "resolution": str,
            "prevention": str,
            "contributing_factors": str,
            "source": str,
            "fingerprint": str,
            "labels": str,
            **{name: str for name in INCIDENT_TIME_FIELDS if name != "live_at"},  # live_at: _migrate_2
            "acknowledged_by": str,
            "review_waived": str,
            "alert_state": str,
            "silence_id": str,
            "version": int,
            "head_hash": str,
        },
        pk="number",
        not_null={"title", "status", "started_at", "declared_at", "version"},
    )
    db.table("incidents").create_index(["status"])
    db.table("incidents").create_index(["fingerprint"])
    db.execute(
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            incident INTEGER NOT NULL REFERENCES incidents(number),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )"""
    )
    db.table("events").create_index(["incident", "seq"])
    db.table("events").create_index(["kind"])
    # The timeline is append-only by construction, not by convention.
    db.execute(
        "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the timeline is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the timeline is append-only'); END"
    )
    # Projections of timeline events, kept for cheap reads (runbook progress on the board, review items).
    db.table("checks").create(
        {"incident": int, "runbook": str, "step": int, "checked": int, "at": str, "actor": str},
        pk=("incident", "runbook", "step"),
    )
    db.table("action_items").create(
        {
            "id": int,
            "incident": int,
            "title": str,
            "owner": str,
            "due": str,
            "done": int,
            "created_at": str,
            "version": int,
        },
        pk="id",
    )
    db.table("action_items").create_index(["incident"])


def _migrate_2(db: sqlite_utils.Database) -> None:
    """Alertmanager as production runs it: when a maintenance-born incident went live (its clocks
    count from then), every silence seen over an incident's alerts (who, until when, whose), and a
    random id for the file, so the desk's own silences are told apart from another desk's."""
    db.execute("ALTER TABLE incidents ADD COLUMN live_at TEXT")
    db.execute(
        """CREATE TABLE alert_silences (
            incident INTEGER NOT NULL REFERENCES incidents(number),
            silence_id TEXT NOT NULL,
            created_by TEXT NOT NULL,
            comment TEXT NOT NULL,
            starts_at TEXT,
            ends_at TEXT,
            state TEXT NOT NULL,
            own INTEGER NOT NULL,
            PRIMARY KEY (incident, silence_id)
        )"""
    )
    db.execute("CREATE TABLE desk_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO desk_meta (key, value) VALUES ('desk_id', ?)", [os.urandom(4).hex()])


def _migrate_3(db: sqlite_utils.Database) -> None:
    """Paging: overrides of the on-call schedules, every page and its delivery, who is watching."""
    db.execute(
        """CREATE TABLE overrides (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            schedule TEXT NOT NULL,
            person TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            covering TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            cancelled_at TEXT,
            cancelled_by TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.table("overrides").create_index(["schedule", "ends_at"])
    # Reversing an override cancels it; the row stays, so who covered whom is never lost.
    db.execute(
        "CREATE TRIGGER overrides_kept BEFORE DELETE ON overrides "
        "BEGIN SELECT RAISE(ABORT, 'overrides are cancelled, never deleted'); END"
    )
    # One row per page: its key is what makes it exactly-once (the claim is the INSERT).
    db.execute(
        """CREATE TABLE pages (
            key TEXT PRIMARY KEY,
            incident INTEGER,
            level INTEGER NOT NULL,
            level_name TEXT NOT NULL DEFAULT '',
            person TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL,
            round INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            claimer TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            finished_at TEXT,
            resends INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '{}',
            result TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.table("pages").create_index(["incident"])
    db.table("pages").create_index(["state"])
    db.execute(
        """CREATE TABLE watchers (
            token TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            actor TEXT NOT NULL,
            pages INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            seen_at TEXT NOT NULL
        )"""
    )


def _migrate_4(db: sqlite_utils.Database) -> None:
    """Tenants affected (names, and a count when more are affected than named) and incident roles."""
    db.execute("ALTER TABLE incidents ADD COLUMN tenants TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE incidents ADD COLUMN tenant_count INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE incidents ADD COLUMN roles TEXT NOT NULL DEFAULT '{}'")


# The open-incident filter, spelled exactly as the partial indexes below spell it: SQLite uses a partial
# index only for a query whose WHERE holds its condition term for term.
OPEN = "status != 'closed'"
# The breach dedupe key, spelled as `events_breaches` indexes it.
_BREACH_KEY = "json_extract(details, '$.deadline'), json_extract(details, '$.due_at')"


def _migrate_5(db: sqlite_utils.Database) -> None:
    """A desk with years of history: indexes that fit the board's questions, and what the startup
    integrity check has already verified (so it checks only what is new).

    - `incidents_open`: the open incidents, the board's every read (`status != 'closed'` cannot use
      the status index; on 100k closed incidents it was a full scan).
    - `events_breaches`: "is this breach on the timeline already?", partial over breach events only
      and keyed by what identifies one; it was planned on the `kind` index (every breach ever written).
    - `verified_heads`: per incident, the newest event the startup check found intact; the check
      walks only events after it, and a full `oncall-tui verify` still walks everything.
    """
    db.execute(f"CREATE INDEX incidents_open ON incidents(number) WHERE {OPEN}")
    db.execute(f"CREATE INDEX events_breaches ON events(incident, {_BREACH_KEY}) WHERE kind = 'deadline_breached'")
    db.execute(
        """CREATE TABLE verified_heads (
            incident INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL
        )"""
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migrate_1,
    _migrate_2,
    _migrate_3,
    _migrate_4,
    _migrate_5,
]
SCHEMA_VERSION = len(MIGRATIONS)


P = ParamSpec("P")
R = TypeVar("R")


def _reads(method: Callable[P, R]) -> Callable[P, R]:
    """A read that meets a damaged or vanished file (or any other database error) raises StoreError
    with a clear message, so the board can show it instead of crashing mid-outage."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.ProgrammingError:  # the connection was closed under the reader
            raise StoreError(f"{args[0].info.path}: the desk's connection to the file is closed") from None  # type: ignore[attr-defined]
        except sqlite3.Error as exc:
            raise StoreError(describe_db_error(args[0].info.path, exc)) from None  # type: ignore[attr-defined]

    return functools.wraps(method)(wrapper)


@dataclass(frozen=True, slots=True)
class OpenInfo:
    path: Path
    readonly: bool
    created: bool
    migrated_from: int
    why_readonly: str = ""  # set when the file was opened read-only because it cannot be written


class Store:
    """A desk database file. Not thread-safe: one Store per thread."""

    def __init__(self, conn: sqlite3.Connection, info: OpenInfo) -> None:
        self.conn = conn
        self.info = info
        self._batch = False  # inside `batch()`: each write() is a savepoint of one transaction
        # What the path and its sidecars were when opened: (device, inode) per file that existed.
        self._identity = _identities(info.path)
        self._sound = False  # quick_check passed: checked once, before this Store's first write
        self._waiting_ms: int | None = None  # set by `waiting`: this desk's wait for the lock, for now

    @contextlib.contextmanager
    def waiting(self, ms: int) -> Iterator[None]:
        """Wait at most `ms` for the write lock inside the block (the board tries briefly on its
        event loop, and hands a write that must wait longer to a thread: see ui/app.py)."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")
        self._waiting_ms = ms
        try:
            yield
        finally:
            self._waiting_ms = None
            self.conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")

    def _check_sound(self) -> None:
        """Refuse to write into a file with a damaged page: SQLite only notices damage where a
        statement happens to read, so an action could succeed on top of a broken timeline. One
        `quick_check` per Store (milliseconds on a small desk, ~50 ms on 1,000 incidents)."""
        try:
            found = [r[0] for r in self.conn.execute("PRAGMA quick_check(3)")]
        except sqlite3.DatabaseError as exc:
            if not is_file_error(exc):
                raise
            found = [str(exc)]
        if found != ["ok"]:
            raise StoreError(
                f"{self.info.path} is damaged ({found[0]}); nothing was written — run `oncall-tui verify` "
                "and restore the desk from a backup"
            )
        self._sound = True

    @functools.cached_property
    def db(self) -> sqlite_utils.Database:
        """The file through sqlite-utils, for schema work and ad-hoc exploration."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        # Interned, so `Incident(**row)` matches keywords by identity, not by comparing strings.
        names = [sys.intern(d[0]) for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    # --- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False, create: bool = True) -> Store:
        path = Path(path).expanduser()
        exists = path.exists()
        if exists and path.is_dir():
            raise StoreError(f"{path} is a directory, not a desk database file")
        if not exists:
            if readonly or not create:
                raise StoreError(f"{path}: no such desk database")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except FileExistsError:  # mkdir's own words ("File exists") would not say what is wrong
                raise StoreError(f"cannot create {path}: {path.parent} is a file, not a folder") from None
            except OSError as exc:
                raise StoreError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
            if not os.access(path.parent, os.W_OK):
                raise StoreError(f"cannot create {path}: {path.parent} is not writable")
        if exists and _open_elsewhere_without_sidecars(path):
            raise FileReplaced(
                f"another desk has {path} open, but its -wal and -shm files were deleted under it; nothing "
                "was read or written — close that desk first (closing saves what it holds), then try again"
            )
        if exists:
            _refuse_foreign_journal(path)
        why = ""
        if exists and not readonly and not _writable(path):
            readonly = True
            why = "the file or its folder is not writable"
        try:
            conn, info = _connect(path, readonly=readonly, created=not exists, immutable=False)
        except sqlite3.OperationalError as exc:
            # A WAL file opened read-only needs its -shm beside it (SQLITE_CANTOPEN, or
            # SQLITE_READONLY_DIRECTORY when it would have to create one); in a read-only folder with
            # no -wal (so everything is in the main file) SQLite can still read it as immutable.
            # Another desk cannot be writing it: it could not create its -wal there.
            unreadable = readonly and _code(exc) in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY)
            if not (unreadable and not os.access(path.parent, os.W_OK)):
                raise StoreError(describe_db_error(path, exc)) from None
            if _sidecar(path, "-wal").exists():
                raise StoreError(
                    f"{path} cannot be read: its newest changes are in {path.name}-wal, which needs a "
                    f"{path.name}-shm beside it, and {path.parent} cannot be written to create one; open "
                    "the desk once as a user who can write that folder (it folds the -wal in), then try again"
                ) from None
            conn, info = _connect(path, readonly=True, created=False, immutable=True)
        if why:
            info = dataclasses.replace(info, why_readonly=why)
        return cls(conn, info)

    def close(self) -> None:
        if not self.readonly:
            # SQLite's advice for a connection that ran queries: refresh the planner's statistics
            # where they went stale (bounded by analysis_limit, so milliseconds even at 100k).
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA busy_timeout = 0")  # another desk writing: skip it, never wait
                self.conn.execute("PRAGMA analysis_limit = 400")
                self.conn.execute("PRAGMA optimize")
        self.conn.close()

    @property
    def readonly(self) -> bool:
        return self.info.readonly

    # --- change detection -------------------------------------------------------------------------

    @_reads
    def data_version(self) -> int:
        """Changes whenever another connection commits to the file: one cheap pragma, no table scan."""
        self.check_same_file()
        version: int = self.conn.execute("PRAGMA data_version").fetchone()[0]
        return version

    @_reads
    def change_marker(self) -> int:
        """A number that moves when anything may have changed in the record since it was last read
        (another connection committed): the cheap first question of every tick. SQLite's
        `PRAGMA data_version` answers without touching a table; it does not move for this
        connection's own commits, which the writer knows about anyway (ask `changes_since`)."""
        return self.data_version()

    @_reads
    def changes_since(self, seq: int) -> tuple[int, frozenset[int]]:
        """(the highest timeline sequence number now, the incidents with an event after `seq`).

        Every change to an incident appends to its timeline, so the incidents whose events moved past
        `seq` are exactly the ones to read again; a commit that touched no incident (a watcher's
        heartbeat, a page's bookkeeping) answers an empty set. Two index range reads on `seq`, the
        events' rowid: a few microseconds whatever the size of the history.
        """
        top = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        if top <= seq:
            return int(top), frozenset()
        # NOT INDEXED: a range of the rowid, never a walk of the (incident, seq) index.
        rows = self.conn.execute("SELECT incident FROM events NOT INDEXED WHERE seq > ?", [seq])
        return int(top), frozenset(r[0] for r in rows)

    def check_same_file(self) -> None:
        """Raise FileReplaced when the path (or its -wal/-shm) is no longer the file opened.

        Three stat calls: cheap enough for every write and every second's poll. A desk that went on
        would report actions done into a file nobody else can see, or lose another desk's work when
        it closed and removed the new -wal by name.
        """
        now = _identities(self.info.path)
        for suffix, seen in self._identity.items():
            if now.get(suffix) != seen:
                name = self.info.path.name + suffix
                what = "deleted" if suffix not in now else "replaced"
                raise FileReplaced(
                    f"{self.info.path.parent / name} was {what} while this desk had it open; nothing more is "
                    "written through this desk (it would be lost) — close it and open the desk again"
                )

    # --- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: takes the write lock up front so read-check-write is atomic
        across processes, waiting up to the busy timeout for another desk to finish."""
        if self.readonly:
            why = f" ({self.info.why_readonly})" if self.info.why_readonly else ""
            raise ReadOnlyError(f"{self.info.path} is open read-only{why}; changes are not possible")
        if self._batch:
            yield from self._savepoint()
            return
        self.check_same_file()
        if not self._sound:
            self._check_sound()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            error = Locked if _code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) else StoreError
            raise error(describe_db_error(self.info.path, exc, waited_ms=self._waiting_ms)) from None
        except sqlite3.Error as exc:
            raise StoreError(describe_db_error(self.info.path, exc)) from None
        try:
            yield self.conn
        except BaseException as exc:
            self._rollback()
            # A damaged page, a full disk or an I/O error met halfway through an action is about the
            # file, not the action: say so in the user's terms instead of crashing the desk. No
            # sqlite3 error leaves the store: callers handle StoreError only.
            if isinstance(exc, sqlite3.Error):
                raise StoreError(describe_db_error(self.info.path, exc)) from None
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(describe_db_error(self.info.path, exc)) from None

    @_reads
    def recorded_breaches(self, incidents: Sequence[int] | None = None) -> set[tuple[int, str, str]]:
        """(incident, deadline key, due_at) of the breaches already on the timelines of `incidents`
        (every incident's when None); read from `events_breaches` alone, never the events."""
        # INDEXED BY: without statistics the planner prefers the `kind` index (every breach ever).
        sql = f"SELECT incident, {_BREACH_KEY} FROM events INDEXED BY events_breaches WHERE kind = 'deadline_breached'"
        if incidents is None:
            return {(number, key, due) for number, key, due in self.conn.execute(sql)}
        found: set[tuple[int, str, str]] = set()
        wanted = sorted(set(incidents))
        for at in range(0, len(wanted), _CHUNK):
            chunk = wanted[at : at + _CHUNK]
            rows = self.conn.execute(sql + f" AND incident IN ({','.join('?' * len(chunk))})", chunk)
            found.update((number, key, due) for number, key, due in rows)
        return found

    def breach_recorded(self, number: int, key: str, due_at: str) -> bool:
        """Whether this breach is on the incident's timeline already (inside `write()`: the dedupe)."""
        row = self.conn.execute(
            "SELECT 1 FROM events INDEXED BY events_breaches WHERE incident = ? AND kind = 'deadline_breached' "
            "AND json_extract(details, '$.deadline') = ? AND json_extract(details, '$.due_at') = ?",
            [number, key, due_at],
        ).fetchone()
        return row is not None

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The door for a read made with the connection itself (a report, a narrow query): a
        database error in it leaves as StoreError, like every read the store makes."""
        try:
            yield self.conn
        except sqlite3.Error as exc:
            raise StoreError(describe_db_error(self.info.path, exc)) from None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many actions as one durable transaction (an alert storm's hundreds of declarations would
        otherwise pay one fsync each); an action refused inside it is undone alone, to its savepoint."""
        with self.write():
            self._batch = True
            try:
                yield
            finally:
                self._batch = False

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("SAVEPOINT action")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK TO action")
            self.conn.execute("RELEASE action")
            raise
        self.conn.execute("RELEASE action")

    def _rollback(self) -> None:
        # On a damaged file ROLLBACK can fail too; the original error is the one worth reporting.
        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    # --- reads ----------------------------------------------------------------------------------

    @_reads
    def checked_counts(self, incidents: Sequence[int] | None = None) -> dict[tuple[int, str], int]:
        """(incident, runbook) → ticked steps, for the board's progress column: of the open incidents
        (driven by `incidents_open`, so a history of closed ones costs nothing), or of `incidents`."""
        if incidents is None:
            rows = self.conn.execute(
                # CROSS JOIN fixes the order: open incidents first, then their checks by primary key
                # (left to itself the planner walks every check ever ticked).
                "SELECT c.incident, c.runbook, COUNT(*) FROM incidents AS i INDEXED BY incidents_open "
                f"CROSS JOIN checks AS c ON c.incident = i.number WHERE i.{OPEN} AND c.checked = 1 "
                "GROUP BY c.incident, c.runbook"
            )
            return {(r[0], r[1]): r[2] for r in rows}
        out: dict[tuple[int, str], int] = {}
        wanted = sorted(set(incidents))
        for at in range(0, len(wanted), _CHUNK):
            chunk = wanted[at : at + _CHUNK]
            rows = self.conn.execute(
                "SELECT incident, runbook, COUNT(*) FROM checks WHERE checked = 1 "
                f"AND incident IN ({','.join('?' * len(chunk))}) GROUP BY incident, runbook",
                chunk,
            )
            out.update({(r[0], r[1]): r[2] for r in rows})
        return out

    @_reads
    def incidents_by_number(self, numbers: Sequence[int]) -> list[Incident]:
        """The incidents named, whatever their status, in number order (the board's re-read of the
        ones whose timeline moved)."""
        out: list[Incident] = []
        wanted = sorted(set(numbers))
        for at in range(0, len(wanted), _CHUNK):
            chunk = wanted[at : at + _CHUNK]
            sql = f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE number IN ({','.join('?' * len(chunk))})"
            out.extend(values_to_incident(v) for v in self.conn.execute(sql + " ORDER BY number", chunk))
        return out

    @_reads
    def incident_row(self, number: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM incidents WHERE number = ?", [number])
        return rows[0] if rows else None

    def incident(self, number: int) -> Incident | None:
        row = self.incident_row(number)
        return row_to_incident(row) if row else None

    @_reads
    def incidents(
        self, *, include_closed: bool = False, where: str = "", params: Sequence[Any] | None = None
    ) -> list[Incident]:
        clauses = [] if include_closed else [OPEN]
        if where:
            clauses.append(f"({where})")
        sql = f"SELECT {_INCIDENT_COLUMNS} FROM incidents"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY number"
        return [values_to_incident(v) for v in self.conn.execute(sql, params or [])]

    @_reads
    def events(self, number: int) -> list[Event]:
        return [row_to_event(r) for r in self._query("SELECT * FROM events WHERE incident = ? ORDER BY seq", [number])]

    def last_event_at(self, number: int) -> datetime | None:
        """When the incident's newest event was written; called inside `write()`, before an append."""
        row = self.conn.execute(
            "SELECT at FROM events WHERE incident = ? ORDER BY seq DESC LIMIT 1", [number]
        ).fetchone()
        return from_iso(row[0]) if row else None

    @_reads
    def last_event(self, number: int, kinds: tuple[str, ...]) -> Event | None:
        marks = ",".join("?" * len(kinds))
        rows = self._query(
            f"SELECT * FROM events WHERE incident = ? AND kind IN ({marks}) ORDER BY seq DESC LIMIT 1",
            [number, *kinds],
        )
        return row_to_event(rows[0]) if rows else None

    @_reads
    def counts_for(self, number: int) -> tuple[int, int]:
        """(timeline events, action items) of one incident."""
        row = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM events WHERE incident = ?), (SELECT COUNT(*) FROM action_items WHERE incident = ?)",
            [number, number],
        ).fetchone()
        return int(row[0]), int(row[1])

    @_reads
    def alertname_of(self, number: int) -> str:
        """The alert an alert-born incident was declared from, as its `declared` event recorded it."""
        row = self.conn.execute(
            "SELECT COALESCE(json_extract(i.labels, '$.alertname'), json_extract(e.details, '$.alertname'), '') "
            "FROM incidents i LEFT JOIN events e ON e.incident = i.number AND e.kind = 'declared' "
            "WHERE i.number = ? ORDER BY e.seq LIMIT 1",
            [number],
        ).fetchone()
        return str(row[0] or "") if row else ""

    @_reads
    def earlier_alert_incidents(self, number: int, fingerprint: str, alertname: str) -> list[Incident]:
        """Alert-born incidents declared before `number` from the same alert (fingerprint or group key)
        or an alert of the same name, newest first: what "has this fired before?" reads."""
        sql = (
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents i WHERE i.source = 'alert' AND i.number < ? AND ("
            "(? != '' AND i.fingerprint = ?) OR (? != '' AND (json_extract(i.labels, '$.alertname') = ? OR EXISTS ("
            "SELECT 1 FROM events e WHERE e.incident = i.number AND e.kind = 'declared' "
            "AND json_extract(e.details, '$.alertname') = ?)))) ORDER BY i.number DESC"
        )
        params = [number, fingerprint, fingerprint, alertname, alertname, alertname]
        return [values_to_incident(v) for v in self.conn.execute(sql, params)]

    @_reads
    def next_number(self) -> int:
        last: int = self.conn.execute("SELECT COALESCE(MAX(number), 0) FROM incidents").fetchone()[0]
        return last + 1

    @_reads
    def desk_id(self) -> str:
        """This file's random id: the desk's own Alertmanager silences carry it in their comment."""
        row = self.conn.execute("SELECT value FROM desk_meta WHERE key = 'desk_id'").fetchone()
        return row[0] if row else ""

    @_reads
    def alert_silences(self, number: int | None = None) -> list[dict[str, Any]]:
        """The silences seen over an incident's alerts (all incidents' when `number` is None)."""
        sql = "SELECT * FROM alert_silences"
        if number is not None:
            return self._query(sql + " WHERE incident = ? ORDER BY starts_at, silence_id", [number])
        return self._query(sql + " ORDER BY incident, starts_at, silence_id")

    # --- writes (call inside `write()`) -----------------------------------------------------------

    def put_alert_silence(self, number: int, record: dict[str, Any]) -> None:
        """Insert or update what the desk knows of one silence over one incident's alerts."""
        row = {"incident": number, **record}
        columns = ", ".join(row)
        self.conn.execute(
            f"INSERT OR REPLACE INTO alert_silences ({columns}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )

    def insert_incident(self, incident: Incident) -> None:
        row = incident_to_row(incident)
        columns = ", ".join(row)
        self.conn.execute(f"INSERT INTO incidents ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))

    def update_incident(self, number: int, changes: dict[str, Any]) -> None:
        row = _encode_fields(changes)
        sets = ", ".join(f"{k} = ?" for k in row)
        self.conn.execute(f"UPDATE incidents SET {sets} WHERE number = ?", [*row.values(), number])

    def append_event(self, number: int, at: str, actor: str, kind: str, details: dict[str, Any]) -> Event:
        """Append to the incident's chain and move its head; the caller's transaction makes both one."""
        head = self.conn.execute("SELECT head_hash FROM incidents WHERE number = ?", [number]).fetchone()
        prev = (head[0] or "") if head else ""
        details_json = canonical_json(details)
        digest = event_hash(prev, number, at, actor, kind, details_json)
        cur = self.conn.execute(
            "INSERT INTO events (incident, at, actor, kind, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
            [number, at, actor, kind, details_json, prev, digest],
        )
        self.conn.execute("UPDATE incidents SET head_hash = ? WHERE number = ?", [digest, number])
        seq = cur.lastrowid
        assert seq is not None  # set by every INSERT into a rowid table
        return Event(seq, number, from_iso(at), actor, kind, json.loads(details_json), prev, digest)

    def append_history(self, incidents: Sequence[dict[str, Any]], events: Sequence[Sequence[Any]]) -> None:
        """Bulk-write generated history (inside `write()`): incident rows as stored, and events as
        (incident, at, actor, kind, details, prev_hash, hash) with their chains already hashed."""
        if incidents:
            columns = list(incidents[0])
            self.conn.executemany(
                f"INSERT INTO incidents ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                ([row[c] for c in columns] for row in incidents),
            )
        self.conn.executemany(
            "INSERT INTO events (incident, at, actor, kind, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?)", events
        )

    # --- what the startup check has verified ------------------------------------------------------

    def _stream(
        self, sql: str, params: Sequence[Any], batch: int, *, names: list[str] | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of a query fetched `batch` at a time (bounded memory however many); a damaged
        page met on the way raises Damaged, any other database error StoreError."""
        try:
            cursor = self.conn.execute(sql, params)
            if names is not None:
                names.extend(sys.intern(d[0]) for d in cursor.description)
            try:
                while rows := cursor.fetchmany(batch):
                    yield from rows
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            raise _stream_error(self.info.path, exc) from None

    @_reads
    def verified_through(self) -> int:
        """Every event up to this sequence number was found intact by the startup check (0: none)."""
        row = self.conn.execute("SELECT value FROM desk_meta WHERE key = 'verified_seq'").fetchone()
        return int(row[0]) if row else 0

    def stream_events(self, *, after: int = 0, batch: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Events after sequence `after`, as stored (seq, incident, at, actor, kind, details,
        prev_hash, hash), by incident then sequence, fetched `batch` at a time: a million events
        walk in bounded memory. Run it inside `snapshot()` for a consistent view."""
        sql = "SELECT seq, incident, at, actor, kind, details, prev_hash, hash FROM events"
        if after:
            sql += " WHERE seq > ?"  # the newest few: a range of the rowid, sorted
        return self._stream(sql + " ORDER BY incident, seq", [after] if after else [], batch)

    def stream_heads(self, *, batch: int = 5000) -> Iterator[tuple[int, str, str | None]]:
        """(incident, its head hash, the head the startup check last verified or None), by number."""
        return self._stream(
            "SELECT i.number, COALESCE(i.head_hash, ''), v.hash FROM incidents i "
            "LEFT JOIN verified_heads v ON v.incident = i.number ORDER BY i.number",
            [],
            batch,
        )

    def stream_incident_rows(self, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every incident row as stored (raw column values), by number, `batch` at a time."""
        names: list[str] = []
        for row in self._stream("SELECT * FROM incidents ORDER BY number", [], batch, names=names):
            yield dict(zip(names, row))

    def stream_seqs(self, *, batch: int = 20_000) -> Iterator[int]:
        """Every event's sequence number, in order (the rowid alone: no event is read)."""
        return (row[0] for row in self._stream("SELECT seq FROM events ORDER BY seq", [], batch))

    @_reads
    def last_seq_issued(self) -> int | None:
        """The highest sequence number ever handed out (SQLite's own counter), None before any."""
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return int(row[0]) if row else None

    @_reads
    def event_by_hash(self, digest: str) -> tuple[Any, ...] | None:
        """The stored event with this hash, or None (a full scan: for explaining a break only)."""
        row = self.conn.execute(
            "SELECT seq, incident, at, actor, kind, details, prev_hash, hash FROM events WHERE hash = ? LIMIT 1",
            [digest],
        ).fetchone()
        return tuple(row) if row else None

    @_reads
    def trigger_names(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}

    @_reads
    def verified_heads(self, incidents: Sequence[int]) -> dict[int, str]:
        """incident → the head hash the startup check last found intact."""
        out: dict[int, str] = {}
        wanted = sorted(set(incidents))
        for at in range(0, len(wanted), _CHUNK):
            chunk = wanted[at : at + _CHUNK]
            marks = ",".join("?" * len(chunk))
            out.update(
                self.conn.execute(f"SELECT incident, hash FROM verified_heads WHERE incident IN ({marks})", chunk)
            )
        return dict(out)

    def remember_verified(self, heads: Sequence[tuple[int, int, str]], through: int) -> None:
        """Record (incident, seq, hash) heads found intact and the sequence checked up to (inside
        `write()`): the next startup checks only what comes after."""
        self.conn.executemany(
            "INSERT INTO verified_heads (incident, seq, hash) VALUES (?, ?, ?) "
            "ON CONFLICT(incident) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            heads,
        )
        self.conn.execute(
            "INSERT INTO desk_meta (key, value) VALUES ('verified_seq', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [str(through)],
        )

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: what is read inside sees the file at one instant, however many
        desks commit meanwhile (a chain cannot be split between two reads)."""
        try:
            self.conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise StoreError(describe_db_error(self.info.path, exc)) from None
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("COMMIT")

    @_reads
    def file_check(self, pragma: str = "quick_check") -> tuple[str, ...]:
        """SQLite's own check of the file: ("ok",) or what it found (damage it could not read past too)."""
        if pragma not in ("quick_check", "integrity_check"):
            raise ValueError(f"unknown file check {pragma!r}")
        try:
            return tuple(r[0] for r in self.conn.execute(f"PRAGMA {pragma}"))
        except sqlite3.DatabaseError as exc:
            if _code(exc) not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                raise
            return (str(exc),)

    def note_sound(self) -> None:
        """The file passed `quick_check` just now (the startup check, on its own connection): this
        Store's first write need not run it again on the event loop."""
        self._sound = True

    # --- paging (call the writes inside `write()`) -----------------------------------------------

    def claim_page(self, page: dict[str, Any]) -> bool:
        """Record a page as being sent by `page['claimer']`; False if any process claimed it first."""
        row = {k: (canonical_json(v) if k in ("message", "result") else v) for k, v in page.items()}
        cur = self.conn.execute(
            f"INSERT OR IGNORE INTO pages ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        return cur.rowcount == 1

    def finish_page(self, key: str, claimer: str, state: str, result: dict[str, Any], at: str) -> bool:
        cur = self.conn.execute(
            "UPDATE pages SET state = ?, result = ?, finished_at = ? WHERE key = ? AND claimer = ? AND state = 'sending'",
            [state, canonical_json(result), at, key, claimer],
        )
        return cur.rowcount == 1

    def take_over_page(self, key: str, old_claimer: str, new_claimer: str, at: str) -> bool:
        """Move a page whose sender died to `new_claimer`; False if another process took it first."""
        cur = self.conn.execute(
            "UPDATE pages SET claimer = ?, claimed_at = ?, resends = resends + 1 "
            "WHERE key = ? AND claimer = ? AND state = 'sending'",
            [new_claimer, at, key, old_claimer],
        )
        return cur.rowcount == 1

    @_reads
    def page_rows(self, *, incidents: list[int] | None = None, since: str | None = None) -> list[dict[str, Any]]:
        clauses: list[str] = []
        params: list[int | str] = []
        if incidents is not None:
            clauses.append(f"incident IN ({','.join('?' * len(incidents))})")
            params.extend(incidents)
        if since is not None:
            clauses.append("claimed_at >= ?")
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
        rows = self.conn.execute(
            "SELECT DISTINCT p.incident FROM pages p JOIN incidents i ON i.number = p.incident "
            "WHERE i.status NOT IN ('resolved', 'closed')"
        )
        return [r[0] for r in rows]

    def add_override(self, row: dict[str, Any]) -> int:
        cur = self.conn.execute(
            f"INSERT INTO overrides ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        return int(cur.lastrowid or 0)

    def cancel_override(self, override_id: int, by: str, at: str) -> bool:
        cur = self.conn.execute(
            "UPDATE overrides SET cancelled_at = ?, cancelled_by = ? WHERE id = ? AND cancelled_at IS NULL",
            [at, by, override_id],
        )
        return cur.rowcount == 1

    @_reads
    def override_rows(
        self, *, ending_after: str | None = None, include_cancelled: bool = False
    ) -> list[dict[str, Any]]:
        clauses, params = [], []
        if ending_after is not None:
            clauses.append("ends_at > ?")
            params.append(ending_after)
        if not include_cancelled:
            clauses.append("cancelled_at IS NULL")
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return self._query(f"SELECT * FROM overrides{where} ORDER BY starts_at, id", params)

    @_reads
    def override_row(self, override_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM overrides WHERE id = ?", [override_id])
        return rows[0] if rows else None

    def beat(self, row: dict[str, Any]) -> None:
        """A desk or agent says it is alive (its own small transaction)."""
        self.conn.execute(
            "INSERT INTO watchers (token, kind, host, pid, actor, pages, started_at, seen_at) "
            "VALUES (:token, :kind, :host, :pid, :actor, :pages, :started_at, :seen_at) "
            "ON CONFLICT(token) DO UPDATE SET seen_at = excluded.seen_at, pages = excluded.pages",
            row,
        )

    def forget_watcher(self, token: str) -> None:
        self.conn.execute("DELETE FROM watchers WHERE token = ?", [token])

    def forget_watchers_before(self, at: str) -> None:
        self.conn.execute("DELETE FROM watchers WHERE seen_at < ?", [at])

    @_reads
    def undone_action_items(self) -> list[dict[str, Any]]:
        return self._query("SELECT id, incident, title, owner, due FROM action_items WHERE done = 0 ORDER BY due, id")

    @_reads
    def watcher_rows(self) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM watchers ORDER BY seen_at DESC")


_SIDECARS = ("", "-wal", "-shm")


def _identities(path: Path) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for suffix in _SIDECARS:
        try:
            st = os.stat(_sidecar(path, suffix) if suffix else path)
        except OSError:
            continue
        out[suffix] = (st.st_dev, st.st_ino)
    return out


def _open_elsewhere_without_sidecars(path: Path) -> bool:
    """Another process has the file open in WAL mode (it holds SQLite's shared lock on the file)
    although the -shm beside it is gone: someone deleted it under that desk. Opening now would start
    a second, separate -wal, and that desk would remove it, with what was written into it, on close.

    Linux only (the `struct flock` layout is the kernel's); elsewhere the check is skipped.
    """
    if not sys.platform.startswith("linux") or _sidecar(path, "-shm").exists():
        return False
    import fcntl
    import struct

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        # SQLite's SHARED lock range: 510 bytes after the PENDING and RESERVED bytes at 1 GiB.
        probe = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0x40000002, 510, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, probe)
        # A read lock: a connection in normal WAL mode, open and idle. (A write lock is a desk in
        # exclusive locking mode, which needs no -shm; opening then waits for it like any lock.)
        return struct.unpack("hhqqi4x", answer)[0] == fcntl.F_RDLCK and _is_wal(path)
    except OSError:
        return False
    finally:
        os.close(fd)


def _is_wal(path: Path) -> bool:
    """The file's header says WAL (its read and write format versions are 2)."""
    try:
        with path.open("rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return header[:16] == b"SQLite format 3\x00" and header[18:20] == b"\x02\x02"


def _refuse_foreign_journal(path: Path) -> None:
    """A rollback journal beside a WAL-mode desk is not the desk's: in WAL mode SQLite never writes
    one. Opening would replay it, pages of another database, into the desk; refuse instead."""
    journal = _sidecar(path, "-journal")
    try:
        if journal.stat().st_size == 0:
            return
    except OSError:
        return
    if _is_wal(path):
        raise StoreError(
            f"{journal} lies beside the desk, but the desk keeps its journal in {path.name}-wal: it comes from "
            "another database (a copied or restored file?) and opening would replay it into the desk; nothing "
            f"was read or written — move {journal.name} away, then try again"
        )


def _writable(path: Path) -> bool:
    # WAL needs to create -wal and -shm files beside the database.
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _connect(path: Path, *, readonly: bool, created: bool, immutable: bool) -> tuple[sqlite3.Connection, OpenInfo]:
    uri = f"file:{quote(str(path))}"  # quoted: a '?' or '#' in a folder name must not end the path
    if readonly:
        uri += "?mode=ro&immutable=1" if immutable else "?mode=ro"
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, timeout=busy_timeout_ms() / 1000, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        return conn, _prepare(conn, path, readonly=readonly, created=created)
    except StoreError:
        conn.close()
        raise
    except sqlite3.OperationalError:
        conn.close()
        raise  # Store.open may retry it
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(describe_db_error(path, exc)) from None


def _code(exc: sqlite3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # primary code, without the extension


# Primary result codes that describe the file or the machine rather than a bug in a statement.
_FILE_ERRORS = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_NOTADB,
    sqlite3.SQLITE_PERM,
}


def _stream_error(path: Path, exc: sqlite3.Error) -> StoreError:
    damaged = _code(exc) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return (Damaged if damaged else StoreError)(describe_db_error(path, exc))


def is_file_error(exc: sqlite3.Error) -> bool:
    return _code(exc) in _FILE_ERRORS


def describe_db_error(path: Path, exc: sqlite3.Error, *, waited_ms: int | None = None) -> str:
    """One line for the user about what is wrong with the file (never a traceback)."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        ms = busy_timeout_ms() if waited_ms is None else waited_ms
        waited = f"{ms // 1000} s" if ms % 1000 == 0 else f"{ms / 1000:g} s"
        return f"{path} is locked by another process for more than {waited}; nothing was written, try again"
    if "disk is full" in text or (_code(exc) == sqlite3.SQLITE_IOERR and _out_of_room(path)):
        return f"{path}: {_out_of_room(path) or 'the disk is full'}; nothing was written — {_ROOM_ADVICE}"
    if "not a database" in text or "malformed" in text or "disk image" in text:
        return f"{path} is damaged or not an SQLite database ({text}); it was left untouched"
    if "readonly" in text or "read-only" in text:
        return f"{path} is read-only ({text})"
    if "unable to open" in text:
        return f"{path} cannot be opened ({text}): check the file and its folder exist and are readable"
    return f"{path}: {text}"


_ROOM_ADVICE = "free some space (or raise the limit) and try again"


def _out_of_room(path: Path) -> str:
    """Why a write failed with a bare 'disk I/O error', when the cause is room: SQLite reports a
    full disk met while growing the -wal or -shm, and a file size limit (`ulimit -f`), as I/O."""
    import resource

    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        biggest = max((p.stat().st_size for p in (path, _sidecar(path, "-wal")) if p.exists()), default=0)
        if biggest + 65_536 >= limit:
            return f"the file size limit is reached (ulimit -f: {limit // 1024:,} KiB)"
    try:
        fs = os.statvfs(path.parent)
    except OSError:
        return ""
    if fs.f_bavail * fs.f_frsize < 1024 * 1024:
        return "the disk is full"
    return ""


def _prepare(conn: sqlite3.Connection, path: Path, *, readonly: bool, created: bool) -> OpenInfo:
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if app_id != APPLICATION_ID and (tables or version):
        shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
        raise StoreError(
            f"{path} is not an oncall-tui desk database (it holds: {shown or 'no tables'}); "
            "it was left untouched — pass another --db"
        )
    if app_id == APPLICATION_ID and (version == 0 or not {"incidents", "events"} <= set(tables)):
        # The desk sets its id in the same transaction that builds the schema: a file with the id and
        # not the tables was made by something else, or half-copied. Migrating it would hide that.
        raise StoreError(
            f"{path} is marked as an oncall-tui desk but its schema is incomplete (tables: "
            f"{', '.join(tables) or 'none'}; schema version {version}); it was left untouched — restore it "
            "from a backup or pass another --db"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer oncall-tui (schema {version}; this version knows up to "
            f"{SCHEMA_VERSION}); upgrade oncall-tui — the file was left untouched"
        )
    if readonly:
        if version < SCHEMA_VERSION:
            raise StoreError(f"{path} needs an upgrade but is read-only; open it writable once")
        return OpenInfo(path, True, False, version)
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":  # e.g. a filesystem without shared memory
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    start = version
    if version < SCHEMA_VERSION:
        import sqlite_utils

        db = sqlite_utils.Database(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the lock: another desk may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in MIGRATIONS[version:]:
                step(db)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return OpenInfo(path, False, created, start)


# --- row mapping -------------------------------------------------------------------------------


def _encode_fields(fields: dict[str, Any]) -> dict[str, Any]:
    from ..clock import iso

    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in INCIDENT_TIME_FIELDS:
            out[key] = iso(value)
        elif key in ("services", "tenants"):
            out[key] = json.dumps(list(value))
        elif key in ("labels", "roles"):
            out[key] = canonical_json(dict(value))
        elif key in ("severity", "status"):
            out[key] = value.value if value is not None else None
        else:
            out[key] = value
    return out


def incident_to_row(incident: Incident) -> dict[str, Any]:
    from dataclasses import fields

    return _encode_fields({f.name: getattr(incident, f.name) for f in fields(incident)})


_FIELDS = tuple(f.name for f in dataclasses.fields(Incident))
_INCIDENT_COLUMNS = ", ".join(_FIELDS)
_TIME_AT = tuple(_FIELDS.index(name) for name in INCIDENT_TIME_FIELDS)
_TEXT_AT = tuple(
    i
    for i, name in enumerate(_FIELDS)
    if name
    not in (*INCIDENT_TIME_FIELDS, *INCIDENT_JSON_FIELDS, "severity", "status", "number", "version", "tenant_count")
)
_SERVICES_AT, _LABELS_AT = _FIELDS.index("services"), _FIELDS.index("labels")
_TENANTS_AT, _ROLES_AT, _TENANT_COUNT_AT = (
    _FIELDS.index("tenants"),
    _FIELDS.index("roles"),
    _FIELDS.index("tenant_count"),
)
_STATUS_AT, _SEVERITY_AT = _FIELDS.index("status"), _FIELDS.index("severity")


def values_to_incident(row: Sequence[Any]) -> Incident:
    """An incident from a row selected as `_INCIDENT_COLUMNS`: the bulk read behind the board, whose
    first frame waits for every open incident to be decoded — hence positions, not names."""
    values = list(row)
    for i in _TIME_AT:
        if (text := values[i]) is not None:
            values[i] = from_iso(text)
    # What was stored by another writer is shown as text only (see terminal_text): cleaned here, on
    # the way out, so the board, the CLI and every export print nothing that drives the terminal.
    for i in _TEXT_AT:
        if (text := values[i]) is None:
            values[i] = ""
        elif not text.isprintable():
            values[i] = printable(text)
    services, labels = values[_SERVICES_AT], values[_LABELS_AT]
    values[_SERVICES_AT] = tuple(printable_value(json.loads(services))) if services and services != "[]" else ()
    # Labels stay exact (a silence must match the alert byte for byte); whoever shows one cleans it.
    values[_LABELS_AT] = json.loads(labels) if labels and labels != "{}" else {}
    tenants, roles = values[_TENANTS_AT], values[_ROLES_AT]
    values[_TENANTS_AT] = tuple(json.loads(tenants)) if tenants and tenants != "[]" else ()
    values[_ROLES_AT] = json.loads(roles) if roles and roles != "{}" else {}
    values[_TENANT_COUNT_AT] = values[_TENANT_COUNT_AT] or 0
    values[_STATUS_AT] = Status(values[_STATUS_AT])
    values[_SEVERITY_AT] = Severity(values[_SEVERITY_AT]) if values[_SEVERITY_AT] else None
    return Incident(*values)


def row_to_incident(row: dict[str, Any]) -> Incident:
    return values_to_incident(tuple(row[name] for name in _FIELDS))


def row_to_event(row: dict[str, Any]) -> Event:
    return Event(
        seq=row["seq"],
        incident=row["incident"],
        at=from_iso(row["at"]),
        actor=printable(row["actor"]),
        kind=printable(row["kind"]),
        details=printable_value(json.loads(row["details"])),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
