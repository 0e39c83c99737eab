"""'Has this fired before?': an alert-born incident's predecessors in the desk's own record.

Offline by design: at 3 a.m. the record on this disk says how the last three of these were fixed,
whatever the wiki or the network is doing. Same alert (fingerprint, or the group key) ranks above
the same alert name with other labels; among those, more labels in common ranks higher. Pure apart
from the one read through the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .model import Incident

if TYPE_CHECKING:
    from .store import Record

SHOWN = 3  # the detail pane names this many; the count covers all
# The newest this many are read and ranked; beyond them only counted. An alert storm leaves
# thousands of namesakes, and reading them all cost 600 ms at every move of the board's cursor.
RANKED = 200


@dataclass(frozen=True, slots=True)
class Past:
    """An earlier incident from the same alert, and how alike the two are."""

    incident: Incident
    same_alert: bool  # the same fingerprint / group, not just the same alert name
    shared_labels: int

    @property
    def when(self) -> datetime:
        return self.incident.started_at


@dataclass(frozen=True, slots=True)
class FiredBefore:
    """The earlier incidents an incident's alert raised, most alike first."""

    alertname: str
    past: tuple[Past, ...]  # most alike first, then newest first (the RANKED newest)
    total: int | None = None  # how many there are, when more than were read
    same_total: int | None = None

    @property
    def count(self) -> int:
        return self.total if self.total is not None else len(self.past)

    @property
    def same_alert_count(self) -> int:
        return self.same_total if self.same_total is not None else sum(1 for p in self.past if p.same_alert)

    @property
    def last(self) -> Past | None:
        return max(self.past, key=lambda p: p.when) if self.past else None

    def fixes(self) -> list[Past]:
        """The ones that say how they were fixed, most alike first: what the engineer reads."""
        return [p for p in self.past if p.incident.root_cause or p.incident.resolution][:SHOWN]


def fired_before(store: Record, incident: Incident) -> FiredBefore | None:
    """None for a manual incident; otherwise the earlier ones (possibly none)."""
    if incident.source != "alert":
        return None
    alertname = store.alertname_of(incident.number)
    found = store.earlier_alert_incidents(incident.number, incident.fingerprint, alertname, limit=RANKED)
    if len(found) < RANKED:
        return FiredBefore(alertname, rank(incident, found))
    total, same = store.earlier_alert_count(incident.number, incident.fingerprint, alertname)
    return FiredBefore(alertname, rank(incident, found), total, same)


def rank(incident: Incident, earlier: list[Incident]) -> tuple[Past, ...]:
    mine = set(incident.labels.items())
    past = [
        Past(p, bool(incident.fingerprint) and p.fingerprint == incident.fingerprint, len(mine & set(p.labels.items())))
        for p in earlier
    ]
    past.sort(key=lambda p: (not p.same_alert, -p.shared_labels, -p.when.timestamp()))
    return tuple(past)
