"""The one door to the record: every read and write of incidents, events, pages and overrides.

Nothing outside this package imports a database driver or writes SQL. `interface.Record` is what
the rest of the code may ask of a record, and what every backend guarantees; `open_record` opens
one from a path or a URL. `sql` holds the queries every SQL engine shares, `sqlite` the embedded
default for one machine; what every backend raises is in `errors`, how rows are stored in `rows`,
and the hash chain they all keep, byte for byte, is in `chain`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .chain import canonical_json, chain_end, event_hash
from .errors import Damaged, FileReplaced, Locked, NoWriteRights, ReadOnlyError, StoreError, StoreUnreachable
from .opening import is_server_target, open_record
from .rows import (
    INCIDENT_JSON_FIELDS,
    INCIDENT_TIME_FIELDS,
    incident_to_row,
    row_to_event,
    row_to_incident,
    values_to_incident,
)
from .sql import TimelineSnapshot
from .sqlite import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    MIGRATIONS,
    SCHEMA_VERSION,
    OpenInfo,
    Store,
    busy_timeout_ms,
    describe_db_error,
    is_file_error,
)

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "INCIDENT_JSON_FIELDS",
    "INCIDENT_TIME_FIELDS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Damaged",
    "FileReplaced",
    "Locked",
    "NoWriteRights",
    "OpenInfo",
    "ReadOnlyError",
    "Record",
    "Store",
    "StoreError",
    "StoreUnreachable",
    "TimelineSnapshot",
    "busy_timeout_ms",
    "canonical_json",
    "chain_end",
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

if TYPE_CHECKING:
    from .interface import Record


def __getattr__(name: str) -> Any:
    # `Record` is for annotations and isinstance checks: a Protocol this size costs milliseconds to
    # build, which every CLI command and the board's first frame would pay for nothing.
    if name == "Record":
        from .interface import Record

        return Record
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
