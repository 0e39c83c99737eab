"""The record's SQL that every engine runs alike: one place for the queries, small hooks for dialects.

`SQLRecord` holds every read and write of the record as named methods over plain, standard SQL
(`INSERT … ON CONFLICT`, `RETURNING`, no engine functions), written with `?` placeholders. A backend
subclasses it and supplies the few things engines spell differently:

* `_execute(sql, params)`: run one statement on its connection and return a DB-API cursor (a
  driver that wants `%s` placeholders translates `?` here — the shared SQL has no other `?`);
* `_json_text(column, key)`: a JSON object's member as text (`json_extract(c, '$.k')` on SQLite,
  `(c::jsonb ->> 'k')` on PostgreSQL);
* `_read_error(exc)`: the driver's exception as a StoreError for the user, or None to let it through;
* the snapshot hooks behind `timeline_snapshot` (`_snapshot`, `_file_check`, `_last_seq`,
  `_append_only_guards`), and everything about transactions, locks and change detection, which
  live in the backend module (see `interface.Record` for what each must guarantee).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ..clock import from_iso
from ..model import Event, Incident, IncidentKeys
from .chain import canonical_json, event_hash
from .errors import Damaged, ReadOnlyError, StoreError
from .rows import (
    INCIDENT_COLUMNS,
    KEY_COLUMNS,
    encode_fields,
    incident_to_row,
    row_to_event,
    row_to_incident,
    values_to_incident,
    values_to_keys,
)

if TYPE_CHECKING:
    from typing import Protocol

    class Cursor(Protocol):
        """What the shared SQL needs of a DB-API cursor (sqlite3's and psycopg's both have it)."""

        @property
        def description(self) -> Sequence[Sequence[Any]] | None: ...
        @property
        def rowcount(self) -> int: ...
        def fetchone(self) -> Any: ...
        def fetchall(self) -> list[Any]: ...
        def fetchmany(self, size: int = ...) -> list[Any]: ...
        def __iter__(self) -> Iterator[Any]: ...

    class OpenedAs(Protocol):
        """How a backend opened the record (sqlite's `OpenInfo`, PostgreSQL's `PgOpenInfo`)."""

        @property
        def readonly(self) -> bool: ...
        @property
        def why_readonly(self) -> str: ...
        @property
        def created(self) -> bool: ...
        @property
        def migrated_from(self) -> int: ...


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="SQLRecord")


def reads(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """A read that meets a damaged or vanished database (or any other driver error) raises
    StoreError with a clear message, so the board can show it instead of crashing mid-outage."""

    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            error = self._read_error(exc)
            if error is None:
                raise
            raise error from None

    return functools.wraps(method)(wrapper)


def reads_timeline(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """`reads`, for what `verify` walks: stored data that cannot be read is Damaged (a finding to
    report), any other driver error a StoreError."""

    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._reading_timeline():
            return method(self, *args, **kwargs)

    return functools.wraps(method)(wrapper)


@dataclass(frozen=True, slots=True)
class TimelineSnapshot:
    """Everything `verify` reads, taken in one snapshot (a desk committing meanwhile cannot split a chain)."""

    integrity: tuple[str, ...]  # the engine's own check of its storage: ("ok",) when sound or not run
    heads: dict[int, str | None]  # incident number → head hash
    events: list[tuple[int, int, str, str, str, str, str, str]]  # seq, incident, at, actor, kind, details, prev, hash
    last_seq: int | None  # the highest seq ever handed out, when the engine remembers it
    rows: dict[int, dict[str, Any]]  # incident number → its stored row (when asked for)
    guards: frozenset[str]  # the names of the append-only guards (triggers) the record holds


ACTION_ITEM_COLUMNS = "id, incident, title, owner, due, done, created_at, version"
_CHECK_COLUMNS = "runbook, step, checked, at, actor"
_OPEN = "status NOT IN ('resolved', 'closed')"
# Every table of the record, in an order that satisfies references (an incident before its events),
# with the columns that order each one's rows: what `migrate` copies. Not `watchers`: who is
# watching is rewritten by every desk and agent within a minute of starting; nor `verified_heads`,
# what this record's own startup check has proved so far (the copy is verified whole on arrival, and
# its first startup check walks it all once). A new table must be listed here or in NOT_COPIED.
RECORD_TABLES = {
    "desk_meta": "key",
    "incidents": "number",
    "events": "seq",
    "checks": "incident, runbook, step",
    "action_items": "id",
    "alert_silences": "incident, silence_id",
    "overrides": "id",
    "pages": "key",
}
NOT_COPIED = frozenset({"watchers", "verified_heads"})


class SQLRecord:
    """The record's queries, shared by every SQL backend (see the module's docstring for the hooks)."""

    # --- dialect hooks --------------------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def _json_text(self, column: str, key: str) -> str:
        raise NotImplementedError

    def _read_error(self, exc: Exception) -> StoreError | None:
        raise NotImplementedError

    def _snapshot(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _file_check(self, name: str) -> tuple[str, ...]:
        raise NotImplementedError

    def _last_seq(self) -> int | None:
        raise NotImplementedError

    def _append_only_guards(self) -> frozenset[str]:
        raise NotImplementedError

    # Transactions (see `write`): what a backend does to begin, end and undo one.
    _batch = False  # inside `batch()`: each write() is a savepoint of one transaction

    # How the backend opened the record (`OpenInfo`, `PgOpenInfo`): what every backend says alike.
    info: OpenedAs

    @property
    def readonly(self) -> bool:
        return self.info.readonly

    @property
    def why_readonly(self) -> str:
        return self.info.why_readonly

    @property
    def created(self) -> bool:
        return self.info.created

    @property
    def migrated_from(self) -> int:
        return self.info.migrated_from

    def _readonly_error(self) -> ReadOnlyError:
        raise NotImplementedError

    def _begin_write(self) -> None:
        """Begin a transaction holding the record's write lock (SQLite: `BEGIN IMMEDIATE`;
        PostgreSQL: `BEGIN` and a transaction-scoped lock), raising Locked when it cannot be had."""
        raise NotImplementedError

    def _write_handle(self) -> Any:
        """What `with write() as x` gives (kept for the tests that reach below the door)."""
        return None

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        """Undo the open transaction, if any; never raises (the first error is the one to report)."""
        raise NotImplementedError

    def _write_error(self, exc: BaseException) -> StoreError | None:
        """A driver error met inside a transaction, in the user's words; None to let it through."""
        raise NotImplementedError

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self._execute(sql, row)

    def sequence_marks(self) -> dict[str, int]:
        """Table → the highest id its sequence ever handed out (events, overrides): copied with the
        record, so a removed newest event still shows as a gap after a move."""
        raise NotImplementedError

    def set_sequence_marks(self, marks: dict[str, int]) -> None:
        """Inside `write()`: move the sequences on to at least `marks`."""
        raise NotImplementedError

    def _damage(self, exc: Exception) -> bool:
        """The error says the stored data itself is damaged (a finding for verify, not a failure)."""
        return False

    # --- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Any]:
        """One transaction under the write lock: read-check-write-append is atomic across every desk
        (see `interface.Record`). No driver error leaves it: callers handle StoreError only."""
        if self.readonly:
            raise self._readonly_error()
        if self._batch:
            yield from self._savepoint()
            return
        self._begin_write()
        try:
            yield self._write_handle()
        except BaseException as exc:
            self._rollback()
            error = self._write_error(exc)
            if error is not None:
                raise error from None
            raise
        else:
            try:
                self._commit()
            except Exception as exc:
                self._rollback()
                error = self._write_error(exc)
                if error is None:
                    raise
                raise error from None

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

    def _savepoint(self) -> Iterator[Any]:
        self._execute("SAVEPOINT action")
        try:
            yield self._write_handle()
        except BaseException:
            self._execute("ROLLBACK TO SAVEPOINT action")
            self._execute("RELEASE SAVEPOINT action")
            raise
        self._execute("RELEASE SAVEPOINT action")

    # --- helpers --------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self._execute(sql, params)
        # Interned, so `Incident(**row)` matches keywords by identity, not by comparing strings.
        names = [sys.intern(d[0]) for d in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor]

    def _inserted_id(self, sql: str, params: Sequence[Any]) -> int:
        row = self._execute(sql, params).fetchone()
        assert row is not None  # RETURNING of an INSERT that did insert
        return int(row[0])

    # --- incidents ------------------------------------------------------------------------------

    @reads
    def incident_row(self, number: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM incidents WHERE number = ?", [number])
        return rows[0] if rows else None

    def incident_version(self, number: int) -> int | None:
        row = self._execute("SELECT version FROM incidents WHERE number = ?", [number]).fetchone()
        return int(row[0]) if row else None

    def incident(self, number: int) -> Incident | None:
        row = self.incident_row(number)
        return row_to_incident(row) if row else None

    def _incidents(self, where: str, params: Sequence[Any] = ()) -> list[Incident]:
        sql = f"SELECT {INCIDENT_COLUMNS} FROM incidents" + (f" WHERE {where}" if where else "") + " ORDER BY number"
        return [values_to_incident(v) for v in self._execute(sql, params)]

    @reads
    def incidents(self, *, include_closed: bool = False) -> list[Incident]:
        return self._incidents("" if include_closed else "status != 'closed'")

    @reads
    def incident_keys(self, *, include_closed: bool = False) -> list[IncidentKeys]:
        """What the board sorts and counts every incident by (see `IncidentKeys`), by number."""
        where = "" if include_closed else " WHERE status != 'closed'"
        return [values_to_keys(v) for v in self._execute(f"SELECT {KEY_COLUMNS} FROM incidents{where} ORDER BY number")]

    @reads
    def incidents_numbered(self, numbers: Sequence[int]) -> list[Incident]:
        if not numbers:
            return []
        return self._incidents(f"number IN ({','.join('?' * len(numbers))})", list(numbers))

    @reads
    def incidents_with_fingerprint(self, fingerprint: str, *, include_closed: bool = False) -> list[Incident]:
        where = "fingerprint = ?" + ("" if include_closed else " AND status != 'closed'")
        return self._incidents(where, [fingerprint])

    @reads
    def resolved_alert_incidents_with_silence(self) -> list[Incident]:
        return self._incidents(
            "source = 'alert' AND COALESCE(silence_id, '') != '' AND status IN ('resolved', 'closed')"
        )

    @reads
    def incident_marks(self, *, include_closed: bool = False) -> list[tuple[int, int, str]]:
        """(number, version, head hash) of every incident: what tells a reader which rows moved."""
        sql = "SELECT number, version, COALESCE(head_hash, '') FROM incidents"
        if not include_closed:
            sql += " WHERE status != 'closed'"
        return [(r[0], r[1], r[2]) for r in self._execute(sql + " ORDER BY number")]

    @reads
    def next_number(self) -> int:
        last: int = self._execute("SELECT COALESCE(MAX(number), 0) FROM incidents").fetchone()[0]
        return last + 1

    @reads
    def alertname_of(self, number: int) -> str:
        """The alert an alert-born incident was declared from, as its `declared` event recorded it."""
        row = self._execute(
            f"SELECT COALESCE({self._json_text('i.labels', 'alertname')}, {self._json_text('e.details', 'alertname')}, '') "
            "FROM incidents i LEFT JOIN events e ON e.incident = i.number AND e.kind = 'declared' "
            "WHERE i.number = ? ORDER BY e.seq LIMIT 1",
            [number],
        ).fetchone()
        return str(row[0] or "") if row else ""

    def _earlier_alerts_where(self) -> str:
        return (
            "i.source = 'alert' AND i.number < ? AND ("
            f"(? != '' AND i.fingerprint = ?) OR (? != '' AND ({self._json_text('i.labels', 'alertname')} = ? OR EXISTS ("
            "SELECT 1 FROM events e WHERE e.incident = i.number AND e.kind = 'declared' "
            f"AND {self._json_text('e.details', 'alertname')} = ?))))"
        )

    @reads
    def earlier_alert_incidents(
        self, number: int, fingerprint: str, alertname: str, *, limit: int | None = None
    ) -> list[Incident]:
        """Alert-born incidents declared before `number` from the same alert (fingerprint or group key)
        or an alert of the same name, newest first (the `limit` newest): what "has this fired
        before?" reads."""
        columns = ", ".join(f"i.{c.strip()}" for c in INCIDENT_COLUMNS.split(","))
        sql = f"SELECT {columns} FROM incidents i WHERE {self._earlier_alerts_where()} ORDER BY i.number DESC"
        params: list[Any] = [number, fingerprint, fingerprint, alertname, alertname, alertname]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [values_to_incident(v) for v in self._execute(sql, params)]

    @reads
    def earlier_alert_count(self, number: int, fingerprint: str, alertname: str) -> tuple[int, int]:
        """(how many `earlier_alert_incidents` there are, how many of them share the fingerprint),
        counted without reading them."""
        row = self._execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN ? != '' AND i.fingerprint = ? THEN 1 ELSE 0 END), 0) "
            f"FROM incidents i WHERE {self._earlier_alerts_where()}",
            [fingerprint, fingerprint, number, fingerprint, fingerprint, alertname, alertname, alertname],
        ).fetchone()
        return int(row[0]), int(row[1])

    @reads
    def open_alert_rows(self) -> list[tuple[int, str, str, str, bool, str, str | None, str]]:
        """(number, fingerprint, alert state, silence id, acknowledged?, labels JSON, severity, status)
        of every open alert-born incident, oldest first: the narrow read behind each Alertmanager poll."""
        rows = self._execute(
            "SELECT number, fingerprint, COALESCE(alert_state, ''), COALESCE(silence_id, ''), "
            "acknowledged_at IS NOT NULL, COALESCE(labels, '{}'), severity, status "
            f"FROM incidents WHERE source = 'alert' AND {_OPEN} ORDER BY number"
        )
        return [(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7]) for r in rows]

    @reads
    def open_alert_history(self, kinds: Sequence[str]) -> list[tuple[int, str, str | None, str | None, str | None]]:
        """(incident, kind, alerts JSON, silence id, reason) of the `kinds` events of every open
        alert-born incident, in timeline order: what replays each incident's alerts."""
        j = self._json_text
        rows = self._execute(
            f"SELECT incident, kind, {j('details', 'alerts')}, {j('details', 'silence_id')}, {j('details', 'reason')} "
            f"FROM events WHERE kind IN ({','.join('?' * len(kinds))}) AND incident IN "
            f"(SELECT number FROM incidents WHERE source = 'alert' AND {_OPEN}) ORDER BY seq",
            list(kinds),
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # --- the timeline ---------------------------------------------------------------------------

    @reads
    def changes_since(self, seq: int) -> tuple[int, frozenset[int]]:
        """(the highest timeline sequence number now, the incidents with an event after `seq`).

        Every change to an incident appends to its timeline, so the incidents whose events moved past
        `seq` are exactly the ones to read again; a commit that touched no incident (a watcher's
        heartbeat, a page's bookkeeping) answers an empty set. Two index range reads on `seq`, the
        events' rowid: a few microseconds whatever the size of the history.
        """
        top = self._execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        if top <= seq:
            return int(top), frozenset()
        rows = self._execute("SELECT DISTINCT incident FROM events WHERE seq > ?", [seq])
        return int(top), frozenset(r[0] for r in rows)

    @reads
    def events(self, number: int) -> list[Event]:
        return [row_to_event(r) for r in self._query("SELECT * FROM events WHERE incident = ? ORDER BY seq", [number])]

    def last_event_at(self, number: int) -> datetime | None:
        """When the incident's newest event was written; called inside `write()`, before an append."""
        row = self._execute("SELECT at FROM events WHERE incident = ? ORDER BY seq DESC LIMIT 1", [number]).fetchone()
        return from_iso(row[0]) if row else None

    @reads
    def last_event(self, number: int, kinds: tuple[str, ...]) -> Event | None:
        marks = ",".join("?" * len(kinds))
        rows = self._query(
            f"SELECT * FROM events WHERE incident = ? AND kind IN ({marks}) ORDER BY seq DESC LIMIT 1",
            [number, *kinds],
        )
        return row_to_event(rows[0]) if rows else None

    @reads
    def last_item_event(self, number: int, item_id: int, kinds: Sequence[str]) -> tuple[str, str, str] | None:
        """(actor, at, kind) of the newest of `kinds` events about action item `item_id`."""
        row = self._execute(
            f"SELECT actor, at, kind FROM events WHERE incident = ? AND kind IN ({','.join('?' * len(kinds))}) "
            f"AND CAST({self._json_text('details', 'item')} AS INTEGER) = ? ORDER BY seq DESC LIMIT 1",
            [number, *kinds, item_id],
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    @reads
    def counts_for(self, number: int) -> tuple[int, int]:
        """(timeline events, action items) of one incident."""
        row = self._execute(
            "SELECT (SELECT COUNT(*) FROM events WHERE incident = ?), (SELECT COUNT(*) FROM action_items WHERE incident = ?)",
            [number, number],
        ).fetchone()
        return int(row[0]), int(row[1])

    @reads
    def recorded_breaches(self, incidents: Sequence[int] | None = None) -> set[tuple[int, str, str]]:
        """(incident, deadline key, due_at) of the breaches already on the timelines of `incidents`
        (of every incident when None): a batch of breaches asks about its own incidents only."""
        j = self._json_text
        sql = (
            f"SELECT incident, {j('details', 'deadline')}, {j('details', 'due_at')} FROM {self._breach_events} "
            "WHERE kind = 'deadline_breached'"
        )
        if incidents is None:
            return {(number, key, due) for number, key, due in self._execute(sql)}
        found: set[tuple[int, str, str]] = set()
        for chunk in _chunks(incidents):
            rows = self._execute(sql + f" AND incident IN ({','.join('?' * len(chunk))})", chunk)
            found.update((number, key, due) for number, key, due in rows)
        return found

    # How the breach questions name the events table: a backend may point its planner at the index
    # that fits them (SQLite: `events INDEXED BY events_breaches`).
    _breach_events = "events"

    def breach_recorded(self, number: int, key: str, due_at: str) -> bool:
        """This breach (deadline key, due time) is on the incident's timeline already; inside `write()`."""
        j = self._json_text
        return (
            self._execute(
                f"SELECT 1 FROM {self._breach_events} WHERE incident = ? AND kind = 'deadline_breached' "
                f"AND {j('details', 'deadline')} = ? AND {j('details', 'due_at')} = ?",
                [number, key, due_at],
            ).fetchone()
            is not None
        )

    # --- writes (call inside `write()`) -----------------------------------------------------------

    def insert_incident(self, incident: Incident) -> None:
        row = incident_to_row(incident)
        columns = ", ".join(row)
        self._execute(f"INSERT INTO incidents ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))

    def update_incident(self, number: int, changes: dict[str, Any]) -> None:
        row = encode_fields(changes)
        sets = ", ".join(f"{k} = ?" for k in row)
        self._execute(f"UPDATE incidents SET {sets} WHERE number = ?", [*row.values(), number])

    def append_event(self, number: int, at: str, actor: str, kind: str, details: dict[str, Any]) -> Event:
        """Append to the incident's chain and move its head; the caller's transaction makes both one."""
        head = self._execute("SELECT head_hash FROM incidents WHERE number = ?", [number]).fetchone()
        prev = (head[0] or "") if head else ""
        details_json = canonical_json(details)
        digest = event_hash(prev, number, at, actor, kind, details_json)
        seq = self._inserted_id(
            "INSERT INTO events (incident, at, actor, kind, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?) RETURNING seq",
            [number, at, actor, kind, details_json, prev, digest],
        )
        self._execute("UPDATE incidents SET head_hash = ? WHERE number = ?", [digest, number])
        return Event(seq, number, from_iso(at), actor, kind, json.loads(details_json), prev, digest)

    # --- alert silences ---------------------------------------------------------------------------

    @reads
    def desk_id(self) -> str:
        """This record's random id: the desk's own Alertmanager silences carry it in their comment."""
        row = self._execute("SELECT value FROM desk_meta WHERE key = 'desk_id'").fetchone()
        return row[0] if row else ""

    @reads
    def alert_silences(self, number: int | None = None) -> list[dict[str, Any]]:
        """The silences seen over an incident's alerts (all incidents' when `number` is None)."""
        sql = "SELECT * FROM alert_silences"
        if number is not None:
            return self._query(sql + " WHERE incident = ? ORDER BY starts_at, silence_id", [number])
        return self._query(sql + " ORDER BY incident, starts_at, silence_id")

    def put_alert_silence(self, number: int, record: dict[str, Any]) -> None:
        """Insert or update what the desk knows of one silence over one incident's alerts."""
        row = {"incident": number, **record}
        columns = ", ".join(row)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k not in ("incident", "silence_id"))
        self._execute(
            f"INSERT INTO alert_silences ({columns}) VALUES ({', '.join('?' * len(row))}) "
            f"ON CONFLICT (incident, silence_id) DO UPDATE SET {updates}",
            list(row.values()),
        )

    # --- runbook checks -------------------------------------------------------------------------

    def step_checked(self, number: int, runbook: str, step: int) -> bool:
        """Whether a runbook step is ticked now; inside `write()`, before `set_step`."""
        row = self._execute(
            "SELECT checked FROM checks WHERE incident = ? AND runbook = ? AND step = ?", [number, runbook, step]
        ).fetchone()
        return bool(row and row[0])

    def set_step(self, number: int, runbook: str, step: int, checked: bool, at: str, actor: str) -> None:
        self._execute(
            "INSERT INTO checks (incident, runbook, step, checked, at, actor) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (incident, runbook, step) DO UPDATE SET checked = excluded.checked, "
            "at = excluded.at, actor = excluded.actor",
            [number, runbook, step, int(checked), at, actor],
        )

    @reads
    def checked_steps(self, number: int, runbook: str) -> set[int]:
        rows = self._execute(
            "SELECT step FROM checks WHERE incident = ? AND runbook = ? AND checked = 1", [number, runbook]
        )
        return {r[0] for r in rows}

    @reads
    def checked_counts(self, incidents: Sequence[int] | None = None) -> dict[tuple[int, str], int]:
        """(incident, runbook) → ticked steps, for the board's progress column: of the open incidents
        (a history of closed ones costs nothing), or of `incidents` whatever their status."""
        if incidents is None:
            rows = self._execute(self._open_checks_sql)
            return {(r[0], r[1]): r[2] for r in rows}
        out: dict[tuple[int, str], int] = {}
        for chunk in _chunks(incidents):
            rows = self._execute(
                "SELECT incident, runbook, COUNT(*) FROM checks WHERE checked = 1 "
                f"AND incident IN ({','.join('?' * len(chunk))}) GROUP BY incident, runbook",
                chunk,
            )
            out.update({(r[0], r[1]): r[2] for r in rows})
        return out

    _open_checks_sql = (
        "SELECT c.incident, c.runbook, COUNT(*) FROM incidents i JOIN checks c ON c.incident = i.number "
        "WHERE i.status != 'closed' AND c.checked = 1 GROUP BY c.incident, c.runbook"
    )

    @reads
    def check_rows(self, number: int) -> list[dict[str, Any]]:
        """The incident's runbook steps as recorded (runbook, step, checked as bool, at, actor)."""
        rows = self._query(f"SELECT {_CHECK_COLUMNS} FROM checks WHERE incident = ? ORDER BY runbook, step", [number])
        for r in rows:
            r["checked"] = bool(r["checked"])
        return rows

    # --- review action items --------------------------------------------------------------------

    @reads
    def action_items(self, number: int) -> list[dict[str, Any]]:
        return self._query(f"SELECT {ACTION_ITEM_COLUMNS} FROM action_items WHERE incident = ? ORDER BY id", [number])

    @reads
    def action_item(self, item_id: int) -> dict[str, Any] | None:
        rows = self._query(f"SELECT {ACTION_ITEM_COLUMNS} FROM action_items WHERE id = ?", [item_id])
        return rows[0] if rows else None

    def locked_action_item(self, item_id: int, number: int) -> dict[str, Any] | None:
        """The item of incident `number` as it is now; inside `write()`, so it cannot move before the update."""
        rows = self._query(
            f"SELECT {ACTION_ITEM_COLUMNS} FROM action_items WHERE id = ? AND incident = ?", [item_id, number]
        )
        return rows[0] if rows else None

    def add_action_item(self, number: int, title: str, owner: str, due: str, created_at: str) -> int:
        return self._inserted_id(
            "INSERT INTO action_items (incident, title, owner, due, done, created_at, version) "
            "VALUES (?, ?, ?, ?, 0, ?, 1) RETURNING id",
            [number, title, owner, due, created_at],
        )

    def update_action_item(self, item_id: int, changes: dict[str, Any]) -> None:
        """Set some of title, owner, due, done, and move the item's version on."""
        unknown = set(changes) - {"title", "owner", "due", "done"}
        if unknown:
            raise ValueError(f"not an action item field: {', '.join(sorted(unknown))}")
        sets = "".join(f"{k} = ?, " for k in changes)
        values = [int(v) if k == "done" else v for k, v in changes.items()]
        self._execute(f"UPDATE action_items SET {sets}version = version + 1 WHERE id = ?", [*values, item_id])

    @reads
    def undone_action_items(self) -> list[dict[str, Any]]:
        return self._query("SELECT id, incident, title, owner, due FROM action_items WHERE done = 0 ORDER BY due, id")

    # --- reports --------------------------------------------------------------------------------

    @reads
    def milestone_rows(self, started_from: str, started_before: str) -> list[IncidentKeys]:
        """The keys (`IncidentKeys`: the milestones the deadline rules read) of incidents whose
        stored start time sorts between the two ISO instants. The bounds are a coarse text filter:
        the caller widens them and judges the exact instant itself (text order is not time order
        across formats: '…00Z' sorts after '…00.5Z')."""
        return [
            values_to_keys(r)
            for r in self._execute(
                f"SELECT {KEY_COLUMNS} FROM incidents WHERE started_at >= ? AND started_at < ?",
                [started_from, started_before],
            )
        ]

    @reads
    def breach_event_rows(self, started_from: str, started_before: str) -> list[tuple[int, str | None, str | None]]:
        """(incident, deadline key, due_at) of every `deadline_breached` event of the incidents whose
        stored start time sorts between the bounds (coarse, as in `milestone_rows`)."""
        j = self._json_text
        rows = self._execute(
            f"SELECT e.incident, {j('e.details', 'deadline')}, {j('e.details', 'due_at')} "
            "FROM events e JOIN incidents i ON i.number = e.incident "
            "WHERE e.kind = 'deadline_breached' AND i.started_at >= ? AND i.started_at < ?",
            [started_from, started_before],
        )
        return [(r[0], r[1], r[2]) for r in rows]

    @reads
    def action_item_states(self) -> list[tuple[int, bool, str]]:
        """(incident, done, due) of every action item."""
        return [(r[0], bool(r[1]), r[2] or "") for r in self._execute("SELECT incident, done, due FROM action_items")]

    # --- verification ---------------------------------------------------------------------------

    def timeline_snapshot(self, *, file_check: str | None = None, with_rows: bool = True) -> TimelineSnapshot:
        """Every chain head and event (and, `with_rows`, every incident row) in one snapshot, with the
        engine's own storage check when it has one. Raises `Damaged` (with what was found) when the
        stored data cannot be read; StoreError when the database cannot be used at all."""
        integrity: tuple[str, ...] = ("ok",)
        try:
            with self._snapshot():
                if file_check:
                    integrity = self._file_check(file_check)
                heads = {r[0]: r[1] for r in self._execute("SELECT number, head_hash FROM incidents")}
                events = [
                    (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
                    for r in self._execute(
                        "SELECT seq, incident, at, actor, kind, details, prev_hash, hash FROM events ORDER BY incident, seq"
                    )
                ]
                last = self._last_seq()
                rows = {r["number"]: r for r in self._query("SELECT * FROM incidents")} if with_rows else {}
                guards = self._append_only_guards()
        except StoreError:
            raise
        except Exception as exc:
            if not self._damage(exc):
                error = self._read_error(exc)
                if error is None:
                    raise
                raise error from None
            found = integrity if integrity != ("ok",) else ()
            raise Damaged(
                f"reading the timeline failed: {exc}", findings=(*found, f"reading the timeline failed: {exc}")
            ) from None
        return TimelineSnapshot(integrity, heads, events, last, rows, guards)

    # --- the startup check and the streaming reads (bounded memory at any size) ----------------

    def _stream(self, sql: str, params: Sequence[Any], batch: int, *, names: list[str] | None = None) -> Iterator[Any]:
        """The rows of a query fetched `batch` at a time (bounded memory however many); stored data
        that cannot be read raises Damaged, any other database error StoreError."""
        with self._reading_timeline():
            cursor = self._execute(sql, params)
            if names is not None:
                names.extend(sys.intern(d[0]) for d in cursor.description or ())
            while rows := cursor.fetchmany(batch):
                yield from rows

    @contextlib.contextmanager
    def _reading_timeline(self) -> Iterator[None]:
        """Stored data that cannot be read is Damaged (a finding `verify` reports), any other
        driver error a StoreError (`reads_timeline`, and the streaming reads)."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            if self._damage(exc):
                raise Damaged(f"reading the timeline failed: {exc}") from None
            error = self._read_error(exc)
            if error is None:
                raise
            raise error from None

    def stream_events(
        self, *, after: int = 0, from_incident: int = 0, to_incident: int | None = None, batch: int = 2000
    ) -> Iterator[tuple[Any, ...]]:
        """Events after sequence `after` as stored (seq, incident, at, actor, kind, details,
        prev_hash, hash), of the incidents numbered `from_incident` to `to_incident` (both
        included; all by default), by incident then sequence: a million events walk in bounded
        memory. Read inside `snapshot()` for one consistent view."""
        where, params = [], []
        if after:
            where.append("seq > ?")  # the newest few
            params.append(after)
        if from_incident:
            where.append("incident >= ?")
            params.append(from_incident)
        if to_incident is not None:
            where.append("incident <= ?")
            params.append(to_incident)
        sql = "SELECT seq, incident, at, actor, kind, details, prev_hash, hash FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._stream(sql + " ORDER BY incident, seq", params, batch)

    def stream_incident_rows(self, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every incident row as stored (raw column values), by number."""
        names: list[str] = []
        for row in self._stream("SELECT * FROM incidents ORDER BY number", [], batch, names=names):
            yield dict(zip(names, row))

    def stream_incidents(self, *, closed: bool, by_severity: bool = False, batch: int = 1000) -> Iterator[Incident]:
        """The closed (or the not closed) incidents, by number — or by severity (P0 first, undetermined
        before all) then number, the order `list` gives incidents without a running deadline."""
        order = "number"
        if by_severity:
            order = "CASE WHEN severity IS NULL THEN -1 ELSE CAST(SUBSTR(severity, 2) AS INTEGER) END, number"
        where = "status = 'closed'" if closed else "status != 'closed'"
        sql = f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {where} ORDER BY {order}"
        return (values_to_incident(v) for v in self._stream(sql, [], batch))

    def stream_seqs(self, *, batch: int = 20_000) -> Iterator[int]:
        """Every event's sequence number, in order (no event is read)."""
        return (row[0] for row in self._stream("SELECT seq FROM events ORDER BY seq", [], batch))

    def stream_heads(
        self, *, unverified_only: bool = False, batch: int = 5000
    ) -> Iterator[tuple[int, str, str | None]]:
        """(incident, its head hash, the head the startup check last verified or None), by number;
        `unverified_only`: only the incidents whose head is not the one verified, or that have
        events after it (the engine finds them: on a desk whose history is verified, a few)."""
        where = ""
        if unverified_only:
            where = (
                " WHERE v.hash IS NULL OR v.hash <> COALESCE(i.head_hash, '')"
                " OR v.seq < (SELECT MAX(e.seq) FROM events e WHERE e.incident = i.number)"
            )
        return self._stream(
            "SELECT i.number, COALESCE(i.head_hash, ''), v.hash FROM incidents i "
            f"LEFT JOIN verified_heads v ON v.incident = i.number{where} ORDER BY i.number",
            [],
            batch,
        )

    @reads
    def incident_count(self) -> int:
        """How many incidents the record holds, closed ones included."""
        return int(self._execute("SELECT COUNT(*) FROM incidents").fetchone()[0])

    @reads_timeline
    def last_seq_issued(self) -> int | None:
        """The highest sequence number ever handed out, when the engine remembers it."""
        return self._last_seq()

    @reads_timeline
    def append_only_guards(self) -> frozenset[str]:
        return self._append_only_guards()

    @reads
    def file_check(self, name: str = "quick_check") -> tuple[str, ...]:
        """The engine's own check of its storage: ("ok",) or what it found."""
        return self._file_check(name)

    @reads_timeline
    def event_by_hash(self, digest: str) -> tuple[Any, ...] | None:
        """The stored event with this hash, or None (a scan: only to explain a broken link)."""
        row = self._execute(
            "SELECT seq, incident, at, actor, kind, details, prev_hash, hash FROM events WHERE hash = ? LIMIT 1",
            [digest],
        ).fetchone()
        return tuple(row) if row else None

    @reads
    def verified_through(self) -> int:
        """Every event up to this sequence number was found intact by the startup check (0: none)."""
        row = self._execute("SELECT value FROM desk_meta WHERE key = 'verified_seq'").fetchone()
        return int(row[0]) if row else 0

    @reads
    def verified_heads(self, incidents: Sequence[int]) -> dict[int, str]:
        """incident → the head hash the startup check last found intact."""
        out: dict[int, str] = {}
        for chunk in _chunks(incidents):
            marks = ",".join("?" * len(chunk))
            out.update(
                (r[0], r[1])
                for r in self._execute(f"SELECT incident, hash FROM verified_heads WHERE incident IN ({marks})", chunk)
            )
        return out

    def remember_verified(self, heads: Sequence[tuple[int, int, str]], through: int) -> None:
        """Inside `write()`: the (incident, seq, hash) heads found intact, and the sequence checked
        up to; the next startup check walks only what comes after (a walk in progress is over)."""
        self._remember_heads(heads)
        self._execute("DELETE FROM desk_meta WHERE key = 'verified_walk'")
        self._execute(
            "INSERT INTO desk_meta (key, value) VALUES ('verified_seq', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [str(through)],
        )

    @reads
    def walk_in_progress(self) -> tuple[int, int, int] | None:
        """A first walk that stopped before its end (see `remember_walk`): (through, incident,
        events), or None."""
        row = self._execute("SELECT value FROM desk_meta WHERE key = 'verified_walk'").fetchone()
        if row is None:
            return None
        through, incident, events = (int(part) for part in str(row[0]).split())
        return through, incident, events

    def remember_walk(self, heads: Sequence[tuple[int, int, str]], through: int, incident: int, events: int) -> None:
        """Inside `write()`, on a connection other than the walk's: the (incident, seq, hash) heads a
        walk not yet at its end found intact — every incident up to `incident` holds through
        sequence `through`, `events` events of them walked — so a desk closed midway resumes there."""
        self._remember_heads(heads)
        self._execute(
            "INSERT INTO desk_meta (key, value) VALUES ('verified_walk', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [f"{through} {incident} {events}"],
        )

    def _remember_heads(self, heads: Sequence[tuple[int, int, str]]) -> None:
        self._execute_many(
            "INSERT INTO verified_heads (incident, seq, hash) VALUES (?, ?, ?) "
            "ON CONFLICT (incident) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            heads,
        )

    def note_sound(self) -> None:
        """The storage passed its engine's check just now, on another connection: the first write
        need not check it again (SQLite runs quick_check before a Store's first write)."""

    def append_history(self, incidents: Sequence[dict[str, Any]], events: Sequence[Sequence[Any]]) -> None:
        """Inside `write()`: bulk-write generated history — incident rows as stored, and events as
        (incident, at, actor, kind, details, prev_hash, hash) with their chains already hashed."""
        if incidents:
            columns = list(incidents[0])
            self._execute_many(
                f"INSERT INTO incidents ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [[row[c] for c in columns] for row in incidents],
            )
        self._execute_many(
            "INSERT INTO events (incident, at, actor, kind, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?)", events
        )

    # --- moving a record (see `migrate`) ---------------------------------------------------------

    def record_tables(self) -> tuple[str, ...]:
        return tuple(RECORD_TABLES)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside the block sees the record as of one moment."""
        try:
            with self._snapshot():
                yield
        except StoreError:
            raise
        except Exception as exc:
            error = self._read_error(exc)
            if error is None:
                raise
            raise error from None

    def table_batches(self, table: str, size: int = 2000) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """(columns, rows) of one record table, in its key's order, a batch at a time, values as stored."""
        cursor = self._execute(f"SELECT * FROM {table} ORDER BY {RECORD_TABLES[table]}")
        columns = [d[0] for d in cursor.description or ()]
        while rows := cursor.fetchmany(size):
            yield columns, [tuple(r) for r in rows]

    @reads
    def held_rows(self) -> dict[str, int]:
        """Table → rows, for every record table that holds any (the desk's own id aside)."""
        out = {}
        for table in RECORD_TABLES:
            if table != "desk_meta":
                n = int(self._execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                if n:
                    out[table] = n
        return out

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Inside `write()`: store rows of another record verbatim — ids, sequence numbers and hashes
        as they are. The one way into the timeline besides `append_event`, for a move: the chain
        arrives already linked, and `verify` proves it on arrival."""
        if table not in RECORD_TABLES:
            raise ValueError(f"not a record table: {table!r}")
        if not columns or not all(c.isidentifier() for c in columns):
            raise StoreError(f"cannot copy {table}: its columns are not plain names ({', '.join(columns)})")
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        if table == "desk_meta":  # the target made its own id when created: the source's replaces it
            sql += " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        self._execute_many(sql, rows)
        return len(rows)

    # --- paging -----------------------------------------------------------------------------------

    def claim_page(self, page: dict[str, Any]) -> bool:
        """Record a page as being sent by `page['claimer']`; False if any process claimed it first."""
        row = {k: (canonical_json(v) if k in ("message", "result") else v) for k, v in page.items()}
        cur = self._execute(
            f"INSERT INTO pages ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) ON CONFLICT DO NOTHING",
            list(row.values()),
        )
        return cur.rowcount == 1

    def finish_page(self, key: str, claimer: str, state: str, result: dict[str, Any], at: str) -> bool:
        cur = self._execute(
            "UPDATE pages SET state = ?, result = ?, finished_at = ? WHERE key = ? AND claimer = ? AND state = 'sending'",
            [state, canonical_json(result), at, key, claimer],
        )
        return cur.rowcount == 1

    def take_over_page(self, key: str, old_claimer: str, new_claimer: str, at: str) -> bool:
        """Move a page whose sender died to `new_claimer`; False if another process took it first."""
        cur = self._execute(
            "UPDATE pages SET claimer = ?, claimed_at = ?, resends = resends + 1 "
            "WHERE key = ? AND claimer = ? AND state = 'sending'",
            [new_claimer, at, key, old_claimer],
        )
        return cur.rowcount == 1

    @reads
    def page_rows(self, *, incidents: list[int] | None = None, since: str | None = None) -> list[dict[str, Any]]:
        clauses: list[str] = []
        params: list[int | str] = []
        if incidents is not None:
            if not incidents:
                return []
            clauses.append(f"incident IN ({','.join('?' * len(incidents))})")
            params.extend(incidents)
        if since is not None:
            clauses.append("claimed_at >= ?")
            params.append(since)
        sql = "SELECT * FROM pages" + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY claimed_at"
        return _decoded_pages(self._query(sql, params))

    @reads
    def pages_in_flight(self) -> list[dict[str, Any]]:
        return _decoded_pages(self._query("SELECT * FROM pages WHERE state = 'sending' ORDER BY claimed_at"))

    @reads
    def open_incident_numbers_with_pages(self) -> list[int]:
        rows = self._execute(
            f"SELECT DISTINCT p.incident FROM pages p JOIN incidents i ON i.number = p.incident WHERE i.{_OPEN}"
        )
        return [r[0] for r in rows]

    # --- schedule overrides -----------------------------------------------------------------------

    def add_override(self, row: dict[str, Any]) -> int:
        return self._inserted_id(
            f"INSERT INTO overrides ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) RETURNING id",
            list(row.values()),
        )

    def cancel_override(self, override_id: int, by: str, at: str) -> bool:
        cur = self._execute(
            "UPDATE overrides SET cancelled_at = ?, cancelled_by = ? WHERE id = ? AND cancelled_at IS NULL",
            [at, by, override_id],
        )
        return cur.rowcount == 1

    @reads
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

    @reads
    def override_row(self, override_id: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM overrides WHERE id = ?", [override_id])
        return rows[0] if rows else None

    @reads
    def override_swap_rows(self, override_id: int) -> list[dict[str, Any]]:
        """Both halves of the swap `override_id` belongs to (just it, when it is no swap)."""
        return self._query(
            "SELECT * FROM overrides WHERE id = ? OR swap_of = ? "
            "OR id = (SELECT swap_of FROM overrides WHERE id = ?) ORDER BY id",
            [override_id, override_id, override_id],
        )

    @reads
    def override_history_rows(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Every override, the most recently changed first (a cancellation is its latest change)."""
        sql = "SELECT * FROM overrides ORDER BY COALESCE(cancelled_at, created_at) DESC, id DESC"
        if limit is None:
            return self._query(sql)
        return self._query(sql + " LIMIT ?", [int(limit)])

    # --- who is watching --------------------------------------------------------------------------

    def beat(self, row: dict[str, Any]) -> None:
        """A desk or agent says it is alive (its own small transaction)."""
        names = ("token", "kind", "host", "pid", "actor", "pages", "started_at", "seen_at")
        self._execute(
            f"INSERT INTO watchers ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            "ON CONFLICT (token) DO UPDATE SET seen_at = excluded.seen_at, pages = excluded.pages",
            [row[n] for n in names],
        )

    def forget_watcher(self, token: str) -> None:
        self._execute("DELETE FROM watchers WHERE token = ?", [token])

    def forget_watchers_before(self, at: str) -> None:
        self._execute("DELETE FROM watchers WHERE seen_at < ?", [at])

    @reads
    def watcher_rows(self) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM watchers ORDER BY seen_at DESC")


_CHUNK = 500  # bound parameters per `IN (…)`: far below every engine's limit, and plans stay lookups


def _chunks(numbers: Sequence[int]) -> Iterator[list[int]]:
    wanted = sorted(set(numbers))
    for at in range(0, len(wanted), _CHUNK):
        yield wanted[at : at + _CHUNK]


def _decoded_pages(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["message"], r["result"] = json.loads(r["message"]), json.loads(r["result"])
    return rows
