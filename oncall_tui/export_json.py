"""Plain-data views of an incident, its deadlines and its timeline: what `--json` prints."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from functools import cache
from json.encoder import encode_basestring_ascii as _string
from typing import Any

from .clock import iso
from .deadlines import Deadline, Deadlines
from .json_text import compact, dumps_indented
from .model import Event, Incident

_FIELDS = tuple(f.name for f in fields(Incident))
_PLAIN = (str, int, dict, type(None))  # printed as they are


def incident_dict(incident: Incident) -> dict[str, Any]:
    out: dict[str, Any] = {"id": incident.id}
    for name in _FIELDS:
        value = getattr(incident, name)
        out[name] = value if type(value) in _PLAIN else _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "value"):
        return value.value
    return value


def deadline_dict(d: Deadline) -> dict[str, Any]:
    left = d.seconds_left
    return {
        "name": d.key,
        "label": d.label,
        "due_at": iso(d.due_at),
        "state": d.state.value,
        "done_at": iso(d.done_at),
        "seconds_left": None if left is None else int(left) if left >= 0 else 0,
        "seconds_overdue": None if left is None else int(-left) if left < 0 else 0,
    }


def deadlines_dict(dl: Deadlines) -> dict[str, Any]:
    esc = dl.escalation
    return {
        "deadlines": [deadline_dict(d) for d in dl.items],
        "escalation": {
            "level": esc.tier.level,
            "contact": esc.tier.contact,
            "next_level": esc.next_tier.level if esc.next_tier else None,
            "next_at": iso(esc.next_at),
        },
    }


def incident_json(incident: Incident, dl: Deadlines, pad: str = "\n") -> str:
    """`json.dumps({**incident_dict(incident), **deadlines_dict(dl)}, indent=2)`, the same text, at
    `pad`'s indentation (see `dumps_indented`), written from the fields without the dicts between:
    `list --json --all` prints 100,000 of these on a desk with history."""
    inner = pad + "  "
    keys = _keys(inner)
    items = [f'{inner}"id": {_string(incident.id)}']
    for name, key in zip(_FIELDS, keys):
        value = getattr(incident, name)
        kind = type(value)
        if kind is str:
            items.append(key + _string(value))
        elif value is None:
            items.append(key + "null")
        elif kind is datetime:  # iso() writes digits, '-', ':', '.', 'T' and 'Z': nothing to escape
            items.append(f'{key}"{iso(value)}"')
        elif kind is int:
            items.append(key + int.__repr__(value))
        elif not value and kind in (tuple, dict):
            items.append(key + ("[]" if kind is tuple else "{}"))
        elif type(plain := _plain(value)) is str:  # severity, status
            items.append(key + _string(plain))
        else:
            items.append(key + dumps_indented(plain, inner))
    deadlines = deadlines_dict(dl)
    items.append(f'{inner}"deadlines": {_flat_dicts(deadlines["deadlines"], inner)}')
    items.append(f'{inner}"escalation": {dumps_indented(deadlines["escalation"], inner)}')
    return "{" + ",".join(items) + pad + "}"


@cache
def _keys(pad: str) -> tuple[str, ...]:
    return tuple(f"{pad}{_string(name)}: " for name in _FIELDS)


def _flat_dicts(values: list[dict[str, Any]], pad: str) -> str:
    """A list of dicts of plain values (the deadlines), as `dumps_indented` writes it."""
    if not values:
        return "[]"
    inner, deeper = pad + "  ", pad + "    "
    encode = compact(deeper)
    return (
        "["
        + ",".join(f"{inner}{{{deeper}{encode(v)[1:-1]}{inner}}}" if v else inner + "{}" for v in values)
        + pad
        + "]"
    )


def event_dict(e: Event) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": iso(e.at),
        "actor": e.actor,
        "kind": e.kind,
        "details": e.details,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }
