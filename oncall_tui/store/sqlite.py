"""The desk's SQLite file: the embedded backend, for one machine.

One file. The queries every engine shares are in `sql.SQLRecord`; this module holds what only SQLite
has: the schema and its migrations (sqlite-utils builds them; everyday reads and writes are plain
`sqlite3` calls, so opening the desk does not pay for importing sqlite-utils — a third of the board's
startup budget — unless the file needs creating or migrating), the PRAGMAs, `data_version`, the
backup API, the intake lock file and the checks that the file is still the one opened. Every action
is one `BEGIN IMMEDIATE` transaction that reads the incident, checks it, writes the new state and
appends the event, so two desks on the same file serialise on SQLite's own lock and the second sees
what the first did. Durability: WAL with `synchronous=FULL`, because in WAL mode NORMAL may lose the
last committed transactions on power loss, and a timeline that forgets an acknowledgement is worse
than a few milliseconds per action.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import FileReplaced, Locked, ReadOnlyError, StoreError
from .rows import (
    INCIDENT_TIME_FIELDS,
)
from .sql import SQLRecord, reads

if TYPE_CHECKING:
    import sqlite_utils

APPLICATION_ID = 0x4F4E4341  # "ONCA": marks a file as an oncall-tui desk
BUSY_TIMEOUT_MS = 5000


def busy_timeout_ms() -> int:
    """How long an action waits for another desk's transaction before giving up.

    $ONCALL_TUI_BUSY_TIMEOUT_MS overrides the default, so a test of a locked file (or a user on a
    slow network filesystem) need not live with 5 s.
    """
    from ..schema import env_whole_number

    return env_whole_number("ONCALL_TUI_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS, low=0, high=600_000, unit="milliseconds")


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


def _migrate_5(db: sqlite_utils.Database) -> None:
    """Overrides as an audit trail: what each one was (take, cover, swap), a swap's second half
    naming its first, and a row that, once written, changes only by being cancelled, once."""
    db.execute("ALTER TABLE overrides ADD COLUMN kind TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE overrides ADD COLUMN swap_of INTEGER REFERENCES overrides(id)")
    db.execute("CREATE INDEX idx_overrides_swap_of ON overrides (swap_of)")
    kept = ("id", "schedule", "person", "starts_at", "ends_at", "covering", "reason", "created_by", "created_at")
    rewritten = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in (*kept, "kind", "swap_of"))
    db.execute(
        "CREATE TRIGGER overrides_settled BEFORE UPDATE ON overrides "
        f"WHEN {rewritten} OR OLD.cancelled_at IS NOT NULL OR NEW.cancelled_at IS NULL OR NEW.cancelled_by = '' "
        "BEGIN SELECT RAISE(ABORT, 'an override is never rewritten: cancel it (once) and make a new one'); END"
    )


# The breach dedupe key, spelled as `events_breaches` indexes it (and as `_json_text` writes it).
_BREACH_KEY = "json_extract(details, '$.deadline'), json_extract(details, '$.due_at')"


def _migrate_6(db: sqlite_utils.Database) -> None:
    """A desk with years of history: indexes that fit the board's questions, and what the startup
    integrity check has already verified (so it checks only what is new).

    - `incidents_open`: the open incidents, the board's every read (`status != 'closed'` cannot use
      the status index; on 100k closed incidents it was a full scan). Partial: SQLite uses it for a
      query whose WHERE holds `status != 'closed'` term for term, as the shared SQL writes it.
    - `events_breaches`: "is this breach on the timeline already?", partial over breach events only
      and keyed by what identifies one; it was planned on the `kind` index (every breach ever written).
    - `verified_heads`: per incident, the newest event the startup check found intact.
    """
    db.execute("CREATE INDEX incidents_open ON incidents(number) WHERE status != 'closed'")
    db.execute(f"CREATE INDEX events_breaches ON events(incident, {_BREACH_KEY}) WHERE kind = 'deadline_breached'")
    db.execute("CREATE TABLE verified_heads (incident INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migrate_1,
    _migrate_2,
    _migrate_3,
    _migrate_4,
    _migrate_5,
    _migrate_6,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class OpenInfo:
    """How the desk file was opened: read-only and why, created, or migrated from an older schema."""

    path: Path
    readonly: bool
    created: bool
    migrated_from: int
    why_readonly: str = ""  # set when the file was opened read-only because it cannot be written


class Store(SQLRecord):
    """A desk database file. Not thread-safe: one Store per thread."""

    info: OpenInfo

    def __init__(self, conn: sqlite3.Connection, info: OpenInfo) -> None:
        self.conn = conn
        self.info = info
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

    # --- the dialect hooks of SQLRecord ---------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def _json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def _read_error(self, exc: Exception) -> StoreError | None:
        if isinstance(exc, sqlite3.ProgrammingError):  # the connection was closed under the reader
            return StoreError(f"{self.info.path}: the desk's connection to the file is closed")
        if isinstance(exc, sqlite3.Error):
            return StoreError(describe_db_error(self.info.path, exc))
        return None

    def _damage(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.DatabaseError) and _code(exc) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        self.conn.execute("BEGIN")  # a deferred read transaction: one snapshot of the WAL
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("COMMIT")

    def _file_check(self, name: str) -> tuple[str, ...]:
        if name not in ("integrity_check", "quick_check"):
            raise ValueError(f"unknown file check {name!r}")
        try:
            return tuple(r[0] for r in self.conn.execute(f"PRAGMA {name}"))
        except sqlite3.DatabaseError as exc:
            if not self._damage(exc):
                raise
            return (str(exc),)  # so damaged that SQLite's own check gave up

    def _last_seq(self) -> int | None:
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return int(row[0]) if row else None

    def _append_only_guards(self) -> frozenset[str]:
        return frozenset(r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"))

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
            # where they went stale (bounded by analysis_limit: milliseconds even at 100k).
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA busy_timeout = 0")  # another desk writing: skip it, never wait
                self.conn.execute("PRAGMA analysis_limit = 400")
                self.conn.execute("PRAGMA optimize")
        self.conn.close()

    def interrupt(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # closed meanwhile: nothing to stop
            self.conn.interrupt()

    def reopen(self, *, readonly: bool = False) -> Store:
        other = Store.open(self.info.path, readonly=readonly or self.readonly)
        # The file's check holds for the connection opened beside this one: a worker that opens its
        # own for each batch of breaches must not read a desk with history end to end each time.
        other._sound = self._sound
        return other

    @property
    def location(self) -> str:
        return str(self.info.path)

    @contextlib.contextmanager
    def bulk_fill(self) -> Iterator[None]:
        # Generated history need not survive power loss; a bulk fill with fsync per action would take minutes.
        self.conn.execute("PRAGMA synchronous = OFF")
        try:
            yield
        finally:
            self.conn.execute("PRAGMA synchronous = FULL")

    @contextlib.contextmanager
    def intake_lock(self) -> Iterator[bool]:
        """A lock file beside the desk: `flock` on it is per open file, so desks in other processes
        (and other threads' desks in this one) on the same file are told apart."""
        path = self.info.path
        try:
            fd = os.open(path.with_name(path.name + ".intake.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            fd = None  # a directory we cannot write: the desk is read-only there anyway
        try:
            if fd is not None and _HAVE_FLOCK:
                import fcntl

                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
            yield True
        finally:
            if fd is not None:
                os.close(fd)

    def backup_to(self, path: Path) -> None:
        """One backup step over all pages: a single read snapshot, which in WAL mode does not block the
        desks writing meanwhile (a multi-step backup would restart whenever one of them commits)."""
        try:
            target = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot create {path.parent / path.name}: {exc}") from None
        try:
            self.conn.backup(target)
            # A self-contained single file: no -wal beside it to forget when it is moved or mailed.
            target.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.DatabaseError as exc:
            raise StoreError(describe_db_error(path, exc)) from None
        finally:
            target.close()
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())

    # --- change detection -------------------------------------------------------------------------

    @reads
    def data_version(self) -> int:
        """Changes whenever another connection commits to the file: one cheap pragma, no table scan."""
        self.check_same_file()
        version: int = self.conn.execute("PRAGMA data_version").fetchone()[0]
        return version

    @reads
    def change_marker(self) -> int:
        """A number that moves when anything may have changed in the record since it was last read
        (another connection committed): the cheap first question of every tick. SQLite's
        `PRAGMA data_version` answers without touching a table; it does not move for this
        connection's own commits, which the writer knows about anyway (ask `changes_since`)."""
        return self.data_version()

    def watch_changes(self, callback: Callable[[], None]) -> bool:
        return False  # nothing pushes a commit to a file's readers: the tick polls data_version

    # --- plans that fit (see tests/unit/test_query_plans.py) --------------------------------------

    # Without statistics the planner prefers the `kind` index (every breach ever) to the one made
    # for these questions.
    _breach_events = "events INDEXED BY events_breaches"
    # CROSS JOIN fixes the order: the open incidents first (their partial index), then their checks
    # by primary key; left to itself the planner walks every check ever ticked.
    _open_checks_sql = (
        "SELECT c.incident, c.runbook, COUNT(*) FROM incidents AS i INDEXED BY incidents_open "
        "CROSS JOIN checks AS c ON c.incident = i.number WHERE i.status != 'closed' AND c.checked = 1 "
        "GROUP BY c.incident, c.runbook"
    )

    @reads
    def changes_since(self, seq: int) -> tuple[int, frozenset[int]]:
        """As the shared SQL's, planned as a range of the rowid (the planner would rather walk the
        whole (incident, seq) index for a DISTINCT)."""
        top = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        if top <= seq:
            return int(top), frozenset()
        rows = self.conn.execute("SELECT incident FROM events NOT INDEXED WHERE seq > ?", [seq])
        return int(top), frozenset(r[0] for r in rows)

    def note_sound(self) -> None:
        self._sound = True

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

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    @reads
    def sequence_marks(self) -> dict[str, int]:
        return {name: int(seq) for name, seq in self.conn.execute("SELECT name, seq FROM sqlite_sequence")}

    def set_sequence_marks(self, marks: dict[str, int]) -> None:
        for name, seq in marks.items():
            if name not in ("events", "overrides"):
                continue
            # SQLite keeps each AUTOINCREMENT table's high-water mark in sqlite_sequence, one row each.
            if (
                self.conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", [seq, name]).rowcount
                == 0
            ):
                self.conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [name, seq])

    # --- transactions: the hooks of SQLRecord.write -------------------------------------------------

    def _readonly_error(self) -> ReadOnlyError:
        why = f" ({self.info.why_readonly})" if self.info.why_readonly else ""
        return ReadOnlyError(f"{self.info.path} is open read-only{why}; changes are not possible")

    def _begin_write(self) -> None:
        """IMMEDIATE takes the write lock up front, so read-check-write is atomic across processes,
        waiting up to the busy timeout for another desk to finish."""
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

    def _write_handle(self) -> sqlite3.Connection:
        return self.conn

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _write_error(self, exc: BaseException) -> StoreError | None:
        # A damaged page, a full disk or an I/O error met halfway through an action is about the
        # file, not the action: say so in the user's terms instead of crashing the desk.
        if isinstance(exc, sqlite3.Error):
            return StoreError(describe_db_error(self.info.path, exc))
        return None

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection itself, for tests and exploration (the code reads through named methods):
        a database error in it leaves as StoreError, like every read the store makes."""
        try:
            yield self.conn
        except sqlite3.Error as exc:
            raise StoreError(describe_db_error(self.info.path, exc)) from None

    def _rollback(self) -> None:
        # On a damaged file ROLLBACK can fail too; the original error is the one worth reporting.
        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")


_SIDECARS = ("", "-wal", "-shm")
_HAVE_FLOCK = sys.platform != "win32"


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

    A desk opening at the same moment holds that lock for a moment before it makes its -shm (and
    one closing, while it removes them): only a state that lasts is a deleted -shm. Two desks
    started together were refused as "its -wal and -shm files were deleted".

    Linux only (the `struct flock` layout is the kernel's); elsewhere the check is skipped.
    """
    if not sys.platform.startswith("linux"):
        return False
    for _look in range(SIDECAR_LOOKS):
        if not _shared_lock_without_shm(path):
            return False
        time.sleep(SIDECAR_LOOK_SECONDS)
    return True


SIDECAR_LOOKS = 20  # a desk opening or closing beside this one is through it in well under this
SIDECAR_LOOK_SECONDS = 0.01


def _shared_lock_without_shm(path: Path) -> bool:
    if _sidecar(path, "-shm").exists():
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
