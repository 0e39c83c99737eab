"""The post-incident review: scheduling it, completing or waiving it, and its action items.

Every action here goes through `Desk.act`, so it is one transaction that appends its timeline event.
Action items also live in the `action_items` table (a projection of their events, for cheap reads);
the row is written inside the same `decide` call, under the same write lock, so the table and the
timeline can never disagree. Each row carries a `version`: an edit or tick states the version the
person was looking at, and another desk's change in between is refused with who made it, never
silently overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .clock import format_duration, format_local, from_iso, iso
from .desk import Conflict, Decision, Desk, NotFound, clean_text
from .errors import InputError
from .lifecycle import ActionRefused
from .model import Incident
from .terminal_text import printable

ITEM_KINDS = ("action_item_added", "action_item_edited", "action_item_done", "action_item_reopened")
REVIEW_KINDS = ("review_scheduled", "review_completed", "review_waived")
ITEM_FIELDS = ("title", "owner", "due")


@dataclass(frozen=True, slots=True)
class ActionItem:
    id: int
    incident: int
    title: str
    owner: str
    due: date | None
    done: bool
    created_at: datetime
    version: int

    def overdue(self, today: date) -> bool:
        return not self.done and self.due is not None and self.due < today


@dataclass(frozen=True, slots=True)
class ReviewState:
    """Where an incident's review stands, as its timeline tells it."""

    scheduled_for: datetime | None
    attendees: tuple[str, ...]
    done_at: datetime | None
    done_by: str
    notes: str
    waived: str  # the reason, "" when not waived
    waived_by: str
    window_opens: datetime | None  # review_opens after resolution; None while unresolved
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class Scheduled:
    incident: Incident
    warnings: tuple[str, ...]  # e.g. outside the 24–48 h window: allowed, but the person should know


# --- reads ----------------------------------------------------------------------------------------


def items(desk: Desk, number: int) -> list[ActionItem]:
    return [_item(r) for r in desk.store.action_items(number)]


def item(desk: Desk, item_id: int) -> ActionItem:
    row = desk.store.action_item(item_id)
    if row is None:
        raise NotFound(f"no action item #{item_id}")
    return _item(row)


def state(desk: Desk, incident: Incident) -> ReviewState:
    scheduled = desk.store.last_event(incident.number, ("review_scheduled",))
    completed = desk.store.last_event(incident.number, ("review_completed",))
    waived = desk.store.last_event(incident.number, ("review_waived",))
    opens, due = window(desk, incident)
    return ReviewState(
        scheduled_for=incident.review_scheduled_for,
        attendees=tuple(scheduled.details.get("attendees", ())) if scheduled else (),
        done_at=incident.review_done_at,
        done_by=completed.actor if completed and incident.review_done_at else "",
        notes=completed.details.get("notes", "") if completed and incident.review_done_at else "",
        waived=incident.review_waived,
        waived_by=waived.actor if waived and incident.review_waived else "",
        window_opens=opens,
        due_at=due,
    )


def window(desk: Desk, incident: Incident) -> tuple[datetime | None, datetime | None]:
    """The policy's review window (24–48 h after resolution by default); (None, None) until resolved."""
    if incident.resolved_at is None:
        return None, None
    return incident.resolved_at + desk.policy.review_opens, incident.resolved_at + desk.policy.review_due


def review_required(desk: Desk, incident: Incident) -> bool:
    return incident.severity is not None and incident.severity in desk.policy.review_severities


# --- the review itself ----------------------------------------------------------------------------


def schedule(desk: Desk, number: int, when: datetime, attendees: list[str] | tuple[str, ...] = ()) -> Scheduled:
    """Book the review for `when` with `attendees`; rescheduling is another event, not an edit."""
    people = tuple(dict.fromkeys(p for p in (clean_text(a, multiline=False, limit=200) for a in attendees) if p))
    warnings: list[str] = []

    def decide(inc: Incident, now: datetime) -> Decision:
        _refuse_if_settled(desk, inc, now)
        if when <= now:
            raise ActionRefused(f"{format_local(when, with_date=True)} is in the past; pick a time to come")
        warnings.clear()
        warnings.extend(_window_warnings(desk, inc, when))
        if not people:
            warnings.append("no attendees listed: the runbook asks to include all relevant stakeholders")
        details: dict[str, Any] = {"for": iso(when), "attendees": list(people)}
        if inc.review_scheduled_for is not None:
            details["previous"] = iso(inc.review_scheduled_for)
        return {"review_scheduled_for": when}, details

    incident = desk.act(number, "review_scheduled", decide)
    return Scheduled(incident, tuple(warnings))


def complete(desk: Desk, number: int, *, notes: str = "") -> Incident:
    """The review took place: meets the review deadline (late, if after it)."""
    text = clean_text(notes)

    def decide(inc: Incident, now: datetime) -> Decision:
        _refuse_if_settled(desk, inc, now)
        if inc.is_open:
            raise ActionRefused(f"{inc.id} is {inc.status.value}: resolve it before completing its review")
        details: dict[str, Any] = {"notes": text} if text else {}
        _, due = window(desk, inc)
        if due is not None and now > due:
            details["late_by_seconds"] = int((now - due).total_seconds())
        return {"review_done_at": now}, details

    return desk.act(number, "review_completed", decide)


def waive(desk: Desk, number: int, reason: str) -> Incident:
    """Skip the review on purpose; the reason is recorded on the timeline and lets the incident close."""
    why = clean_text(reason, limit=2000)
    if not why:
        raise ActionRefused("a waiver needs a reason (it is kept on the timeline)")

    def decide(inc: Incident, now: datetime) -> Decision:
        _refuse_if_settled(desk, inc, now)
        if not review_required(desk, inc):
            sev = inc.severity.value if inc.severity else "without a severity"
            raise ActionRefused(f"{inc.id} is {sev}: no review is required, so there is nothing to waive")
        if inc.is_open:
            raise ActionRefused(f"{inc.id} is {inc.status.value}: a review can be waived once it is resolved")
        return {"review_waived": why}, {"reason": why}

    return desk.act(number, "review_waived", decide)


def _refuse_if_settled(desk: Desk, inc: Incident, now: datetime) -> None:
    if inc.review_done_at is not None:
        last = desk.store.last_event(inc.number, ("review_completed",))
        who = f" by {last.actor}" if last else ""
        raise Conflict(f"{inc.id}'s review was already completed{who} {_ago(inc.review_done_at, now)}")
    if inc.review_waived:
        last = desk.store.last_event(inc.number, ("review_waived",))
        who = f" by {last.actor}" if last else ""
        raise Conflict(f"{inc.id}'s review was waived{who}: {inc.review_waived}")


def _window_warnings(desk: Desk, inc: Incident, when: datetime) -> list[str]:
    opens, due = window(desk, inc)
    hours = f"{_hours(desk.policy.review_opens)}–{_hours(desk.policy.review_due)} h"
    if opens is None or due is None:
        return [f"{inc.id} is not resolved yet: the review window ({hours} after resolution) is not known"]
    if when < opens:
        return [
            f"{format_local(when, with_date=True)} is before the {hours} review window "
            f"(it opens {format_local(opens, with_date=True)})"
        ]
    if when > due:
        return [
            f"{format_local(when, with_date=True)} is after the review deadline "
            f"({format_local(due, with_date=True)}): the review will be {format_duration((when - due).total_seconds())} late"
        ]
    return []


# --- action items ---------------------------------------------------------------------------------


def add_item(desk: Desk, number: int, title: str, *, owner: str = "", due: date | None = None) -> ActionItem:
    text = clean_text(title, multiline=False, limit=500)
    if not text:
        raise ActionRefused("an action item needs a title")
    who = clean_text(owner, multiline=False, limit=200)
    created: list[int] = []

    def decide(inc: Incident, now: datetime) -> Decision:
        item_id = desk.store.add_action_item(inc.number, text, who, _due_text(due), iso(now))
        created.append(item_id)
        return {}, {"item": item_id, "title": text, "owner": who, "due": _due_text(due)}

    desk.act(number, "action_item_added", decide)
    return item(desk, created[0])


_UNCHANGED: Any = object()


def edit_item(
    desk: Desk,
    item_id: int,
    *,
    title: str = _UNCHANGED,
    owner: str = _UNCHANGED,
    due: date | None = _UNCHANGED,
    expected_version: int | None = None,
) -> ActionItem:
    """Change an item's title, owner or due date; only the fields that differ are recorded."""
    wanted: dict[str, Any] = {}
    if title is not _UNCHANGED:
        wanted["title"] = clean_text(title, multiline=False, limit=500)
        if not wanted["title"]:
            raise ActionRefused("an action item needs a title")
    if owner is not _UNCHANGED:
        wanted["owner"] = clean_text(owner, multiline=False, limit=200)
    if due is not _UNCHANGED:
        wanted["due"] = _due_text(due)
    current = item(desk, item_id)

    def decide(inc: Incident, now: datetime) -> Decision:
        row = _locked_row(desk, inc, item_id, expected_version, now)
        changes = {k: {"from": row[k] or "", "to": v} for k, v in wanted.items() if (row[k] or "") != v}
        if not changes:
            return None
        desk.store.update_action_item(item_id, {k: c["to"] for k, c in changes.items()})
        return {}, {"item": item_id, "title": changes.get("title", {}).get("to", row["title"]), "changes": changes}

    desk.act(current.incident, "action_item_edited", decide)
    return item(desk, item_id)


def set_done(desk: Desk, item_id: int, done: bool, *, expected_version: int | None = None) -> ActionItem:
    """Tick (done) or untick (reopen) an item."""
    current = item(desk, item_id)
    kind = "action_item_done" if done else "action_item_reopened"

    def decide(inc: Incident, now: datetime) -> Decision:
        row = _locked_row(desk, inc, item_id, expected_version, now)
        if bool(row["done"]) == done:
            return None
        desk.store.update_action_item(item_id, {"done": done})
        return {}, {"item": item_id, "title": row["title"]}

    desk.act(current.incident, kind, decide)
    return item(desk, item_id)


def _locked_row(desk: Desk, inc: Incident, item_id: int, expected: int | None, now: datetime) -> dict[str, Any]:
    """The item as it is under the write lock; Conflict when it moved on since the person looked."""
    data = desk.store.locked_action_item(item_id, inc.number)
    if data is None:
        raise NotFound(f"no action item #{item_id} on {inc.id}")
    if expected is not None and data["version"] != expected:
        last = desk.store.last_item_event(inc.number, item_id, ITEM_KINDS)
        if last is None:
            raise Conflict(f"action item #{item_id} changed meanwhile; look again before retrying")
        what = last[2].removeprefix("action_item_")
        raise Conflict(
            f"action item #{item_id} was {what} by {last[0]} {_ago(from_iso(last[1]), now)}; look again before retrying"
        )
    return data


# --- parsing --------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^\+(\d{1,4})\s*([dw])$", re.IGNORECASE)


def parse_due(text: str, today: date) -> date | None:
    """'' → no due date; '2026-12-04'; '+3d' or '+2w' from `today`."""
    raw = text.strip()
    if not raw:
        return None
    if m := _RELATIVE.match(raw):
        n = int(m.group(1))
        return today + timedelta(days=n * (7 if m.group(2).lower() == "w" else 1))
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"not a due date: {text!r} (use 2026-12-04, +3d or +2w)") from None


def parse_attendees(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


# --- helpers --------------------------------------------------------------------------------------


def _item(row: dict[str, Any]) -> ActionItem:
    return ActionItem(
        id=row["id"],
        incident=row["incident"],
        title=printable(row["title"] or ""),  # shown in a terminal: see terminal_text
        owner=printable(row["owner"] or ""),
        due=date.fromisoformat(row["due"]) if row["due"] else None,
        done=bool(row["done"]),
        created_at=from_iso(row["created_at"]),
        version=row["version"],
    )


def _due_text(due: date | None) -> str:
    return due.isoformat() if due is not None else ""


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}"


def _ago(then: datetime, now: datetime) -> str:
    seconds = (now - then).total_seconds()
    return "just now" if seconds < 1 else f"{format_duration(seconds)} ago"
