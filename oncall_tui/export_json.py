"""Plain-data views of an incident, its deadlines and its timeline: what `--json` prints."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from .clock import iso
from .deadlines import Deadline, Deadlines
from .model import Event, Incident

_FIELDS = tuple(f.name for f in fields(Incident))
_PLAIN = (str, int, dict, type(None))  # printed as they are


def incident_dict(incident: Incident) -> dict[str, Any]:
    out: dict[str, Any] = {"id": incident.id}
    for name in _FIELDS:
        value = getattr(incident, name)
        if type(value) in _PLAIN:  # most fields: `list --json --all` asks this of 100,000 incidents
            pass
        elif isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif hasattr(value, "value"):
            value = value.value
        out[name] = value
    return out


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
