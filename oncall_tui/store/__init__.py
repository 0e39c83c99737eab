"""The one door to the record: every read and write of incidents, events, pages and overrides.

Nothing outside this package imports a database driver or writes SQL. `sqlite` is the embedded
default for one machine; what every backend raises is in `errors`, and the hash chain they all
keep, byte for byte, is in `chain`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .chain import canonical_json, event_hash
from .errors import FileReplaced, Locked, NoWriteRights, ReadOnlyError, StoreError, StoreUnreachable
from .sqlite import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    INCIDENT_JSON_FIELDS,
    INCIDENT_TIME_FIELDS,
    MIGRATIONS,
    SCHEMA_VERSION,
    OpenInfo,
    Store,
    busy_timeout_ms,
    describe_db_error,
    incident_to_row,
    is_file_error,
    row_to_event,
    row_to_incident,
    values_to_incident,
)


def is_server_target(target: object) -> bool:
    """A `postgresql://…` URL (team mode), not a path to a desk file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_record(target: str | Path, *, readonly: bool = False, create: bool = True) -> Any:
    """The record `target` names, on the backend its form picks: a `postgresql://` URL opens the
    PostgreSQL backend (the `[postgres]` extra), anything else is a desk file."""
    if is_server_target(target):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError("team mode needs the PostgreSQL driver: pip install 'oncall-tui[postgres]'") from None
        from .postgres import PostgresStore

        return PostgresStore.open(str(target), readonly=readonly, create=create)
    return Store.open(target, readonly=readonly, create=create)


__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "INCIDENT_JSON_FIELDS",
    "INCIDENT_TIME_FIELDS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "FileReplaced",
    "Locked",
    "NoWriteRights",
    "OpenInfo",
    "ReadOnlyError",
    "Store",
    "StoreError",
    "StoreUnreachable",
    "busy_timeout_ms",
    "canonical_json",
    "describe_db_error",
    "event_hash",
    "incident_to_row",
    "is_file_error",
    "is_server_target",
    "open_record",
    "row_to_event",
    "row_to_incident",
    "values_to_incident",
]
