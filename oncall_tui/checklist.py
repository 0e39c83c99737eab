"""The response process as a checklist for one incident: its five phases, where the incident is,
and which steps are done — ticked by hand, or by the desk itself from what it already records.

The steps come from the `process` runbook; a `<!-- desk: KEY -->` comment on a step names the fact
below that ticks it. A step the desk ticks needs no keystroke: acknowledging an incident ticks
"Engineer acknowledges within 5 minutes", sending the Initial Alert ticks "notify stakeholders".
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from . import deadlines
from .clock import format_duration, format_local
from .model import Incident, Status
from .policy import Policy
from .runbooks import DESK_KEYS, Runbook, Step


class StepState(str, enum.Enum):
    DONE = "done"  # the desk's own record shows it was done
    CHECKED = "checked"  # ticked by hand
    OPEN = "open"
    NOT_NEEDED = "not_needed"  # e.g. stakeholders for a P3, a review for a P2

    @property
    def done(self) -> bool:
        return self in (StepState.DONE, StepState.CHECKED)


Fact = tuple[StepState, str]  # the state the desk sees, and why (shown beside the step)


@dataclass(frozen=True, slots=True)
class Context:
    """What the desk knows beyond the incident row, for the facts that need it."""

    now: datetime | None = None
    events: int = 0  # timeline events recorded
    action_items: int = 0


_OPEN: Fact = (StepState.OPEN, "")


def _at(moment: datetime | None) -> str:
    return format_local(moment)[:5]  # HH:MM: the desk's clocks show seconds, a checklist need not


def _detected(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    how = "from an alert" if inc.source == "alert" else "declared"
    return StepState.DONE, f"{how} at {_at(inc.declared_at)}"


def _routed(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if inc.acknowledged_by:
        return StepState.DONE, f"reached {inc.acknowledged_by}"
    if inc.assignee:
        return StepState.DONE, f"assigned to {inc.assignee}"
    return _OPEN


def _acknowledged(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if inc.acknowledged_at is None:
        return _OPEN
    who = f"by {inc.acknowledged_by or 'someone'} at {_at(inc.acknowledged_at)}"
    late = inc.acknowledged_at - (inc.started_at + policy.acknowledge)
    if late.total_seconds() >= 1:  # as the Clocks tab says it: a tick alone would hide the miss
        return StepState.DONE, f"{who}, {format_duration(late.total_seconds())} late"
    return StepState.DONE, who


def _escalated(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    """ "If unable to respond, escalate to next tier": moot once someone answered in time."""
    due = inc.started_at + policy.acknowledge
    if inc.acknowledged_at is not None:
        if inc.acknowledged_at <= due:
            return StepState.NOT_NEEDED, "answered in time"
        return StepState.DONE, f"answered by {inc.acknowledged_by or 'someone'} after escalation"
    if ctx.now is not None and ctx.now > due and len(policy.escalation) > 1:
        return StepState.OPEN, f"unanswered: call {policy.escalation[1].contact or policy.escalation[1].level}"
    return _OPEN


def _deployed(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    moment = inc.mitigated_at or inc.resolved_at
    return (StepState.DONE, f"fix out at {_at(moment)}") if moment else _OPEN


def _monitored(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if inc.mitigated_at is None:
        return _OPEN
    if inc.resolved_at is not None:
        span = format_duration((inc.resolved_at - inc.mitigated_at).total_seconds())
        return StepState.DONE, f"watched {span} before resolving"
    return StepState.OPEN, f"monitoring since {_at(inc.mitigated_at)}"


def _timeline(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if ctx.events:
        return StepState.DONE, f"the desk's timeline: {ctx.events} events"
    return _OPEN


def _action_items(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if ctx.action_items:
        return StepState.DONE, f"{ctx.action_items} action item{'s' if ctx.action_items != 1 else ''}"
    return _OPEN


def _severity(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if inc.severity is None:
        return _OPEN
    when = f" at {_at(inc.severity_at)}" if inc.severity_at else ""
    return StepState.DONE, f"{inc.severity.value}{when}"


def _ticket(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    missing = [
        name
        for name, value in (("services", inc.services), ("impact", inc.impact), ("channel", inc.channel))
        if not value
    ]
    if missing:
        return StepState.OPEN, "missing " + ", ".join(missing)
    return StepState.DONE, "start time, services, impact and channel recorded"


def _notified(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if inc.notified_at is not None:
        return StepState.DONE, f"Initial Alert sent at {_at(inc.notified_at)}"
    if inc.severity is not None and inc.severity not in policy.stakeholder_severities:
        return StepState.NOT_NEEDED, f"not needed for {inc.severity.value}"
    if inc.severity is None and policy.stakeholder_severities:
        names = "/".join(sorted(s.value for s in policy.stakeholder_severities))
        return StepState.OPEN, f"due {_at(inc.started_at + policy.stakeholders)} if {names}"
    return _OPEN


def _field(name: str, label: str) -> Callable[[Incident, Policy, Context], Fact]:
    def fact(inc: Incident, policy: Policy, ctx: Context) -> Fact:
        return (StepState.DONE, f"{label} recorded") if str(getattr(inc, name)).strip() else _OPEN

    return fact


def _mitigated(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    moment = inc.mitigated_at or inc.resolved_at
    return (StepState.DONE, f"mitigated at {_at(moment)}") if moment else _OPEN


def _resolved(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    return (StepState.DONE, f"resolved at {_at(inc.resolved_at)}") if inc.resolved_at else _OPEN


def _review_needed(inc: Incident, policy: Policy) -> Fact | None:
    """None when a review is (or may yet be) due; otherwise why it is not."""
    if inc.review_waived:
        return StepState.NOT_NEEDED, f"review waived: {inc.review_waived}"
    if inc.severity is not None and inc.severity not in policy.review_severities:
        return StepState.NOT_NEEDED, f"no review for {inc.severity.value}"
    return None


def _review_scheduled(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if inc.review_scheduled_for is not None:
        return StepState.DONE, f"for {format_local(inc.review_scheduled_for, with_date=True)}"
    return _review_needed(inc, policy) or _OPEN


def _review_done(inc: Incident, policy: Policy, ctx: Context) -> Fact:
    if inc.review_done_at is not None:
        return StepState.DONE, f"done at {_at(inc.review_done_at)}"
    return _review_needed(inc, policy) or _OPEN


DESK_FACTS: dict[str, Callable[[Incident, Policy, Context], Fact]] = {
    "detected": _detected,
    "routed": _routed,
    "acknowledged": _acknowledged,
    "escalated": _escalated,
    "severity": _severity,
    "ticket": _ticket,
    "notified": _notified,
    "root_cause": _field("root_cause", "root cause"),
    "eta": _field("eta", "ETA"),
    "mitigated": _mitigated,
    "deployed": _deployed,
    "monitored": _monitored,
    "resolved": _resolved,
    "review_scheduled": _review_scheduled,
    "review_done": _review_done,
    "prevention": _field("prevention", "prevention"),
    "contributing_factors": _field("contributing_factors", "contributing factors"),
    "timeline": _timeline,
    "action_items": _action_items,
}
assert set(DESK_FACTS) == set(DESK_KEYS), "runbooks.DESK_KEYS and DESK_FACTS must name the same facts"


# Steps done by a desk action other than a deadline's deed (each deadline kind names its own step
# and how it is done, in `deadlines.DEADLINE_KINDS`), and the key that does each.
_ACTIONS = {
    "mitigated": "move the incident forward with f",
    "resolved": "resolve it with x",
    "review_scheduled": "schedule it on the review screen (R)",
}


def done_by_action(step: str) -> str | None:
    """How a step that is an action of its own on the desk is done ("press a to acknowledge"), or
    None for a step a person may tick by hand."""
    if not step:
        return None
    for kind in deadlines.DEADLINE_KINDS:
        if kind.step == step:
            return kind.how
    return _ACTIONS.get(step)


@dataclass(frozen=True, slots=True)
class Item:
    step: Step
    state: StepState
    why: str = ""  # "by alice at 03:02", "missing impact, channel", "not needed for P3"
    by_desk: bool = False  # the desk ticks (or would tick) it: there is no need to tick it by hand

    @property
    def done(self) -> bool:
        return self.state.done


@dataclass(frozen=True, slots=True)
class Phase:
    title: str
    number: int  # 1…5 for the process's phases, 0 for a part that applies only sometimes
    intro: str
    items: tuple[Item, ...]
    current: bool
    applies: bool = True
    why: str = ""  # why it does not apply

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.done)

    @property
    def needed(self) -> int:
        return sum(1 for i in self.items if i.state is not StepState.NOT_NEEDED)


@dataclass(frozen=True, slots=True)
class Checklist:
    runbook: Runbook
    phases: tuple[Phase, ...]

    @property
    def current(self) -> Phase | None:
        return next((p for p in self.phases if p.current and p.number), None)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for p in self.phases for i in p.items)

    @property
    def done(self) -> int:
        return sum(p.done for p in self.phases)

    @property
    def needed(self) -> int:
        return sum(p.needed for p in self.phases)


def current_phase(incident: Incident) -> int | None:
    """Which of the five phases (0-based) the incident is in; None once it is closed."""
    status = incident.status
    if status is Status.TRIGGERED or (status is Status.ACKNOWLEDGED and incident.severity is None):
        return 0  # detection ends when someone has acknowledged it and set its severity
    return {
        Status.ACKNOWLEDGED: 1,
        Status.INVESTIGATING: 2,
        Status.MITIGATED: 3,
        Status.RESOLVED: 4,
    }.get(status)


def build_checklist(
    process: Runbook,
    incident: Incident,
    policy: Policy,
    checked: Collection[int],
    context: Context | None = None,
) -> Checklist:
    """The checklist for `incident`; `checked` holds the step numbers ticked by hand."""
    ctx = context or Context()
    phase_index = current_phase(incident)
    phases: list[Phase] = []
    main = [s for s in process.sections if not s.applies]
    if phase_index is not None and main:
        phase_index = min(phase_index, len(main) - 1)
    for section in process.sections:
        skip = _review_needed(incident, policy) if section.applies == "review" else None
        items = []
        for step in section.steps:
            fact = DESK_FACTS.get(step.desk)
            state, why = fact(incident, policy, ctx) if fact else _OPEN
            if skip is not None:
                state, why = skip
            if not state.done and step.number in checked:
                state, why = StepState.CHECKED, ""
            items.append(Item(step, state, why, by_desk=fact is not None and state is StepState.DONE))
        if section.applies:
            number = 0
            current = phase_index is not None and phase_index == len(main) - 1 and skip is None
        else:
            number = main.index(section) + 1
            current = phase_index == number - 1
        phases.append(
            Phase(section.title, number, section.intro, tuple(items), current, skip is None, skip[1] if skip else "")
        )
    return Checklist(process, tuple(phases))
