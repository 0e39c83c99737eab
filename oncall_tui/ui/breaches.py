"""Noticing missed deadlines once: which breaches are new, and writing them to the timeline.

A breach is identified by (incident, deadline key, due time), the same identity `Desk.record_breach`
uses to write it once however many desks notice; a due time that moves (a promised update) is a new
clock that can be missed again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..clock import iso
from ..desk import Desk
from ..model import format_id
from .board_model import BoardRow


@dataclass(frozen=True, slots=True)
class Breach:
    number: int
    key: str
    label: str
    due_at: datetime

    @property
    def incident_id(self) -> str:
        return format_id(self.number)


class BreachWatcher:
    def __init__(self) -> None:
        self._seen: set[tuple[int, str, datetime]] = set()

    def observe(self, rows: Iterable[BoardRow]) -> list[Breach]:
        """The breaches among `rows` not seen before (rows whose deadlines were just computed)."""
        new: list[Breach] = []
        for row in rows:
            for d in row.running_breaches():
                if d.due_at is None:  # a breached clock always has one
                    continue
                identity = (row.incident.number, d.key, d.due_at)
                if identity in self._seen:
                    continue
                self._seen.add(identity)
                new.append(Breach(row.incident.number, d.key, d.label, d.due_at))
        return new


def record_all(desk: Desk, breaches: list[Breach]) -> int:
    """Write each breach to its incident's timeline unless it is there already; returns how many
    were new. Meant for a worker thread with its own `Desk`: a first look at a busy file can mean
    hundreds of small transactions, and every later start one query."""
    with desk.store.reading() as conn:
        rows = conn.execute(
            "SELECT incident, json_extract(details, '$.deadline'), json_extract(details, '$.due_at') "
            "FROM events WHERE kind = 'deadline_breached'"
        ).fetchall()
    recorded = {(number, key, due) for number, key, due in rows}
    written = 0
    for b in breaches:
        if (b.number, b.key, iso(b.due_at)) in recorded:
            continue
        if desk.record_breach(b.number, b.key, b.label, b.due_at):
            written += 1
    return written
