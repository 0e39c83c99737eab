"""Snapshots of the Runbook and Process panes and the runbook library, at 80x24 and 120x40.

Time is frozen, so every countdown on screen reads the same on every run.
"""

from __future__ import annotations

import pytest

from oncall_tui.config import DeskOptions
from oncall_tui.paths import config_dir
from oncall_tui.ui.app import OncallApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
IDENTITY = "identity-service-outage"


@pytest.fixture
def app(desk, clock, db_path):
    """Three incidents; the identity outage acknowledged, P1, with two steps of its runbook done."""
    inc = desk.declare("Login failures", services=["identity"], symptom=IDENTITY, impact="No one can log in")
    desk.declare("Slow API responses", services=["postgres"], severity="P2")
    desk.declare("Governance operations failing", services=["compliance"], severity="P2")
    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    desk.set_severity(inc.number, "P1")
    for step, text in ((1, "Check database connectivity"), (2, "Verify JWKS cache status")):
        desk.check_step(inc.number, runbook=IDENTITY, version="1", step=step, text=text, checked=True)
    clock.advance(minutes=1)
    mine = config_dir() / "runbooks"
    mine.mkdir(parents=True)
    (mine / "half-written.md").write_text('+++\nid = "half-written"\ntitle = Half written\n+++\n1. x\n')
    return OncallApp(desk, DeskOptions(db_path=db_path, runbook_dirs=(mine,)), clock=clock)


def tab(name: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await pilot.pause()
        app.go_to(1)
        app.clear_notifications()
        for _ in range(8):
            if app.query_one("#detail-tabs").active == name:
                break
            await pilot.press("right_square_bracket")
        await pilot.press("2")
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_runbook_pane(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=tab("tab-runbook"))


@pytest.mark.parametrize("size", SIZES)
def test_process_pane(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=tab("tab-process"))


@pytest.mark.parametrize("size", SIZES)
def test_runbook_library(snap_compare, app, size):
    async def run_before(pilot) -> None:
        await pilot.pause()
        pilot.app.go_to(1)
        pilot.app.clear_notifications()
        await pilot.press("b")
        await pilot.pause()
        pilot.app.clear_notifications()  # the startup warning about half-written.md, shown in the list instead
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
