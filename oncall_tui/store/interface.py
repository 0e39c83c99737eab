"""`Record`: everything the rest of oncall-tui may ask of the record, and what every backend promises.

The desk, the CLI, the UI and the agents are typed against this protocol, never a backend class;
SQLite (`sqlite.Store`) and PostgreSQL implement it, most of it through the shared queries in
`sql.SQLRecord`. What a backend must honour, whatever its engine:

Transactions
    `write()` is one transaction that holds the record's write lock from its start: an action reads
    the incident, checks it against what the user saw (its `version`, or a field's value), writes
    the new state and appends its event inside one `write()`, so two desks acting at once serialise
    and the second sees what the first did. Leaving the block commits; an exception rolls back
    everything done in it and propagates. Inside `batch()` each `write()` is a savepoint of one
    transaction: an action refused inside it is undone alone. Methods documented "inside `write()`"
    must only be called there; every other read may be called anywhere, and sees committed data.

Conflicts
    The record never merges: the caller compares what it read under the lock with what the user saw
    and refuses (the desk's `Conflict`), naming who changed it and when from `last_event`.

The chain
    The timeline is append-only: `append_event` is the only way in, and it links the event to the
    incident's head (`chain.event_hash`), stores it and moves the head in the caller's transaction.
    Sequence numbers only grow. Nothing updates or deletes an event (the engine refuses it, with
    guards `timeline_snapshot` reports by name), so `verify` can prove a record untouched, and a
    record copied between engines keeps the same bytes and hashes.

Errors
    Every failure the user can meet (a damaged or missing database, a lock held too long, a server
    away, no write rights) leaves as `errors.StoreError` or a subclass, its message one line for the
    user; no driver exception crosses this door.

Rows
    Instants are ISO-8601 text ending in Z; JSON fields are canonical JSON text (see `rows`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..model import Event, Incident, IncidentKeys
from .sql import TimelineSnapshot


@runtime_checkable
class Record(Protocol):
    # --- what it is -------------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """What the user calls this record, for messages and for opening it again elsewhere (a
        file's path, a server's URL without its password)."""
        ...

    @property
    def readonly(self) -> bool:
        """Opened for reading only; `write()` raises ReadOnlyError."""
        ...

    @property
    def why_readonly(self) -> str:
        """Why it was opened read-only although writing was asked ("" when it was not)."""
        ...

    @property
    def created(self) -> bool:
        """This open created the record (a new file, an empty database given its schema)."""
        ...

    @property
    def migrated_from(self) -> int:
        """The schema version the record had when opened (equal to the current one when no migration ran)."""
        ...

    def reopen(self, *, readonly: bool = False) -> Record:
        """The same record on a connection of its own, for another thread (a record is not shared
        between threads)."""
        ...

    def close(self) -> None: ...

    def interrupt(self) -> None:
        """Stop the statement this connection is running, from another thread (the desk is closing
        and a worker's long read must not hold the exit up): that statement raises StoreError. Does
        nothing when none runs, or once the connection is closed."""
        ...

    # --- transactions and change detection --------------------------------------------------------

    def write(self) -> contextlib.AbstractContextManager[object]:
        """One transaction under the write lock (see the module's docstring). Raises ReadOnlyError
        when read-only, Locked when another writer held the lock longer than the wait allows."""
        ...

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Many actions as one durable transaction; each `write()` inside is a savepoint."""
        ...

    def waiting(self, ms: int) -> contextlib.AbstractContextManager[None]:
        """Inside the block, wait at most `ms` for the write lock (then Locked)."""
        ...

    def bulk_fill(self) -> contextlib.AbstractContextManager[None]:
        """Inside the block durability may be relaxed (generated demo history): never for real work."""
        ...

    def data_version(self) -> int:
        """A cheap token that changes whenever another connection commits: what a desk polls to know
        whether to read again. Raises FileReplaced when the record is no longer the one opened."""
        ...

    def change_marker(self) -> int:
        """A number that moves when anything may have changed since it was last read (another
        connection committed): the cheap first question of every tick. It need not move for this
        connection's own commits."""
        ...

    def watch_changes(self, callback: Callable[[], None]) -> bool:
        """Have `callback` called, from another thread, as soon as `change_marker` may have moved,
        so a board need not wait for its next tick; False when the backend cannot push (SQLite:
        the tick's poll is one pragma anyway)."""
        ...

    def changes_since(self, seq: int) -> tuple[int, frozenset[int]]:
        """(the highest timeline sequence number now, the incidents with an event after `seq`)."""
        ...

    def intake_lock(self) -> contextlib.AbstractContextManager[bool]:
        """True inside the block while this desk alone imports alerts into the record; False when
        another desk is at it (it is not waited for)."""
        ...

    # --- incidents --------------------------------------------------------------------------------

    def incident(self, number: int) -> Incident | None: ...
    def incident_version(self, number: int) -> int | None:
        """The incident's version (None: no such incident), for a write that needs nothing else of it."""
        ...

    def incident_row(self, number: int) -> dict[str, Any] | None:
        """The incident as stored (column → stored value)."""
        ...

    def incidents(self, *, include_closed: bool = False) -> list[Incident]:
        """Every incident (closed ones only when asked), by number."""
        ...

    def incident_keys(self, *, include_closed: bool = False) -> list[IncidentKeys]:
        """What the board sorts and counts every incident by (closed ones only when asked), by number."""
        ...

    def incidents_numbered(self, numbers: Sequence[int]) -> list[Incident]: ...
    def incidents_with_fingerprint(self, fingerprint: str, *, include_closed: bool = False) -> list[Incident]: ...
    def resolved_alert_incidents_with_silence(self) -> list[Incident]: ...
    def incident_marks(self, *, include_closed: bool = False) -> list[tuple[int, int, str]]:
        """(number, version, head hash) of every incident: which rows moved since the last read."""
        ...

    def next_number(self) -> int:
        """The number the next declared incident takes; inside `write()`."""
        ...

    def alertname_of(self, number: int) -> str: ...
    def earlier_alert_incidents(
        self, number: int, fingerprint: str, alertname: str, *, limit: int | None = None
    ) -> list[Incident]: ...
    def earlier_alert_count(self, number: int, fingerprint: str, alertname: str) -> tuple[int, int]: ...
    def open_alert_rows(self) -> list[tuple[int, str, str, str, bool, str, str | None, str]]: ...
    def open_alert_history(self, kinds: Sequence[str]) -> list[tuple[int, str, str | None, str | None, str | None]]: ...
    def insert_incident(self, incident: Incident) -> None:
        """Inside `write()`."""
        ...

    def update_incident(self, number: int, changes: dict[str, Any]) -> None:
        """Inside `write()`: the caller moves `version` on with every change."""
        ...

    # --- the timeline -----------------------------------------------------------------------------

    def events(self, number: int) -> list[Event]: ...
    def last_event(self, number: int, kinds: tuple[str, ...]) -> Event | None: ...
    def last_event_at(self, number: int) -> datetime | None:
        """Inside `write()`, before an append."""
        ...

    def last_item_event(self, number: int, item_id: int, kinds: Sequence[str]) -> tuple[str, str, str] | None: ...
    def counts_for(self, number: int) -> tuple[int, int]: ...
    def append_event(self, number: int, at: str, actor: str, kind: str, details: dict[str, Any]) -> Event:
        """Inside `write()`: link to the head, store, move the head (see the module's docstring)."""
        ...

    def recorded_breaches(self, incidents: Sequence[int] | None = None) -> set[tuple[int, str, str]]:
        """(incident, deadline key, due_at) of the breaches on `incidents`' timelines (all when None)."""
        ...

    def breach_recorded(self, number: int, key: str, due_at: str) -> bool:
        """Inside `write()`."""
        ...

    def timeline_snapshot(self, *, file_check: str | None = None, with_rows: bool = True) -> TimelineSnapshot:
        """All chains in one snapshot, for `verify`. `file_check` names the engine's own storage
        check ("integrity_check", "quick_check"; a backend without one reports ("ok",)). Raises
        Damaged when the stored data cannot be read."""
        ...

    # --- streaming reads and the startup check (bounded memory at any size) ----------------------

    def stream_events(
        self, *, after: int = 0, from_incident: int = 0, to_incident: int | None = None, batch: int = 2000
    ) -> Iterator[tuple[Any, ...]]:
        """Events after `after` as stored (seq, incident, at, actor, kind, details, prev_hash, hash)
        of the incidents `from_incident`..`to_incident` (all by default), by incident then seq,
        fetched a batch at a time; Damaged when stored data cannot be read."""
        ...

    def stream_incident_rows(self, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every incident row as stored, by number."""
        ...

    def stream_incidents(self, *, closed: bool, by_severity: bool = False, batch: int = 1000) -> Iterator[Incident]:
        """The closed (or the other) incidents, by number, or by severity (undetermined, P0…P3) then number."""
        ...

    def stream_seqs(self, *, batch: int = 20_000) -> Iterator[int]:
        """Every event's sequence number, in order."""
        ...

    def stream_heads(
        self, *, unverified_only: bool = False, batch: int = 5000
    ) -> Iterator[tuple[int, str, str | None]]:
        """(incident, head hash, the head the startup check last verified or None), by number;
        `unverified_only`: only those whose head is not the verified one, or with events after it."""
        ...

    def incident_count(self) -> int:
        """How many incidents the record holds, closed ones included."""
        ...

    def last_seq_issued(self) -> int | None:
        """The highest seq ever handed out, when the engine remembers it (a removed newest event leaves a gap)."""
        ...

    def append_only_guards(self) -> frozenset[str]:
        """The names of the append-only guards (triggers) the record holds."""
        ...

    def file_check(self, name: str = "quick_check") -> tuple[str, ...]:
        """The engine's own storage check ("integrity_check", "quick_check"): ("ok",) or what it found."""
        ...

    def event_by_hash(self, digest: str) -> tuple[Any, ...] | None:
        """The stored event with this hash (to explain a broken link: may scan)."""
        ...

    def verified_through(self) -> int:
        """The seq up to which the startup check found every event intact (0: never checked)."""
        ...

    def verified_heads(self, incidents: Sequence[int]) -> dict[int, str]:
        """incident → the head hash the startup check last found intact."""
        ...

    def remember_verified(self, heads: Sequence[tuple[int, int, str]], through: int) -> None:
        """Inside `write()`: (incident, seq, hash) heads found intact, and the seq checked up to."""
        ...

    def walk_in_progress(self) -> tuple[int, int, int] | None:
        """A first walk stopped midway: (through seq, up to incident, events walked), or None."""
        ...

    def remember_walk(self, heads: Sequence[tuple[int, int, str]], through: int, incident: int, events: int) -> None:
        """Inside `write()`: heads a walk not yet at its end found intact (incidents up to `incident`
        hold through `through`; `events` walked), so the next start resumes there."""
        ...

    def note_sound(self) -> None:
        """The storage passed its engine's check on another connection: skip it before the first write."""
        ...

    def append_history(self, incidents: Sequence[dict[str, Any]], events: Sequence[Sequence[Any]]) -> None:
        """Inside `write()`: generated history, rows as stored and events already hashed."""
        ...

    def backup_to(self, path: Path) -> None:
        """A consistent, self-contained copy of the whole record into a new SQLite file at `path`
        (a backend that cannot raises StoreError saying what to use instead)."""
        ...

    # --- moving a record (`migrate`) --------------------------------------------------------------

    def record_tables(self) -> tuple[str, ...]:
        """The tables a move copies, in an order that satisfies references."""
        ...

    def snapshot(self) -> contextlib.AbstractContextManager[None]:
        """Every read inside the block sees the record as of one moment."""
        ...

    def table_batches(self, table: str, size: int = 2000) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """(columns, rows) of one table, values exactly as stored, a batch at a time."""
        ...

    def held_rows(self) -> dict[str, int]:
        """Table → row count of every table that holds anything: empty means a move may land here."""
        ...

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Inside `write()`: rows of another record, verbatim (events keep their seq and hashes)."""
        ...

    def sequence_marks(self) -> dict[str, int]:
        """Table → the highest id its sequence ever handed out."""
        ...

    def set_sequence_marks(self, marks: dict[str, int]) -> None:
        """Inside `write()`: sequences move on to at least `marks` (the next id is above them)."""
        ...

    # --- alert silences ---------------------------------------------------------------------------

    def desk_id(self) -> str: ...
    def alert_silences(self, number: int | None = None) -> list[dict[str, Any]]: ...
    def put_alert_silence(self, number: int, record: dict[str, Any]) -> None:
        """Inside `write()`."""
        ...

    # --- runbooks, reviews, reports ---------------------------------------------------------------

    def step_checked(self, number: int, runbook: str, step: int) -> bool: ...
    def set_step(self, number: int, runbook: str, step: int, checked: bool, at: str, actor: str) -> None: ...
    def checked_steps(self, number: int, runbook: str) -> set[int]: ...
    def checked_counts(self, incidents: Sequence[int] | None = None) -> dict[tuple[int, str], int]:
        """Ticked steps per (incident, runbook): of the open incidents, or of `incidents`."""
        ...

    def check_rows(self, number: int) -> list[dict[str, Any]]: ...
    def action_items(self, number: int) -> list[dict[str, Any]]: ...
    def action_item(self, item_id: int) -> dict[str, Any] | None: ...
    def locked_action_item(self, item_id: int, number: int) -> dict[str, Any] | None: ...
    def add_action_item(self, number: int, title: str, owner: str, due: str, created_at: str) -> int: ...
    def update_action_item(self, item_id: int, changes: dict[str, Any]) -> None: ...
    def undone_action_items(self) -> list[dict[str, Any]]: ...
    def milestone_rows(self, started_from: str, started_before: str) -> list[IncidentKeys]: ...
    def breach_event_rows(self, started_from: str, started_before: str) -> list[tuple[int, str | None, str | None]]: ...
    def action_item_states(self) -> list[tuple[int, bool, str]]: ...

    # --- paging, overrides, watchers --------------------------------------------------------------

    def claim_page(self, page: dict[str, Any]) -> bool:
        """Inside `write()`: True for exactly one claimer of a page key, across every desk and agent."""
        ...

    def finish_page(self, key: str, claimer: str, state: str, result: dict[str, Any], at: str) -> bool: ...
    def take_over_page(self, key: str, old_claimer: str, new_claimer: str, at: str) -> bool: ...
    def page_rows(self, *, incidents: list[int] | None = None, since: str | None = None) -> list[dict[str, Any]]: ...
    def pages_in_flight(self) -> list[dict[str, Any]]: ...
    def open_incident_numbers_with_pages(self) -> list[int]: ...
    def add_override(self, row: dict[str, Any]) -> int: ...
    def cancel_override(self, override_id: int, by: str, at: str) -> bool: ...
    def override_rows(
        self, *, ending_after: str | None = None, include_cancelled: bool = False
    ) -> list[dict[str, Any]]: ...
    def override_row(self, override_id: int) -> dict[str, Any] | None: ...
    def override_swap_rows(self, override_id: int) -> list[dict[str, Any]]: ...
    def override_history_rows(self, *, limit: int | None = None) -> list[dict[str, Any]]: ...
    def beat(self, row: dict[str, Any]) -> None: ...
    def forget_watcher(self, token: str) -> None: ...
    def forget_watchers_before(self, at: str) -> None: ...
    def watcher_rows(self) -> list[dict[str, Any]]: ...
