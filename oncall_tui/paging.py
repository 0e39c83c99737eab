"""Who must be paged now, as a pure function of the incident, its clocks, the policy and the pages
already on record. No I/O, no clock: the desk, the CLI and the agent all ask the same question and
get the same answer, and the database's claim keeps the answer to one sender.

Rules, from the runbook's "Alert routed to on-call engineer … if unable to respond, escalate to
next tier":
- an open incident pages the level its escalation clocks have reached (the first level when it is
  new; the second at once when nobody acknowledged in time; each later time-based step its own);
- a level whose every channel failed (or that has nobody to page) passes the page to the next level
  at once;
- while unacknowledged, the last level paged is paged again every `repeat_minutes`, at most
  `repeat_limit` times; acknowledging stops that;
- a level reached before the desk was paging (more than `CATCH_UP` ago) is not paged late: the
  board has said so, and waking a CTO for yesterday's incident helps nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import format_duration, iso
from .deadlines import Deadlines, State
from .model import Incident, format_id
from .policy import Policy

CATCH_UP = timedelta(minutes=60)

REASONS = {
    "new": "new incident",
    "not_acknowledged": "not acknowledged in time",
    "escalated": "escalation matrix",
    "unreachable": "the previous level could not be reached",
    "repeat": "still not acknowledged",
    "manual": "paged by hand",
    "handoff": "shift handoff heads-up",
}
UNREACHED = ("failed", "nobody")


@dataclass(frozen=True, slots=True)
class PageRecord:
    """A page on record (the store's `pages` row)."""

    key: str
    incident: int | None
    level: int
    person: str
    reason: str
    round: int
    state: str  # sending | delivered | failed | nobody
    claimed_at: datetime
    finished_at: datetime | None = None
    resends: int = 0
    level_name: str = ""


@dataclass(frozen=True, slots=True)
class PageIntent:
    """A page that should go out now; `key` is its identity across every process."""

    key: str
    incident: int | None
    level: int
    reason: str
    round: int = 0
    note: str = ""
    person: str = ""  # set when the page goes to one person rather than a level (handoffs, by hand)
    schedule: str = ""


def level_key(number: int, level: int) -> str:
    return f"{format_id(number)}:L{level}"


def decide(
    incident: Incident,
    deadlines: Deadlines,
    policy: Policy,
    records: Sequence[PageRecord],
    now: datetime,
) -> list[PageIntent]:
    """The pages `incident` needs at `now`, given the pages already on record for it."""
    if not incident.is_open or incident.mitigated_at is not None:
        return []
    if incident.severity is not None and incident.severity in policy.paging.quiet_severities:
        return []
    tiers = policy.escalation
    number = incident.number
    by_level: dict[int, list[PageRecord]] = {}
    for r in records:
        by_level.setdefault(r.level, []).append(r)
    intents: list[PageIntent] = []

    index = deadlines.escalation.index
    if index not in by_level and not (index == 0 and incident.acknowledged_at is not None):
        reason, reached = _why_reached(incident, deadlines, policy, index)
        if now - reached <= CATCH_UP:
            intents.append(PageIntent(level_key(number, index), number, index, reason))

    for level, recs in sorted(by_level.items()):
        nxt = level + 1
        if nxt >= len(tiers) or nxt in by_level or any(i.level == nxt for i in intents):
            continue
        failed = [r for r in recs if r.state in UNREACHED]
        if failed and not any(r.state == "delivered" for r in recs):
            last = failed[-1]
            who = last.person or tiers[level].level
            intents.append(
                PageIntent(level_key(number, nxt), number, nxt, "unreachable", note=f"could not reach {who}")
            )

    if incident.acknowledged_at is None and by_level and not intents:  # a higher level paged now wins
        top = max(by_level)
        recs = by_level[top]
        delivered = [r for r in recs if r.state == "delivered"]
        if delivered and not any(r.state == "sending" for r in recs):
            rounds = max(r.round for r in recs)
            last_sent = max(r.claimed_at for r in recs)
            due = last_sent + timedelta(minutes=policy.paging.repeat_minutes)
            if rounds < policy.paging.repeat_limit and now >= due and now - due <= CATCH_UP:
                quiet_for = format_duration((now - incident.started_at).total_seconds())
                intents.append(
                    PageIntent(
                        f"{level_key(number, top)}:r{rounds + 1}",
                        number,
                        top,
                        "repeat",
                        round=rounds + 1,
                        note=f"repeat {rounds + 1} of {policy.paging.repeat_limit}: not acknowledged after {quiet_for}",
                    )
                )
    return intents


def _why_reached(incident: Incident, deadlines: Deadlines, policy: Policy, index: int) -> tuple[str, datetime]:
    """Why the incident is at level `index`, and since when."""
    if index == 0:
        return "new", max(incident.started_at, incident.declared_at)
    tier = policy.escalation[index]
    by_time = incident.started_at + tier.after
    ack = deadlines.get("acknowledge")
    if index == 1 and ack.state is State.BREACHED and ack.due_at is not None and ack.due_at < by_time:
        return "not_acknowledged", ack.due_at
    return "escalated", by_time


def records_by_incident(records: Iterable[PageRecord]) -> dict[int, list[PageRecord]]:
    out: dict[int, list[PageRecord]] = {}
    for r in records:
        if r.incident is not None:
            out.setdefault(r.incident, []).append(r)
    return out


# --- what a page says ---------------------------------------------------------------------------


def compose(incident: Incident, deadlines: Deadlines, policy: Policy, intent: PageIntent) -> tuple[str, str]:
    """(title, body) of the page: the incident, severity, title, what is overdue, how to acknowledge."""
    sev = incident.severity.value if incident.severity else "P?"
    title = f"[{sev}] {incident.id} {incident.title}"
    tier = policy.escalation[min(intent.level, len(policy.escalation) - 1)]
    why = REASONS.get(intent.reason, intent.reason)
    lines = [
        f"{incident.id} [{sev}] {incident.title}",
        f"You are paged as {tier.level} ({why}{': ' + intent.note if intent.note else ''}).",
        f"Status: {incident.status.value}; started {iso(incident.started_at)}.",
    ]
    if incident.services:
        lines.append(f"Services: {', '.join(incident.services)}")
    overdue = [
        f"{d.label} {format_duration(-(d.seconds_left or 0))} overdue"
        for d in deadlines.breached
        if d.running and not d.key.startswith("escalate:")
    ]
    if overdue:
        lines.append("Overdue: " + "; ".join(overdue))
    if incident.acknowledged_at is None:
        lines.append(f"Acknowledge: oncall-tui ack {incident.id} (over SSH), or press a on the desk.")
    else:
        lines.append(f"Acknowledged by {incident.acknowledged_by or 'someone'}; the desk has the details.")
    return title, "\n".join(lines)
