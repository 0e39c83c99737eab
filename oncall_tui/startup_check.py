"""The check a desk runs as it opens: only what is new since the last one, off the event loop.

Walking every hash chain of two years of history (a million events) takes seconds; doing it before
the board answers froze the desk. The startup check remembers, per incident, the newest event it
found intact (`verified_heads`) and the sequence number it checked up to; the next start walks
only the events after it, from each incident's remembered head, and compares every incident's
head with what was verified. A full `oncall-tui verify` still walks everything.

What it cannot see, by design: an event edited *before* the remembered point — and the verified
heads themselves edited to match. `verify` (run it from cron, or before an audit) finds both.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from .model import format_id
from .store import Record, StoreError, event_hash
from .verify import Break, StoredEvent, check_chain

SLICE_SECONDS = 0.004  # of hashing, then as long with the GIL free: the board keeps its frames


@dataclass(frozen=True, slots=True)
class StartupCheck:
    problem: str | None  # one line for the banner, or None when the record holds
    incidents: int  # incidents on the desk
    events: int  # events walked this time


def _sliced(should_stop: Callable[[], bool]) -> Callable[[], bool]:
    """A breather for the caller's loop: every few milliseconds of work, as long asleep (a thread
    that keeps the GIL makes the event loop wait at every frame). True when asked to stop."""
    started = [time.perf_counter()]

    def breathe() -> bool:
        if time.perf_counter() - started[0] > SLICE_SECONDS:
            time.sleep(SLICE_SECONDS)
            started[0] = time.perf_counter()
            return should_stop()
        return False

    return breathe


def _walk_from(incident: int, start: str, events: list[StoredEvent]) -> Break | None:
    """The first event after a verified head that does not hold (`start`: that head's hash)."""
    prev = start
    for e in events:
        if e.prev_hash != prev:
            return Break(incident, "removed", e.seq, None, detail="it no longer links to the event before it")
        if event_hash(e.prev_hash, e.incident, e.at, e.actor, e.kind, e.details) != e.hash:
            return Break(incident, "edited", e.seq, None)
        prev = e.hash
    return None


def check_since_last(
    store: Record,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    remember: bool = True,
) -> StartupCheck | None:
    """Check the file (`quick_check`) and the events added since the last startup check; remember
    what held (unless the store is read-only, or `remember` is off). None when stopped midway.

    `progress(done, total)` is called now and then with events walked of those to walk.
    """
    file = store.file_check("quick_check")
    if file != ("ok",):
        return StartupCheck(f"the database file is damaged: {file[0]}", 0, 0)
    store.note_sound()
    breathe = _sliced(should_stop)
    with store.snapshot():
        after = store.verified_through()
        top, touched = store.changes_since(after)
        total = top - after  # sequence numbers are never reused or skipped: one per event
        starts = store.verified_heads(sorted(touched)) if after else {}
        walked = 0
        breaks: list[Break] = []
        heads: dict[int, tuple[int, str]] = {}
        for incident, rows in groupby(store.stream_events(after=after), key=itemgetter(1)):
            events = [StoredEvent(*r) for r in rows]
            if after and incident in starts:
                found = _walk_from(incident, starts[incident], events)
            else:  # a new incident, or the first check of this file: from its first event
                found = check_chain(incident, events[-1].hash, events, set()).broken
            if found is not None:
                breaks.append(found)
            else:
                heads[incident] = (events[-1].seq, events[-1].hash)
            walked += len(events)
            if breathe():
                return None
            if progress is not None and walked % 20_000 < len(events):
                progress(walked, total)
        incidents = 0
        broken = {b.incident for b in breaks}
        for number, head, verified in store.stream_heads():
            incidents += 1
            if number in broken:
                continue
            expected = heads[number][1] if number in heads else verified
            if expected is None:
                breaks.append(Break(number, "removed", None, None, detail="its whole timeline is gone"))
            elif head != expected:
                breaks.append(Break(number, "newest_removed", None, None, detail=_head_moved(number)))
    if walked != total and not breaks:
        breaks.append(Break(0, "removed", None, None, detail=f"{total - walked:,} event(s) are missing from the file"))
    if breaks:
        return StartupCheck(_summary(breaks, incidents), incidents, walked)
    if remember and not store.readonly and walked:
        # Another desk holding the lock, or a full disk: nothing is lost, the next start checks these too.
        with contextlib.suppress(StoreError), store.write():
            store.remember_verified([(n, seq, h) for n, (seq, h) in heads.items()], top)
    return StartupCheck(None, incidents, walked)


def _head_moved(number: int) -> str:
    return f"its newest events are not the ones last verified (run verify on {format_id(number)})"


def _summary(breaks: Iterable[Break], incidents: int) -> str:
    """The banner's line, as `verify`'s summary says it."""
    found = sorted(breaks, key=lambda b: b.incident)
    first = found[0].describe() if found[0].incident else found[0].detail
    more = f" (and {len(found) - 1:,} more)" if len(found) > 1 else ""
    return f"{len(found):,} of {incidents:,} incident chains are broken — {first}{more}"
