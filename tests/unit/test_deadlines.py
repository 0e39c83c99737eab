"""Every clock the runbook starts, at its boundaries, on a frozen clock.

Each rule is checked one second before its due instant (pending), at the instant itself (still
pending: "within 5 minutes" includes the fifth minute, and an action taken at that instant is on
time, so the clock must not already read "breached"), and one second after (breached).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from oncall_tui.clock import parse_instant
from oncall_tui.deadlines import Deadline, Escalation, State, compute
from oncall_tui.model import Incident, Severity, Status
from oncall_tui.policy import load_policy

T0 = parse_instant("2026-11-27T03:00:00Z")
SECOND = timedelta(seconds=1)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def incident(**changes) -> Incident:
    """An incident that started and was declared at T0, P0 unless told otherwise."""
    base = dict(
        number=1,
        title="Login failures",
        status=Status.TRIGGERED,
        started_at=T0,
        declared_at=T0,
        severity=Severity.P0,
        severity_at=T0,
        services=("identity",),
    )
    base.update(changes)
    if base["severity"] is None and "severity_at" not in changes:
        base["severity_at"] = None
    return Incident(**base)


def acked(at: datetime = T0 + MIN, **changes) -> Incident:
    return incident(**{"status": Status.ACKNOWLEDGED, "acknowledged_at": at, "acknowledged_by": "alice", **changes})


def deadline(inc: Incident, policy, now: datetime, key: str) -> Deadline:
    return compute(inc, policy, now).get(key)


def around(due: datetime) -> list[datetime]:
    return [due - SECOND, due, due + SECOND]


# --- acknowledge: 5 minutes from the start ------------------------------------------------------


def test_acknowledge_is_due_five_minutes_after_the_start(policy):
    before, at, after = (deadline(incident(), policy, t, "acknowledge") for t in around(T0 + 5 * MIN))
    assert before.due_at == T0 + 5 * MIN
    assert (before.state, before.seconds_left) == (State.PENDING, 1)
    assert (at.state, at.seconds_left) == (State.PENDING, 0)
    assert (after.state, after.seconds_left) == (State.BREACHED, -1)
    assert after.late_by == SECOND


def test_acknowledged_on_time_is_met_and_stops_counting(policy):
    inc = acked(at=T0 + 5 * MIN)  # at the due instant itself
    d = deadline(inc, policy, T0 + 3 * HOUR, "acknowledge")
    assert d.state is State.MET
    assert d.done_at == T0 + 5 * MIN
    assert d.seconds_left == 0
    assert not d.running


def test_acknowledged_late_stays_breached_and_says_by_how_much(policy):
    inc = acked(at=T0 + 5 * MIN + SECOND)
    d = deadline(inc, policy, T0 + 6 * MIN, "acknowledge")
    assert d.state is State.BREACHED
    assert d.late_by == SECOND
    # Hours later it is still exactly one second late: the lateness is frozen at the action.
    later = deadline(inc, policy, T0 + 5 * HOUR, "acknowledge")
    assert later.state is State.BREACHED
    assert later.late_by == SECOND
    assert not later.running


def test_acknowledging_late_through_the_desk_records_the_lateness(desk, clock):
    inc = desk.declare("Login failures", severity="P0", services=["identity"])
    clock.advance(minutes=7)
    inc = desk.acknowledge(inc.number)
    d = desk.deadlines(inc).get("acknowledge")
    assert (d.state, d.late_by) == (State.BREACHED, timedelta(minutes=2))
    event = desk.timeline(inc.number)[-1]
    assert event.kind == "acknowledged"
    assert event.details == {"late_by_seconds": 120}


def test_acknowledging_at_the_due_instant_is_on_time(desk, clock):
    inc = desk.declare("Login failures", severity="P0")
    clock.advance(minutes=5)
    assert desk.deadlines(desk.get(inc.number)).get("acknowledge").state is State.PENDING
    inc = desk.acknowledge(inc.number)
    assert desk.deadlines(inc).get("acknowledge").state is State.MET
    assert desk.timeline(inc.number)[-1].details == {}


def test_acknowledge_counts_from_a_back_dated_start(policy):
    # Declared at 03:20 for an outage that began at 03:00: five minutes from the start are long gone.
    inc = incident(declared_at=T0 + 20 * MIN)
    d = deadline(inc, policy, T0 + 20 * MIN, "acknowledge")
    assert d.state is State.BREACHED
    assert d.late_by == 15 * MIN


# --- severity: 15 minutes from when the incident reached the desk -------------------------------


def test_severity_is_due_fifteen_minutes_after_declaration(policy):
    inc = incident(severity=None)
    before, at, after = (deadline(inc, policy, t, "severity") for t in around(T0 + 15 * MIN))
    assert before.due_at == T0 + 15 * MIN
    assert before.state is State.PENDING
    assert at.state is State.PENDING
    assert after.state is State.BREACHED


def test_severity_clock_starts_when_the_incident_reached_the_desk_not_at_a_back_dated_start(policy):
    # The outage began 03:00 but nobody knew until 03:20: judging severity cannot have been late then.
    declared = T0 + 20 * MIN
    inc = incident(severity=None, declared_at=declared)
    before, at, after = (deadline(inc, policy, t, "severity") for t in around(declared + 15 * MIN))
    assert before.due_at == declared + 15 * MIN
    assert (before.state, at.state, after.state) == (State.PENDING, State.PENDING, State.BREACHED)


def test_severity_given_at_declaration_is_met(policy):
    inc = incident(declared_at=T0 + 20 * MIN, severity_at=T0 + 20 * MIN)
    d = deadline(inc, policy, T0 + 2 * HOUR, "severity")
    assert (d.state, d.done_at) == (State.MET, T0 + 20 * MIN)


def test_severity_set_late_stays_breached(desk, clock):
    inc = desk.declare("Slow API responses", services=["api"])
    clock.advance(minutes=15)
    inc = desk.set_severity(inc.number, "P1")
    assert desk.deadlines(inc).get("severity").state is State.MET

    late = desk.declare("Timeouts on search")
    clock.advance(minutes=16)
    late = desk.set_severity(late.number, "P2")
    d = desk.deadlines(late).get("severity")
    assert (d.state, d.late_by) == (State.BREACHED, MIN)
    # Changing the severity again later does not move the moment it was first determined.
    clock.advance(minutes=30)
    late = desk.set_severity(late.number, "P1")
    assert desk.deadlines(late).get("severity").late_by == MIN


# --- stakeholders: 15 minutes, P0/P1 only -------------------------------------------------------


@pytest.mark.parametrize("sev", [Severity.P0, Severity.P1])
def test_stakeholders_are_due_fifteen_minutes_after_the_start_for_major_incidents(policy, sev):
    inc = acked(severity=sev)
    before, at, after = (deadline(inc, policy, t, "stakeholders") for t in around(T0 + 15 * MIN))
    assert before.due_at == T0 + 15 * MIN
    assert (before.state, at.state, after.state) == (State.PENDING, State.PENDING, State.BREACHED)


@pytest.mark.parametrize("sev", [Severity.P2, Severity.P3, None])
def test_stakeholders_do_not_apply_below_p1_or_before_severity_is_known(policy, sev):
    d = deadline(incident(severity=sev), policy, T0 + 2 * HOUR, "stakeholders")
    assert d.state is State.NOT_APPLICABLE
    assert d.due_at is None and d.seconds_left is None


def test_initial_alert_meets_the_stakeholder_deadline(desk, clock):
    inc = desk.declare("Login failures", severity="P0", services=["identity"])
    clock.advance(minutes=15)
    inc = desk.record_message(inc.number, template="initial", text="[P0] Service Issue: identity", via="clipboard")
    d = desk.deadlines(inc).get("stakeholders")
    assert (d.state, d.done_at) == (State.MET, T0 + 15 * MIN)
    clock.advance(hours=3)
    assert desk.deadlines(desk.get(inc.number)).get("stakeholders").state is State.MET


def test_initial_alert_sent_late_stays_breached(desk, clock):
    inc = desk.declare("Login failures", severity="P1")
    clock.advance(minutes=15, seconds=1)
    inc = desk.record_message(inc.number, template="initial", text="[P1] …", via="clipboard")
    d = desk.deadlines(inc).get("stakeholders")
    assert (d.state, d.late_by) == (State.BREACHED, SECOND)


def test_an_update_or_a_note_does_not_count_as_notifying_stakeholders(desk, clock):
    inc = desk.declare("Login failures", severity="P0")
    desk.note(inc.number, "told Bob in the hallway")
    inc = desk.record_message(inc.number, template="update", text="[P0] still broken", via="clipboard")
    clock.advance(minutes=16)
    assert desk.deadlines(desk.get(inc.number)).get("stakeholders").state is State.BREACHED


def test_a_second_initial_alert_does_not_move_the_notification_time(desk, clock):
    inc = desk.declare("Login failures", severity="P0")
    clock.advance(minutes=2)
    desk.record_message(inc.number, template="initial", text="first", via="clipboard")
    clock.advance(minutes=20)
    inc = desk.record_message(inc.number, template="initial", text="again", via="clipboard")
    assert inc.notified_at == T0 + 2 * MIN
    assert desk.deadlines(inc).get("stakeholders").state is State.MET


# --- escalation matrix: 0 / 30 min / 1 h / 2 h / 4 h ----------------------------------------------

MATRIX = [
    (timedelta(0), "Primary On-Call"),
    (30 * MIN, "Secondary On-Call"),
    (HOUR, "Engineering Manager"),
    (2 * HOUR, "VP of Engineering"),
    (4 * HOUR, "CTO"),
]


def test_the_shipped_matrix_is_the_runbooks(policy):
    assert [(t.after, t.level) for t in policy.escalation] == MATRIX
    assert all(t.contact for t in policy.escalation)


@pytest.mark.parametrize("index", range(len(MATRIX)))
def test_each_tier_is_reached_at_its_time_and_not_a_second_before(policy, index):
    after, level = MATRIX[index]
    inc = acked()  # acknowledged on time: only elapsed time escalates
    esc = compute(inc, policy, T0 + after).escalation
    assert (esc.index, esc.tier.level) == (index, level)
    assert esc.tier.contact == policy.escalation[index].contact
    if index:
        before = compute(inc, policy, T0 + after - SECOND).escalation
        assert before.tier.level == MATRIX[index - 1][1]
        assert before.next_tier.level == level
        assert before.next_at == T0 + after
        clock = compute(inc, policy, T0 + after + SECOND).get(policy.escalation[index].key)
        assert clock.state is State.BREACHED and clock.due_at == T0 + after


def test_the_last_tier_has_no_next(policy):
    esc = compute(acked(), policy, T0 + 10 * HOUR).escalation
    assert esc.tier.level == "CTO"
    assert esc.next_tier is None and esc.next_at is None


def test_escalation_clocks_list_every_tier_above_primary(policy):
    dl = compute(acked(), policy, T0 + 45 * MIN)
    clocks = [d for d in dl.items if d.key.startswith("escalate:")]
    assert [d.label for d in clocks] == [
        "Escalate to Secondary On-Call",
        "Escalate to Engineering Manager",
        "Escalate to VP of Engineering",
        "Escalate to CTO",
    ]
    assert [d.state for d in clocks] == [State.BREACHED, State.PENDING, State.PENDING, State.PENDING]
    assert [d.due_at for d in clocks] == [T0 + after for after, _ in MATRIX[1:]]


def test_a_missed_acknowledgement_goes_to_the_next_tier_at_once(policy):
    inc = incident()
    at_due = compute(inc, policy, T0 + 5 * MIN)
    assert at_due.escalation.tier.level == "Primary On-Call"
    missed = compute(inc, policy, T0 + 5 * MIN + SECOND)
    assert missed.escalation.tier.level == "Secondary On-Call"
    assert missed.escalation.tier.contact == "secondary on-call (pager rotation)"
    # Its clock was the acknowledgement's, not the 30-minute mark.
    secondary = missed.get("escalate:secondary-on-call")
    assert (secondary.state, secondary.due_at) == (State.BREACHED, T0 + 5 * MIN)
    assert missed.escalation.next_tier.level == "Engineering Manager"
    assert missed.escalation.next_at == T0 + HOUR


def test_a_late_acknowledgement_does_not_undo_the_escalation(policy):
    inc = acked(at=T0 + 7 * MIN)
    esc = compute(inc, policy, T0 + 10 * MIN).escalation
    assert esc.tier.level == "Secondary On-Call"


def test_an_on_time_acknowledgement_stays_with_primary_until_thirty_minutes(policy):
    inc = acked(at=T0 + 4 * MIN)
    assert compute(inc, policy, T0 + 30 * MIN - SECOND).escalation.tier.level == "Primary On-Call"


def test_escalation_stops_at_mitigation(policy):
    inc = acked(status=Status.MITIGATED, mitigated_at=T0 + 45 * MIN)
    dl = compute(inc, policy, T0 + 5 * HOUR)
    assert dl.escalation.tier.level == "Secondary On-Call"
    assert dl.escalation.next_tier.level == "Engineering Manager"
    assert dl.escalation.next_at is None  # it will not be reached: the fire is out
    states = {d.key: d.state for d in dl.items if d.key.startswith("escalate:")}
    assert states == {
        "escalate:secondary-on-call": State.BREACHED,
        "escalate:engineering-manager": State.MET,
        "escalate:vp-of-engineering": State.MET,
        "escalate:cto": State.MET,
    }
    assert not any(d.running for d in dl.items if d.key.startswith("escalate:"))


def test_incidents_past_their_last_tier_time_share_one_escalation_of_their_own_policy(policy):
    a = compute(acked(number=1), policy, T0 + 10 * HOUR).escalation
    b = compute(acked(number=2, started_at=T0 + MIN), policy, T0 + 10 * HOUR).escalation
    assert a is b and a.next_at is None and a.tier is policy.escalation[-1]
    with pytest.raises(AttributeError):  # frozen: no incident can change the one it shares
        a.index = 0  # type: ignore[misc]
    other = load_policy(use_user_config=False)  # a policy read again: its own tiers, never the old ones
    c = compute(acked(number=3), other, T0 + 10 * HOUR).escalation
    assert c.tier is other.escalation[-1] and c == Escalation(a.index, other.escalation[-1], None, None)
    assert compute(acked(number=1), policy, T0 + 10 * HOUR).escalation.tier is policy.escalation[-1]
    pending = compute(acked(number=4), policy, T0 + 10 * MIN).escalation
    assert pending.next_at == T0 + 30 * MIN  # one with a next tier time is its own


def test_escalation_resumes_when_the_problem_recurs(policy):
    # Recurrence clears `mitigated_at` (see lifecycle); the matrix then counts from the start again.
    inc = acked(status=Status.INVESTIGATING, mitigated_at=None)
    assert compute(inc, policy, T0 + 5 * HOUR).escalation.tier.level == "CTO"


def test_undetermined_severity_escalates_like_a_major_incident(policy):
    inc = acked(severity=None)
    assert compute(inc, policy, T0 + HOUR).escalation.tier.level == "Engineering Manager"


@pytest.mark.parametrize("sev", [Severity.P2, Severity.P3])
def test_minor_incidents_do_not_climb_the_matrix_with_time(policy, sev):
    dl = compute(acked(severity=sev), policy, T0 + 10 * HOUR)
    assert dl.escalation.tier.level == "Primary On-Call"
    assert dl.escalation.next_at is None
    assert all(d.state is State.NOT_APPLICABLE for d in dl.items if d.key.startswith("escalate:"))


def test_a_minor_incident_nobody_acknowledges_still_goes_to_the_secondary(policy):
    dl = compute(incident(severity=Severity.P3), policy, T0 + 6 * MIN)
    assert dl.escalation.tier.level == "Secondary On-Call"
    assert dl.get("escalate:secondary-on-call").state is State.BREACHED
    assert dl.get("escalate:engineering-manager").state is State.NOT_APPLICABLE


# --- next update --------------------------------------------------------------------------------


def test_no_update_is_due_before_the_first_message(policy):
    assert deadline(acked(), policy, T0 + 3 * HOUR, "next_update").state is State.NOT_APPLICABLE


def test_the_promised_next_update_time_is_the_deadline(desk, clock):
    inc = desk.declare("Login failures", severity="P2")
    desk.acknowledge(inc.number)
    promised = T0 + 20 * MIN
    inc = desk.record_message(inc.number, template="update", text="[P2] …", via="clipboard", next_update_at=promised)
    for now, state in zip(around(promised), (State.PENDING, State.PENDING, State.BREACHED)):
        d = desk.deadlines(inc, now).get("next_update")
        assert (d.due_at, d.state) == (promised, state)


@pytest.mark.parametrize("sev,cadence", [(Severity.P0, 30 * MIN), (Severity.P1, HOUR)])
def test_without_a_promise_the_cadence_for_the_severity_applies(desk, clock, sev, cadence):
    inc = desk.declare("Login failures", severity=sev)
    clock.advance(minutes=10)
    inc = desk.record_message(inc.number, template="initial", text="…", via="clipboard")
    sent = T0 + 10 * MIN
    for now, state in zip(around(sent + cadence), (State.PENDING, State.PENDING, State.BREACHED)):
        d = desk.deadlines(inc, now).get("next_update")
        assert (d.due_at, d.state) == (sent + cadence, state)


@pytest.mark.parametrize("sev", [Severity.P2, Severity.P3])
def test_minor_incidents_have_no_update_cadence(desk, sev):
    inc = desk.declare("Typo on status page", severity=sev)
    inc = desk.record_message(inc.number, template="update", text="…", via="clipboard")
    assert desk.deadlines(inc).get("next_update").state is State.NOT_APPLICABLE


def test_each_update_restarts_the_clock(desk, clock):
    inc = desk.declare("Login failures", severity="P0")
    desk.record_message(inc.number, template="initial", text="…", via="clipboard")
    clock.advance(minutes=29)
    inc = desk.record_message(inc.number, template="update", text="…", via="clipboard", next_update_at=T0 + 40 * MIN)
    assert desk.deadlines(inc).get("next_update").due_at == T0 + 40 * MIN
    clock.advance(minutes=5)
    # An update that promises nothing falls back to the cadence from its own time.
    inc = desk.record_message(inc.number, template="update", text="…", via="clipboard")
    assert inc.next_update_at is None
    assert desk.deadlines(inc).get("next_update").due_at == T0 + 34 * MIN + 30 * MIN


def test_a_resolution_message_does_not_restart_the_update_clock(desk, clock):
    inc = desk.declare("Login failures", severity="P0")
    inc = desk.record_message(inc.number, template="initial", text="…", via="clipboard")
    clock.advance(minutes=10)
    inc = desk.record_message(inc.number, template="resolution", text="…", via="clipboard")
    assert inc.last_update_at == T0


@pytest.mark.parametrize(
    "status,marks",
    [
        (Status.MITIGATED, {"mitigated_at": T0 + HOUR}),
        (Status.RESOLVED, {"mitigated_at": T0 + HOUR, "resolved_at": T0 + HOUR}),
        (Status.CLOSED, {"mitigated_at": T0 + HOUR, "resolved_at": T0 + HOUR, "closed_at": T0 + 2 * HOUR}),
    ],
)
def test_no_update_is_due_once_mitigated_or_resolved(policy, status, marks):
    inc = acked(status=status, notified_at=T0, last_update_at=T0, next_update_at=T0 + 90 * MIN, **marks)
    assert deadline(inc, policy, T0 + 80 * MIN, "next_update").state is State.NOT_APPLICABLE


# --- post-incident review: 24–48 h after a P0/P1 is resolved ----------------------------------

RESOLVED = T0 + 2 * HOUR


def resolved(**changes) -> Incident:
    base = dict(
        status=Status.RESOLVED,
        mitigated_at=RESOLVED,
        resolved_at=RESOLVED,
        root_cause="JWKS cache",
        resolution="restart",
    )
    base.update(changes)
    return acked(**base)


@pytest.mark.parametrize("sev", [Severity.P0, Severity.P1])
def test_review_is_due_48_hours_after_resolution(policy, sev):
    inc = resolved(severity=sev)
    before, at, after = (deadline(inc, policy, t, "review") for t in around(RESOLVED + 48 * HOUR))
    assert before.due_at == RESOLVED + 48 * HOUR
    assert before.span_start == RESOLVED
    assert (before.state, at.state, after.state) == (State.PENDING, State.PENDING, State.BREACHED)


def test_the_review_window_is_the_runbooks(policy):
    assert (policy.review_opens, policy.review_due) == (24 * HOUR, 48 * HOUR)


def test_a_review_done_in_the_window_is_met(policy):
    inc = resolved(status=Status.CLOSED, closed_at=RESOLVED + 30 * HOUR, review_done_at=RESOLVED + 30 * HOUR)
    d = deadline(inc, policy, RESOLVED + 100 * HOUR, "review")
    assert (d.state, d.done_at) == (State.MET, RESOLVED + 30 * HOUR)


def test_a_review_done_after_48_hours_stays_breached(policy):
    inc = resolved(review_done_at=RESOLVED + 50 * HOUR)
    d = deadline(inc, policy, RESOLVED + 100 * HOUR, "review")
    assert (d.state, d.late_by) == (State.BREACHED, 2 * HOUR)


def test_a_waived_review_is_not_applicable(policy):
    inc = resolved(review_waived="duplicate of INC-3, reviewed there")
    assert deadline(inc, policy, RESOLVED + 100 * HOUR, "review").state is State.NOT_APPLICABLE


@pytest.mark.parametrize("sev", [Severity.P2, Severity.P3])
def test_minor_incidents_need_no_review(policy, sev):
    assert deadline(resolved(severity=sev), policy, RESOLVED + 100 * HOUR, "review").state is State.NOT_APPLICABLE


@pytest.mark.parametrize("status", [Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.MITIGATED])
def test_no_review_is_due_before_resolution(policy, status):
    inc = acked(status=status, mitigated_at=T0 + HOUR if status is Status.MITIGATED else None)
    assert deadline(inc, policy, T0 + 100 * HOUR, "review").state is State.NOT_APPLICABLE


# --- next_due: what to look at first ----------------------------------------------------------


def test_next_due_picks_an_undone_breach_over_a_nearer_pending_clock(policy):
    # At 6 min: acknowledge is 1 min overdue; stakeholders is 9 min away.
    dl = compute(incident(), policy, T0 + 6 * MIN)
    assert dl.next_due.key == "acknowledge"
    assert dl.next_due.state is State.BREACHED


def test_next_due_picks_the_earliest_of_several_breaches(policy):
    dl = compute(incident(), policy, T0 + 20 * MIN)  # acknowledge (5 min) and stakeholders (15 min) overdue
    assert {d.key for d in dl.breached} >= {"acknowledge", "stakeholders"}
    assert dl.next_due.key == "acknowledge"


def test_next_due_skips_breaches_already_dealt_with(policy):
    inc = acked(at=T0 + 7 * MIN)  # late, but done
    dl = compute(inc, policy, T0 + 8 * MIN)
    assert dl.get("acknowledge").state is State.BREACHED
    assert dl.next_due.key == "stakeholders"
    assert dl.next_due.state is State.PENDING


def test_next_due_picks_the_nearest_pending_clock_and_ignores_escalation(policy):
    # Notified at 10 min: the P0 cadence puts the next update at 40 min, after the 30-min escalation.
    inc = acked(notified_at=T0 + 10 * MIN, last_update_at=T0 + 10 * MIN)
    dl = compute(inc, policy, T0 + 20 * MIN)
    assert dl.get("escalate:secondary-on-call").state is State.PENDING
    assert dl.next_due.key == "next_update"
    assert dl.next_due.due_at == T0 + 40 * MIN


def test_next_due_is_none_when_nothing_is_running(policy):
    inc = resolved(severity=Severity.P2)
    assert compute(inc, policy, RESOLVED + HOUR).next_due is None


# --- warnings ---------------------------------------------------------------------------------


def test_a_clock_warns_in_its_last_fifth_or_last_minute(policy):
    inc = incident(severity=None)
    # Severity: a 15-minute span, so the last 3 minutes warn.
    assert not deadline(inc, policy, T0 + 12 * MIN - SECOND, "severity").is_warning(policy.warn_fraction)
    assert deadline(inc, policy, T0 + 12 * MIN, "severity").is_warning(policy.warn_fraction)
    # Acknowledge: a 5-minute span, of which a fifth is one minute.
    assert not deadline(inc, policy, T0 + 4 * MIN - SECOND, "acknowledge").is_warning(policy.warn_fraction)
    assert deadline(inc, policy, T0 + 4 * MIN, "acknowledge").is_warning(policy.warn_fraction)
    # A breached clock is past warning.
    assert not deadline(inc, policy, T0 + 5 * MIN + SECOND, "acknowledge").is_warning(policy.warn_fraction)


# --- the numbers come from the policy ---------------------------------------------------------


def test_a_user_policy_changes_every_number(tmp_path: Path):
    override = tmp_path / "policy.toml"
    override.write_text(
        """
[deadlines]
acknowledge_minutes = 2
severity_minutes = 10
stakeholders_minutes = 20
stakeholders_severities = ["P0", "P1", "P2"]

[updates]
P2 = 120

[review]
due_hours = 72

[escalation_policy]
severities = ["P0", "P1", "P2"]

[[escalation]]
after_minutes = 0
level = "Primary On-Call"
contact = "Dana, +1 555 0100"

[[escalation]]
after_minutes = 15
level = "Incident Commander"
contact = "#ic-rotation"
""",
        encoding="utf-8",
    )
    policy = load_policy(override)
    inc = incident(severity=Severity.P2, severity_at=None, declared_at=T0)
    dl = compute(inc, policy, T0)
    assert dl.get("acknowledge").due_at == T0 + 2 * MIN
    assert dl.get("severity").due_at == T0 + 10 * MIN
    assert dl.get("stakeholders").due_at == T0 + 20 * MIN
    assert dl.escalation.tier.contact == "Dana, +1 555 0100"
    assert dl.escalation.next_tier.level == "Incident Commander"
    # Unacknowledged past 2 minutes: straight to the next tier, with its contact.
    late = compute(inc, policy, T0 + 2 * MIN + SECOND)
    assert (late.escalation.tier.level, late.escalation.tier.contact) == ("Incident Commander", "#ic-rotation")

    updated = acked(severity=Severity.P2, notified_at=T0, last_update_at=T0)
    assert compute(updated, policy, T0).get("next_update").due_at == T0 + 2 * HOUR
    done = resolved(severity=Severity.P2)
    assert compute(done, policy, RESOLVED).get("review").state is State.NOT_APPLICABLE  # still P0/P1 only
    review = compute(resolved(), policy, RESOLVED).get("review")
    assert review.due_at == RESOLVED + 72 * HOUR


# --- purity -------------------------------------------------------------------------------------


def test_compute_is_pure(policy):
    inc = incident()
    now = T0 + 7 * MIN
    assert compute(inc, policy, now) == compute(inc, policy, now)
    assert inc == incident()


def test_resolution_stops_the_first_response_clocks(desk, clock):
    """Resolved with stakeholders never told: the breach stays on the record, frozen at the
    resolution, and no longer runs or tops the board."""
    from datetime import timedelta

    from oncall_tui.deadlines import State, compute
    from oncall_tui.model import Status

    inc = desk.declare("Login failures", severity="P1", started_at=clock.now() - timedelta(minutes=20))
    desk.acknowledge(inc.number)
    desk.move(inc.number, Status.INVESTIGATING)
    desk.edit(inc.number, "root_cause", "JWKS cache")
    desk.edit(inc.number, "resolution", "Refreshed")
    resolved = desk.move(inc.number, Status.RESOLVED)
    clock.advance(hours=3)
    dl = compute(resolved, desk.policy, clock.now())
    stake = dl.get("stakeholders")
    assert stake.state is State.BREACHED and not stake.running
    assert stake.seconds_left == -5 * 60  # 20 min after the start, 15 min allowed
    assert dl.next_due is not None and dl.next_due.key == "review"


def test_resolved_before_a_clock_ran_out_makes_it_moot(desk, clock):

    from oncall_tui.deadlines import State, compute
    from oncall_tui.model import Status

    inc = desk.declare("Blip", severity="P1")
    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    desk.move(inc.number, Status.INVESTIGATING)
    desk.edit(inc.number, "root_cause", "Deploy")
    desk.edit(inc.number, "resolution", "Rolled back")
    resolved = desk.move(inc.number, Status.RESOLVED)
    clock.advance(hours=1)
    assert compute(resolved, desk.policy, clock.now()).get("stakeholders").state is State.NOT_APPLICABLE
