"""Which status moves the runbook allows, and what each one needs first."""

from __future__ import annotations

from .errors import DeskError
from .model import Incident, Status
from .policy import Policy


class ActionRefused(DeskError):
    """An action the process does not allow now; the message tells the engineer what to do."""


ALLOWED: dict[Status, tuple[Status, ...]] = {
    Status.TRIGGERED: (Status.ACKNOWLEDGED,),
    Status.ACKNOWLEDGED: (Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED),
    Status.INVESTIGATING: (Status.MITIGATED, Status.RESOLVED),
    # Back to investigating when the problem recurs while being monitored, or after resolution.
    Status.MITIGATED: (Status.RESOLVED, Status.INVESTIGATING),
    Status.RESOLVED: (Status.CLOSED, Status.INVESTIGATING),
    Status.CLOSED: (),
}

# The one-key "move forward" follows the runbook's phases in order.
FORWARD: dict[Status, Status] = {
    Status.TRIGGERED: Status.ACKNOWLEDGED,
    Status.ACKNOWLEDGED: Status.INVESTIGATING,
    Status.INVESTIGATING: Status.MITIGATED,
    Status.MITIGATED: Status.RESOLVED,
    Status.RESOLVED: Status.CLOSED,
}


def next_status(status: Status) -> Status | None:
    return FORWARD.get(status)


def check_move(incident: Incident, target: Status, policy: Policy) -> None:
    """Raise ActionRefused with the reason when `incident` may not move to `target`."""
    current = incident.status
    if target == current:
        raise ActionRefused(f"{incident.id} is already {current.value}")
    if target not in ALLOWED[current]:
        if current is Status.CLOSED:
            raise ActionRefused(f"{incident.id} is closed; declare a new incident if it happens again")
        if current is Status.TRIGGERED:
            raise ActionRefused(f"{incident.id} must be acknowledged first")
        allowed = ", ".join(s.value for s in ALLOWED[current])
        raise ActionRefused(f"{incident.id} cannot go from {current.value} to {target.value} (from here: {allowed})")
    if target is Status.RESOLVED:
        missing = [
            name
            for name, value in (
                ("severity", incident.severity),
                ("root cause", incident.root_cause.strip()),
                ("resolution", incident.resolution.strip()),
            )
            if not value
        ]
        if missing:
            raise ActionRefused(f"resolving {incident.id} needs a {' and a '.join(missing)} first")
    if target is Status.CLOSED:
        sev = incident.severity
        reviewed = incident.review_done_at is not None or incident.review_waived
        if sev is not None and sev in policy.review_severities and not reviewed:
            raise ActionRefused(
                f"{incident.id} is {sev.value}: complete its post-incident review (or record a waiver) before closing"
            )
