"""Issue 15's rough edges that live in the core: the checklist, the timeline's step numbers."""

from __future__ import annotations

import pytest

from oncall_tui import review
from oncall_tui.checklist import Context, StepState, build_checklist
from oncall_tui.event_text import describe
from oncall_tui.model import Status
from oncall_tui.runbooks import RunbookLibrary


@pytest.fixture
def library() -> RunbookLibrary:
    return RunbookLibrary([])


def items(library, desk, number, context=None):
    inc = desk.get(number)
    return {i.step.headline: i for i in build_checklist(library.process, inc, desk.policy, set(), context).items}


def test_a_late_acknowledgement_says_how_late(desk, library, clock):
    inc = desk.declare("Login failures")
    clock.advance(minutes=9, seconds=12)
    desk.acknowledge(inc.number)
    item = items(library, desk, inc.number)["Engineer acknowledges within 5 minutes"]
    assert item.state is StepState.DONE
    assert item.why == "by alice at 03:09, 4m12s late"


def test_escalation_is_a_step_the_desk_knows(desk, library, clock):
    on_time = desk.declare("On time")
    clock.advance(minutes=2)
    desk.acknowledge(on_time.number)
    step = "If unable to respond, escalate to next tier"
    assert items(library, desk, on_time.number)[step].state is StepState.NOT_NEEDED

    unanswered = desk.declare("Nobody home")
    clock.advance(minutes=6)
    item = items(library, desk, unanswered.number, Context(now=clock.now()))[step]
    assert (item.state, item.why) == (StepState.OPEN, "unanswered: call secondary on-call (pager rotation)")
    desk.acknowledge(unanswered.number)
    item = items(library, desk, unanswered.number)[step]
    assert (item.state, item.by_desk) == (StepState.DONE, True)


def test_deploying_and_monitoring_follow_mitigation_and_resolution(desk, library, clock):
    inc = desk.declare("Login failures", severity="P2")
    desk.acknowledge(inc.number)
    clock.advance(minutes=10)
    desk.move(inc.number, Status.MITIGATED)
    found = items(library, desk, inc.number)
    assert found["Deploy fix to production"].state is StepState.DONE
    assert found["Monitor for recurrence"].why == "monitoring since 03:10"
    assert found["Monitor for recurrence"].state is StepState.OPEN
    desk.edit(inc.number, "root_cause", "x")
    desk.edit(inc.number, "resolution", "y")
    clock.advance(minutes=25)
    desk.move(inc.number, Status.RESOLVED)
    found = items(library, desk, inc.number)
    assert (found["Monitor for recurrence"].state, found["Monitor for recurrence"].why) == (
        StepState.DONE,
        "watched 25m00s before resolving",
    )


def test_timeline_and_action_items_tick_the_review_steps(desk, library, clock):
    inc = desk.declare("Login failures", severity="P1")
    found = items(library, desk, inc.number, Context(events=1))
    assert found["Document timeline of events"].state is StepState.DONE
    assert found["Define action items to prevent recurrence"].state is StepState.OPEN
    review.add_item(desk, inc.number, "Alert on an empty JWKS cache")
    events, actions = desk.context_counts(inc.number)
    assert (events, actions) == (len(desk.timeline(inc.number)), 1)
    found = items(library, desk, inc.number, Context(events=events, action_items=actions))
    assert found["Define action items to prevent recurrence"].why == "1 action item"


def test_the_timeline_numbers_a_step_as_the_screen_does(desk, clock):
    inc = desk.declare("Login failures")
    desk.check_step(
        inc.number,
        runbook="process",
        version="1",
        step=14,
        text="Update incident ticket with findings",
        checked=True,
        section="Investigation",
        ordinal=5,
    )
    desk.check_step(inc.number, runbook="identity", version="1", step=2, text="Verify JWKS cache", checked=True)
    lines = [describe(e)[0] for e in desk.timeline(inc.number)[1:]]
    assert lines == [
        "Investigation, step 5 checked: Update incident ticket with findings",
        "Runbook step 2 checked: Verify JWKS cache",
    ]
