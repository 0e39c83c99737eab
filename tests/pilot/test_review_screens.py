"""The review and metrics screens on the real desk app, driven by keys alone."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from oncall_tui import review
from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.screens.metrics import MetricsScreen
from oncall_tui.ui.screens.review import ReviewScreen

pytestmark = pytest.mark.anyio


@pytest.fixture
def db_path(record_target):
    """On both backends: the desk (conftest's, opened on `db_path`) is a file or a PostgreSQL database."""
    return record_target


@pytest.fixture
def resolved_p0(desk, clock) -> int:
    inc = desk.declare("Login failures", severity="P0", services=["identity"])
    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    desk.edit(inc.number, "root_cause", "JWKS cache expired")
    desk.edit(inc.number, "resolution", "Cache refreshed")
    clock.advance(minutes=30)
    desk.move(inc.number, Status.RESOLVED)
    return inc.number


def make_app(desk, clock, db_path) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


def notes(app: OncallApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_review(pilot, number: int) -> ReviewScreen:
    await pilot.app.workers.wait_for_complete()
    pilot.app.go_to(number)
    await pilot.pause()
    await pilot.press("R")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ReviewScreen)
    return pilot.app.screen


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


def rows(screen: ReviewScreen) -> list[list[str]]:
    table = screen.query_one("#review-items", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_add_edit_and_tick_action_items_by_keys(desk, clock, db_path, resolved_p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, resolved_p0)

        await pilot.press("a")
        await type_text(pilot, "Alert on JWKS age")
        await pilot.press("tab")
        await type_text(pilot, "bob")
        await pilot.press("tab")
        await type_text(pilot, "+1w")
        await pilot.press("enter")
        await pilot.pause()
        assert [(i.title, i.owner, i.due, i.done) for i in review.items(desk, resolved_p0)] == [
            ("Alert on JWKS age", "bob", date(2026, 12, 4), False)
        ]
        assert rows(screen) == [["[ ]", "1", "Alert on JWKS age", "bob", "2026-12-04"]]

        # A bad due date is caught in the form, under the field; nothing is written.
        await pilot.press("a")
        await type_text(pilot, "Runbook update")
        await pilot.press("tab", "tab")
        await type_text(pilot, "someday")
        await pilot.press("enter")
        await pilot.pause()
        error = pilot.app.screen.query_one("#error-due", Static)
        assert "not a due date: 'someday'" in str(error.render())
        await pilot.press("ctrl+u", "enter")
        await pilot.pause()
        assert [i.title for i in review.items(desk, resolved_p0)] == ["Alert on JWKS age", "Runbook update"]

        # Edit the first: the form opens filled in; change the owner.
        await pilot.press("up", "e", "tab", "ctrl+u")
        await type_text(pilot, "dana")
        await pilot.press("enter")
        await pilot.pause()
        first = review.items(desk, resolved_p0)[0]
        assert (first.owner, first.version) == ("dana", 2)
        assert desk.timeline(resolved_p0)[-1].details["changes"] == {"owner": {"from": "bob", "to": "dana"}}

        # Tick, then untick, with the space bar.
        await pilot.press("space")
        await pilot.pause()
        assert review.items(desk, resolved_p0)[0].done is True
        assert rows(screen)[0][0] == "[x]"
        await pilot.press("space")
        await pilot.pause()
        assert review.items(desk, resolved_p0)[0].done is False
        kinds = [e.kind for e in desk.timeline(resolved_p0)][-5:]
        assert kinds == [
            "action_item_added",
            "action_item_added",
            "action_item_edited",
            "action_item_done",
            "action_item_reopened",
        ]


async def test_another_desks_change_is_never_overwritten(desk, clock, db_path, policy, resolved_p0):
    item = review.add_item(desk, resolved_p0, "Alert on JWKS age", owner="bob")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, resolved_p0)
        other = Desk.open(db_path, policy=policy, clock=clock, actor="raj")
        review.edit_item(other, item.id, owner="raj")
        other.close()
        await pilot.press("space")
        await pilot.pause()
        assert any("action item #1 was edited by raj" in n for n in notes(pilot.app))
        assert review.item(desk, item.id).done is False
        assert rows(screen)[0][3] == "raj"  # the screen shows what the other desk did


async def test_a_p0_closes_only_after_its_review(desk, clock, db_path, resolved_p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        pilot.app.go_to(resolved_p0)
        await pilot.pause()
        await pilot.press("f")  # forward: resolved → closed
        await pilot.pause()
        assert "INC-1 is P0: complete its post-incident review (or record a waiver) before closing" in notes(pilot.app)
        assert desk.get(resolved_p0).status is Status.RESOLVED

        await pilot.press("R")
        await pilot.pause()
        await pilot.press("c")
        await type_text(pilot, "Blameless, all hands")
        await pilot.press("enter")
        await pilot.pause()
        assert desk.get(resolved_p0).review_done_at == clock.now()
        status = str(pilot.app.screen.query_one("#review-status", Static).render())
        assert status.startswith("Review held")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("f")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert desk.get(resolved_p0).status is Status.CLOSED


async def test_schedule_waive_factors_and_export_by_keys(desk, clock, db_path, resolved_p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, resolved_p0)
        assert "not scheduled — press s" in str(screen.query_one("#review-status", Static).render())

        # The form suggests a time inside the 24–48 h window; enter accepts it.
        await pilot.press("s")
        await pilot.pause()
        assert pilot.app.screen.query_one("#field-when").value == "2026-11-28 04:00"  # resolved 03:32
        await pilot.press("enter")
        await pilot.pause()
        inc = desk.get(resolved_p0)
        assert inc.review_scheduled_for == clock.now().replace(day=28, hour=4, minute=0)
        assert desk.timeline(resolved_p0)[-1].details["attendees"] == ["alice"]
        assert "scheduled for 2026-11-28 04:00 UTC with alice" in str(
            screen.query_one("#review-status", Static).render()
        )

        # Contributing factors: several lines, ctrl+s saves.
        await pilot.press("f")
        await pilot.pause()
        await type_text(pilot, "- Rotation at peak")
        await pilot.press("enter")
        await type_text(pilot, "- No cache alert")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert desk.get(resolved_p0).contributing_factors == "- Rotation at peak\n- No cache alert"
        assert "- No cache alert" in str(screen.query_one("#review-factors", Static).render())

        await pilot.press("x")
        await pilot.pause()
        exported = [n for n in notes(pilot.app) if n.startswith("Review of INC-1 written to ")]
        assert exported
        written = Path(exported[-1].removeprefix("Review of INC-1 written to "))
        assert written == Path(os.environ["XDG_DATA_HOME"]) / "oncall-tui" / "exports" / "INC-1-review.md"
        assert written.read_text(encoding="utf-8").startswith("# INC-1: Login failures\n")

        # Waiving needs a reason; the reason lands on the timeline.
        await pilot.press("w")
        await pilot.press("enter")
        await pilot.pause()
        assert "this needs some text" in str(pilot.app.screen.query_one("#prompt-error", Static).render())
        await type_text(pilot, "Reviewed with INC-0")
        await pilot.press("enter")
        await pilot.pause()
        assert desk.get(resolved_p0).review_waived == "Reviewed with INC-0"
        assert str(screen.query_one("#review-status", Static).render()).startswith("Review waived by alice")


async def test_breaches_nobody_recorded_are_on_the_review_timeline(desk, clock, db_path):
    # Acknowledged 7 minutes late with no desk open to record it.
    inc = desk.declare("Exports failing", severity="P1", started_at=clock.now() - timedelta(minutes=12))
    desk.acknowledge(inc.number)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        pilot.app.go_to(inc.number)
        await pilot.pause()
        await pilot.press("R")
        await pilot.pause()
        text = str(pilot.app.screen.query_one("#review-timeline-text", Static).render())
        assert "Deadline missed: Acknowledge" in text


async def test_metrics_screen_shows_the_report_and_cycles_the_period(desk, clock, db_path, resolved_p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("M")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, MetricsScreen)
        numbers = str(screen.query_one("#metrics-numbers", Static).render())
        assert numbers.startswith("1 incidents · P0 1 · P1 0 · P2 0 · P3 0 · 0 still open")
        assert "mean  2m00s" in numbers
        assert "last 30 days" in str(screen.query_one("#metrics-header", Static).render())
        await pilot.press("p")
        await pilot.pause()
        assert "last 90 days" in str(screen.query_one("#metrics-header", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, MetricsScreen)
