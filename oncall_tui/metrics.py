"""How the desk is doing over a period: counts, time to acknowledge and resolve, missed deadlines.

SQL does the heavy part over the milestone columns — selecting the period, turning every instant
into an integer, judging every deadline — so a report over 10,000 incidents never builds 10,000
`Incident` objects or walks their timelines; Python only adds up the tuples that come back.

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
* The deadlines recomputed from the milestones, exactly as `deadlines.compute` judges them (a unit
  test holds the two to the same answer). Breach events are written only by a desk that was open
  and watching when the clock ran out; a breach at 4 a.m. with every laptop shut is still a breach.

Escalation tiers are not counted as breaches: reaching the secondary on-call is the matrix doing
its job, not an obligation someone missed (a missed acknowledgement, which is, is counted).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .clock import format_duration, iso
from .model import Severity
from .policy import Policy

UTC = UTC
SEVERITY_KEYS = ("P0", "P1", "P2", "P3", "undetermined")
DEADLINE_LABELS = {
    "acknowledge": "Acknowledge",
    "severity": "Determine severity",
    "stakeholders": "Notify stakeholders",
    "next_update": "Next update",
    "review": "Post-incident review",
}
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


def _in(values: Sequence[str], prefix: str, params: dict[str, Any]) -> str:
    """An IN list of named parameters; `(NULL)` when empty, which keeps the SQL valid and matches nothing."""
    names = []
    for i, v in enumerate(values):
        params[f"{prefix}{i}"] = v
        names.append(f":{prefix}{i}")
    return "(" + (", ".join(names) or "NULL") + ")"


def _breach_ctes(policy: Policy, inc_filter: str, params: dict[str, Any]) -> str:
    """CTEs `inc` (the period's incidents, instants as integers), `clocks` and `computed`: the rows
    (number, key, due_ms) of every deadline the milestones say was breached.

    Mirrors `deadlines.compute` rule for rule; `_judge` there: done ≤ due is met, done > due is
    breached, and an undone clock is breached once now > due (the due instant itself is on time);
    the first response's clocks stop at resolution.
    """
    params.update(
        ack=_td_ms(policy.acknowledge),
        sev=_td_ms(policy.severity),
        stake=_td_ms(policy.stakeholders),
        review=_td_ms(policy.review_due),
    )
    stake_sevs = _in(sorted(s.value for s in policy.stakeholder_severities), "ss", params)
    review_sevs = _in(sorted(s.value for s in policy.review_severities), "rs", params)
    cadence = " ".join(
        f"WHEN '{sev.value}' THEN {_td_ms(policy.update_cadence[sev])}"
        for sev in Severity
        if sev in policy.update_cadence
    )
    cadence_expr = f"(CASE sev {cadence} END)" if cadence else "NULL"
    return f"""
        inc AS MATERIALIZED (
            SELECT number, COALESCE(severity, '') AS sev, status,
                   {_ms("started_at")} AS s, {_ms("declared_at")} AS d,
                   {_ms("acknowledged_at")} AS ack, {_ms("severity_at")} AS sev_at,
                   {_ms("notified_at")} AS notified, {_ms("last_update_at")} AS last_upd,
                   {_ms("next_update_at")} AS next_upd, {_ms("mitigated_at")} AS mitigated,
                   {_ms("resolved_at")} AS resolved, {_ms("review_done_at")} AS reviewed,
                   COALESCE(review_waived, '') AS waived
            FROM incidents WHERE {inc_filter}
        ),
        clocks(number, key, due, done, stop) AS (
            SELECT number, 'acknowledge', s + :ack, ack, resolved FROM inc
            UNION ALL
            SELECT number, 'severity', max(s, d) + :sev, sev_at, resolved FROM inc
            UNION ALL
            SELECT number, 'stakeholders', s + :stake, notified, resolved FROM inc WHERE sev IN {stake_sevs}
            UNION ALL
            SELECT number, 'next_update', COALESCE(next_upd, COALESCE(last_upd, notified) + {cadence_expr}), NULL, NULL
            FROM inc WHERE status NOT IN ('resolved', 'closed') AND mitigated IS NULL
            UNION ALL
            SELECT number, 'review', resolved + :review, reviewed, NULL FROM inc
            WHERE sev IN {review_sevs} AND resolved IS NOT NULL AND waived = '' AND status IN ('resolved', 'closed')
        ),
        computed(number, key, due) AS (
            SELECT number, key, due FROM clocks
            WHERE due IS NOT NULL
              AND ((done IS NOT NULL AND done > due) OR (done IS NULL AND COALESCE(stop, :now) > due))
        )
    """


def recomputed_sql(policy: Policy, inc_filter: str, params: dict[str, Any]) -> str:
    """Just the recomputed breaches, (number, key, due_ms): what a test holds against `compute`."""
    return f"WITH {_breach_ctes(policy, inc_filter, params)} SELECT number, key, due FROM computed"


def _breaches(conn: sqlite3.Connection, policy: Policy, now: datetime, inc_filter: str, bounds: dict) -> Breaches:
    params: dict[str, Any] = {**bounds, "now": _epoch_ms(now)}
    rows = conn.execute(
        f"""
        WITH {_breach_ctes(policy, inc_filter, params)},
             recorded(number, key, due) AS (
                 SELECT e.incident, json_extract(e.details, '$.deadline'),
                        {_ms("json_extract(e.details, '$.due_at')")}
                 FROM events e JOIN inc ON inc.number = e.incident
                 WHERE e.kind = 'deadline_breached'
             ),
             tagged AS (SELECT number, key, due, 0 AS rec FROM computed
                        UNION ALL SELECT number, key, due, 1 FROM recorded),
             merged AS (SELECT number, key, due, MAX(rec) AS rec FROM tagged GROUP BY number, key, due)
        SELECT m.key, COALESCE(NULLIF(inc.sev, ''), 'undetermined'), COUNT(*), SUM(m.rec)
        FROM merged m JOIN inc ON inc.number = m.number
        WHERE m.key NOT LIKE 'escalate:%'
        GROUP BY 1, 2
        """,
        params,
    ).fetchall()
    by_kind: dict[str, dict[str, int]] = {}
    total = recorded_n = 0
    for key, sev, n, seen in rows:
        by_kind.setdefault(key, dict.fromkeys(SEVERITY_KEYS, 0))[sev] = n
        total += n
        recorded_n += seen
    ordered = {k: by_kind[k] for k in DEADLINE_LABELS if k in by_kind}
    ordered.update({k: v for k, v in sorted(by_kind.items()) if k not in ordered})
    return Breaches(ordered, total, recorded_n, total - recorded_n)


def _items(conn: sqlite3.Connection, now: datetime, inc_filter: str, bounds: dict) -> ItemCounts:
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


def _td_ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


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
            lines.append(f"  {DEADLINE_LABELS.get(key, key):<22}{cells}  {sum(counts.values()):>5}")
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
