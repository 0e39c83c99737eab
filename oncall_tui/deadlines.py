"""Every clock the runbook starts against an incident, computed, never stored.

`compute(incident, policy, now)` is a pure function: the same incident (whose milestones are the
projection of its timeline), policy and instant always give the same deadlines. Nothing here counts
down; a countdown is just this function evaluated again at the next tick, which is why a machine that
slept through a deadline wakes up showing the right overdue time.

Each kind of deadline is one entry of `DEADLINE_KINDS` and its rule; the board, the report, the review
document, the composer and the checklist all read that table. Escalation tiers are not in it: they
come from the policy's ladder, and reaching one is the matrix working, not an obligation missed.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from .model import SEVERITY_RANK, Severity, Status
from .policy import EscalationTier, Policy


class Milestones(Protocol):
    """What the rules read of an incident: `Incident` is one; the report reads only these columns
    of 10,000 incidents into a lighter one. A rule that needs more adds it here (and mypy then
    points at the report's reader)."""

    @property
    def number(self) -> int: ...
    @property
    def status(self) -> Status: ...
    @property
    def severity(self) -> Severity | None: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def declared_at(self) -> datetime: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def severity_at(self) -> datetime | None: ...
    @property
    def notified_at(self) -> datetime | None: ...
    @property
    def last_update_at(self) -> datetime | None: ...
    @property
    def next_update_at(self) -> datetime | None: ...
    @property
    def mitigated_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def review_done_at(self) -> datetime | None: ...
    @property
    def review_waived(self) -> str: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def alert_state(self) -> str: ...
    @property
    def live_at(self) -> datetime | None: ...


def clocks_from(incident: Milestones) -> datetime:
    """When the response clocks start: the incident's start, or, for an alert that arrived in a
    maintenance window (silenced or inhibited), the moment it went live — it asked nothing of
    anyone before."""
    return incident.live_at or incident.started_at


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
    """Where an incident stands in the escalation matrix: the tier reached, and the next one and when."""

    index: int
    tier: EscalationTier
    next_tier: EscalationTier | None
    next_at: datetime | None  # when the next tier is reached, if the incident stays open


@dataclass(frozen=True, slots=True)
class Deadlines:
    """An incident's deadlines, as the policy gives them at one instant, and its escalation."""

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
        return _first_due(d for d in self.items if not d.key.startswith("escalate:"))


def _first_due(items: Iterable[Deadline]) -> Deadline | None:
    overdue: tuple[datetime, Deadline] | None = None
    pending: tuple[datetime, Deadline] | None = None
    for d in items:  # one pass: the board asks this of every incident it loads
        due = d.due_at
        if due is None or d.done_at is not None or d.stopped_at is not None:
            continue
        if d.state is State.BREACHED:
            if overdue is None or due < overdue[0]:
                overdue = (due, d)
        elif d.state is State.PENDING and (pending is None or due < pending[0]):
            pending = (due, d)
    first = overdue or pending
    return first[1] if first is not None else None


def _judge(due: datetime, done: datetime | None, now: datetime) -> State:
    # The due instant itself is on time ("within 5 minutes" includes the fifth), for a clock still
    # running as for one done: an undone clock must never read breached at a moment when doing the
    # action would still count as met, or a breach could turn back into "met".
    if done is not None:
        return State.MET if done <= due else State.BREACHED
    return State.PENDING if now <= due else State.BREACHED


def _clock(
    kind: DeadlineKind,
    start: datetime,
    due: datetime,
    done: datetime | None,
    now: datetime,
    stopped: datetime | None = None,
) -> Deadline:
    if done is None and stopped is not None:
        # Resolved without this action: late if the clock had run out by then, moot otherwise.
        state = State.BREACHED if stopped > due else State.NOT_APPLICABLE
        return Deadline(kind.key, kind.label, due, state, None, start, now, stopped)
    return Deadline(kind.key, kind.label, due, _judge(due, done, now), done, start, now)


def _na(kind: DeadlineKind, now: datetime) -> Deadline:
    # The same for every incident at one instant, and half of the clocks a board of 10k computes
    # before its first frame: made once per kind and instant (a Deadline is an immutable tuple).
    found = _NA.get((kind.key, now))
    if found is None:
        if len(_NA) >= _NA_KEPT:
            _NA.clear()
        found = _NA[kind.key, now] = Deadline(kind.key, kind.label, None, State.NOT_APPLICABLE, None, None, now)
    return found


_NA: dict[tuple[str, datetime], Deadline] = {}
_NA_KEPT = 64


def _stopped_at(incident: Milestones) -> datetime | None:
    """When the fire was out: escalation and update clocks stop at mitigation or resolution."""
    marks = [m for m in (incident.mitigated_at, incident.resolved_at) if m is not None]
    return min(marks) if marks else None


# --- the rules: one per kind of deadline ----------------------------------------------------------
# The first response's clocks stop at resolution: a resolved incident has nothing left to
# acknowledge or announce, and must not sit on top of the board with a clock counting up.


def _acknowledge(kind: DeadlineKind, incident: Milestones, policy: Policy, now: datetime) -> Deadline:
    start = clocks_from(incident)
    return _clock(kind, start, start + policy.acknowledge, incident.acknowledged_at, now, incident.resolved_at)


def _severity(kind: DeadlineKind, incident: Milestones, policy: Policy, now: datetime) -> Deadline:
    # Severity is judged by whoever raised the incident on the desk, so its clock starts there: a
    # back-dated start time (the outage began before anyone noticed) does not make it late at birth.
    raised = max(clocks_from(incident), incident.declared_at)
    return _clock(kind, raised, raised + policy.severity, incident.severity_at, now, incident.resolved_at)


def _stakeholders(kind: DeadlineKind, incident: Milestones, policy: Policy, now: datetime) -> Deadline:
    sev = incident.severity
    if sev is None or sev not in policy.stakeholder_severities:
        return _na(kind, now)
    start = clocks_from(incident)
    return _clock(kind, start, start + policy.stakeholders, incident.notified_at, now, incident.resolved_at)


def _next_update(kind: DeadlineKind, incident: Milestones, policy: Policy, now: datetime) -> Deadline:
    if not incident.is_open or incident.mitigated_at is not None:
        return _na(kind, now)
    if incident.next_update_at is not None:
        begun = incident.last_update_at or incident.notified_at or incident.started_at
        return _clock(kind, begun, incident.next_update_at, None, now)
    cadence = policy.update_cadence.get(incident.severity) if incident.severity else None
    last = incident.last_update_at or incident.notified_at
    if cadence is None or last is None:
        return _na(kind, now)
    return _clock(kind, last, last + cadence, None, now)


def _review(kind: DeadlineKind, incident: Milestones, policy: Policy, now: datetime) -> Deadline:
    sev = incident.severity
    resolved = incident.resolved_at
    if sev is None or sev not in policy.review_severities or resolved is None or incident.review_waived:
        return _na(kind, now)
    if incident.status not in (Status.RESOLVED, Status.CLOSED):
        return _na(kind, now)
    return _clock(kind, resolved, resolved + policy.review_due, incident.review_done_at, now)


Rule = Callable[["DeadlineKind", Milestones, Policy, datetime], Deadline]


@dataclass(frozen=True, slots=True)
class DeadlineKind:
    """One obligation the runbook puts a clock on. Everything that names a deadline — the clocks,
    the board's next-deadline cell, the wall, the report, the review document, the composer, the
    checklist — reads this entry, so a new kind is one entry in `DEADLINE_KINDS` plus its rule."""

    key: str  # stable id: Deadline.key, `deadline_breached` events, the report's JSON
    label: str  # "Notify stakeholders": the clocks, the report, the review document
    short: str  # the board's next-deadline cell: "!! notify 3m05s overdue"
    rule: Rule
    done: str  # the deed, as in "stakeholders notified in time"; "" for a clock each message restarts
    how: str  # how it is done on the desk, for someone who tries to tick its checklist step by hand
    step: str = ""  # the process runbook's `desk:` fact the deed ticks ("notified"); "" for none
    messages: tuple[str, ...] = ()  # composer template kinds whose sending meets (or restarts) it
    after_resolution: bool = False  # runs from resolution: listed after the escalation ladder
    wall: str = ""  # the wall's caption, read across a room ("SET SEVERITY"); "" for the label in capitals

    @property
    def caption(self) -> str:
        return self.wall or self.label.upper()

    def compute(self, incident: Milestones, policy: Policy, now: datetime) -> Deadline:
        return self.rule(self, incident, policy, now)


DEADLINE_KINDS: tuple[DeadlineKind, ...] = (
    DeadlineKind(
        "acknowledge",
        "Acknowledge",
        "ack",
        _acknowledge,
        done="acknowledged",
        how="press a to acknowledge",
        step="acknowledged",
    ),
    DeadlineKind(
        "severity",
        "Determine severity",
        "sev",
        _severity,
        done="severity determined",
        how="press s to set the severity",
        step="severity",
        wall="SET SEVERITY",
    ),
    DeadlineKind(
        "stakeholders",
        "Notify stakeholders",
        "notify",
        _stakeholders,
        done="stakeholders notified",
        how="send the Initial Alert with m",
        step="notified",
        messages=("initial",),
    ),
    DeadlineKind(
        "next_update",
        "Next update",
        "update",
        _next_update,
        done="",
        how="send a Status Update with m",
        messages=("initial", "update"),
    ),
    DeadlineKind(
        "review",
        "Post-incident review",
        "review",
        _review,
        done="review done",
        how="record it on the review screen (R)",
        step="review_done",
        after_resolution=True,
        wall="REVIEW",
    ),
)


# The kinds in the order `compute` lists their clocks (ties for the next deadline go to the first).
_AS_LISTED = tuple(sorted(DEADLINE_KINDS, key=lambda k: k.after_resolution))


def kind(key: str) -> DeadlineKind | None:
    """The kind a deadline key names; None for an escalation tier (or a key this desk no longer has)."""
    return next((k for k in DEADLINE_KINDS if k.key == key), None)


def kinds_met_by(template_kind: str) -> tuple[DeadlineKind, ...]:
    """The kinds that sending a message of this template kind meets or restarts, in table order."""
    return tuple(k for k in DEADLINE_KINDS if template_kind in k.messages)


def compute(incident: Milestones, policy: Policy, now: datetime) -> Deadlines:
    if incident.alert_state == "maintenance":
        return _in_maintenance(policy, now)
    items: list[Deadline] = []
    follow_up: list[Deadline] = []
    ack: Deadline | None = None
    for k in DEADLINE_KINDS:
        d = k.rule(k, incident, policy, now)
        (follow_up if k.after_resolution else items).append(d)
        if k.key == "acknowledge":
            ack = d
    escalation, tiers = _escalation(incident, policy, now, ack)
    items.extend(tiers)
    items.extend(follow_up)
    return Deadlines(tuple(items), escalation)


def next_due(incident: Milestones, policy: Policy, now: datetime) -> Deadline | None:
    """`compute(…).next_due` without the escalation ladder, which it never names: what the board
    sorts its rows by, a quarter of the work of every clock (a board of 10k sorts before its first
    frame, and computes the ladder of each row afterwards)."""
    if incident.alert_state == "maintenance":
        return None
    return _first_due([k.rule(k, incident, policy, now) for k in _AS_LISTED])


Urgency = tuple[bool, bool, float, int, int]


def urgency(incident: Milestones, nxt: Deadline | None, due: float | None) -> Urgency:
    """Where an incident stands among others, most urgent first: closed ones last, then a breached
    clock before none, then the nearest deadline, then severity (undetermined counts as worst), then
    the number. The board's order and the CLI's `list`. `nxt` is the incident's `next_due`, `due`
    its due instant as a timestamp (the board keeps it: working it out at each sort costs as much as
    the sort)."""
    return (
        incident.status is Status.CLOSED,
        nxt is None or nxt.state is not State.BREACHED,
        math.inf if due is None else due,
        SEVERITY_RANK[incident.severity] if incident.severity else -1,
        incident.number,
    )


def _in_maintenance(policy: Policy, now: datetime) -> Deadlines:
    """An alert that arrived silenced or inhibited: on the record, but no clock runs for it."""
    items = [_na(k, now) for k in DEADLINE_KINDS if not k.after_resolution]
    items += [Deadline(t.key, t.label, None, State.NOT_APPLICABLE, now=now) for t in policy.escalation[1:]]
    items += [_na(k, now) for k in DEADLINE_KINDS if k.after_resolution]
    return Deadlines(tuple(items), Escalation(0, policy.escalation[0], None, None))


def _escalation(
    incident: Milestones, policy: Policy, now: datetime, ack: Deadline | None
) -> tuple[Escalation, list[Deadline]]:
    start = clocks_from(incident)
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
    missed_ack = ack is not None and ack.state is State.BREACHED
    if missed_ack and len(policy.escalation) > 1:
        index = max(index, 1)
    tier = policy.escalation[index]
    next_tier = policy.escalation[index + 1] if index + 1 < len(policy.escalation) else None
    next_at = start + next_tier.after if next_tier is not None and stopped is None and timed else None
    if next_at is not None and next_at <= now:
        next_at = None

    clocks: list[Deadline] = []
    for i, t in enumerate(policy.escalation[1:], start=1):
        due = start + t.after
        if i == 1 and missed_ack and ack is not None and ack.due_at is not None:
            due = min(due, ack.due_at)
        if i > index and not timed:
            clocks.append(Deadline(t.key, t.label, None, State.NOT_APPLICABLE, now=now))
        elif stopped is not None and stopped < due:
            clocks.append(Deadline(t.key, t.label, due, State.MET, stopped, start, now))
        elif i <= index:
            clocks.append(Deadline(t.key, t.label, due, State.BREACHED, stopped, start, now))
        else:
            clocks.append(Deadline(t.key, t.label, due, State.PENDING, None, start, now))
    if next_at is None:  # no next tier to count down to: the same value for every such incident
        return _settled(index, tier, next_tier), clocks
    return Escalation(index, tier, next_tier, next_at), clocks


# An escalation with no next tier time, by its index: shared by all such incidents (two thirds of a
# board of 10k: 0.4 MB); an Escalation is immutable. Kept for the tiers last asked about (a policy
# read again has new tiers, which replace the old ones here).
_SETTLED: dict[int, Escalation] = {}


def _settled(index: int, tier: EscalationTier, next_tier: EscalationTier | None) -> Escalation:
    kept = _SETTLED.get(index)
    if kept is None or kept.tier is not tier or kept.next_tier is not next_tier:
        kept = _SETTLED[index] = Escalation(index, tier, next_tier, None)
    return kept


def notify_due_if_major(incident: Milestones, policy: Policy) -> datetime | None:
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
