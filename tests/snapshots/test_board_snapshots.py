"""Snapshots of the desk at a frozen instant: board, detail, severity picker, help; 80x24 and 120x40.

Each SVG under __snapshots__/ was looked at before it was accepted. Refresh with
`--snapshot-update` only after looking at the new ones.
"""

from __future__ import annotations

import pytest

from oncall_tui.config import DeskOptions
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture
def busy_desk(desk, clock):
    """Five incidents in different states, as the night shift would find them at 03:00."""
    clock.set("2026-11-27T02:10:00Z")
    export = desk.declare("Export queue backlog", severity="P2", services=["export"])
    clock.set("2026-11-27T02:12:00Z")
    desk.acknowledge(export.number)
    clock.set("2026-11-27T02:38:00Z")
    compliance = desk.declare(
        "Compliance checks failing",
        severity="P0",
        services=["compliance", "policy-cdn"],
        impact="Governance writes rejected for all tenants",
        channel="#inc-compliance",
        assignee="alice",
    )
    clock.set("2026-11-27T02:40:00Z")
    desk.edit(export.number, "root_cause", "Worker pool sized for last year's volume")
    desk.edit(export.number, "resolution", "Doubled the export workers")
    desk.move(export.number, Status.RESOLVED)
    desk.acknowledge(compliance.number)
    clock.set("2026-11-27T02:45:00Z")
    desk.move(compliance.number, Status.INVESTIGATING)
    clock.set("2026-11-27T02:45:30Z")
    desk.declare("Login failures", severity="P1", services=["identity"])  # stakeholders due in 30 s
    clock.set("2026-11-27T02:50:00Z")
    desk.record_message(compliance.number, template="initial", text="[P0] Service Issue: compliance", via="clipboard")
    clock.set("2026-11-27T02:52:00Z")
    desk.note(compliance.number, "Policy CDN returns 503 from eu-west")
    clock.set("2026-11-27T02:57:00Z")
    api = desk.declare("Slow API responses", services=["api", "db"])
    clock.set("2026-11-27T02:58:00Z")
    desk.acknowledge(api.number, actor="bob")
    clock.set("2026-11-27T02:59:30Z")
    desk.declare("Docs typo on status page", severity="P3", services=["status-page"])
    clock.set("2026-11-27T03:00:00Z")
    return desk


def make_app(desk, db_path, clock, theme: str | None = None) -> OncallApp:
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    if theme:
        app.theme = theme
    return app


async def settle(pilot) -> None:
    """Let the startup breach recording finish and be read back, and drop its toast."""
    app = pilot.app
    await pilot.pause()  # the startup work queued after the first frame (breaches, runbooks)
    await app.workers.wait_for_complete()
    app.tick()
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_board(snap_compare, busy_desk, db_path, clock, size):
    assert snap_compare(make_app(busy_desk, db_path, clock), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_board_detail_timeline(snap_compare, busy_desk, db_path, clock, size):
    async def open_timeline(pilot):
        await settle(pilot)
        pilot.app.go_to(2)  # the P0
        await pilot.press("right_square_bracket")
        await pilot.pause()

    assert snap_compare(make_app(busy_desk, db_path, clock), terminal_size=size, run_before=open_timeline)


@pytest.mark.parametrize("size", SIZES)
def test_board_severity_picker(snap_compare, busy_desk, db_path, clock, size):
    async def open_picker(pilot):
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(make_app(busy_desk, db_path, clock), terminal_size=size, run_before=open_picker)


@pytest.mark.parametrize("size", SIZES)
def test_board_help(snap_compare, busy_desk, db_path, clock, size):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(busy_desk, db_path, clock), terminal_size=size, run_before=open_help)


def test_board_empty(snap_compare, desk, db_path, clock):
    assert snap_compare(make_app(desk, db_path, clock), terminal_size=(80, 24), run_before=settle)


def test_board_light_theme(snap_compare, busy_desk, db_path, clock):
    app = make_app(busy_desk, db_path, clock, theme="textual-light")
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)
