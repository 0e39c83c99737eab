"""Refusals become notifications in one place, whatever screen or worker met them.

Each toast carries the error's own title and message, so the words an engineer reads at 3 a.m. are
the core's, not a generic "error"; a bug (anything outside the family) is still reported, as one.
"""

from __future__ import annotations

import pytest
from textual.notifications import Notification
from textual.worker import WorkerState

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.errors import DeskError
from oncall_tui.model import Status
from oncall_tui.store import StoreError
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


def notes(app: OncallApp) -> list[Notification]:
    return list(app._notifications)


def shown(app: OncallApp) -> list[tuple[str, str, str]]:
    return [(n.title, n.severity, n.message) for n in notes(app)]


async def test_a_refused_move_is_told_under_not_done(desk, clock, db_path):
    desk.declare("Login failures", severity="P1")  # triggered: it cannot be closed or moved on yet
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.clear_notifications()
        await pilot.press("x")  # resolve
        await pilot.pause()
        assert shown(app) == [("Not done", "warning", "INC-1 must be acknowledged first")]
    assert desk.get(1).status is Status.TRIGGERED


async def test_a_second_acknowledgement_is_already_done_not_news_from_another_desk(desk, clock, db_path):
    inc = desk.declare("Login failures", severity="P1")
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        desk.acknowledge(inc.number)  # this very desk, a moment ago (the board has not re-read yet)
        app.clear_notifications()
        await pilot.press("a")
        await pilot.pause()
        [(title, severity, message)] = shown(app)
        assert (title, severity) == ("Already done", "information")
        assert "by alice" in message


async def test_a_read_only_file_is_a_database_error_from_any_screen(db_path, policy, clock, desk):
    desk.declare("Login failures", severity="P1")
    readonly = Desk.open(db_path, policy=policy, clock=clock, actor="alice", readonly=True)
    app = OncallApp(readonly, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.clear_notifications()
        await pilot.press("n", *"checked the pool", "enter")  # a note, from a dialog over the board
        await pilot.pause()
        [(title, severity, message)] = shown(app)
        assert (title, severity) == ("Database", "error")
        assert "read-only" in message
    readonly.close()


async def test_a_desk_error_in_a_background_task_is_reported_in_its_own_words(desk, clock, db_path):
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)

    def refused() -> None:
        raise StoreError("desk.db is locked by another process for more than 5 s; try again")

    def bug() -> None:
        raise KeyError("oops")

    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.clear_notifications()
        workers = [
            app.run_worker(refused, name="refused", thread=True, exit_on_error=False),
            app.run_worker(bug, name="bug", thread=True, exit_on_error=False),
        ]
        for _ in range(100):
            await pilot.pause(0.02)
            if all(w.state is WorkerState.ERROR for w in workers) and len(notes(app)) == 2:
                break
        assert sorted(shown(app)) == [
            ("Background task failed", "error", "bug: 'oops'"),
            ("Database", "error", "desk.db is locked by another process for more than 5 s; try again"),
        ]


async def test_a_title_given_where_the_error_is_met_heads_its_toast(desk, clock, db_path):
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.clear_notifications()
        with app.reporting(title="Export failed"):
            raise DeskError("cannot write /nonexistent/INC-1.md")
        await pilot.pause()
        assert shown(app) == [("Export failed", "warning", "cannot write /nonexistent/INC-1.md")]


async def test_the_same_error_again_while_its_toast_is_up_is_not_a_second_toast(desk, clock, db_path):
    """A damaged file fails each breach write: one toast says so, not one per write."""
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.clear_notifications()
        damaged = StoreError("desk.db is damaged; nothing was written")
        for _ in range(5):
            app.report(damaged)
            await pilot.pause()
        app.report(StoreError("desk.db is locked by another process for more than 5 s; try again"))
        await pilot.pause()
        assert [message for _, _, message in shown(app)] == [
            "desk.db is damaged; nothing was written",
            "desk.db is locked by another process for more than 5 s; try again",
        ]
        app.clear_notifications()  # gone (expired or dismissed): the next failure says it again
        app.report(damaged)
        await pilot.pause()
        assert [message for _, _, message in shown(app)] == ["desk.db is damaged; nothing was written"]
