"""How the desk is doing over a period: counts, time to acknowledge and resolve, missed deadlines.

The store hands over the milestone columns of the period's incidents; everything else is judged
here, in Python: the durations in integer milliseconds, and the deadlines by their own rules
(`deadlines.DEADLINE_KINDS`), the very functions the board's clocks run — no deadline maths in SQL,
so every backend reports alike. A report over 10,000 incidents never builds 10,000 `Incident`
objects or walks their timelines.

Which incidents a period holds: those that *started* in it (`since` ≤ started_at < `until`), all
times UTC. Durations run from the start time (which may be back-dated to when the outage began) to
the acknowledgement and to the resolution. Incidents never acknowledged, or not resolved yet, have
no such duration: they are left out of the mean and p90 and counted beside them, because averaging
only the finished ones would flatter a desk with a queue of untouched pages.

p90 is the nearest-rank percentile: the smallest duration that at least 90 % of them do not exceed —
always one of the observed durations, never an interpolation.

Deadline breaches come from two sources, merged and counted once each (incident, deadline, due time):

* `deadline_breached` events on the timeline. They are the only record of a missed deadline whose
  clock has since moved on — a "next update" that was late, after which a new update restarted it —
  and they survive later changes to the milestones (a reopened incident loses its resolution time).
* The deadlines recomputed from the milestones by the same rules `deadlines.compute` runs. Breach
  events are written only by a desk that was open and watching when the clock ran out; a breach at
  4 a.m. with every laptop shut is still a breach.

Escalation tiers are not counted as breaches: reaching the secondary on-call is the matrix doing
its job, not an obligation someone missed (a missed acknowledgement, which is, is counted).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from . import deadlines
from .clock import format_duration, iso, parse_instant
from .deadlines import State
from .model import IncidentKeys, Status
from .policy import Policy

if TYPE_CHECKING:
    from .store import Record

UTC = UTC
SEVERITY_KEYS = ("P0", "P1", "P2", "P3", "undetermined")
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    until: datetime  # exclusive

    @property
    def days(self) -> list[date]:
        first, last = self.since.astimezone(UTC).date(), (self.until - timedelta(microseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True, slots=True)
class DurationStats:
    count: int  # incidents that have the duration
    missing: int  # incidents that do not (never acknowledged / still open), counted apart
    mean: float | None  # seconds
    p90: float | None


@dataclass(frozen=True, slots=True)
class Breaches:
    by_kind: dict[str, dict[str, int]]  # deadline key → severity key → count
    total: int
    recorded: int  # written on the timeline by a desk that saw them happen
    unrecorded: int  # found only by recomputing the deadlines from the milestones

    def count(self, kind: str) -> int:
        return sum(self.by_kind.get(kind, {}).values())


@dataclass(frozen=True, slots=True)
class ItemCounts:
    open: int
    overdue: int
    done: int


@dataclass(frozen=True, slots=True)
class WeekPoint:
    week: date  # the Monday the week starts on (UTC)
    acknowledged: int
    mean_acknowledge: float | None  # seconds


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    now: datetime
    total: int
    by_severity: dict[str, int]
    open: int
    acknowledge: DurationStats
    resolve: DurationStats
    breaches: Breaches
    action_items: ItemCounts
    per_day: list[tuple[date, int]] = field(default_factory=list)
    per_week: list[WeekPoint] = field(default_factory=list)


def period_ending(now: datetime, days: int = DEFAULT_DAYS) -> Period:
    """The last `days` whole UTC days, today included."""
    end = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)
    return Period(end - timedelta(days=days), end)


def build(store: Record, policy: Policy, now: datetime, period: Period) -> Report:
    milestones = _milestones(store, period)
    by_severity = dict.fromkeys(SEVERITY_KEYS, 0)
    per_day_counts: dict[date, int] = {}
    week_acks: dict[date, list[int]] = {}
    acks, fixes = [], []
    open_ = 0
    for m in milestones:
        sev = m.severity.value if m.severity else "undetermined"
        by_severity[sev] = by_severity.get(sev, 0) + 1
        open_ += m.status not in _CLOSED
        day = m.started_at.astimezone(UTC).date()
        per_day_counts[day] = per_day_counts.get(day, 0) + 1
        start = _epoch_ms(m.started_at)
        if m.acknowledged_at is not None:
            ack = _epoch_ms(m.acknowledged_at) - start
            acks.append(ack)
            week_acks.setdefault(day - timedelta(days=day.weekday()), []).append(ack)
        if m.resolved_at is not None:
            fixes.append(_epoch_ms(m.resolved_at) - start)
    total = len(milestones)

    per_day = [(d, per_day_counts.get(d, 0)) for d in period.days]
    per_week = []
    for monday in sorted({d - timedelta(days=d.weekday()) for d in period.days}):
        values = week_acks.get(monday, [])
        per_week.append(WeekPoint(monday, len(values), sum(values) / len(values) / 1000 if values else None))

    numbers = {m.number: m for m in milestones}
    return Report(
        period,
        now,
        total,
        by_severity,
        open_,
        _stats(acks, total),
        _stats(fixes, total),
        _breaches(store, policy, now, period, milestones, numbers),
        _items(store, now, numbers),
        per_day,
        per_week,
    )


_CLOSED = (Status.RESOLVED, Status.CLOSED)


def _stats(values_ms: list[int], total: int) -> DurationStats:
    """Mean and nearest-rank p90, in seconds; `total - len(values)` incidents have no such duration."""
    if not values_ms:
        return DurationStats(0, total, None, None)
    ordered = sorted(values_ms)
    rank = math.ceil(0.9 * len(ordered))
    return DurationStats(
        len(ordered), total - len(ordered), sum(ordered) / len(ordered) / 1000, ordered[rank - 1] / 1000
    )


def _milestones(store: Record, period: Period) -> list[IncidentKeys]:
    """The incidents that started in the period, by their keys. The store filters on the start
    time's text, widened by two days either side (an instant written with an offset sorts by its
    local date); the exact instant is judged here, in milliseconds."""
    since, until = _epoch_ms(period.since), _epoch_ms(period.until)
    rows = store.milestone_rows(
        (period.since - _SLACK).astimezone(UTC).date().isoformat(),
        (period.until + _SLACK).astimezone(UTC).date().isoformat(),
    )
    return [keys for keys in rows if since <= _epoch_ms(keys.started_at) < until]


_SLACK = timedelta(days=2)


def _instant(text: str) -> datetime:
    # The desk writes every instant as `iso` does, ending in Z: read it as fast as Python can.
    return datetime.fromisoformat(text) if text[-1] == "Z" else parse_instant(text)


def computed_breaches(
    store: Record, policy: Policy, now: datetime, period: Period, milestones: list[IncidentKeys] | None = None
) -> Iterator[tuple[int, str, int, str]]:
    """(number, key, due in epoch ms, severity key) of every deadline its rule judges breached now,
    over the incidents that started in the period."""
    rules = [(kind, kind.rule) for kind in deadlines.DEADLINE_KINDS]
    breached = State.BREACHED
    for m in _milestones(store, period) if milestones is None else milestones:
        for kind, rule in rules:
            d = rule(kind, m, policy, now)
            if d.state is breached and d.due_at is not None:
                yield m.number, kind.key, _epoch_ms(d.due_at), m.severity.value if m.severity else "undetermined"


def _breaches(
    store: Record,
    policy: Policy,
    now: datetime,
    period: Period,
    milestones: list[IncidentKeys],
    numbers: dict[int, IncidentKeys],
) -> Breaches:
    # (number, key, due) → (severity key, recorded on the timeline): each breach counted once.
    found: dict[tuple[int, str, int | None], tuple[str, bool]] = {}
    for number, key, due, sev in computed_breaches(store, policy, now, period, milestones):
        found[number, key, due] = (sev, False)
    recorded = store.breach_event_rows(
        (period.since - _SLACK).astimezone(UTC).date().isoformat(),
        (period.until + _SLACK).astimezone(UTC).date().isoformat(),
    )
    for number, deadline, due_text in recorded:
        m = numbers.get(number)
        if m is None or deadline is None or str(deadline).startswith("escalate:"):
            continue
        severity = str(m.severity.value) if m.severity else "undetermined"
        try:
            due_ms = _epoch_ms(_instant(due_text)) if due_text else None
        except ValueError:
            due_ms = None  # a due time damaged by hand: still a breach a desk saw, counted once
        found[number, str(deadline), due_ms] = (severity, True)
    by_kind: dict[str, dict[str, int]] = {}
    recorded_n = 0
    for (_, key, _), (sev, seen) in found.items():
        counts = by_kind.setdefault(key, dict.fromkeys(SEVERITY_KEYS, 0))
        counts[sev] = counts.get(sev, 0) + 1
        recorded_n += seen
    known = [k.key for k in deadlines.DEADLINE_KINDS]
    ordered = {k: by_kind[k] for k in known if k in by_kind}
    ordered.update({k: v for k, v in sorted(by_kind.items()) if k not in ordered})
    total = len(found)
    return Breaches(ordered, total, recorded_n, total - recorded_n)


def deadline_label(key: str) -> str:
    """The report's name for a deadline key; a key this desk no longer knows is shown as it is."""
    found = deadlines.kind(key)
    return found.label if found is not None else key


def _items(store: Record, now: datetime, numbers: dict[int, IncidentKeys]) -> ItemCounts:
    today = now.astimezone(UTC).date().isoformat()
    open_ = overdue = done = 0
    for number, is_done, due in store.action_item_states():
        if number not in numbers:
            continue
        if is_done:
            done += 1
        else:
            open_ += 1
            overdue += due != "" and due < today
    return ItemCounts(open_, overdue, done)


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


# --- presentation (plain text and JSON; the TUI draws its own) -------------------------------------

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One character per value; zero is the lowest bar, anything above it at least the second."""
    top = max(values, default=0)
    return "".join(BARS[max(1, math.ceil(v / top * (len(BARS) - 1)))] if v > 0 else BARS[0] for v in values)


def duration_text(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def format_report(report: Report) -> str:
    p = report.period
    last_day = (p.until - timedelta(microseconds=1)).astimezone(UTC).date()
    lines = [
        f"Incidents that started {p.since.astimezone(UTC).date()} → {last_day} (UTC)",
        "  total {}   {}   still open {}".format(
            report.total,
            "   ".join(f"{k} {report.by_severity[k]}" for k in SEVERITY_KEYS),
            report.open,
        ),
        "",
        _duration_line("Time to acknowledge", report.acknowledge, "acknowledged", "never acknowledged"),
        _duration_line("Time to resolve", report.resolve, "resolved", "still open"),
        "",
    ]
    b = report.breaches
    lines.append(
        f"Deadline breaches: {b.total} ({b.recorded} recorded on the timeline, "
        f"{b.unrecorded} found only by recomputing the deadlines)"
    )
    if b.by_kind:
        header = f"  {'deadline':<22}" + "".join(f"{k:>6}" for k in ("P0", "P1", "P2", "P3", "?")) + "  total"
        lines.append(header)
        for key, counts in b.by_kind.items():
            cells = "".join(f"{counts[k]:>6}" for k in SEVERITY_KEYS)
            lines.append(f"  {deadline_label(key):<22}{cells}  {sum(counts.values()):>5}")
    items = report.action_items
    lines += [
        "",
        f"Review action items: {items.open} open ({items.overdue} overdue), {items.done} done",
        "",
        f"Incidents per day (max {max((n for _, n in report.per_day), default=0)}):",
        "  " + sparkline([n for _, n in report.per_day]),
    ]
    weekly = [w for w in report.per_week if w.mean_acknowledge is not None]
    if weekly:
        lines.append("Mean time to acknowledge per week:")
        for w in report.per_week:
            lines.append(f"  week of {w.week}  {duration_text(w.mean_acknowledge):>7}  ({w.acknowledged} acknowledged)")
    return "\n".join(lines) + "\n"


def _duration_line(label: str, stats: DurationStats, have: str, missing: str) -> str:
    return (
        f"{label:<20} mean {duration_text(stats.mean):>7}   p90 {duration_text(stats.p90):>7}   "
        f"({stats.count} {have}, {stats.missing} {missing})"
    )


def report_dict(report: Report) -> dict[str, Any]:
    def stats(s: DurationStats, missing: str) -> dict[str, Any]:
        return {
            "count": s.count,
            missing: s.missing,
            "mean_seconds": None if s.mean is None else round(s.mean, 3),
            "p90_seconds": None if s.p90 is None else round(s.p90, 3),
        }

    return {
        "period": {"since": iso(report.period.since), "until": iso(report.period.until), "by": "started_at"},
        "generated_at": iso(report.now),
        "incidents": {"total": report.total, "open": report.open, "by_severity": report.by_severity},
        "time_to_acknowledge": stats(report.acknowledge, "never_acknowledged"),
        "time_to_resolve": stats(report.resolve, "still_open"),
        "deadline_breaches": {
            "total": report.breaches.total,
            "recorded": report.breaches.recorded,
            "unrecorded": report.breaches.unrecorded,
            "by_kind": report.breaches.by_kind,
            "sources": "deadline_breached events ∪ deadlines recomputed from milestones",
        },
        "action_items": {
            "open": report.action_items.open,
            "overdue": report.action_items.overdue,
            "done": report.action_items.done,
        },
        "per_day": [{"date": d.isoformat(), "incidents": n} for d, n in report.per_day],
        "per_week": [
            {
                "week": w.week.isoformat(),
                "acknowledged": w.acknowledged,
                "mean_acknowledge_seconds": None if w.mean_acknowledge is None else round(w.mean_acknowledge, 3),
            }
            for w in report.per_week
        ],
    }
