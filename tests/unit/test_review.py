"""Post-incident reviews and action items: every change one transaction with its timeline event."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest

from oncall_tui import cli, review
from oncall_tui.clock import FrozenClock, iso
from oncall_tui.desk import Conflict, Desk
from oncall_tui.lifecycle import ActionRefused
from oncall_tui.model import Status
from oncall_tui.store import StoreError


def resolved_p0(desk: Desk, clock: FrozenClock, severity: str = "P0") -> int:
    inc = desk.declare("Login failures", severity=severity, services=["identity"])
    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    desk.edit(inc.number, "root_cause", "JWKS cache expired")
    desk.edit(inc.number, "resolution", "Cache refreshed")
    clock.advance(minutes=30)
    desk.move(inc.number, Status.RESOLVED)
    return inc.number


def kinds(desk: Desk, number: int) -> list[str]:
    return [e.kind for e in desk.timeline(number)]


# --- scheduling -------------------------------------------------------------------------------------


def test_schedule_inside_the_window_records_when_and_who(desk, clock):
    n = resolved_p0(desk, clock)
    when = clock.now() + timedelta(hours=30)
    result = review.schedule(desk, n, when, ["alice", " bob ", "alice", ""])
    assert result.warnings == ()
    assert result.incident.review_scheduled_for == when
    last = desk.timeline(n)[-1]
    assert (last.kind, last.details) == (
        "review_scheduled",
        {"for": "2026-11-28T09:32:00Z", "attendees": ["alice", "bob"]},
    )
    assert review.state(desk, result.incident).attendees == ("alice", "bob")


@pytest.mark.parametrize(
    ("hours", "warning"),
    [
        (3, "2026-11-27 06:32 UTC is before the 24–48 h review window (it opens 2026-11-28 03:32 UTC)"),
        (50, "2026-11-29 05:32 UTC is after the review deadline (2026-11-29 03:32 UTC): the review will be 2h00m late"),
    ],
)
def test_schedule_outside_the_window_is_allowed_with_a_warning(desk, clock, hours, warning):
    n = resolved_p0(desk, clock)
    result = review.schedule(desk, n, clock.now() + timedelta(hours=hours), ["alice"])
    assert result.warnings == (warning,)
    assert result.incident.review_scheduled_for is not None


def test_schedule_warns_when_unresolved_or_without_attendees(desk, clock):
    inc = desk.declare("Still burning", severity="P1")
    result = review.schedule(desk, inc.number, clock.now() + timedelta(days=2))
    assert result.warnings == (
        "INC-1 is not resolved yet: the review window (24–48 h after resolution) is not known",
        "no attendees listed: the runbook asks to include all relevant stakeholders",
    )


def test_rescheduling_keeps_the_previous_time_on_the_timeline(desk, clock):
    n = resolved_p0(desk, clock)
    first = clock.now() + timedelta(hours=26)
    review.schedule(desk, n, first, ["alice"])
    review.schedule(desk, n, first + timedelta(hours=4), ["alice", "dana"])
    assert desk.timeline(n)[-1].details["previous"] == "2026-11-28T05:32:00Z"


def test_schedule_in_the_past_is_refused(desk, clock):
    n = resolved_p0(desk, clock)
    with pytest.raises(ActionRefused, match="is in the past"):
        review.schedule(desk, n, clock.now() - timedelta(minutes=1), ["alice"])


# --- completing and waiving -------------------------------------------------------------------------


def test_a_p0_closes_only_after_its_review(desk, clock):
    n = resolved_p0(desk, clock)
    with pytest.raises(ActionRefused, match="complete its post-incident review"):
        desk.move(n, Status.CLOSED)
    assert desk.deadlines(desk.get(n)).get("review").state.value == "pending"
    clock.advance(hours=30)
    inc = review.complete(desk, n, notes="Blameless; 4 action items")
    assert inc.review_done_at == clock.now()
    assert desk.deadlines(inc).get("review").state.value == "met"
    assert desk.move(n, Status.CLOSED).status is Status.CLOSED
    assert kinds(desk, n)[-2:] == ["review_completed", "status_changed"]


def test_a_late_review_says_how_late(desk, clock):
    n = resolved_p0(desk, clock)
    clock.advance(hours=50)
    inc = review.complete(desk, n)
    assert desk.timeline(n)[-1].details == {"late_by_seconds": 7200}
    assert desk.deadlines(inc).get("review").state.value == "breached"


def test_complete_is_refused_while_the_incident_is_open(desk, clock):
    inc = desk.declare("Still burning", severity="P0")
    with pytest.raises(ActionRefused, match="resolve it before completing its review"):
        review.complete(desk, inc.number)


def test_completing_twice_names_who_did_it_first(desk, clock, db_path, policy):
    n = resolved_p0(desk, clock)
    bob = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
    review.complete(bob, n)
    clock.advance(minutes=3)
    with pytest.raises(Conflict, match=r"INC-1's review was already completed by bob 3m00s ago"):
        review.complete(desk, n)
    bob.close()


def test_a_waiver_needs_a_reason_is_recorded_and_lets_the_incident_close(desk, clock):
    n = resolved_p0(desk, clock)
    with pytest.raises(ActionRefused, match="a waiver needs a reason"):
        review.waive(desk, n, "  ")
    inc = review.waive(desk, n, "Duplicate of INC-0; reviewed there")
    assert inc.review_waived == "Duplicate of INC-0; reviewed there"
    assert desk.timeline(n)[-1].details == {"reason": "Duplicate of INC-0; reviewed there"}
    assert desk.deadlines(inc).get("review").state.value == "not_applicable"
    assert desk.move(n, Status.CLOSED).status is Status.CLOSED
    with pytest.raises(Conflict, match="review was waived by alice"):
        review.complete(desk, n)


def test_nothing_to_waive_below_p1(desk, clock):
    n = resolved_p0(desk, clock, severity="P2")
    with pytest.raises(ActionRefused, match="INC-1 is P2: no review is required"):
        review.waive(desk, n, "minor")
    # A team may still review a P2 if it wants to.
    assert review.complete(desk, n).review_done_at is not None


# --- action items -----------------------------------------------------------------------------------


def test_add_writes_the_row_and_the_event_together(desk, clock):
    n = resolved_p0(desk, clock)
    item = review.add_item(desk, n, "Alert on JWKS cache age", owner="bob", due=date(2026, 12, 4))
    assert item == review.ActionItem(
        item.id, n, "Alert on JWKS cache age", "bob", date(2026, 12, 4), False, clock.now(), 1
    )
    event = desk.timeline(n)[-1]
    assert (event.kind, event.details) == (
        "action_item_added",
        {"item": item.id, "title": "Alert on JWKS cache age", "owner": "bob", "due": "2026-12-04"},
    )
    assert review.items(desk, n) == [item]


def test_a_failed_event_leaves_no_row_behind(desk, clock):
    n = resolved_p0(desk, clock)
    # Make the timeline append fail inside the transaction, after the row was inserted.
    desk.store.conn.execute(
        "CREATE TEMP TRIGGER no_items BEFORE INSERT ON main.events WHEN NEW.kind = 'action_item_added' "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    with pytest.raises(StoreError, match="disk trouble"):  # the driver's error, in the store's words
        review.add_item(desk, n, "Never half-written")
    assert review.items(desk, n) == []
    assert "action_item_added" not in kinds(desk, n)


def test_edit_records_only_what_changed(desk, clock):
    n = resolved_p0(desk, clock)
    item = review.add_item(desk, n, "Alert on JWKS age", owner="bob")
    edited = review.edit_item(
        desk, item.id, title="Alert on JWKS age", owner="dana", due=date(2026, 12, 1), expected_version=item.version
    )
    assert (edited.owner, edited.due, edited.version) == ("dana", date(2026, 12, 1), 2)
    assert desk.timeline(n)[-1].details == {
        "item": item.id,
        "title": "Alert on JWKS age",
        "changes": {"owner": {"from": "bob", "to": "dana"}, "due": {"from": "", "to": "2026-12-01"}},
    }
    before = len(desk.timeline(n))
    assert review.edit_item(desk, item.id, owner="dana").version == 2
    assert len(desk.timeline(n)) == before


def test_tick_and_untick(desk, clock):
    n = resolved_p0(desk, clock)
    item = review.add_item(desk, n, "Runbook: JWKS cache")
    done = review.set_done(desk, item.id, True, expected_version=1)
    assert (done.done, done.version) == (True, 2)
    assert review.set_done(desk, item.id, True).version == 2  # already done: nothing written
    reopened = review.set_done(desk, item.id, False, expected_version=2)
    assert (reopened.done, reopened.version) == (False, 3)
    assert kinds(desk, n)[-3:] == ["action_item_added", "action_item_done", "action_item_reopened"]


def test_two_desks_never_overwrite_each_other(desk, clock, db_path, policy):
    n = resolved_p0(desk, clock)
    item = review.add_item(desk, n, "Alert on JWKS age", owner="bob")
    bob = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
    seen_by_alice = review.items(desk, n)[0]
    review.edit_item(bob, item.id, owner="raj", expected_version=review.items(bob, n)[0].version)
    clock.advance(minutes=2)
    with pytest.raises(Conflict, match=r"action item #1 was edited by bob 2m00s ago; look again"):
        review.set_done(desk, item.id, True, expected_version=seen_by_alice.version)
    with pytest.raises(Conflict, match="edited by bob"):
        review.edit_item(desk, item.id, owner="alice", expected_version=seen_by_alice.version)
    assert review.item(desk, item.id).owner == "raj"
    assert review.item(desk, item.id).done is False
    bob.close()


def test_items_need_a_title_and_lose_control_characters(desk, clock):
    n = resolved_p0(desk, clock)
    with pytest.raises(ActionRefused, match="needs a title"):
        review.add_item(desk, n, " \x07\x00 ")
    item = review.add_item(desk, n, "Fix\x1b[31m colour")
    assert item.title == "Fix[31m colour"


def test_parse_due():
    today = date(2026, 11, 27)
    assert review.parse_due("", today) is None
    assert review.parse_due("2026-12-04", today) == date(2026, 12, 4)
    assert review.parse_due("+3d", today) == date(2026, 11, 30)
    assert review.parse_due("+2w", today) == date(2026, 12, 11)
    with pytest.raises(ValueError, match="use 2026-12-04, \\+3d or \\+2w"):
        review.parse_due("next friday", today)
    assert review.parse_attendees(" alice, bob ,, ") == ["alice", "bob"]


def test_overdue(desk, clock):
    n = resolved_p0(desk, clock)
    item = review.add_item(desk, n, "Late", due=date(2026, 11, 26))
    assert item.overdue(date(2026, 11, 27))
    assert not item.overdue(date(2026, 11, 26))


def test_review_command(desk, clock, db_path, capsys):
    # In-process, on the desk's frozen clock: the CLI reads "now" from the clock main is given.
    n = resolved_p0(desk, clock)

    def run(*args: str) -> subprocess.CompletedProcess:
        status = cli.main(["review", f"INC-{n}", *args, "--db", str(db_path)], clock=clock)
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out.out, out.err)

    soon = iso(clock.now() + timedelta(hours=2))
    scheduled = run("schedule", soon, "--attendee", "ava", "--attendee", "sam")
    assert scheduled.returncode == 0
    assert scheduled.stdout == "INC-1 review scheduled for 2026-11-27 05:32 UTC\n"
    assert "is before the 24–48 h review window" in scheduled.stderr
    assert run("add", "Alert on JWKS age", "--owner", "bob", "--due", "+1w").stdout == "action item #1 added to INC-1\n"
    assert run("done", "1").stdout == "action item #1 done\n"
    shown = run("show").stdout
    assert "scheduled" in shown and "with ava, sam" in shown
    assert "#1    [x] Alert on JWKS age (bob) due 2026-12-04" in shown
    assert run("complete", "--notes", "held").stdout == "INC-1 review completed\n"
    again = run("waive", "too late")
    assert again.returncode == 1
    assert again.stderr.startswith("oncall-tui: INC-1's review was already completed by alice")
