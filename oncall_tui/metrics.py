"""How the desk is doing over a period: counts, time to acknowledge and resolve, missed deadlines.

SQL selects the period and turns instants into integers for the durations; the deadlines are judged
by their own rules (`deadlines.DEADLINE_KINDS`), the very functions the board's clocks run, over just
the milestone columns: a report over 10,000 incidents never builds 10,000 `Incident` objects or
walks their timelines.

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
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from . import deadlines
from .clock import format_duration, iso, parse_instant
from .deadlines import State
from .model import Severity, Status
from .policy import Policy

UTC = UTC
SEVERITY_KEYS = ("P0", "P1", "P2", "P3", "undetermined")
DEFAULT_DAYS = 30

# An instant stored as ISO-8601 text → integer milliseconds since the Unix epoch. SQLite keeps
# julianday internally in whole milliseconds, so the round trip is exact, and comparing integers
# avoids both float noise at a deadline's exact boundary and text comparison of '…00Z' vs '…00.5Z'.
_MS = "CAST(round((julianday({0}) - 2440587.5) * 86400000.0) AS INTEGER)"


def _ms(col: str) -> str:
    return _MS.format(col)


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


def build(conn: sqlite3.Connection, policy: Policy, now: datetime, period: Period) -> Report:
    bounds = {"since": _epoch_ms(period.since), "until": _epoch_ms(period.until)}
    inc_filter = f"{_ms('started_at')} >= :since AND {_ms('started_at')} < :until"

    # One scan: SQL filters and turns the instants into integers; Python only adds up small tuples.
    rows = conn.execute(
        f"""
        SELECT COALESCE(NULLIF(severity, ''), 'undetermined'), status NOT IN ('resolved', 'closed'),
               date(started_at), date(started_at, '-6 days', 'weekday 1'),
               {_ms("acknowledged_at")} - s, {_ms("resolved_at")} - s
        FROM (SELECT *, {_ms("started_at")} AS s FROM incidents) WHERE s >= :since AND s < :until
        """,
        bounds,
    ).fetchall()
    by_severity = dict.fromkeys(SEVERITY_KEYS, 0)
    per_day_counts: dict[str, int] = {}
    week_acks: dict[str, list[int]] = {}
    acks, fixes = [], []
    open_ = 0
    for sev, is_open, day, monday, ack, fix in rows:
        by_severity[sev] = by_severity.get(sev, 0) + 1
        open_ += is_open
        per_day_counts[day] = per_day_counts.get(day, 0) + 1
        if ack is not None:
            acks.append(ack)
            week_acks.setdefault(monday, []).append(ack)
        if fix is not None:
            fixes.append(fix)
    total = len(rows)

    per_day = [(d, per_day_counts.get(d.isoformat(), 0)) for d in period.days]
    per_week = []
    for monday in sorted({d - timedelta(days=d.weekday()) for d in period.days}):
        values = week_acks.get(monday.isoformat(), [])
        per_week.append(WeekPoint(monday, len(values), sum(values) / len(values) / 1000 if values else None))

    return Report(
        period,
        now,
        total,
        by_severity,
        open_,
        _stats(acks, total),
        _stats(fixes, total),
        _breaches(conn, policy, now, inc_filter, bounds),
        _items(conn, now, inc_filter, bounds),
        per_day,
        per_week,
    )


def _stats(values_ms: list[int], total: int) -> DurationStats:
    """Mean and nearest-rank p90, in seconds; `total - len(values)` incidents have no such duration."""
    if not values_ms:
        return DurationStats(0, total, None, None)
    ordered = sorted(values_ms)
    rank = math.ceil(0.9 * len(ordered))
    return DurationStats(
        len(ordered), total - len(ordered), sum(ordered) / len(ordered) / 1000, ordered[rank - 1] / 1000
    )


class _Milestones(NamedTuple):
    """The columns the deadline rules read (`deadlines.Milestones`), for many incidents at once: a
    tuple is built many times faster than an `Incident` of some forty fields."""

    number: int
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
    review_done_at: datetime | None
    review_waived: str
    alert_state: str
    live_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status.is_open


_MILESTONE_COLUMNS = ", ".join(_Milestones._fields)


def _milestones(conn: sqlite3.Connection, inc_filter: str, bounds: dict[str, Any]) -> Iterator[_Milestones]:
    statuses = {s.value: s for s in Status}
    severities = {s.value: s for s in Severity}
    t = _instant
    for (
        n,
        st,
        sev,
        s,
        d,
        ack,
        sev_at,
        notified,
        last,
        next_,
        mitigated,
        resolved,
        reviewed,
        waived,
        alert_state,
        live,
    ) in conn.execute(f"SELECT {_MILESTONE_COLUMNS} FROM incidents WHERE {inc_filter}", bounds):
        # Spelled out rather than looped: this runs for every incident of the period.
        yield _Milestones(
            n,
            statuses[st],
            severities.get(sev),
            t(s),
            t(d),
            ack and t(ack),
            sev_at and t(sev_at),
            notified and t(notified),
            last and t(last),
            next_ and t(next_),
            mitigated and t(mitigated),
            resolved and t(resolved),
            reviewed and t(reviewed),
            waived or "",
            alert_state or "",
            live and t(live),
        )


def _instant(text: str) -> datetime:
    # The desk writes every instant as `iso` does, ending in Z: read it as fast as Python can.
    return datetime.fromisoformat(text) if text[-1] == "Z" else parse_instant(text)


def computed_breaches(
    conn: sqlite3.Connection, policy: Policy, now: datetime, inc_filter: str, bounds: dict[str, Any]
) -> Iterator[tuple[int, str, int, str]]:
    """(number, key, due in epoch ms, severity key) of every deadline its rule judges breached now."""
    rules = [(kind, kind.rule) for kind in deadlines.DEADLINE_KINDS]
    breached = State.BREACHED
    for m in _milestones(conn, inc_filter, bounds):
        for kind, rule in rules:
            d = rule(kind, m, policy, now)
            if d.state is breached and d.due_at is not None:
                yield m.number, kind.key, _epoch_ms(d.due_at), m.severity.value if m.severity else "undetermined"


def _breaches(
    conn: sqlite3.Connection, policy: Policy, now: datetime, inc_filter: str, bounds: dict[str, Any]
) -> Breaches:
    # (number, key, due) → (severity key, recorded on the timeline): each breach counted once.
    found: dict[tuple[int, str, int | None], tuple[str, bool]] = {}
    for number, key, due, sev in computed_breaches(conn, policy, now, inc_filter, bounds):
        found[number, key, due] = (sev, False)
    recorded = conn.execute(
        f"""
        SELECT e.incident, json_extract(e.details, '$.deadline'), json_extract(e.details, '$.due_at'),
               COALESCE(NULLIF(i.severity, ''), 'undetermined')
        FROM events e JOIN incidents i ON i.number = e.incident
        WHERE e.kind = 'deadline_breached' AND {inc_filter}
        """,
        bounds,
    )
    for number, key, due_text, sev in recorded:
        if key is None or str(key).startswith("escalate:"):
            continue
        try:
            due_ms = _epoch_ms(_instant(due_text)) if due_text else None
        except ValueError:
            due_ms = None  # a due time damaged by hand: still a breach a desk saw, counted once
        found[number, str(key), due_ms] = (sev, True)
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


def _items(conn: sqlite3.Connection, now: datetime, inc_filter: str, bounds: dict[str, Any]) -> ItemCounts:
    row = conn.execute(
        f"""
        SELECT COALESCE(SUM(done = 0), 0),
               COALESCE(SUM(done = 0 AND due != '' AND due < :today), 0),
               COALESCE(SUM(done = 1), 0)
        FROM action_items WHERE incident IN (SELECT number FROM incidents WHERE {inc_filter})
        """,
        {**bounds, "today": now.astimezone(UTC).date().isoformat()},
    ).fetchone()
    return ItemCounts(*row)


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
