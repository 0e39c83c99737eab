"""Rows and values: how an incident and an event are stored, the same on every backend.

Instants are ISO-8601 text ending in Z, lists and mappings canonical JSON text, enums their values:
so a record moves between engines byte for byte, and its hash chain with it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, cast

from ..clock import from_iso
from ..model import Event, Incident, IncidentKeys, Severity, Status
from ..terminal_text import printable, printable_value
from .chain import canonical_json

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


# --- row mapping -------------------------------------------------------------------------------


def encode_fields(fields: dict[str, Any]) -> dict[str, Any]:
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

    return encode_fields({f.name: getattr(incident, f.name) for f in fields(incident)})


_FIELDS = tuple(f.name for f in dataclasses.fields(Incident))
INCIDENT_COLUMNS = ", ".join(_FIELDS)
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
_STATUSES = {s.value: s for s in Status}
_SEVERITIES = {s.value: s for s in Severity}
# Texts one incident seldom has alone: a storm's thousands share a title, services, an assignee. Kept
# once (`sys.intern`) rather than once per incident, a board of 10k holds a few MB less; the texts
# unique by nature (chain heads, fingerprints, silences) are not worth the lookup.
_SHARED_TEXT_AT = tuple(i for i in _TEXT_AT if _FIELDS[i] not in ("head_hash", "fingerprint", "silence_id"))
_SERVICES: dict[str, tuple[Any, ...]] = {}  # JSON text of a services column → the tuple it decodes to
_TENANTS: dict[str, tuple[Any, ...]] = {}
_KEPT = 4096  # lists remembered per column: a bound, not an LRU (a desk has far fewer lists than this)
# Instants recently decoded, by their text: one incident's milestones often share one (declared as it
# started, severity set with the acknowledgement), and so do a storm's. Kept few, so an instant unique
# to its incident costs one lookup, not memory; a datetime is immutable, so sharing it is safe.
_TIMES: dict[str, Any] = {}
_TIMES_KEPT = 256
# An incident without labels or roles shares this one empty mapping (64 bytes each, 1.3 MB at 10k):
# an incident is never changed in place (`Incident.replace` makes a new one), nor are its mappings.
_NONE: dict[str, str] = {}


def _constructor() -> Callable[[Sequence[Any]], Incident]:
    """`Incident(*values)` for the bulk read, setting each slot through its descriptor: the frozen
    dataclass's `__init__` goes through `object.__setattr__` once per field (forty of them), half of
    decoding 10k incidents before the board's first frame. Built once, spelled out per field."""
    assert not hasattr(Incident, "__post_init__")  # nothing would run it
    names = {f"set_{i}": getattr(Incident, name).__set__ for i, name in enumerate(_FIELDS)}
    body = "".join(f"    set_{i}(incident, values[{i}])\n" for i in range(len(_FIELDS)))
    namespace: dict[str, Any] = {"new": object.__new__, "Incident": Incident, **names}
    exec(f"def build(values):\n    incident = new(Incident)\n{body}    return incident\n", namespace)
    return cast(Callable[[Sequence[Any]], Incident], namespace["build"])


_build = _constructor()


def _shared_list(text: str, kept: dict[str, tuple[Any, ...]], *, clean: bool) -> tuple[Any, ...]:
    """A services or tenants column decoded (made printable, with `clean`) and shared with every
    incident that stores the same text: a tuple of texts is immutable, so sharing it is safe."""
    found = kept.get(text)
    if found is None:
        items = json.loads(text)
        found = tuple(
            sys.intern(item) if isinstance(item, str) else item for item in (printable_value(items) if clean else items)
        )
        if len(kept) >= _KEPT:
            kept.clear()
        kept[text] = found
    return found


def values_to_incident(row: Sequence[Any]) -> Incident:
    """An incident from a row selected as `INCIDENT_COLUMNS`: the bulk read behind the board, whose
    first frame waits for every open incident to be decoded — hence positions, not names."""
    values = list(row)
    for i in _TIME_AT:  # `_instant`, spelled out: a call per instant is a tenth more of this decode
        if (text := values[i]) is not None:
            if (instant := _TIMES.get(text)) is None:
                instant = from_iso(text)
                if len(_TIMES) >= _TIMES_KEPT:
                    _TIMES.clear()
                _TIMES[text] = instant
            values[i] = instant
    # What was stored by another writer is shown as text only (see terminal_text): cleaned here, on
    # the way out, so the board, the CLI and every export print nothing that drives the terminal.
    for i in _TEXT_AT:
        if (text := values[i]) is None:
            values[i] = ""
        elif not text.isprintable():
            values[i] = printable(text)
    for i in _SHARED_TEXT_AT:
        if text := values[i]:
            values[i] = sys.intern(text)
    services, labels = values[_SERVICES_AT], values[_LABELS_AT]
    values[_SERVICES_AT] = _shared_list(services, _SERVICES, clean=True) if services and services != "[]" else ()
    # Labels stay exact (a silence must match the alert byte for byte); whoever shows one cleans it.
    values[_LABELS_AT] = json.loads(labels) if labels and labels != "{}" else _NONE
    tenants, roles = values[_TENANTS_AT], values[_ROLES_AT]
    values[_TENANTS_AT] = _shared_list(tenants, _TENANTS, clean=False) if tenants and tenants != "[]" else ()
    values[_ROLES_AT] = json.loads(roles) if roles and roles != "{}" else _NONE
    values[_TENANT_COUNT_AT] = values[_TENANT_COUNT_AT] or 0
    # A dict lookup is a tenth of an enum's call; a value it does not know is the enum's to refuse.
    status, severity = values[_STATUS_AT], values[_SEVERITY_AT]
    values[_STATUS_AT] = _STATUSES.get(status) or Status(status)
    values[_SEVERITY_AT] = (_SEVERITIES.get(severity) or Severity(severity)) if severity else None
    return _build(values)


KEY_COLUMNS = ", ".join(IncidentKeys._fields)


def _instant(text: str) -> Any:
    """A stored instant decoded, shared with the recent rows that store the same text."""
    if (instant := _TIMES.get(text)) is None:
        instant = from_iso(text)
        if len(_TIMES) >= _TIMES_KEPT:
            _TIMES.clear()
        _TIMES[text] = instant
    return instant


_new = tuple.__new__


def values_to_keys(row: Sequence[Any]) -> IncidentKeys:
    """What the board sorts by, from a row selected as `KEY_COLUMNS` (see `IncidentKeys`): the
    board's first frame waits for every open incident's, hence spelled out (most milestones are
    not reached yet: no call for them)."""
    n, version, status, severity, started, declared, ack, sev_at, notified, last, next_, mitigated, resolved, *rest = (
        row
    )
    closed, reviewed, waived, alert_state, live = rest
    t = _instant
    return _new(
        IncidentKeys,
        (
            n,
            version,
            _STATUSES.get(status) or Status(status),
            (_SEVERITIES.get(severity) or Severity(severity)) if severity else None,
            from_iso(started),  # each incident's own: not worth remembering
            t(declared),
            None if ack is None else t(ack),
            None if sev_at is None else t(sev_at),
            None if notified is None else t(notified),
            None if last is None else t(last),
            None if next_ is None else t(next_),
            None if mitigated is None else t(mitigated),
            None if resolved is None else t(resolved),
            None if closed is None else t(closed),
            None if reviewed is None else t(reviewed),
            waived or "",
            alert_state or "",
            None if live is None else t(live),
        ),
    )


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
