"""Noticing missed deadlines once (the board and the agent alike): which breaches are new, and writing them to the timeline.

A breach is identified by (incident, deadline key, due time), the same identity `Desk.record_breach`
uses to write it once however many desks notice; a due time that moves (a promised update) is a new
clock that can be missed again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .clock import iso
from .deadlines import Deadline, Deadlines, State
from .desk import Desk
from .model import Incident, format_id


class Watched(Protocol):
    """An incident with its clocks just computed: a board row, or the agent's `Clocks`."""

    @property
    def incident(self) -> Incident: ...

    def running_breaches(self) -> list[Deadline]: ...


@dataclass(frozen=True, slots=True)
class Clocks:
    """An incident and its deadlines, for a watcher without a board (the agent)."""

    incident: Incident
    deadlines: Deadlines

    def running_breaches(self) -> list[Deadline]:
        if not self.incident.is_open:
            return []
        return [d for d in self.deadlines.items if d.state is State.BREACHED and d.running]


@dataclass(frozen=True, slots=True)
class Breach:
    number: int
    key: str
    label: str
    due_at: datetime

    @property
    def incident_id(self) -> str:
        return format_id(self.number)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KEY_BITS = 9  # a policy has a dozen deadline keys; past 512 an identity is a (key, due) tuple


class BreachWatcher:
    """Remembers every breach it has reported, so a row computed again does not report it twice.

    A desk of 10k open incidents remembers ~30k of them. They are kept per incident (its number,
    the same integer its incident holds, is the key): the deadline's key by a small number and the
    due time in microseconds in one integer of 60 bits (two of Python's digits, not three), one
    integer alone when the incident has one breach, a tuple of them otherwise — 1.9 MB at 10k,
    where one set of (incident, key, due) integers took 3.4 MB (its table alone 2 MB).
    """

    def __init__(self) -> None:
        self._seen: dict[int, int | tuple[int | tuple[str, int], ...]] = {}  # incident → its breaches
        self._keys: dict[str, int] = {}  # deadline key → its small number in the identities

    def _identity(self, key: str, due_at: datetime) -> int | tuple[str, int]:
        """(key, due time) as one integer; two breaches of one incident never share one."""
        key_id = self._keys.setdefault(key, len(self._keys))
        due = (due_at - _EPOCH) // _MICROSECOND
        if key_id >> _KEY_BITS:  # never an integer: it cannot equal another key's
            return (key, due)
        return due << _KEY_BITS | key_id

    def _seen_before(self, number: int, identity: int | tuple[str, int]) -> bool:
        """Whether this breach of the incident was seen before; remembered if not."""
        found = self._seen.get(number)
        if found is None:
            self._seen[number] = identity if isinstance(identity, int) else (identity,)
        elif isinstance(found, int):
            if found == identity:
                return True
            self._seen[number] = (found, identity)
        elif identity in found:
            return True
        else:
            self._seen[number] = (*found, identity)
        return False

    def observe(self, rows: Iterable[Watched]) -> list[Breach]:
        """The breaches among `rows` not seen before (rows whose deadlines were just computed)."""
        new: list[Breach] = []
        for row in rows:
            for d in row.running_breaches():
                if d.due_at is None:  # a breached clock always has a due time; the type cannot say so
                    continue
                number = row.incident.number
                if self._seen_before(number, self._identity(d.key, d.due_at)):
                    continue
                new.append(Breach(number, d.key, d.label, d.due_at))
        return new


@dataclass(frozen=True, slots=True)
class Written:
    """One transaction of breaches a desk wrote. Writes hold the record's one lock, so the
    timeline's events after `after` up to `through` are all its own; `incidents` are those it wrote
    to, as they stood at its commit. A board that has read the record up to `after` can take
    them as read (nobody else wrote in between) instead of reading them again."""

    after: int
    through: int
    incidents: tuple[Incident, ...]


def record_all(
    desk: Desk,
    breaches: list[Breach],
    *,
    breathe: Callable[[], object] | None = None,
    landed: Callable[[Written], None] | None = None,
) -> int:
    """Write each breach to its incident's timeline unless it is there already; returns how many
    were new. Meant for a worker thread with its own `Desk`: a first look at a busy file can mean
    hundreds of small transactions, and every later start one query (of these incidents' breaches
    only: a history of them is not read again for each batch). `landed` hears of each committed
    transaction that wrote something (see `Written`)."""
    recorded = desk.store.recorded_breaches([b.number for b in breaches])
    fresh = [b for b in breaches if (b.number, b.key, iso(b.due_at)) not in recorded]
    written = 0
    # An alert storm of hour-old alerts breaches thousands of clocks at once: a few hundred per
    # transaction, not one fsync each.
    for at in range(0, len(fresh), 200):
        done: Written | None = None
        with desk.store.batch():
            after = desk.store.changes_since(sys.maxsize)[0]  # the newest event, as the lock was taken
            for b in fresh[at : at + 200]:
                if desk.record_breach(b.number, b.key, b.label, b.due_at):
                    written += 1
                if breathe is not None:  # a worker sharing the GIL with a screen lets it paint
                    breathe()
            if landed is not None:
                through, numbers = desk.store.changes_since(after)
                if numbers:
                    done = Written(after, through, tuple(desk.store.incidents_numbered(sorted(numbers))))
        if done is not None and landed is not None:  # committed
            landed(done)
    return written
