"""Overrides of the on-call schedules: take the pager, cover for a colleague, swap two shifts.

Each one is a row in the desk's database with who made it and when; reversing one cancels it (the
row stays, with who cancelled it and when, and a trigger refuses any other change), so `history`
is the audit trail. Two live overrides of one schedule may not overlap: which of them would hold the
pager is exactly the question an override exists to answer.

Every change is planned before it is made: `plan_add`, `plan_swap` and `plan_cancel` check it and
say who holds the schedule before and after, over which stretch (`describe`), without writing; the
desk shows that and asks, and `commit` or `cancel` writes it, checking again in the transaction (a
colleague's desk may have made a clashing override since the plan was drawn).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from .clock import from_iso, iso
from .desk import ActionRefused, Desk, clean_text
from .notify.pager import live_overrides, override_from_row
from .policy import Policy
from .schedules import Override, Roster, check_overlap

LONGEST = timedelta(days=90)  # longer is a rotation change: schedules.toml
SWAP_HORIZON = timedelta(days=90)  # how far ahead a swap looks for each person's shift


@dataclass(frozen=True, slots=True)
class Change:
    """One override to be made (or cancelled), and who holds its schedule instead."""

    override: Override
    before: tuple[str | None, ...]  # who holds the schedule over that stretch now, in order
    after: tuple[str | None, ...]  # … and once the plan is carried out
    starts_at: datetime  # the stretch that changes (an override under way changes from now on)
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    """What `commit` (or `cancel`) will do: checked, described, not yet written."""

    kind: str  # "take", "cover", "swap" or "cancel"
    changes: tuple[Change, ...]
    at: datetime  # when it was planned
    note: str = ""  # worth knowing, not a reason to refuse (the covered person is not on then)


# --- planning -------------------------------------------------------------------------------------


def schedule_named(roster: Roster, policy: Policy, text: str) -> str:
    """A schedule by its name, or by the escalation level that pages it (`1`, `L1`, its name)."""
    raw = text.strip()
    if raw in roster.schedules:
        return raw
    tiers = list(policy.escalation)
    number = raw.upper().removeprefix("L")
    tier = None
    if number.isdigit() and 1 <= int(number) <= len(tiers):
        tier = tiers[int(number) - 1]
    else:
        tier = next((t for t in tiers if t.level.lower() == raw.lower()), None)
    if tier is not None:
        if tier.schedule:
            return tier.schedule
        raise ActionRefused(f"level {tier.level!r} pages {tier.person} directly, not a schedule: nothing to override")
    known = ", ".join(sorted(roster.schedules)) or "none: add schedules.toml"
    raise ActionRefused(f"no schedule {raw!r} ({known})" if raw else f"which schedule? ({known})")


def _person(roster: Roster, handle: str, role: str = "") -> str:
    handle = handle.strip()
    if not handle:
        raise ActionRefused(f"who{role}? give a handle from people.toml ({', '.join(sorted(roster.people))})")
    if handle not in roster.people:
        by_name = [p.handle for p in roster.people.values() if p.name.lower() == handle.lower()]
        if len(by_name) == 1:
            return by_name[0]
        raise ActionRefused(f"{handle!r}{role} is not in people.toml ({', '.join(sorted(roster.people))})")
    return handle


def _holders(
    roster: Roster, schedule: str, start: datetime, end: datetime, overrides: Sequence[Override]
) -> tuple[str | None, ...]:
    found: list[str | None] = []
    for shift in roster.shifts(schedule, start, end, overrides):
        if not found or found[-1] != shift.person:
            found.append(shift.person)
    return tuple(found)


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%a %d %b %H:%M}"


def _refuse_overlap(new: Override, existing: Iterable[Override]) -> None:
    clash = check_overlap(new, existing)
    if clash is not None:
        raise ActionRefused(
            f"overlaps override #{clash.id} ({clash.person} on {clash.schedule} "
            f"{_utc(clash.starts_at)} → {_utc(clash.ends_at)} UTC); cancel it first or choose other times"
        )


def plan_add(
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
) -> Plan:
    """`person` holds `schedule` from `starts_at` (default now) until `ends_at` (or for `hours`)."""
    if schedule not in roster.schedules:
        known = ", ".join(sorted(roster.schedules)) or "none: add schedules.toml"
        raise ActionRefused(f"no schedule {schedule!r} ({known})")
    person = _person(roster, person)
    if covering:
        covering = _person(roster, covering, " (covered)")
    if covering == person:
        raise ActionRefused(f"{person} cannot cover for themselves")
    now = desk.now()
    start = now if starts_at is None or starts_at < now else starts_at  # nobody can hold the past
    if ends_at is None:
        if hours is None or hours <= 0:
            raise ActionRefused("say how long: a number of hours, or an end time")
        ends_at = start + timedelta(hours=hours)
    if ends_at <= start:
        raise ActionRefused("the override ends before it starts: nothing would change")
    if ends_at <= now:
        raise ActionRefused("the override would be over already")
    if ends_at - start > LONGEST:
        raise ActionRefused("an override longer than 90 days is a rotation change: edit schedules.toml")
    kind = "cover" if covering else "take"
    new = Override(
        0,
        schedule,
        person,
        start,
        ends_at,
        covering,
        clean_text(reason, multiline=False, limit=300),
        created_by=desk.actor,
        kind=kind,
    )
    live = live_overrides(desk.store, now)
    _refuse_overlap(new, live)
    shown_from = max(start, now)
    before = _holders(roster, schedule, shown_from, ends_at, live)
    if before == (person,):
        raise ActionRefused(f"{roster.people[person].name} holds {schedule} then already: nothing would change")
    note = ""
    if covering and covering not in before:
        held = ", ".join(_name(roster, h) for h in before)
        note = f"{roster.people[covering].name} is not on {schedule} then ({held} is)"
    return Plan(kind, (Change(new, before, (person,), shown_from, ends_at),), now, note)


def _shift_of(
    roster: Roster, schedule: str, person: str, at: datetime | None, now: datetime, live: Sequence[Override]
) -> tuple[datetime, datetime]:
    """`person`'s own stretch of `schedule` holding `at` (or their current or next one)."""
    for shift in roster.shifts(schedule, now, now + SWAP_HORIZON, live):
        if shift.person != person:
            continue
        if at is None or shift.starts_at <= at < shift.ends_at:
            if shift.override is not None:
                raise ActionRefused(
                    f"{person} holds {schedule} then through override #{shift.override.id}: cancel it first"
                )
            return shift.starts_at, shift.ends_at
    when = f" at {_utc(at)} UTC" if at else f" in the next {SWAP_HORIZON.days} days"
    raise ActionRefused(f"{roster.people[person].name} has no shift on {schedule}{when}")


def plan_swap(
    desk: Desk,
    roster: Roster,
    schedule: str,
    first: str,
    second: str,
    *,
    first_at: datetime | None = None,
    second_at: datetime | None = None,
    reason: str = "",
) -> Plan:
    """`first` takes `second`'s shift and `second` takes `first`'s: two overrides, made together.

    Each shift is the person's stretch holding the given instant (default: their current or next),
    exactly as the rotation has it in the schedule's zone, so a week that spans a DST switch is
    swapped with its 167 or 169 hours, handoff to handoff on the wall clock.
    """
    if schedule not in roster.schedules:
        known = ", ".join(sorted(roster.schedules)) or "none: add schedules.toml"
        raise ActionRefused(f"no schedule {schedule!r} ({known})")
    first, second = _person(roster, first, " (first)"), _person(roster, second, " (second)")
    if first == second:
        raise ActionRefused("a swap needs two different people")
    now = desk.now()
    live = live_overrides(desk.store, now)
    a_start, a_end = _shift_of(roster, schedule, first, first_at, now, live)
    b_start, b_end = _shift_of(roster, schedule, second, second_at, now, live)
    why = clean_text(reason, multiline=False, limit=300)
    takes_b = Override(0, schedule, second, max(a_start, now), a_end, first, why, desk.actor, kind="swap")
    takes_a = Override(0, schedule, first, max(b_start, now), b_end, second, why, desk.actor, kind="swap")
    for new in (takes_b, takes_a):
        if new.ends_at - new.starts_at > LONGEST:
            raise ActionRefused("a shift longer than 90 days is a rotation change: edit schedules.toml")
        _refuse_overlap(new, live)
    changes = tuple(
        Change(o, (o.covering,), (o.person,), o.starts_at, o.ends_at)
        for o in sorted((takes_b, takes_a), key=lambda o: o.starts_at)
    )
    return Plan("swap", changes, now)


def plan_cancel(desk: Desk, roster: Roster, override_id: int) -> Plan:
    """Cancelling `override_id` (and the other half, for a swap): the rotation holds again."""
    rows = desk.store.override_swap_rows(override_id)
    mine = next((r for r in rows if r["id"] == override_id), None)
    if mine is None:
        raise ActionRefused(f"no override #{override_id}")
    if mine["cancelled_at"]:
        raise ActionRefused(f"override #{override_id} was already cancelled by {mine['cancelled_by']}")
    now = desk.now()
    going = [o for o in map(override_from_row, rows) if o.cancelled_at is None and o.ends_at > now]
    if not going:
        raise ActionRefused(f"override #{override_id} is over already (it ended {_utc(from_iso(mine['ends_at']))} UTC)")
    live = live_overrides(desk.store, now)
    gone = {o.id for o in going}
    rest = [o for o in live if o.id not in gone]
    changes = []
    for o in going:
        start = max(o.starts_at, now)
        after = _holders(roster, o.schedule, start, o.ends_at, rest) if o.schedule in roster.schedules else (None,)
        changes.append(Change(o, (o.person,), after, start, o.ends_at))
    return Plan("cancel", tuple(changes), now)


# --- carrying it out ------------------------------------------------------------------------------


def commit(desk: Desk, plan: Plan) -> list[Override]:
    """Make the plan's overrides, in one transaction, checking again for a clash."""
    if plan.kind == "cancel":
        return cancel(desk, plan.changes[0].override.id)
    store = desk.store
    made: list[Override] = []
    with store.batch():  # the overrides and what they tell open incidents: one transaction
        now = desk.now()
        live = live_overrides(store, now)
        for change in plan.changes:
            new = change.override
            if new.ends_at <= now:
                raise ActionRefused("the override would be over already: plan it again")
            _refuse_overlap(new, [*live, *made])
            oid = store.add_override(
                {
                    "schedule": new.schedule,
                    "person": new.person,
                    "starts_at": iso(new.starts_at),
                    "ends_at": iso(new.ends_at),
                    "covering": new.covering,
                    "reason": new.reason,
                    "created_by": desk.actor,
                    "created_at": iso(now),
                    "kind": new.kind,
                    "swap_of": made[0].id if made and plan.kind == "swap" else None,
                }
            )
            made.append(replace(new, id=oid, created_by=desk.actor, created_at=now))
        _tell_open_incidents(desk, live, [*live, *made], now, made[0].id, "made")
    return [_reread(desk, o.id) for o in made]


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
    """Plan and make one override at once (the CLI's `override add` and `take`)."""
    plan = plan_add(
        desk,
        roster,
        schedule,
        person,
        starts_at=starts_at,
        ends_at=ends_at,
        hours=hours,
        covering=covering,
        reason=reason,
    )
    return commit(desk, plan)[0]


def swap(
    desk: Desk,
    roster: Roster,
    schedule: str,
    first: str,
    second: str,
    *,
    first_at: datetime | None = None,
    second_at: datetime | None = None,
    reason: str = "",
) -> list[Override]:
    plan = plan_swap(desk, roster, schedule, first, second, first_at=first_at, second_at=second_at, reason=reason)
    return commit(desk, plan)


def cancel(desk: Desk, override_id: int) -> list[Override]:
    """Cancel `override_id`, and the other half of its swap with it, in one transaction."""
    store = desk.store
    with store.batch():
        rows = store.override_swap_rows(override_id)
        mine = next((r for r in rows if r["id"] == override_id), None)
        if mine is None:
            raise ActionRefused(f"no override #{override_id}")
        if mine["cancelled_at"]:
            raise ActionRefused(f"override #{override_id} was already cancelled by {mine['cancelled_by']}")
        now = desk.now()
        before = live_overrides(store, now)
        ids = [r["id"] for r in rows if not r["cancelled_at"]]
        for oid in ids:
            store.cancel_override(oid, desk.actor, iso(now))
        _tell_open_incidents(desk, before, live_overrides(store, now), now, override_id, "cancelled")
    return [_reread(desk, oid) for oid in ids]


def _tell_open_incidents(
    desk: Desk, before: Sequence[Override], after: Sequence[Override], now: datetime, override_id: int, action: str
) -> None:
    """An override that moves who holds a level now moves who gets the next page about every open,
    unacknowledged incident: each one's timeline says so (inside the override's transaction)."""
    from .roster import RosterSource

    roster = RosterSource(desk.policy).get()
    moved = []
    for tier in desk.policy.escalation:
        if tier.schedule in roster.schedules:
            was, now_held = roster.holder(tier.schedule, now, before), roster.holder(tier.schedule, now, after)
            if was != now_held:
                moved.append((tier.level, tier.schedule, was, now_held))
    if not moved:
        return
    for inc in desk.incidents():
        if inc.acknowledged_at is not None or not inc.is_open:
            continue
        for level, schedule, was, who in moved:
            details = {
                "override": override_id,
                "action": action,
                "level": level,
                "schedule": schedule,
                "from": was or "",
                "from_name": _name(roster, was),
                "to": who or "",
                "to_name": _name(roster, who),
            }
            desk.append(inc.number, "override_moved_page", details)


def _reread(desk: Desk, override_id: int) -> Override:
    row = desk.store.override_row(override_id)
    assert row is not None
    return override_from_row(row)


def listed(desk: Desk, *, include_past: bool = False) -> list[Override]:
    now = desk.now()
    rows = desk.store.override_rows(ending_after=None if include_past else iso(now), include_cancelled=include_past)
    return [override_from_row(r) for r in rows]


# --- the audit timeline ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the overrides' audit timeline: who did what to which override, when."""

    at: datetime
    actor: str
    action: str  # "took", "covered", "swapped", "made" (older rows), "cancelled"
    override: Override


def history(desk: Desk, *, limit: int | None = None) -> list[Entry]:
    """Every override made, swapped and cancelled, newest first."""
    entries: list[Entry] = []
    for o in map(override_from_row, desk.store.override_history_rows(limit=limit)):
        made = {"take": "took", "cover": "covered", "swap": "swapped"}.get(o.kind, "made")
        if o.created_at is not None:
            entries.append(Entry(o.created_at, o.created_by, made, o))
        if o.cancelled_at is not None:
            entries.append(Entry(o.cancelled_at, o.cancelled_by, "cancelled", o))
    entries.sort(key=lambda e: (e.at, e.action == "cancelled", e.override.id), reverse=True)
    return entries[:limit] if limit is not None else entries


# --- in words -------------------------------------------------------------------------------------


def _name(roster: Roster, handle: str | None) -> str:
    if handle is None:
        return "nobody"
    person = roster.people.get(handle)
    return person.name if person else handle


def _names(roster: Roster, handles: Sequence[str | None]) -> str:
    return ", then ".join(_name(roster, h) for h in handles) or "nobody"


def moment(at: datetime, zone: tzinfo | None, now: datetime, *, day_of: datetime | None = None) -> str:
    """'now', '14:00' (on the day of `day_of`) or 'Mon 29 Mar 10:00', in `zone`."""
    if at <= now:
        return "now"
    local = at.astimezone(zone)
    if day_of is not None and day_of.astimezone(zone).date() == local.date():
        return local.strftime("%H:%M")
    return local.strftime("%a %d %b %H:%M")


def span(start: datetime, end: datetime, zone: tzinfo | None, now: datetime) -> str:
    """'now → Tue 01 Dec 16:00' in `zone` (the day said again only when it changes)."""
    return f"{moment(start, zone, now)} → {moment(end, zone, now, day_of=max(start, now))}"


def levels_of(policy: Policy, schedule: str) -> list[str]:
    return [t.level for t in policy.escalation if t.schedule == schedule]


def describe(plan: Plan, roster: Roster, policy: Policy, viewer: tzinfo | None = None) -> list[str]:
    """The plan in words, a few lines per change: which level, who before → after, when in the
    viewer's zone and in the schedule's."""
    lines: list[str] = []
    now = plan.at
    for change in plan.changes:
        o = change.override
        levels = levels_of(policy, o.schedule)
        head = o.schedule + (f" ({', '.join(levels)})" if levels else "")
        ref = f"#{o.id} " if o.id else ""
        lines.append(f"{ref}{head}: {_names(roster, change.before)} → {_names(roster, change.after)}")
        mine = now.astimezone(viewer)
        lines.append(f"  {span(change.starts_at, change.ends_at, viewer, now)} {mine.strftime('%Z')}")
        if o.schedule in roster.schedules:
            sched = roster.schedules[o.schedule]
            lines.append(f"  {span(change.starts_at, change.ends_at, sched.zone, now)} {sched.tz}")
    if plan.note:
        lines.append(f"Note: {plan.note}")
    return lines


def entry_text(entry: Entry, roster: Roster, viewer: tzinfo | None = None) -> str:
    """'#4: Chen Li covers Ava Jones on primary, 12:00 → 16:00 — reason' (times in `viewer`'s zone)."""
    o = entry.override
    who, whom = _name(roster, o.person), _name(roster, o.covering) if o.covering else ""
    if entry.action == "cancelled":
        did = f"cancelled #{o.id} ({who} on {o.schedule})"
    elif o.kind == "swap":
        did = f"swap #{o.id}: {who} takes {whom}'s shift on {o.schedule}"
    elif whom:
        did = f"#{o.id}: {who} covers {whom} on {o.schedule}"
    else:
        did = f"#{o.id}: {who} takes {o.schedule}"
    start, end = o.starts_at.astimezone(viewer), o.ends_at.astimezone(viewer)
    # The day is said once, and not at all when it is the day the entry was written.
    began = f"{start:%H:%M}" if start.date() == entry.at.astimezone(viewer).date() else f"{start:%a %d %b %H:%M}"
    when = f"{began} → {end:%H:%M}" if start.date() == end.date() else f"{began} → {end:%a %d %b %H:%M}"
    why = f" — {o.reason}" if o.reason and entry.action != "cancelled" else ""
    return f"{did}, {when}{why}"
