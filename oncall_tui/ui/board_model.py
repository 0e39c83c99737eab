"""What the board shows, computed without Textual: rows, their order, and when they next change.

Deadlines only change *state* at known instants (a due time passes, a clock enters its warning
span, an escalation tier is reached). Each row remembers the earliest such instant and the model
keeps them in a heap, so a tick between transitions costs one comparison, and a transition rebuilds
and re-places only the rows it concerns. Between transitions the countdown text is the only thing
that moves, and the board formats it for the rows on screen only.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import functools
import heapq
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..clock import format_duration
from ..deadlines import Deadline, Deadlines, Escalation, State, Urgency, compute, kind, next_due, urgency
from ..model import Incident, IncidentKeys
from ..policy import Policy
from .filtering import BoardFilter


@functools.cache  # a dozen keys, asked for every row a load builds
def short_label(key: str) -> str:
    """The deadline's name in the board's next-deadline cell: 'ack', 'notify'."""
    found = kind(key)
    return found.short if found is not None else key


_JUST_AFTER = timedelta(microseconds=1)


class Tone(str, enum.Enum):
    """How a countdown should look; the words carry the same meaning for monochrome terminals."""

    CALM = "calm"
    WARNING = "warning"
    BREACHED = "breached"
    DONE = "done"
    NONE = "none"


def warn_start(deadline: Deadline, fraction: float) -> datetime | None:
    """When a pending clock enters its warning span (mirrors `Deadline.is_warning`)."""
    if deadline.due_at is None:
        return None
    span = (deadline.due_at - deadline.span_start).total_seconds() if deadline.span_start else 0.0
    return deadline.due_at - timedelta(seconds=max(60.0, span * fraction))


def countdown(deadline: Deadline | None, now: datetime, fraction: float) -> tuple[str, Tone]:
    """The time part of a countdown at `now`: '4m05s left', '! 45s left', '!! 3m05s overdue'."""
    if deadline is None or deadline.due_at is None or deadline.state is State.NOT_APPLICABLE:
        return "—", Tone.NONE
    if deadline.done_at is not None:
        late = (deadline.done_at - deadline.due_at).total_seconds()
        if late > 0:
            return f"done {format_duration(late)} late", Tone.DONE
        return "done", Tone.DONE
    if deadline.stopped_at is not None:
        late = (deadline.stopped_at - deadline.due_at).total_seconds()
        return f"never done ({format_duration(late)} late at resolution)", Tone.DONE
    left = (deadline.due_at - now).total_seconds()
    if left < 0:  # the due instant itself is still on time
        return f"!! {format_duration(-left)} overdue", Tone.BREACHED
    start = warn_start(deadline, fraction)
    if start is not None and now >= start:
        return f"! {format_duration(left)} left", Tone.WARNING
    return f"{format_duration(left)} left", Tone.CALM


def next_due_text(deadline: Deadline | None, now: datetime, fraction: float) -> tuple[str, Tone]:
    """The board's "next deadline" cell: '!! ack 3m05s overdue', 'sev in 12m30s'."""
    if deadline is None or deadline.due_at is None:
        return "—", Tone.NONE
    start = warn_start(deadline, fraction)
    return _next_text(
        short_label(deadline.key),
        (deadline.due_at - now).total_seconds(),
        start is not None and now >= start,
    )


def _next_text(label: str, left: float, warning: bool) -> tuple[str, Tone]:
    if left < 0:  # the due instant itself is still on time
        return f"!! {label} {format_duration(-left)} overdue", Tone.BREACHED
    if warning:
        return f"! {label} in {format_duration(left)}", Tone.WARNING
    return f"{label} in {format_duration(left)}", Tone.CALM


def age_text(incident: Incident, now: datetime) -> str:
    return _age(((incident.closed_at or now) - incident.started_at).total_seconds())


def _next_step(seconds: float, *, up: bool) -> float:
    """Seconds until `format_duration`/`_age` of a value counting up (or down) shows a new text:
    they show seconds below an hour for countdowns, minutes below a day, hours beyond."""
    step = 1.0 if seconds < 3600 else 60.0 if seconds < 86400 else 3600.0
    if not up:  # the shown value is the whole part, so it changes as soon as it drops below it
        return max(seconds % step, 1e-6)
    return step - seconds % step


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}"
    return f"{int(seconds // 86400)}d{int(seconds % 86400 // 3600):02d}"


@dataclass(slots=True)
class BoardRow:
    """One incident on the board: what its line shows and sorts by, not all of its clocks.

    A board of 10k keeps 10k of these: the nine computed deadlines of each (90k tuples, 13 MB at
    10k) are not kept, only the one the line shows, the escalation, and the clocks that ran out
    (for the breach watcher). The detail pane computes the full set for the one incident it shows.

    A row loaded lazily (`BoardModel.load(…, lazy=True)`) knows only what it sorts and counts by, its
    next deadline: `escalation` is None, and it has no `breaches` or `changes_at`, until
    `BoardModel.complete` computes the rest. Its `incident` may then be only the incident's
    `IncidentKeys`, until `BoardModel.fill` reads it whole: what its line shows (`BoardModel.full`).
    """

    incident: Incident | IncidentKeys
    escalation: Escalation | None
    next_due: Deadline | None
    breaches: tuple[Deadline, ...]  # the clocks that ran out and still run: what to shout about
    changes_at: datetime | None  # the next instant any of its deadlines changes state or tone
    # The countdown as plain numbers, for the per-second text of every row on screen.
    label: str = ""
    due_ts: float | None = None
    warn_ts: float | None = None

    def dynamic_text(self, now_ts: float) -> tuple[tuple[str, Tone, str], float]:
        """((next deadline cell, its tone, age), until when that text stays the same) at `now_ts`.

        The text is `next_due_text`'s; "until" lets a tick skip rows whose text cannot have changed
        (an "!! ack 6h19m overdue" changes once a minute). Changes of tone are the model's
        transitions, which rebuild the row.
        """
        if (ended := self.ended_ts) is not None:  # a closed incident's age is how long it lasted, not a clock
            since = ended - self.started_ts
            age, until = _age(since), math.inf
        else:
            since = now_ts - self.started_ts
            age = _age(since)
            until = now_ts + _next_step(max(0.0, since), up=True)
        if self.due_ts is None:
            return ("—", Tone.NONE, age), until
        left = self.due_ts - now_ts
        warning = self.warn_ts is not None and now_ts >= self.warn_ts
        until = min(until, now_ts + _next_step(abs(left), up=left < 0))
        return (*_next_text(self.label, left, warning), age), until

    # Its age's ends, worked out for the rows on screen only: two floats kept per row are 0.4 MB at 10k.
    @property
    def started_ts(self) -> float:
        return self.incident.started_at.timestamp()

    @property
    def ended_ts(self) -> float | None:
        """When it was closed: its age stops there."""
        closed = self.incident.closed_at
        return None if closed is None else closed.timestamp()

    @property
    def breached(self) -> bool:
        return self.next_due is not None and self.next_due.state is State.BREACHED

    @property
    def sort_key(self) -> Urgency:
        """The board's order (`deadlines.urgency`). Worked out when asked (a sort, a bisection), not
        kept: a tuple and a float per row are 1.3 MB at 10k, and a bisection asks a dozen rows."""
        return urgency(self.incident, self.next_due, self.due_ts)

    @property
    def whole(self) -> Incident:
        """The incident of a row read whole: the wall reads incidents whole, and the board reads a
        row known by its keys alone when it is drawn or selected (`BoardModel.full`)."""
        incident = self.incident
        assert isinstance(incident, Incident), "a row known by its keys alone: BoardModel.full reads it"
        return incident

    def running_breaches(self) -> list[Deadline]:
        """Clocks that ran out and whose action is still not done (the ones to shout about)."""
        return list(self.breaches)


def build_row(incident: Incident | IncidentKeys, policy: Policy, now: datetime) -> BoardRow:
    deadlines = compute(incident, policy, now)
    nxt = deadlines.next_due
    row = BoardRow(
        incident,
        deadlines.escalation,
        nxt,
        _running_breaches(incident, deadlines),
        _changes_at(deadlines, policy, now),
    )
    _fill_countdown(row, nxt, policy)
    return row


def _running_breaches(incident: Incident | IncidentKeys, deadlines: Deadlines) -> tuple[Deadline, ...]:
    if not incident.is_open:
        return ()
    return tuple(d for d in deadlines.items if d.state is State.BREACHED and d.running)


def _fill_countdown(row: BoardRow, nxt: Deadline | None, policy: Policy) -> None:
    """The countdown's numbers (the sort key takes the due instant's timestamp from them)."""
    if nxt is not None and nxt.due_at is not None:
        row.label = short_label(nxt.key)
        row.due_ts = nxt.due_at.timestamp()
        start = warn_start(nxt, policy.warn_fraction)
        row.warn_ts = start.timestamp() if start is not None else None


def sortable_row(incident: Incident | IncidentKeys, policy: Policy, now: datetime) -> BoardRow:
    """`build_row` without the escalation ladder (see `BoardRow`): a quarter of the work."""
    nxt = next_due(incident, policy, now)
    row = BoardRow(incident, None, nxt, (), None)
    _fill_countdown(row, nxt, policy)
    return row


def _complete(row: BoardRow, policy: Policy, now: datetime) -> None:
    """Compute the rest of a `sortable_row` made at `now`, as `build_row` at `now` would have."""
    deadlines = compute(row.incident, policy, now)
    row.escalation = deadlines.escalation
    row.breaches = _running_breaches(row.incident, deadlines)
    row.changes_at = _changes_at(deadlines, policy, now)


def _changes_at(deadlines: Deadlines, policy: Policy, now: datetime) -> datetime | None:
    marks: list[datetime] = []
    for d in deadlines.items:
        if d.state is not State.PENDING or d.done_at is not None or d.due_at is None:
            continue
        marks.append(d.due_at + _JUST_AFTER)  # the due instant is still on time; breached just after
        start = warn_start(d, policy.warn_fraction)
        if start is not None and start > now:
            marks.append(start)
    return min(marks) if marks else None


class BoardModel:
    """Every loaded incident as a row, and the filtered, sorted list the board displays."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.filter = BoardFilter()
        self.rows: list[BoardRow] = []  # filtered and sorted: what is on the board
        self._by_number: dict[int, BoardRow] = {}
        # (instant, incident) for every row's next transition; entries a rebuilt row left behind
        # are skipped when they come up, which is cheaper than finding them.
        self._due: list[tuple[datetime, int]] = []
        self.next_change: datetime | None = None
        self.revision = 0  # moves whenever the rows or their deadline states change
        self.moved_from: int | None = None  # the first index of `rows` changed since `take_moved`
        # (open, breached, unacknowledged) over every loaded row, kept up as rows come and go: the
        # status line reads it at every change, and counting 10k rows each time was its biggest cost.
        self._open = self._breached = self._unacked = 0
        self._sorted_at: datetime | None = None  # the `now` of the rows a lazy `load` left incomplete
        # Reads incidents whole by number (those it cannot read are left out), for rows loaded from
        # their keys alone (see `fill`).
        self.reader: Callable[[list[int]], list[Incident]] | None = None

    @property
    def counts(self) -> tuple[int, int, int]:
        """(open, breached, unacknowledged) among the loaded incidents (filter or not)."""
        return self._open, self._breached, self._unacked

    def _count(self, row: BoardRow, sign: int) -> None:
        if row.incident.is_open:
            self._open += sign
            if row.breached:
                self._breached += sign
            if row.incident.acknowledged_at is None:
                self._unacked += sign

    @property
    def total(self) -> int:
        return len(self._by_number)

    def all_rows(self) -> list[BoardRow]:
        return list(self._by_number.values())

    def get(self, number: int) -> BoardRow | None:
        return self._by_number.get(number)

    def index_of(self, number: int | None) -> int | None:
        """Where the incident is on the board (None: not loaded, or filtered out): a bisection, as
        sort keys are unique (they end with the number)."""
        row = self._by_number.get(number) if number is not None else None
        if row is None:
            return None
        position = bisect.bisect_left(self.rows, row.sort_key, key=_sort_key_of)
        return position if position < len(self.rows) and self.rows[position] is row else None

    def forget(self) -> None:
        """Drop every row's computed deadlines: the next `load` rebuilds them all. For a wall clock
        that was set: rows computed for another time know no transition that brings them back."""
        self._by_number = {}

    def load(
        self, incidents: Sequence[Incident | IncidentKeys], now: datetime, *, lazy: bool = False
    ) -> list[BoardRow]:
        """Take a fresh read of the incidents; returns the rows whose deadlines were recomputed.

        An incident whose version is unchanged keeps its row (and its computed deadlines) unless a
        transition is due, so a reload caused by another desk's single edit stays cheap.

        `lazy`: the rows get what they sort by and nothing more (see `BoardRow`), which is what the
        board's first frame waits for at 10k; `complete` does the rest, for the rows on screen as
        they are drawn and for the others soon after. Until a row is complete, the tick knows no
        transition of it: completed later, one already due is taken at the next tick.

        `incidents` may be only their keys (`IncidentKeys`): what a row shows is read whole when it is
        drawn (`fill`), or when `full` is asked.
        """
        fresh: dict[int, BoardRow] = {}
        recomputed: list[BoardRow] = []
        if lazy:
            self._sorted_at = now
        for incident in incidents:
            old = self._by_number.get(incident.number)
            if old is not None and old.escalation is None and not lazy:
                self.complete(old)
            if (
                old is not None
                and old.incident.version == incident.version
                and (old.changes_at is None or now < old.changes_at)
            ):
                if isinstance(incident, Incident) and not isinstance(old.incident, Incident):
                    old.incident = incident  # the same version, now read whole
                fresh[incident.number] = old
                continue
            row = sortable_row(incident, self.policy, now) if lazy else build_row(incident, self.policy, now)
            fresh[incident.number] = row
            recomputed.append(row)
        self._by_number = fresh
        self._arrange()
        return recomputed

    def complete(self, row: BoardRow) -> BoardRow:
        """`row` with its escalation, breaches and next transition computed (see `load`)."""
        if row.escalation is None:
            assert self._sorted_at is not None  # only a lazy load leaves a row incomplete
            _complete(row, self.policy, self._sorted_at)
            if row.changes_at is not None and self._by_number.get(row.incident.number) is row:
                heapq.heappush(self._due, (row.changes_at, row.incident.number))
                if self.next_change is None or row.changes_at < self.next_change:
                    self.next_change = row.changes_at
        return row

    def full(self, row: BoardRow) -> Incident:
        """The row's incident whole, read now if the row has only its keys (see `load`)."""
        incident = row.incident
        if isinstance(incident, Incident):
            return incident
        self.fill([row])
        if isinstance(row.incident, Incident):
            return row.incident
        # The record cannot be read just now (the desk says so): what the keys say, and blanks.
        return Incident(title="", **incident._asdict())

    def fill(self, rows: Iterable[BoardRow]) -> None:
        """Read whole the incidents of the rows that have only their keys, in one query a chunk.

        One read since the keys may be of a later version: another desk changed it meanwhile, and
        that change is on its way (`update` rebuilds the row then); until it comes the row shows the
        incident as read and keeps its place.
        """
        keyed = {row.incident.number: row for row in rows if not isinstance(row.incident, Incident)}
        if not keyed or self.reader is None:
            return
        numbers = list(keyed)
        for start in range(0, len(numbers), _FILL_CHUNK):
            for incident in self.reader(numbers[start : start + _FILL_CHUNK]):
                if (row := keyed.get(incident.number)) is not None:
                    row.incident = incident

    def fill_all(self) -> None:
        """Read whole every incident still known by its keys alone (a filter reads every row)."""
        self.fill(self._by_number.values())

    def escalation(self, row: BoardRow) -> Escalation:
        """The row's escalation, computed now if the row was loaded lazily."""
        escalation = self.complete(row).escalation
        assert escalation is not None
        return escalation

    def update(self, incidents: Iterable[Incident], gone: Iterable[int], now: datetime) -> list[BoardRow]:
        """Take a re-read of some incidents (and drop those no longer shown); returns the rows rebuilt.

        Each is rebuilt and put in its place by bisection, the other rows untouched: another desk's
        acknowledgement costs a few rows on a board of ten thousand. An incident whose timeline
        alone grew (a breach written, a note) keeps its row and its clocks, with the new version.
        """
        for number in gone:
            old = self._by_number.pop(number, None)
            if old is not None:
                self._unplace(old)
                self._count(old, -1)
        rebuilt = []
        for incident in incidents:
            old = self._by_number.get(incident.number)
            if old is not None and only_its_timeline_grew(old.incident, incident):
                old.incident = incident  # a breach written, a note: nothing its row shows or sorts by
                continue
            row = build_row(incident, self.policy, now)
            if old is not None:
                self._unplace(old)
                self._count(old, -1)
            self._place(row)
            self._count(row, 1)
            rebuilt.append(row)
        self._next_change()
        self.revision += 1
        return rebuilt

    def advance(self, now: datetime) -> list[BoardRow]:
        """Move time on; returns the rows that crossed a transition (empty between transitions).

        Only those rows are rebuilt and moved to their new place: a deadline running out on one
        incident of a thousand costs a few bisections, not a sort.
        """
        if self.next_change is None or now < self.next_change:
            return []
        changed = []
        while self._due and self._due[0][0] <= now:
            at, number = heapq.heappop(self._due)
            row = self._by_number.get(number)
            if row is None or row.changes_at != at:
                continue
            fresh = build_row(row.incident, self.policy, now)
            self._replace(row, fresh)
            changed.append(fresh)
        self._next_change()
        if changed:
            self.revision += 1
        return changed

    def _replace(self, old: BoardRow, new: BoardRow) -> None:
        self._unplace(old)
        self._count(old, -1)
        self._place(new)
        self._count(new, 1)

    def _unplace(self, old: BoardRow) -> None:
        """Take a row off the board (its heap entry is skipped when it comes up)."""
        position = bisect.bisect_left(self.rows, old.sort_key, key=_sort_key_of)
        if position < len(self.rows) and self.rows[position] is old:
            del self.rows[position]
            self._moved(position)

    def _place(self, new: BoardRow) -> None:
        self._by_number[new.incident.number] = new
        if not self.filter.active or self.filter.matches(self.full(new), breached=new.breached):
            position = bisect.bisect_right(self.rows, new.sort_key, key=_sort_key_of)
            self.rows.insert(position, new)
            self._moved(position)
        if new.changes_at is not None:
            heapq.heappush(self._due, (new.changes_at, new.incident.number))

    def _moved(self, position: int) -> None:
        if self.moved_from is None or position < self.moved_from:
            self.moved_from = position

    def take_moved(self) -> int | None:
        """The first index of `rows` where a row came, went or was rebuilt since the last call (None:
        nowhere): the board's lines above it show the rows they showed."""
        moved, self.moved_from = self.moved_from, None
        return moved

    def _next_change(self) -> None:
        while self._due:
            at, number = self._due[0]
            row = self._by_number.get(number)
            if row is not None and row.changes_at == at:
                self.next_change = at
                return
            heapq.heappop(self._due)
        self.next_change = None

    def set_filter(self, board_filter: BoardFilter) -> None:
        self.filter = board_filter
        if board_filter.active:
            self.fill_all()
        self._arrange()

    def _arrange(self) -> None:
        self.revision += 1
        self._open = self._breached = self._unacked = 0
        for row in self._by_number.values():
            self._count(row, 1)
        rows: Iterable[BoardRow] = self._by_number.values()
        if self.filter.active:
            rows = [r for r in rows if self.filter.matches(self.full(r), breached=r.breached)]
        self.rows = sorted(rows, key=_sort_key_of)
        self.moved_from = 0
        self._due = [(r.changes_at, n) for n, r in self._by_number.items() if r.changes_at is not None]
        heapq.heapify(self._due)
        self._next_change()


_FILL_CHUNK = 500  # incidents read whole per query (a bound parameter each)
# Every field of an incident but its version and chain head, read at C speed.
_ALL_BUT_TIMELINE = operator.attrgetter(
    *(f.name for f in dataclasses.fields(Incident) if f.name not in ("version", "head_hash"))
)
_KEYS_BUT_VERSION = operator.attrgetter(*(name for name in IncidentKeys._fields if name != "version"))


def only_its_timeline_grew(old: Incident | IncidentKeys, new: Incident) -> bool:
    """Whether `new` differs from `old` in its version and chain head alone (of an `old` known by
    its keys alone: in nothing its row sorts or counts by)."""
    if not isinstance(old, Incident):
        return new.version != old.version and _KEYS_BUT_VERSION(new) == _KEYS_BUT_VERSION(old)
    return new.version != old.version and _ALL_BUT_TIMELINE(new) == _ALL_BUT_TIMELINE(old)


def _sort_key_of(row: BoardRow) -> Urgency:
    return row.sort_key
