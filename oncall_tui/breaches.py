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
from .model import Incident, IncidentKeys, format_id


class Watched(Protocol):
    """An incident with its clocks just computed: a board row, or the agent's `Clocks`."""

    @property
    def incident(self) -> Incident | IncidentKeys: ...

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
    """One deadline of one incident that passed its due time undone."""

    number: int
    key: str
    label: str
    due_at: datetime

    @property
    def incident_id(self) -> str:
        return format_id(self.number)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KEY_BITS = 8  # a policy has a dozen deadline keys; past 256 an identity is a (key, due) tuple
_WORD_BITS = 60  # an identity in two of Python's 30-bit digits (due times up to the year 2112)
_WORD = (1 << _WORD_BITS) - 1


class BreachWatcher:
    """Remembers every breach it has reported, so a row computed again does not report it twice.

    A desk of 10k open incidents remembers ~30k of them. They are kept per incident (its number,
    the same integer its incident holds, is the key), each as the due time in microseconds and the
    deadline's key by a small number in one integer, and all of an incident's in one integer too, a
    60-bit word each (the identity plus one: a word is never 0) — 0.8 MB at 10k, where a set of
    (incident, key, due) integers took 3.4 MB (its table alone 2 MB). An identity that does not fit
    a word (a due time before 1970, a key numbered past 256) makes its incident's a tuple instead.
    """

    def __init__(self) -> None:
        # incident → its breaches: words packed in one integer, or a tuple of identities
        self._seen: dict[int, int | tuple[int | tuple[str, int], ...]] = {}
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
        word = identity + 1 if isinstance(identity, int) and 0 <= identity < _WORD else 0
        if found is None:
            self._seen[number] = word if word else (identity,)
            return False
        if isinstance(found, int):
            if word:
                rest = found
                while rest:
                    if rest & _WORD == word:
                        return True
                    rest >>= _WORD_BITS
                self._seen[number] = found << _WORD_BITS | word
                return False
            found = _unpacked(found)  # an identity that fits no word: the incident's become a tuple
        if identity in found:
            return True
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


def _unpacked(words: int) -> tuple[int, ...]:
    out = []
    while words:
        out.append((words & _WORD) - 1)
        words >>= _WORD_BITS
    return tuple(out)


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
