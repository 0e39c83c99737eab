"""The check a desk runs as it opens: only what is new since the last one, off the event loop.

Walking every hash chain of two years of history (a million events) takes seconds; doing it before
the board answers froze the desk. The startup check remembers, per incident, the newest event it
found intact (`verified_heads`) and the sequence number it checked up to; the next start walks
only the events after it, from each incident's remembered head, and has the database name the
incidents whose head is not the one verified. A full `oncall-tui verify` still walks everything.

What it cannot see, by design: an event edited *before* the remembered point — and the verified
heads themselves edited to match. `verify` (run it from cron, or before an audit) finds both.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

from .foreground import breather
from .model import format_id
from .store import Record, StoreError, chain_end, event_hash
from .verify import Break, StoredEvent, check_chain

# Polite while it walks: this long holding the GIL, then twice as long asleep (a thread that keeps
# the GIL makes the event loop wait at every frame). The first check of a desk with two years of
# history (a million events, some 4 s of CPU) so takes a third of a core for a dozen seconds; every
# start after it walks the few events written since.
SLICE_SECONDS = 0.003
REST_SECONDS = 0.006
BATCH = 500  # rows one fetch decodes holding the GIL: about a millisecond of them
PROGRESS_EVERY = 20_000  # events between two updates of the status line
SAVE_EVERY = 2_000  # incidents between two saves of a long walk's progress


@dataclass(frozen=True, slots=True)
class StartupCheck:
    problem: str | None  # one line for the banner, or None when the record holds
    incidents: int  # incidents on the desk
    events: int  # events walked this time


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


def _explain(incident: int, start: str | None, rows: list[tuple[Any, ...]]) -> Break | None:
    """How a timeline the fast walk found broken does not hold, in `verify`'s words (`start`: the
    verified head it was walked from, None for the whole timeline)."""
    events = [StoredEvent(*r) for r in rows]
    if start is not None:
        return _walk_from(incident, start, events)
    return check_chain(incident, events[-1].hash, events, set()).broken


def check_since_last(
    store: Record,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    remember: bool = True,
    polite: bool = True,
    sound: Callable[[], None] = lambda: None,
) -> StartupCheck | None:
    """Check the file (`quick_check`) and the events added since the last startup check; remember
    what held (unless the store is read-only, or `remember` is off). None when stopped midway.

    A long walk (the first on a desk with history) saves what held as it goes, so a desk closed
    before its end resumes there the next time. `progress(done, total)` is called now and then
    with events walked of those to walk. `polite`: rest between slices of work, for a desk whose
    event loop shares the process (off where nothing else runs). `sound()` is called as soon as
    the file has passed its check (the desk's own connection then need not run it before its first
    write: on a desk with history that is most of a second of the engine reading the whole file).
    """
    file = store.file_check("quick_check")
    if file != ("ok",):
        return StartupCheck(f"the database file is damaged: {file[0]}", 0, 0)
    store.note_sound()
    sound()
    # Polite: a slice of work, a rest, and no work at all while the screen answers a key.
    breathe = breather(SLICE_SECONDS, rest_seconds=REST_SECONDS, should_stop=should_stop) if polite else should_stop
    saving = remember and not store.readonly
    writer: Record | None = None
    try:
        with store.snapshot():
            after = store.verified_through()
            resumed = store.walk_in_progress()
            # Where the verified heads stand: the last check's end, or where a first walk stopped.
            since = after or (resumed[0] if resumed else 0)
            top, touched = store.changes_since(since if since else sys.maxsize)  # (on a first walk: none)
            starts = store.verified_heads(sorted(touched)) if since else {}
            events: Iterator[tuple[Any, ...]]
            if resumed:  # the incidents it got through, after where it stood; the rest from the beginning
                through, upto, walked = resumed
                events = chain(
                    store.stream_events(after=through, to_incident=upto, batch=BATCH),
                    store.stream_events(after=after, from_incident=upto + 1, batch=BATCH),
                )
            else:
                walked, events = 0, store.stream_events(after=after, batch=BATCH)
            total = top - after  # sequence numbers are never reused or skipped: one per event
            breaks: list[Break] = []
            kept: list[tuple[int, int, str]] = []  # (incident, seq, hash) of heads that held, unsaved
            # The head of each incident walked, and of any whose head moved without a new event.
            heads = store.stream_heads(unverified_only=True, batch=BATCH)
            head = next(heads, None)
            for incident, group in groupby(events, key=itemgetter(1)):
                while head is not None and head[0] < incident:
                    breaks.extend(_unwalked(*head))
                    head = next(heads, None)
                rows = list(group)
                start = starts.get(incident)  # None: a new incident, or the first check of this file
                if chain_end(rows, start or "") is None and (found := _explain(incident, start, rows)) is not None:
                    breaks.append(found)
                elif head is not None and head[0] == incident and head[1] != rows[-1][7]:
                    breaks.append(Break(incident, "newest_removed", None, None, detail=_head_moved(incident)))
                else:
                    kept.append((incident, rows[-1][0], rows[-1][7]))
                if head is not None and head[0] == incident:
                    head = next(heads, None)
                walked += len(rows)
                if saving and not breaks and len(kept) >= SAVE_EVERY:
                    writer = writer or _writer(store)
                    if _saved(writer, kept, top, incident, walked):
                        kept = []
                if breathe():
                    return None
                if progress is not None and walked % PROGRESS_EVERY < len(rows):
                    progress(walked, total)
            while head is not None:
                breaks.extend(_unwalked(*head))
                head = next(heads, None)
            incidents = store.incident_count()
    finally:
        if writer is not None:
            writer.close()
    if walked != total and not breaks:
        breaks.append(Break(0, "removed", None, None, detail=f"{total - walked:,} event(s) are missing from the file"))
    if breaks:
        return StartupCheck(_summary(breaks, incidents), incidents, walked)
    if saving and (walked or resumed):
        # Another desk holding the lock, or a full disk: nothing is lost, the next start checks these too.
        with contextlib.suppress(StoreError), store.write():
            store.remember_verified(kept, top)
    return StartupCheck(None, incidents, walked - (resumed[2] if resumed else 0))


def _unwalked(number: int, head: str, verified: str | None) -> list[Break]:
    """An incident with nothing new whose head is not the one verified: its newest events removed."""
    if verified is None:
        return [Break(number, "removed", None, None, detail="its whole timeline is gone")]
    if head != verified:
        return [Break(number, "newest_removed", None, None, detail=_head_moved(number))]
    return []


def _writer(store: Record) -> Record:
    """A connection of its own to save a walk's progress on, while the walk's snapshot stays open."""
    writer = store.reopen()
    writer.note_sound()
    return writer


def _saved(writer: Record, heads: list[tuple[int, int, str]], through: int, incident: int, events: int) -> bool:
    """Save a walk's progress; False when it cannot be now (another desk writing: next time)."""
    try:
        with writer.write():
            writer.remember_walk(heads, through, incident, events)
    except StoreError:
        return False
    return True


def _head_moved(number: int) -> str:
    return f"its newest events are not the ones last verified (run verify on {format_id(number)})"


def _summary(breaks: Iterable[Break], incidents: int) -> str:
    """The banner's line, as `verify`'s summary says it."""
    found = sorted(breaks, key=lambda b: b.incident)
    first = found[0].describe() if found[0].incident else found[0].detail
    more = f" (and {len(found) - 1:,} more)" if len(found) > 1 else ""
    return f"{len(found):,} of {incidents:,} incident chains are broken — {first}{more}"
