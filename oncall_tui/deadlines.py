"""Every clock the runbook starts against an incident, computed, never stored.

`compute(incident, policy, now)` is a pure function: the same incident (whose milestones are the
projection of its timeline), policy and instant always give the same deadlines. Nothing here counts
down; a countdown is just this function evaluated again at the next tick, which is why a machine that
slept through a deadline wakes up showing the right overdue time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from .model import Incident, Status
from .policy import EscalationTier, Policy


class State(str, enum.Enum):
    PENDING = "pending"
    MET = "met"
    BREACHED = "breached"
    NOT_APPLICABLE = "not_applicable"


class Deadline(NamedTuple):
    """One clock. A named tuple rather than a frozen dataclass: the board computes nine of these
    for every open incident before its first frame, and a tuple is built three times faster."""

    key: str  # stable id: "acknowledge", "severity", "stakeholders", "next_update", "review", "escalate:…"
    label: str
    due_at: datetime | None
    state: State
    done_at: datetime | None = None  # when the action was taken, if it was
    span_start: datetime | None = None  # when the clock started, for "how much is left" styling
    now: datetime | None = None
    # When the incident was resolved with this action never taken: the clock no longer runs, and a
    # breach stays on the record with its lateness frozen at that moment.
    stopped_at: datetime | None = None

    @property
    def seconds_left(self) -> float | None:
        """Positive while time remains, negative once overdue; None when there is no clock."""
        if self.due_at is None or self.now is None:
            return None
        end = self.done_at or self.stopped_at or self.now
        return (self.due_at - end).total_seconds()

    @property
    def late_by(self) -> timedelta | None:
        """How late the action was (or is, while still undone)."""
        left = self.seconds_left
        if self.state is not State.BREACHED or left is None:
            return None
        return timedelta(seconds=-left)

    @property
    def running(self) -> bool:
        """A clock that still changes with time: pending, or breached and not yet done."""
        return self.done_at is None and self.stopped_at is None and self.state in (State.PENDING, State.BREACHED)

    def is_warning(self, fraction: float) -> bool:
        """Pending with little time left: the last `fraction` of the span, and at least 60 s."""
        if self.state is not State.PENDING or self.due_at is None or self.now is None:
            return False
        left = (self.due_at - self.now).total_seconds()
        span = (self.due_at - self.span_start).total_seconds() if self.span_start else 0
        return left <= max(60.0, span * fraction)


@dataclass(frozen=True, slots=True)
class Escalation:
    index: int
    tier: EscalationTier
    next_tier: EscalationTier | None
    next_at: datetime | None  # when the next tier is reached, if the incident stays open


@dataclass(frozen=True, slots=True)
class Deadlines:
    items: tuple[Deadline, ...]
    escalation: Escalation

    def get(self, key: str) -> Deadline:
        for d in self.items:
            if d.key == key:
                return d
        raise KeyError(key)

    @property
    def breached(self) -> tuple[Deadline, ...]:
        return tuple(d for d in self.items if d.state is State.BREACHED)

    @property
    def next_due(self) -> Deadline | None:
        """The clock the engineer should look at first: an undone breach, else the nearest pending."""
        overdue = pending = None
        for d in self.items:  # one pass: the board asks this of every incident it loads
            if d.done_at is not None or d.stopped_at is not None or d.key.startswith("escalate:"):
                continue
            if d.state is State.BREACHED:
                if overdue is None or d.due_at < overdue.due_at:
                    overdue = d
            elif d.state is State.PENDING and (pending is None or d.due_at < pending.due_at):
                pending = d
        return overdue or pending


def _judge(due: datetime, done: datetime | None, now: datetime) -> State:
    # The due instant itself is on time ("within 5 minutes" includes the fifth), for a clock still
    # running as for one done: an undone clock must never read breached at a moment when doing the
    # action would still count as met, or a breach could turn back into "met".
    if done is not None:
        return State.MET if done <= due else State.BREACHED
    return State.PENDING if now <= due else State.BREACHED


def _clock(
    key: str,
    label: str,
    start: datetime,
    due: datetime,
    done: datetime | None,
    now: datetime,
    stopped: datetime | None = None,
) -> Deadline:
    if done is None and stopped is not None:
        # Resolved without this action: late if the clock had run out by then, moot otherwise.
        state = State.BREACHED if stopped > due else State.NOT_APPLICABLE
        return Deadline(key, label, due, state, None, start, now, stopped)
    return Deadline(key, label, due, _judge(due, done, now), done, start, now)


def _na(key: str, label: str, now: datetime) -> Deadline:
    return Deadline(key, label, None, State.NOT_APPLICABLE, now=now)


def _stopped_at(incident: Incident) -> datetime | None:
    """When the fire was out: escalation and update clocks stop at mitigation or resolution."""
    marks = [m for m in (incident.mitigated_at, incident.resolved_at) if m is not None]
    return min(marks) if marks else None


def compute(incident: Incident, policy: Policy, now: datetime) -> Deadlines:
    start = incident.started_at
    sev = incident.severity
    items: list[Deadline] = []

    # The first response's clocks stop at resolution: a resolved incident has nothing left to
    # acknowledge or announce, and must not sit on top of the board with a clock counting up.
    stop = incident.resolved_at
    ack = _clock("acknowledge", "Acknowledge", start, start + policy.acknowledge, incident.acknowledged_at, now, stop)
    items.append(ack)
    # Severity is judged by whoever raised the incident on the desk, so its clock starts there: a
    # back-dated start time (the outage began before anyone noticed) does not make it late at birth.
    raised = max(start, incident.declared_at)
    items.append(
        _clock("severity", "Determine severity", raised, raised + policy.severity, incident.severity_at, now, stop)
    )

    if sev is not None and sev in policy.stakeholder_severities:
        items.append(
            _clock(
                "stakeholders",
                "Notify stakeholders",
                start,
                start + policy.stakeholders,
                incident.notified_at,
                now,
                stop,
            )
        )
    else:
        items.append(_na("stakeholders", "Notify stakeholders", now))

    items.append(_next_update(incident, policy, now))
    escalation, tiers = _escalation(incident, policy, now, ack)
    items.extend(tiers)
    items.append(_review(incident, policy, now))
    return Deadlines(tuple(items), escalation)


def _next_update(incident: Incident, policy: Policy, now: datetime) -> Deadline:
    label = "Next update"
    if not incident.is_open or incident.mitigated_at is not None:
        return _na("next_update", label, now)
    if incident.next_update_at is not None:
        begun = incident.last_update_at or incident.notified_at or incident.started_at
        return _clock("next_update", label, begun, incident.next_update_at, None, now)
    cadence = policy.update_cadence.get(incident.severity) if incident.severity else None
    last = incident.last_update_at or incident.notified_at
    if cadence is None or last is None:
        return _na("next_update", label, now)
    return _clock("next_update", label, last, last + cadence, None, now)


def _escalation(incident: Incident, policy: Policy, now: datetime, ack: Deadline) -> tuple[Escalation, list[Deadline]]:
    start = incident.started_at
    stopped = _stopped_at(incident)
    elapsed_until = stopped if stopped is not None and stopped < now else now
    timed = incident.severity is None or incident.severity in policy.escalation_severities
    index = 0
    if timed:
        elapsed = elapsed_until - start
        for i, tier in enumerate(policy.escalation):
            if tier.after <= elapsed:
                index = i
    # "If unable to respond, escalate to next tier": a missed acknowledgement skips a level, and
    # stays skipped once acknowledged late (the secondary was paged; that cannot be undone).
    if ack.state is State.BREACHED and len(policy.escalation) > 1:
        index = max(index, 1)
    tier = policy.escalation[index]
    next_tier = policy.escalation[index + 1] if index + 1 < len(policy.escalation) else None
    next_at = start + next_tier.after if next_tier is not None and stopped is None and timed else None
    if next_at is not None and next_at <= now:
        next_at = None

    clocks: list[Deadline] = []
    for i, t in enumerate(policy.escalation[1:], start=1):
        due = start + t.after
        if i == 1 and ack.state is State.BREACHED and ack.due_at is not None:
            due = min(due, ack.due_at)
        if i > index and not timed:
            clocks.append(Deadline(t.key, t.label, None, State.NOT_APPLICABLE, now=now))
        elif stopped is not None and stopped < due:
            clocks.append(Deadline(t.key, t.label, due, State.MET, stopped, start, now))
        elif i <= index:
            clocks.append(Deadline(t.key, t.label, due, State.BREACHED, stopped, start, now))
        else:
            clocks.append(Deadline(t.key, t.label, due, State.PENDING, None, start, now))
    return Escalation(index, tier, next_tier, next_at), clocks


def _review(incident: Incident, policy: Policy, now: datetime) -> Deadline:
    label = "Post-incident review"
    sev = incident.severity
    if sev is None or sev not in policy.review_severities or incident.resolved_at is None:
        return _na("review", label, now)
    if incident.review_waived:
        return _na("review", label, now)
    if incident.status not in (Status.RESOLVED, Status.CLOSED):
        return _na("review", label, now)
    resolved = incident.resolved_at
    return _clock("review", label, resolved, resolved + policy.review_due, incident.review_done_at, now)


def notify_due_if_major(incident: Incident, policy: Policy) -> datetime | None:
    """When stakeholders must have heard, should an incident whose severity is not determined yet
    turn out to be P0/P1 — the desk treats P? as a possible P0, so it does not call notifying
    "not required". None once the severity is set, or the notice went out, or it is resolved."""
    if incident.severity is not None or incident.notified_at is not None or incident.resolved_at is not None:
        return None
    if not policy.stakeholder_severities:
        return None
    return incident.started_at + policy.stakeholders


def major_names(policy: Policy) -> str:
    """'P0/P1': the severities that must notify stakeholders, as a label says them."""
    return "/".join(s.value for s in sorted(policy.stakeholder_severities, key=lambda s: s.value))
