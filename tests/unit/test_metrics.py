"""The report on a small history whose answers were worked out by hand.

Now is 2026-11-27 03:00 UTC; the period is 2026-11-20 → 2026-11-27 (whole UTC days).

    INC-1 P0  11-20 10:00  ack +3m   notified +10m  resolved +60m  reviewed, closed
              a late update recorded by a desk (clock restarted since: only the event shows it)
    INC-2 P1  11-21 12:00  ack +8m   never notified resolved +120m review never held
    INC-3 P2  11-22 09:00  ack +2m                  resolved +30m
    INC-4 P3  11-25 08:00  ack +20m                 still investigating
    INC-5 P1  11-26 23:00  never acknowledged (its breach recorded by a desk), still open
    INC-6 ?   11-27 02:00  never acknowledged, severity never determined
    INC-7 P1  10-01        outside the period
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncall_tui import deadlines, metrics, review
from oncall_tui.clock import FrozenClock
from oncall_tui.deadlines import State, compute
from oncall_tui.desk import Desk
from oncall_tui.model import Incident, Severity, Status

UTC = UTC
EXE = str(Path(sys.executable).with_name("oncall-tui"))
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
PERIOD = metrics.Period(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _resolve(desk: Desk, clock: FrozenClock, number: int, when: datetime) -> None:
    clock.set(when)
    desk.move(number, Status.INVESTIGATING)
    desk.edit(number, "root_cause", "Known")
    desk.edit(number, "resolution", "Fixed")
    desk.move(number, Status.RESOLVED)


@pytest.fixture
def history(desk: Desk, clock: FrozenClock) -> Desk:
    start = at("2026-11-20T10:00")
    clock.set(start)
    inc1 = desk.declare("Login failures", severity="P0", services=["identity"])
    clock.set(start + timedelta(minutes=3))
    desk.acknowledge(inc1.number)
    clock.set(start + timedelta(minutes=10))
    desk.record_message(inc1.number, template="initial", via="clipboard", text="[P0] Service Issue: identity")
    # The P0 update cadence (30 min) ran out at +40 m; a desk that was open wrote it down.
    clock.set(start + timedelta(minutes=45))
    desk.record_breach(inc1.number, "next_update", "Next update", start + timedelta(minutes=40))
    _resolve(desk, clock, inc1.number, start + timedelta(minutes=60))

    start = at("2026-11-21T12:00")
    clock.set(start)
    inc2 = desk.declare("Search slow", severity="P1")
    clock.set(start + timedelta(minutes=8))
    desk.acknowledge(inc2.number)
    _resolve(desk, clock, inc2.number, start + timedelta(minutes=120))

    start = at("2026-11-22T09:00")
    clock.set(start)
    inc3 = desk.declare("One user locked out", severity="P2")
    clock.set(start + timedelta(minutes=2))
    desk.acknowledge(inc3.number)
    _resolve(desk, clock, inc3.number, start + timedelta(minutes=30))

    start = at("2026-11-25T08:00")
    clock.set(start)
    inc4 = desk.declare("Docs link broken", severity="P3")
    clock.set(start + timedelta(minutes=20))
    desk.acknowledge(inc4.number)
    desk.move(inc4.number, Status.INVESTIGATING)

    start = at("2026-11-26T23:00")
    clock.set(start)
    inc5 = desk.declare("Exports failing", severity="P1")
    clock.set(start + timedelta(minutes=6))
    desk.record_breach(inc5.number, "acknowledge", "Acknowledge", start + timedelta(minutes=5))
    # Reaching an escalation tier is not a missed obligation: it must not be counted.
    clock.set(start + timedelta(minutes=31))
    desk.record_breach(inc5.number, "escalate:secondary-on-call", "Escalate", start + timedelta(minutes=30))

    clock.set(at("2026-11-27T02:00"))
    desk.declare("Webhook deliveries delayed")

    # INC-1's review, held in its window, lets it close; its action items.
    clock.set(at("2026-11-21T16:00"))
    review.complete(desk, inc1.number)
    desk.move(inc1.number, Status.CLOSED)
    done = review.add_item(desk, inc1.number, "Alert on JWKS age", owner="bob")
    review.set_done(desk, done.id, True)
    review.add_item(desk, inc1.number, "Runbook: JWKS cache", owner="ava", due=date(2026, 11, 30))
    review.add_item(desk, inc2.number, "Index on search_terms", owner="raj", due=date(2026, 11, 25))

    clock.set(at("2026-10-01T09:00"))
    old = desk.declare("Last month's outage", severity="P1")
    review.add_item(desk, old.number, "Outside the period", owner="kim")

    clock.set(NOW)
    return desk


@pytest.fixture
def report(history: Desk) -> metrics.Report:
    return metrics.build(history.store, history.policy, NOW, PERIOD)


def test_counts_incidents_that_started_in_the_period_by_severity(report):
    assert report.total == 6
    assert report.by_severity == {"P0": 1, "P1": 2, "P2": 1, "P3": 1, "undetermined": 1}
    assert report.open == 3


def test_time_to_acknowledge_leaves_out_and_counts_the_never_acknowledged(report):
    # 120, 180, 480, 1200 s: mean 495; nearest-rank p90 is the 4th of 4.
    assert report.acknowledge == metrics.DurationStats(count=4, missing=2, mean=495.0, p90=1200.0)


def test_time_to_resolve_leaves_out_and_counts_the_still_open(report):
    # 1800, 3600, 7200 s: mean 4200; p90 is the 3rd of 3.
    assert report.resolve == metrics.DurationStats(count=3, missing=3, mean=4200.0, p90=7200.0)


def test_breaches_merge_recorded_and_recomputed_once_each(report):
    b = report.breaches
    assert b.by_kind == {
        "acknowledge": {"P0": 0, "P1": 2, "P2": 0, "P3": 1, "undetermined": 1},
        "severity": {"P0": 0, "P1": 0, "P2": 0, "P3": 0, "undetermined": 1},
        "stakeholders": {"P0": 0, "P1": 2, "P2": 0, "P3": 0, "undetermined": 0},
        "next_update": {"P0": 1, "P1": 0, "P2": 0, "P3": 0, "undetermined": 0},
        "review": {"P0": 0, "P1": 1, "P2": 0, "P3": 0, "undetermined": 0},
    }
    assert b.total == 9
    # INC-5's acknowledgement was both recorded and recomputed: counted once, as recorded.
    assert b.recorded == 2
    assert b.unrecorded == 7


def test_open_action_items_of_the_period(report):
    assert report.action_items == metrics.ItemCounts(open=2, overdue=1, done=1)


def test_series_for_the_chart(report):
    assert report.per_day == [
        (date(2026, 11, 20), 1),
        (date(2026, 11, 21), 1),
        (date(2026, 11, 22), 1),
        (date(2026, 11, 23), 0),
        (date(2026, 11, 24), 0),
        (date(2026, 11, 25), 1),
        (date(2026, 11, 26), 1),
        (date(2026, 11, 27), 1),
    ]
    assert report.per_week == [
        metrics.WeekPoint(date(2026, 11, 16), acknowledged=3, mean_acknowledge=260.0),
        metrics.WeekPoint(date(2026, 11, 23), acknowledged=1, mean_acknowledge=1200.0),
    ]


def test_an_empty_period_reports_zeros_not_errors(history):
    empty = metrics.Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 8, tzinfo=UTC))
    report = metrics.build(history.store, history.policy, NOW, empty)
    assert report.total == 0
    assert report.acknowledge == metrics.DurationStats(0, 0, None, None)
    assert report.breaches.total == 0
    assert [n for _, n in report.per_day] == [0] * 7
    assert "mean       —" in metrics.format_report(report)


def test_default_period_is_the_last_thirty_days_today_included():
    p = metrics.period_ending(NOW)
    assert p.since == datetime(2026, 10, 29, tzinfo=UTC)
    assert p.until == datetime(2026, 11, 28, tzinfo=UTC)
    assert len(p.days) == 30


def test_text_report_says_what_it_counted(report):
    text = metrics.format_report(report)
    assert "Incidents that started 2026-11-20 → 2026-11-27 (UTC)" in text
    assert "total 6   P0 1   P1 2   P2 1   P3 1   undetermined 1   still open 3" in text
    assert "Time to acknowledge  mean   8m15s   p90  20m00s   (4 acknowledged, 2 never acknowledged)" in text
    assert "Time to resolve      mean   1h10m   p90   2h00m   (3 resolved, 3 still open)" in text
    assert "Deadline breaches: 9 (2 recorded on the timeline, 7 found only by recomputing the deadlines)" in text
    assert "  Acknowledge                0     2     0     1     1      4" in text
    assert "Review action items: 2 open (1 overdue), 1 done" in text
    assert "week of 2026-11-16    4m20s  (3 acknowledged)" in text


def test_sparkline_scales_to_the_busiest_day():
    assert metrics.sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert metrics.sparkline([0, 0]) == "▁▁"


def test_report_command(history, cli_env):
    # A subprocess runs on the wall clock: only what does not depend on "now" is asserted.
    history.close()
    out = subprocess.run(
        [EXE, "report", "--since", "2026-11-20", "--until", "2026-11-27", "--json"],
        env=cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["incidents"]["total"] == 6
    assert data["period"] == {"since": "2026-11-20T00:00:00Z", "until": "2026-11-28T00:00:00Z", "by": "started_at"}
    assert data["time_to_acknowledge"] == {
        "count": 4,
        "never_acknowledged": 2,
        "mean_seconds": 495.0,
        "p90_seconds": 1200.0,
    }
    assert (data["action_items"]["open"], data["action_items"]["done"]) == (2, 1)
    bad = subprocess.run([EXE, "report", "--since", "yesterday"], env=cli_env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.startswith("oncall-tui: not an ISO-8601 time: 'yesterday'")
    assert "Traceback" not in bad.stderr


# --- the report judges deadlines exactly as deadlines.compute does ------------------------------------
# It reads only the milestone columns into a lighter record than `Incident`; these hold that record to
# carrying everything the rules read.


def _python_breaches(incidents: list[Incident], policy, now: datetime) -> set[tuple[int, str, int]]:
    out = set()
    for inc in incidents:
        for d in compute(inc, policy, now).items:
            if d.state is State.BREACHED and deadlines.kind(d.key) is not None:
                out.add((inc.number, d.key, round(d.due_at.timestamp() * 1000)))
    return out


def _report_breaches(desk: Desk, now: datetime, period: metrics.Period) -> set[tuple[int, str, int]]:
    found = metrics.computed_breaches(desk.store, desk.policy, now, period)
    return {(number, key, due) for number, key, due, _ in found}


@pytest.mark.parametrize("minutes_later", [0, 5, 15, 60, 60 * 24 * 3])
def test_report_agrees_with_compute_on_the_fixture_history(history, minutes_later):
    now = NOW + timedelta(minutes=minutes_later)
    incidents = [i for i in history.incidents(include_closed=True) if PERIOD.since <= i.started_at < PERIOD.until]
    assert _report_breaches(history, now, PERIOD) == _python_breaches(incidents, history.policy, now)


_T0 = datetime(2026, 11, 27, tzinfo=UTC)
# On a 5-minute grid, so that due times and "now" often coincide: the boundaries are where a rule
# read with the wrong milestone would show.
_offset = st.integers(min_value=0, max_value=48).map(lambda k: timedelta(minutes=5 * k))
_maybe = st.one_of(st.none(), _offset)
# Around the review deadline, 48 h after resolution.
_late = st.integers(min_value=0, max_value=60).map(lambda k: timedelta(hours=47, minutes=5 * k))


@st.composite
def _incident(draw, number: int) -> Incident:
    started = _T0 + draw(_offset)
    declared = started + draw(_offset)
    status = draw(st.sampled_from(list(Status)))
    sev = draw(st.one_of(st.none(), st.sampled_from(list(Severity))))

    def after(base: datetime) -> datetime | None:
        off = draw(_maybe)
        return None if off is None else base + off

    resolved = started + draw(_offset) if status in (Status.RESOLVED, Status.CLOSED) else None
    return Incident(
        number=number,
        title=f"generated {number}",
        status=status,
        started_at=started,
        declared_at=declared,
        severity=sev,
        acknowledged_at=after(started),
        severity_at=after(declared) if sev else None,
        notified_at=after(started),
        last_update_at=after(started),
        next_update_at=after(started),
        mitigated_at=after(started),
        resolved_at=resolved,
        review_done_at=resolved + draw(st.one_of(_offset, _late)) if resolved and draw(st.booleans()) else None,
        review_waived=draw(st.sampled_from(["", "", "duplicate of INC-1"])),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_report_agrees_with_compute_on_any_milestones(desk, data):
    conn = desk.store.conn
    conn.execute("DELETE FROM incidents")  # incidents without events: the timeline stays append-only
    incidents = [data.draw(_incident(n)) for n in range(1, 9)]
    for inc in incidents:
        desk.store.insert_incident(inc)
    # Boundaries matter most: the instant of a due time, and a millisecond either side.
    now = _T0 + data.draw(st.one_of(_offset, _offset.map(lambda o: o + timedelta(hours=48))))
    now += data.draw(st.sampled_from([timedelta(0), timedelta(milliseconds=1), -timedelta(milliseconds=1)]))
    period = metrics.Period(_T0 - timedelta(days=1), _T0 + timedelta(days=2))
    assert _report_breaches(desk, now, period) == _python_breaches(incidents, desk.policy, now)
