"""Paging decisions: a pure function of the incident, its clocks, the policy and the pages on record."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from oncall_tui.clock import parse_instant
from oncall_tui.deadlines import compute
from oncall_tui.model import Incident, Severity, Status
from oncall_tui.paging import PageRecord, compose, decide

T0 = parse_instant("2026-11-27T03:00:00Z")


def incident(**kw) -> Incident:
    base = Incident(1, "Login failures", Status.TRIGGERED, T0, T0, severity=Severity.P1, severity_at=T0)
    return replace(base, **kw)


def page(level: int, state: str = "delivered", *, at=T0, round: int = 0, person: str = "ava") -> PageRecord:
    key = f"INC-1:L{level}" + (f":r{round}" if round else "")
    return PageRecord(key, 1, level, person, "new", round, state, at, at)


def intents(inc, policy, records, now):
    return [(i.key, i.reason) for i in decide(inc, compute(inc, policy, now), policy, records, now)]


def test_a_new_incident_pages_the_first_level(policy):
    assert intents(incident(), policy, [], T0) == [("INC-1:L0", "new")]


def test_an_incident_acknowledged_before_anyone_was_paged_wakes_nobody(policy):
    assert intents(incident(acknowledged_at=T0, status=Status.ACKNOWLEDGED), policy, [], T0) == []


def test_no_acknowledgement_in_five_minutes_pages_the_second_level_at_once(policy):
    now = T0 + timedelta(minutes=5, seconds=1)
    assert intents(incident(), policy, [page(0)], now) == [("INC-1:L1", "not_acknowledged")]


def test_a_level_nobody_could_be_reached_at_passes_to_the_next(policy):
    now = T0 + timedelta(seconds=20)
    assert intents(incident(), policy, [page(0, "failed")], now) == [("INC-1:L1", "unreachable")]
    assert intents(incident(), policy, [page(0, "nobody", person="")], now) == [("INC-1:L1", "unreachable")]
    # A page still being sent is not a failure yet.
    assert intents(incident(), policy, [page(0, "sending")], now) == []


def test_an_unanswered_page_is_repeated_until_the_limit_and_acknowledging_stops_it(policy):
    policy = replace(policy, paging=replace(policy.paging, repeat_minutes=2, repeat_limit=2))
    records = [page(0)]
    now = T0 + timedelta(minutes=2)
    assert intents(incident(), policy, records, now) == [("INC-1:L0:r1", "repeat")]
    records.append(page(0, at=now, round=1))
    assert intents(incident(), policy, records, now + timedelta(minutes=1)) == []
    later = now + timedelta(minutes=2, seconds=30)
    assert intents(incident(), policy, records, later) == [("INC-1:L0:r2", "repeat")]
    records.append(page(0, at=later, round=2))
    assert intents(incident(), policy, records, later + timedelta(seconds=10)) == []  # the limit
    assert intents(incident(), policy, records, T0 + timedelta(minutes=5, seconds=1)) == [
        ("INC-1:L1", "not_acknowledged")
    ]
    acked = incident(acknowledged_at=now, status=Status.ACKNOWLEDGED)
    assert intents(acked, policy, records, now + timedelta(minutes=2)) == []


def test_the_escalation_matrix_pages_each_level_as_it_is_reached(policy):
    records = [page(0), page(1)]
    acked = incident(acknowledged_at=T0 + timedelta(minutes=1), status=Status.ACKNOWLEDGED)
    assert intents(acked, policy, records, T0 + timedelta(minutes=59)) == []
    assert intents(acked, policy, records, T0 + timedelta(minutes=60)) == [("INC-1:L2", "escalated")]


@pytest.mark.parametrize(
    "changes",
    [
        {"severity": Severity.P3},
        {"mitigated_at": T0, "status": Status.MITIGATED},
        {"resolved_at": T0, "status": Status.RESOLVED},
    ],
)
def test_quiet_severities_and_settled_incidents_page_nobody(policy, changes):
    assert intents(incident(**changes), policy, [], T0 + timedelta(minutes=1)) == []


def test_yesterdays_incident_is_not_paged_late_when_paging_starts(policy):
    old = incident(started_at=T0 - timedelta(days=1), declared_at=T0 - timedelta(days=1))
    assert intents(old, policy, [], T0) == []


def test_an_undetermined_severity_pages_it_may_be_a_p0(policy):
    assert intents(incident(severity=None, severity_at=None), policy, [], T0) == [("INC-1:L0", "new")]


def test_the_page_says_what_is_broken_what_is_overdue_and_how_to_acknowledge(policy):
    inc = incident(services=("identity",))
    now = T0 + timedelta(minutes=6)
    (intent,) = decide(inc, compute(inc, policy, now), policy, [page(0)], now)
    title, body = compose(inc, compute(inc, policy, now), policy, intent)
    assert title == "[P1] INC-1 Login failures"
    assert "Secondary On-Call" in body and "not acknowledged in time" in body
    assert "Acknowledge 1m00s overdue" in body
    assert "oncall-tui ack INC-1" in body and "Services: identity" in body
