"""An incident's state derived from its timeline alone, to catch a row edited behind the desk's back.

The incident row is a projection: every action writes the row's new fields and the event that
explains them in one transaction. The hash chain proves the events were not touched; replaying them
here proves the row still says what they say. A row edited alone (P1 turned P3, a cleared
acknowledgement, a root cause rewritten) disagrees with the replay, and `verify` names the field.

Each rule below mirrors the action in desk.py/review.py/alerts that writes the event. A new event
kind that changes one of `CHECKED` fields needs its rule here (the demo's desk is verified in the
tests, so a kind it uses and this module does not know shows up there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .clock import from_iso

# The fields the timeline decides, in the order a report lists them.
CHECKED: tuple[str, ...] = (
    "title",
    "severity",
    "status",
    "services",
    "impact",
    "channel",
    "assignee",
    "symptom",
    "eta",
    "root_cause",
    "resolution",
    "prevention",
    "contributing_factors",
    "started_at",
    "declared_at",
    "acknowledged_at",
    "acknowledged_by",
    "severity_at",
    "notified_at",
    "last_update_at",
    "next_update_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "review_scheduled_for",
    "review_done_at",
    "review_waived",
    "silence_id",
)
_TEXT_FIELDS = frozenset(
    {"title", "impact", "channel", "assignee", "symptom", "eta", "root_cause", "resolution", "prevention"}
    | {"contributing_factors", "acknowledged_by", "review_waived", "silence_id"}
)


@dataclass(frozen=True, slots=True)
class Disagreement:
    field: str
    row: str  # as the row has it
    timeline: str  # as the events say

    def describe(self) -> str:
        return f"{self.field.replace('_', ' ')} is {self.row} in the row, but the timeline says {self.timeline}"


_STORED_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?(Z|\+00:00)")


def _time(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and (instant := _STORED_INSTANT.fullmatch(value)):
        # What `iso` writes: its isoformat is the same text with the zone spelled out; and what this
        # gives is its own answer. String operations, not a parse (verify replays a million of
        # these on a desk with history).
        if instant.group(2) == "Z":
            return value[:-1] + "+00:00"
        if not value.endswith(".000000+00:00"):  # (isoformat leaves out a zero fraction)
            return value
    try:
        return from_iso(str(value)).isoformat()
    except ValueError:  # a hand-edited row may hold anything; it then disagrees, as it is
        return str(value)


def _on_declared(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
    for name in ("title", "impact", "channel", "assignee", "symptom"):
        s[name] = d.get(name) or ""
    s["severity"] = d.get("severity")
    s["services"] = tuple(d.get("services") or ())
    s["started_at"] = d.get("started_at") or at
    s["declared_at"] = at
    s["severity_at"] = at if d.get("severity") else None
    s["status"] = "triggered"


def _on_acknowledged(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
    s.update(status="acknowledged", acknowledged_at=at, acknowledged_by=actor)


def _on_severity(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
    s["severity"] = d.get("to")
    if s.get("severity_at") is None:
        s["severity_at"] = at


def _on_status(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
    target, before = d.get("to"), s.get("status")
    s["status"] = target
    if target == "mitigated":
        s["mitigated_at"] = at
    elif target == "resolved":
        s["resolved_at"] = at
        s["next_update_at"] = None
        if s.get("mitigated_at") is None:
            s["mitigated_at"] = at
    elif target == "closed":
        s["closed_at"] = at
    elif target == "investigating" and before in ("mitigated", "resolved"):
        s["mitigated_at"] = s["resolved_at"] = None


def _on_edit(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
    name = d.get("field")
    if name in CHECKED:
        value = d.get("to")
        s[name] = tuple(value or ()) if name == "services" else (value or "")


def _on_start_corrected(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
    s["started_at"] = _time(d.get("to"))


def _on_message(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
    template = d.get("template")
    if template == "initial" and s.get("notified_at") is None:
        s["notified_at"] = at
    if template in ("initial", "update"):
        s["last_update_at"] = at
        s["next_update_at"] = _time(d.get("next_update_at"))


def _on_review(field: str, key: str | None) -> Any:
    def apply(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
        s[field] = at if key is None else (_time(d.get(key)) if field.endswith("_for") else d.get(key) or "")

    return apply


def _on_silence(created: bool) -> Any:
    def apply(s: dict[str, Any], at: str, actor: str, d: Mapping[str, Any]) -> None:
        s["silence_id"] = (d.get("silence_id") or "") if created else ""

    return apply


RULES = {
    "declared": _on_declared,
    "acknowledged": _on_acknowledged,
    "severity_set": _on_severity,
    "status_changed": _on_status,
    "field_edited": _on_edit,
    "assigned": _on_edit,
    "start_corrected": _on_start_corrected,
    "message_sent": _on_message,
    "review_scheduled": _on_review("review_scheduled_for", "for"),
    "review_completed": _on_review("review_done_at", None),
    "review_waived": _on_review("review_waived", "reason"),
    "silence_created": _on_silence(True),
    "silence_expired": _on_silence(False),
    "silence_renewed": _on_silence(True),  # Alertmanager may answer a renewal with a new id
    "silence_ended": _on_silence(False),  # lapsed, expired outside the desk, or lost
    "alert_severity_raised": _on_severity,  # a graver alert joined its group
}


def derive(events: Iterable[tuple[str, str, str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The checked fields after (kind, at, actor, details) events, in timeline order.

    Instants stay as the events spell them (no rule compares two): `disagreements` brings both
    sides to one form, and only where they differ as written — a row written by the desk holds the
    very text its events do, so a million events cost no parse.
    """
    state: dict[str, Any] = {name: ("" if name in _TEXT_FIELDS else None) for name in CHECKED}
    state["services"] = ()
    for kind, at, actor, details in events:
        rule = RULES.get(kind)
        if rule is not None:
            rule(state, at, actor, details)
    return state


def _normal(name: str, value: Any) -> Any:
    if name.endswith("_at") or name == "review_scheduled_for":
        return _time(value)
    if name == "services":
        return tuple(value or ())
    if name in ("severity", "status"):
        return getattr(value, "value", value)
    return value if value is not None else ("" if name in _TEXT_FIELDS else None)


def _shown(value: Any) -> str:
    if value is None or value == "" or value == ():
        return "empty"
    if isinstance(value, tuple):
        return ", ".join(value)
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "…")


def disagreements(row: Mapping[str, Any], derived: Mapping[str, Any]) -> list[Disagreement]:
    """Where the row (raw column values or Incident fields) differs from the replayed state."""
    out = []
    for name in CHECKED:
        stored, replayed = row.get(name), derived.get(name)
        if stored == replayed and type(stored) is type(replayed):  # the same value: the same once normal
            continue
        have, want = _normal(name, stored), _normal(name, replayed)
        if have != want:
            out.append(Disagreement(name, _shown(have), _shown(want)))
    return out
