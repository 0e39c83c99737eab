"""A wall clock that is set, not running: stepped a day ahead and back, the board warns, writes no
breach dated tomorrow, and comes back to the incident as it really stands."""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast

from oncall_tui.clock import ClockWatch
from oncall_tui.config import DeskOptions
from oncall_tui.model import Severity
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


def toasts(app: OncallApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def first_row(app: OncallApp) -> str:
    return app.board_screen.board.render_line(1).text


def breaches(desk, number: int) -> list[dict]:
    return [e.details for e in desk.timeline(number) if e.kind == "deadline_breached"]


async def tick(app, pilot) -> None:
    app.tick()
    await pilot.pause()
    await app.workers.wait_for_complete()


async def test_a_day_forward_and_back_writes_nothing_and_the_board_comes_back(desk, db_path, clock):
    inc = desk.declare("Login failures", severity=Severity.P1)
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await tick(app, pilot)
        assert "ack in 5m00s" in first_row(app)

        clock.step(days=1)  # `date -s tomorrow`: no time passed
        await tick(app, pilot)
        assert any("jumped 1d00h ahead" in t for t in toasts(app))
        assert "overdue" in first_row(app)  # the board shows what the clock says…
        assert breaches(desk, inc.number) == []  # …but writes nothing it may have to take back

        clock.step(days=-1)  # and back
        await tick(app, pilot)
        assert any("set back 1d00h" in t for t in toasts(app))
        row = first_row(app)
        assert "ack in 5m00s" in row and "overdue" not in row  # not stuck where the jump left it
        assert desk.deadlines(desk.get(inc.number)).escalation.tier.level == "Primary On-Call"

        clock.advance(minutes=6)  # real time passes: the acknowledgement is missed, and recorded
        await tick(app, pilot)
        assert "!! ack 1m00s overdue" in first_row(app)
    # The missed acknowledgement, and the page to the secondary it brings: due 03:05, nothing of tomorrow.
    written = breaches(desk, inc.number)
    assert [b["deadline"] for b in written] == ["acknowledge", "escalate:secondary-on-call"]
    assert {b["due_at"] for b in written} == {"2026-11-27T03:05:00Z"}
    assert all(e.at <= clock.now() for e in desk.timeline(inc.number))


async def test_a_jump_ahead_that_holds_is_believed_and_its_breaches_written(desk, db_path, clock):
    inc = desk.declare("Login failures", severity=Severity.P1)
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await tick(app, pilot)
        clock.step(hours=2)  # the machine's clock was two hours slow, and NTP corrected it
        await tick(app, pilot)
        assert breaches(desk, inc.number) == []
        clock.advance(seconds=ClockWatch.SETTLE + 1)
        await tick(app, pilot)
    written = {b["deadline"] for b in breaches(desk, inc.number)}
    assert {"acknowledge", "stakeholders"} <= written


async def test_a_sleep_is_time_passing_not_a_jump(desk, db_path, clock):
    inc = desk.declare("Login failures", severity=Severity.P1)
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await tick(app, pilot)
        clock.advance(hours=2)  # the lid closed: the steady clock counted the suspend too
        await tick(app, pilot)
        assert not any("System clock" in t or "jumped" in t for t in toasts(app))
    assert "acknowledge" in {b["deadline"] for b in breaches(desk, inc.number)}
