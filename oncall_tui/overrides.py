"""Overrides of the on-call schedules: take the pager, cover for a colleague for a few hours.

Each one is a row in the desk's database with who made it and when; reversing one cancels it (the
row stays, with who cancelled it and when), so `oncall-tui override list --all` is the audit trail.
Two live overrides of one schedule may not overlap: which of them would hold the pager is exactly
the question an override exists to answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .clock import iso
from .desk import ActionRefused, Desk, clean_text
from .notify.pager import live_overrides, override_from_row
from .schedules import Override, Roster, check_overlap


def add(
    desk: Desk,
    roster: Roster,
    schedule: str,
    person: str,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    hours: float | None = None,
    covering: str = "",
    reason: str = "",
) -> Override:
    if schedule not in roster.schedules:
        known = ", ".join(sorted(roster.schedules)) or "none: add schedules.toml"
        raise ActionRefused(f"no schedule {schedule!r} ({known})")
    if person not in roster.people:
        raise ActionRefused(f"{person!r} is not in people.toml ({', '.join(sorted(roster.people))})")
    if covering and covering not in roster.people:
        raise ActionRefused(f"{covering!r} (covered) is not in people.toml")
    now = desk.now()
    start = starts_at or now
    if ends_at is None:
        if hours is None or hours <= 0:
            raise ActionRefused("say how long: a number of hours, or an end time")
        ends_at = start + timedelta(hours=hours)
    if ends_at <= start:
        raise ActionRefused("the override ends before it starts")
    if ends_at <= now:
        raise ActionRefused("the override would be over already")
    if ends_at - start > timedelta(days=90):
        raise ActionRefused("an override longer than 90 days is a rotation change: edit schedules.toml")
    new = Override(0, schedule, person, start, ends_at, covering, clean_text(reason, multiline=False, limit=300))
    store = desk.store
    with store.write():
        clash = check_overlap(new, live_overrides(store, now))
        if clash is not None:
            raise ActionRefused(
                f"overlaps override #{clash.id} ({clash.person} on {clash.schedule} "
                f"{iso(clash.starts_at)} → {iso(clash.ends_at)}); cancel it first or choose other times"
            )
        oid = store.add_override(
            {
                "schedule": schedule,
                "person": person,
                "starts_at": iso(start),
                "ends_at": iso(ends_at),
                "covering": covering,
                "reason": new.reason,
                "created_by": desk.actor,
                "created_at": iso(now),
            }
        )
        row = store.override_row(oid)
    assert row is not None
    return override_from_row(row)


def cancel(desk: Desk, override_id: int) -> Override:
    store = desk.store
    with store.write():
        row = store.override_row(override_id)
        if row is None:
            raise ActionRefused(f"no override #{override_id}")
        if row["cancelled_at"]:
            raise ActionRefused(f"override #{override_id} was already cancelled by {row['cancelled_by']}")
        store.cancel_override(override_id, desk.actor, iso(desk.now()))
        row = store.override_row(override_id)
    assert row is not None
    return override_from_row(row)


def listed(desk: Desk, *, include_past: bool = False) -> list[Override]:
    now = desk.now()
    rows = desk.store.override_rows(ending_after=None if include_past else iso(now), include_cancelled=include_past)
    return [override_from_row(r) for r in rows]
