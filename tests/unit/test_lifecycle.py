"""Every status move through the desk: the legal ones happen, the illegal ones are refused with a
message that tells the engineer what to do, and a refusal writes nothing."""

from __future__ import annotations

import itertools

import pytest

from oncall_tui.deadlines import State
from oncall_tui.desk import Conflict, Desk, NotFound
from oncall_tui.lifecycle import ALLOWED, ActionRefused, next_status
from oncall_tui.model import Severity, Status

# The path the runbook's phases take; `reach` walks an incident along it.
PATH = [Status.TRIGGERED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED, Status.CLOSED]

LEGAL = {
    (Status.TRIGGERED, Status.ACKNOWLEDGED),
    (Status.ACKNOWLEDGED, Status.INVESTIGATING),
    (Status.ACKNOWLEDGED, Status.MITIGATED),
    (Status.ACKNOWLEDGED, Status.RESOLVED),
    (Status.INVESTIGATING, Status.MITIGATED),
    (Status.INVESTIGATING, Status.RESOLVED),
    (Status.MITIGATED, Status.RESOLVED),
    (Status.MITIGATED, Status.INVESTIGATING),  # it recurred while being monitored
    (Status.RESOLVED, Status.CLOSED),
    (Status.RESOLVED, Status.INVESTIGATING),  # reopened
}
ILLEGAL = sorted(
    (set(itertools.product(Status, Status)) - LEGAL) - {(s, s) for s in Status},
    key=lambda p: (PATH.index(p[0]), PATH.index(p[1])),
)


def reach(desk: Desk, status: Status, *, severity: str = "P2") -> int:
    """A new incident, ready to resolve (severity, root cause, resolution), moved along to `status`."""
    inc = desk.declare("Slow API responses", severity=severity, services=["api"])
    desk.edit(inc.number, "root_cause", "missing index on events.incident")
    desk.edit(inc.number, "resolution", "added the index")
    for step in PATH[1 : PATH.index(status) + 1]:
        desk.move(inc.number, step)
    assert desk.get(inc.number).status is status
    return inc.number


def snapshot(desk: Desk, number: int):
    return desk.get(number), len(desk.timeline(number))


def test_the_table_under_test_is_the_one_the_desk_uses():
    assert {(a, b) for a, targets in ALLOWED.items() for b in targets} == LEGAL


@pytest.mark.parametrize(
    "source,target", sorted(LEGAL, key=lambda p: (PATH.index(p[0]), PATH.index(p[1]))), ids=lambda s: s.value
)
def test_legal_moves_happen_and_are_on_the_timeline(desk, clock, source, target):
    number = reach(desk, source)
    clock.advance(minutes=3)
    inc = desk.move(number, target)
    assert inc.status is target
    last = desk.timeline(number)[-1]
    if target is Status.ACKNOWLEDGED:
        assert (last.kind, inc.acknowledged_by, inc.acknowledged_at) == ("acknowledged", "alice", clock.now())
    else:
        assert (last.kind, last.details) == ("status_changed", {"from": source.value, "to": target.value})
        assert last.actor == "alice" and last.at == clock.now()


@pytest.mark.parametrize("source,target", ILLEGAL, ids=lambda s: s.value)
def test_illegal_moves_are_refused_and_write_nothing(desk, source, target):
    number = reach(desk, source)
    before = snapshot(desk, number)
    with pytest.raises(ActionRefused) as refused:
        desk.move(number, target)
    message = str(refused.value)
    assert message.startswith("INC-1")
    if target is Status.ACKNOWLEDGED:
        assert message.startswith("INC-1 was already acknowledged by alice")
    elif source is Status.CLOSED:
        assert message == "INC-1 is closed; declare a new incident if it happens again"
    elif source is Status.TRIGGERED:
        assert message == "INC-1 must be acknowledged first"
    else:
        allowed = ", ".join(s.value for s in ALLOWED[source])
        assert message == f"INC-1 cannot go from {source.value} to {target.value} (from here: {allowed})"
    assert snapshot(desk, number) == before


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.ACKNOWLEDGED], ids=lambda s: s.value)
def test_moving_to_the_current_status_is_refused(desk, status):
    number = reach(desk, status)
    before = snapshot(desk, number)
    with pytest.raises(ActionRefused, match=rf"^INC-1 is already {status.value}$"):
        desk.move(number, status)
    assert snapshot(desk, number) == before


def test_acknowledging_twice_says_who_got_there_first(desk, clock):
    inc = desk.declare("Login failures", severity="P0")
    desk.acknowledge(inc.number, actor="bob")
    clock.advance(minutes=2, seconds=5)
    with pytest.raises(Conflict, match=r"^INC-1 was already acknowledged by bob 2m05s ago$"):
        desk.acknowledge(inc.number)


def test_acknowledge_sets_status_and_milestone(desk, clock):
    inc = desk.declare("Login failures", severity="P0")
    clock.advance(minutes=2)
    inc = desk.acknowledge(inc.number)
    assert (inc.status, inc.acknowledged_at, inc.acknowledged_by) == (Status.ACKNOWLEDGED, clock.now(), "alice")


# --- advance: the one-key "next phase" ----------------------------------------------------------


def test_advance_walks_the_runbooks_phases_in_order(desk):
    number = reach(desk, Status.TRIGGERED)
    seen = []
    while (target := next_status(desk.get(number).status)) is not None:
        seen.append(desk.advance(number).status)
        assert seen[-1] is target
    assert seen == PATH[1:]
    with pytest.raises(ActionRefused, match=r"^INC-1 is closed; there is no next step$"):
        desk.advance(number)


def test_advance_refuses_when_another_desk_moved_it_first(desk, db_path, policy, clock):
    number = reach(desk, Status.ACKNOWLEDGED)
    other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
    try:
        other.move(number, Status.INVESTIGATING)
    finally:
        other.close()
    with pytest.raises(Conflict, match=r"^INC-1's status \(now investigating\) was changed by bob just now"):
        desk.move(number, Status.INVESTIGATING, expected=Status.ACKNOWLEDGED)
    assert desk.get(number).status is Status.INVESTIGATING


def test_unknown_incident_is_refused(desk):
    with pytest.raises(NotFound, match=r"^no incident INC-42$"):
        desk.move(42, Status.INVESTIGATING)
    with pytest.raises(NotFound, match=r"^no incident INC-42$"):
        desk.advance(42)


def test_unknown_status_text_is_refused(desk):
    number = reach(desk, Status.ACKNOWLEDGED)
    with pytest.raises(ValueError, match="unknown status 'fixed': use one of triggered, acknowledged"):
        desk.move(number, "fixed")


# --- resolving needs severity, root cause and resolution ----------------------------------------


def test_resolving_needs_a_root_cause_and_a_resolution(desk):
    inc = desk.declare("Login failures", severity="P1")
    desk.acknowledge(inc.number)
    before = snapshot(desk, inc.number)
    with pytest.raises(ActionRefused, match=r"^resolving INC-1 needs a root cause and a resolution first$"):
        desk.move(inc.number, Status.RESOLVED)
    assert snapshot(desk, inc.number) == before

    desk.edit(inc.number, "root_cause", "JWKS cache not refreshed")
    with pytest.raises(ActionRefused, match=r"^resolving INC-1 needs a resolution first$"):
        desk.move(inc.number, Status.RESOLVED)
    desk.edit(inc.number, "resolution", "   ")  # blank is not an answer
    with pytest.raises(ActionRefused, match=r"needs a resolution first$"):
        desk.move(inc.number, Status.RESOLVED)
    desk.edit(inc.number, "resolution", "flushed the cache")
    assert desk.move(inc.number, Status.RESOLVED).status is Status.RESOLVED


def test_resolving_needs_a_severity(desk):
    inc = desk.declare("Something is off")
    desk.acknowledge(inc.number)
    desk.edit(inc.number, "root_cause", "a")
    desk.edit(inc.number, "resolution", "b")
    with pytest.raises(ActionRefused, match=r"^resolving INC-1 needs a severity first$"):
        desk.move(inc.number, Status.RESOLVED)
    desk.set_severity(inc.number, Severity.P3)
    assert desk.move(inc.number, Status.RESOLVED).status is Status.RESOLVED


def test_resolving_lists_everything_missing(desk):
    inc = desk.declare("Something is off")
    desk.acknowledge(inc.number)
    with pytest.raises(ActionRefused, match=r"needs a severity and a root cause and a resolution first$"):
        desk.advance(inc.number)  # acknowledged → investigating is fine…
        desk.advance(inc.number)  # …mitigated too…
        desk.advance(inc.number)  # …resolving is not


def test_resolving_straight_from_acknowledged_also_marks_it_mitigated(desk, clock):
    number = reach(desk, Status.ACKNOWLEDGED)
    clock.advance(minutes=20)
    inc = desk.move(number, Status.RESOLVED)
    assert inc.mitigated_at == inc.resolved_at == clock.now()
    assert inc.next_update_at is None


def test_resolving_keeps_the_moment_it_was_mitigated(desk, clock):
    number = reach(desk, Status.MITIGATED)
    mitigated = desk.get(number).mitigated_at
    clock.advance(minutes=30)
    inc = desk.move(number, Status.RESOLVED)
    assert inc.mitigated_at == mitigated
    assert inc.resolved_at == clock.now()


# --- closing a P0/P1 needs its review -----------------------------------------------------------


@pytest.mark.parametrize("sev", ["P0", "P1"])
def test_closing_a_major_incident_needs_its_review_or_a_waiver(desk, clock, sev):
    number = reach(desk, Status.RESOLVED, severity=sev)
    before = snapshot(desk, number)
    with pytest.raises(
        ActionRefused,
        match=rf"^INC-1 is {sev}: complete its post-incident review \(or record a waiver\) before closing$",
    ):
        desk.move(number, Status.CLOSED)
    assert snapshot(desk, number) == before

    clock.advance(hours=30)
    desk.append(number, "review_done", {"notes": "held with identity team"}, {"review_done_at": clock.now()})
    inc = desk.move(number, Status.CLOSED)
    assert (inc.status, inc.closed_at) == (Status.CLOSED, clock.now())
    assert desk.deadlines(inc).get("review").state is State.MET


def test_a_waiver_lets_a_major_incident_close(desk):
    number = reach(desk, Status.RESOLVED, severity="P1")
    desk.append(number, "review_waived", {"reason": "duplicate"}, {"review_waived": "duplicate of INC-7"})
    assert desk.move(number, Status.CLOSED).status is Status.CLOSED


@pytest.mark.parametrize("sev", ["P2", "P3"])
def test_minor_incidents_close_without_a_review(desk, sev):
    number = reach(desk, Status.RESOLVED, severity=sev)
    assert desk.move(number, Status.CLOSED).status is Status.CLOSED


def test_a_closed_incident_keeps_its_severity(desk):
    number = reach(desk, Status.CLOSED)
    with pytest.raises(ActionRefused, match=r"^INC-1 is closed; its severity is part of the record now$"):
        desk.set_severity(number, "P0")


# --- recurrence and reopening clear the fire's end ------------------------------------------------


@pytest.mark.parametrize("source", [Status.MITIGATED, Status.RESOLVED], ids=lambda s: s.value)
def test_recurrence_clears_mitigated_and_resolved(desk, clock, source):
    number = reach(desk, source, severity="P0")
    clock.advance(hours=1)
    inc = desk.move(number, Status.INVESTIGATING)
    assert (inc.status, inc.mitigated_at, inc.resolved_at) == (Status.INVESTIGATING, None, None)
    dl = desk.deadlines(inc)
    # The review clock stops, the escalation matrix runs again.
    assert dl.get("review").state is State.NOT_APPLICABLE
    assert dl.escalation.next_at is not None
    assert desk.timeline(number)[-1].details == {"from": source.value, "to": "investigating"}


def test_a_reopened_incident_must_be_mitigated_or_resolved_again(desk, clock):
    number = reach(desk, Status.RESOLVED)
    desk.move(number, Status.INVESTIGATING)
    clock.advance(minutes=10)
    inc = desk.move(number, Status.RESOLVED)
    assert inc.resolved_at == inc.mitigated_at == clock.now()
