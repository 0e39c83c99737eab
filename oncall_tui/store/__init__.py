"""The one door to the record: every read and write of incidents, events, pages and overrides.

Nothing outside this package imports a database driver or writes SQL. `sqlite` is the embedded
default for one machine; what every backend raises is in `errors`, and the hash chain they all
keep, byte for byte, is in `chain`.
"""

from __future__ import annotations

from .chain import canonical_json, event_hash
from .errors import Damaged, FileReplaced, Locked, ReadOnlyError, StoreError
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
    "OpenInfo",
    "ReadOnlyError",
    "Store",
    "StoreError",
    "busy_timeout_ms",
    "canonical_json",
    "describe_db_error",
    "event_hash",
    "incident_to_row",
    "is_file_error",
    "row_to_event",
    "row_to_incident",
    "values_to_incident",
]
