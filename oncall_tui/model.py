"""The incident and its timeline: plain frozen data, no I/O, no UI."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .errors import InputError


class Severity(str, enum.Enum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @classmethod
    def parse(cls, text: str) -> Severity:
        """'P1', 'p1', '1', 'sev1', or the runbook's name for it ('high'); a policy may add its own names."""
        raw = text.strip().upper()
        raw = _SEVERITY_NAMES.get(raw, raw)
        if raw.startswith("SEV"):
            raw = "P" + raw[3:].lstrip(" -")
        elif raw.isdigit():
            raw = "P" + raw
        try:
            return cls(raw)
        except ValueError:
            raise InputError(
                f"unknown severity {text!r}: use P0 (critical), P1 (high), P2 (medium) or P3 (low)"
            ) from None

    @property
    def major(self) -> bool:
        """P0 and P1 are the severities the runbook notifies stakeholders and reviews for."""
        return self in (Severity.P0, Severity.P1)


_SEVERITY_NAMES = {"CRITICAL": "P0", "HIGH": "P1", "MEDIUM": "P2", "LOW": "P3"}
# A severity's gravity as a number, 0 gravest: what every "most urgent first" order sorts by.
SEVERITY_RANK = {s: int(s.value[1]) for s in Severity}


class Status(str, enum.Enum):
    """The runbook's phases as states of one incident."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    MITIGATED = "mitigated"  # fix deployed, monitoring for recurrence
    RESOLVED = "resolved"
    CLOSED = "closed"  # follow-up done

    @classmethod
    def parse(cls, text: str) -> Status:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise InputError(f"unknown status {text!r}: use one of {names}") from None

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


# Fields a person may edit directly; everything else moves only through an action.
EDITABLE_FIELDS: tuple[str, ...] = (
    "title",
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
    "tenants",
)
# Times that can be corrected after the fact, each with its own timeline event (`Desk.correct_start`).
EDITABLE_TIMES: tuple[str, ...] = ("started_at",)


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident as recorded: its fields and the instants its milestones were reached."""

    number: int
    title: str
    status: Status
    started_at: datetime
    declared_at: datetime
    severity: Severity | None = None
    services: tuple[str, ...] = ()
    impact: str = ""
    channel: str = ""
    assignee: str = ""
    symptom: str = ""  # the runbook id that applies, "" when not chosen yet
    eta: str = ""
    root_cause: str = ""
    resolution: str = ""
    prevention: str = ""
    contributing_factors: str = ""
    source: str = "manual"  # "manual" or "alert"
    fingerprint: str = ""  # Alertmanager fingerprint when source == "alert"
    labels: dict[str, str] = field(default_factory=dict)
    # Tenants affected: the names known, and a count when more are affected than are named
    # ("about 40 tenants"); 0 when nobody has said. The runbook tells P0 from P1 by it.
    tenants: tuple[str, ...] = ()
    tenant_count: int = 0
    roles: dict[str, str] = field(default_factory=dict)  # role id (policy [[role]]) → who holds it
    # Milestones: a projection of the timeline, written in the same transaction as the event that
    # sets them, so the board can compute every deadline without reading the whole timeline.
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    severity_at: datetime | None = None
    notified_at: datetime | None = None
    last_update_at: datetime | None = None
    next_update_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    review_scheduled_for: datetime | None = None
    review_done_at: datetime | None = None
    review_waived: str = ""
    # "", "firing", "resolved" (alert gone: engineer to confirm), "maintenance" (arrived silenced or
    # inhibited: recorded, clocks off, until the alert goes live)
    alert_state: str = ""
    silence_id: str = ""
    live_at: datetime | None = None  # a maintenance-born incident went live: its clocks count from here
    version: int = 1
    head_hash: str = ""

    @property
    def id(self) -> str:
        return format_id(self.number)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def tenants_affected(self) -> int:
        """How many tenants are affected as far as anyone has said: 0 when unknown."""
        return max(self.tenant_count, len(self.tenants))

    def replace(self, **changes: Any) -> Incident:
        return dataclasses.replace(self, **changes)


class IncidentKeys(NamedTuple):
    """Of an incident, only what the board sorts and counts it by: its number and version, and the
    milestones its deadlines are computed from (`deadlines.Milestones`). The board's first frame at
    10k reads these instead of 10k `Incident`s of forty fields (a third of the columns to fetch, a
    tuple built many times faster) and reads the incidents whole once it is up."""

    number: int
    version: int
    status: Status
    severity: Severity | None
    started_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    severity_at: datetime | None
    notified_at: datetime | None
    last_update_at: datetime | None
    next_update_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    review_done_at: datetime | None
    review_waived: str
    alert_state: str
    live_at: datetime | None

    @property
    def id(self) -> str:
        return format_id(self.number)

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the append-only timeline."""

    seq: int
    incident: int
    at: datetime
    actor: str
    kind: str
    details: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""

    @property
    def incident_id(self) -> str:
        return format_id(self.incident)


MAX_NUMBER = 2**63 - 1  # SQLite's largest integer


def format_id(number: int) -> str:
    return f"INC-{number}"


def parse_id(text: str) -> int:
    """'INC-12', 'inc-12' or '12' → 12."""
    raw = text.strip().upper()
    if raw.startswith("INC-"):
        raw = raw[4:]
    if not raw.isdigit() or int(raw) < 1:
        raise InputError(f"not an incident id: {text!r} (expected INC-<number>)")
    if int(raw) > MAX_NUMBER:  # past what the record can hold: no incident has it, and SQLite cannot look
        raise InputError(f"no incident {text.strip()}: incident numbers go up to {MAX_NUMBER}")
    return int(raw)
