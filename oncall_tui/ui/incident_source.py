"""Reading the incidents for the board without re-reading what has not changed.

Every action bumps an incident's `version` (and appends to its chain, moving `head_hash`), so one
narrow query says which incidents changed since the last read; only those rows are fetched and
decoded again. A reload after another desk's single acknowledgement then costs two small queries
instead of decoding every open incident.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..desk import Desk
from ..model import Incident, IncidentKeys

_CHUNK = 500  # SQLite's default limit on bound parameters is far above this


class IncidentSource:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._known: dict[int, Incident] = {}

    def read_some(self, numbers: Iterable[int]) -> list[Incident]:
        """Re-read the incidents named (whatever their status), keeping the rest as known."""
        incidents = self.desk.store.incidents_numbered(list(numbers))
        self._known.update((incident.number, incident) for incident in incidents)
        return incidents

    def remember(self, incidents: Iterable[Incident]) -> None:
        """These incidents are as the record holds them (this desk just wrote them)."""
        self._known.update((incident.number, incident) for incident in incidents)

    def read_keys(self, *, include_closed: bool) -> list[IncidentKeys]:
        """What the board sorts and counts every incident by, for its first frame: the incidents
        are read whole later (`read_some`), and a `read` meanwhile reads whole all it has not."""
        return self.desk.store.incident_keys(include_closed=include_closed)

    def read(self, *, include_closed: bool) -> list[Incident]:
        if not self._known:  # the first read (the board's first frame waits for it): one query
            incidents = self.desk.store.incidents(include_closed=include_closed)
            self._known = {incident.number: incident for incident in incidents}
            return incidents
        marks = self.desk.store.incident_marks(include_closed=include_closed)
        stale = [
            number
            for number, version, head in marks
            if (known := self._known.get(number)) is None or known.version != version or known.head_hash != (head or "")
        ]
        for start in range(0, len(stale), _CHUNK):
            chunk = stale[start : start + _CHUNK]
            for incident in self.desk.store.incidents_numbered(chunk):
                self._known[incident.number] = incident
        wanted = {number for number, _, _ in marks}
        if len(self._known) != len(wanted):
            self._known = {n: inc for n, inc in self._known.items() if n in wanted}
        return [self._known[number] for number, _, _ in marks if number in self._known]
