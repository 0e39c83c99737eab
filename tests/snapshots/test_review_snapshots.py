"""The post-incident review screen at 80x24 and 120x40, on a frozen clock.

Each SVG under __snapshots__/ was looked at before it was accepted. Refresh with
`--snapshot-update` only after looking at the new ones.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from oncall_tui import review
from oncall_tui.config import DeskOptions
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture
def app(desk, clock, db_path) -> OncallApp:
    """INC-1, a P0 resolved yesterday: one breach a desk recorded, one nobody saw; items, factors, a
    scheduled review. The clock stands at 2026-11-27 03:00, the review due in 23 hours."""
    clock.set("2026-11-26T01:50:00Z")
    desk.actor = "pagerbot"
    inc = desk.declare(
        "Login failures across all tenants",
        severity="P0",
        services=["identity", "api-gateway"],
        impact="No tenant can sign in",
        started_at=clock.now() - timedelta(minutes=2),
    )
    desk.actor = "ava"
    clock.advance(minutes=6)  # acknowledged 3 minutes late; no desk was open to write that down
    desk.acknowledge(inc.number)
    desk.move(inc.number, Status.INVESTIGATING)
    clock.advance(minutes=10)
    desk.record_breach(inc.number, "stakeholders", "Notify stakeholders", clock.now() - timedelta(minutes=3))
    desk.record_message(inc.number, template="initial", via="clipboard", text="[P0] Service Issue: identity")
    desk.note(inc.number, "JWKS cache empty since the 01:45 key rotation; refills rate-limited")
    desk.edit(inc.number, "root_cause", "Key rotation emptied the JWKS cache")
    desk.edit(inc.number, "resolution", "Raised the refill limit, warmed the cache")
    clock.advance(minutes=40)
    desk.move(inc.number, Status.RESOLVED)
    desk.edit(inc.number, "contributing_factors", "- Rotation ran at peak EU traffic\n- No alert on cache size")
    review.schedule(desk, inc.number, clock.now() + timedelta(hours=30), ["ava", "sam", "dana"])
    first = review.add_item(
        desk, inc.number, "Alert when the JWKS cache holds no keys", owner="sam", due=date(2026, 12, 4)
    )
    review.add_item(desk, inc.number, "Runbook: warm the cache before rotating", owner="ava", due=date(2026, 11, 26))
    review.add_item(desk, inc.number, "Rate-limit review for refills [WIP]")
    review.set_done(desk, first.id, True)
    clock.set("2026-11-27T03:00:00Z")
    desk.actor = "alice"
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def open_review(pilot) -> None:
    await pilot.pause()  # the startup work queued after the first frame (breaches, runbooks)
    await pilot.app.workers.wait_for_complete()
    pilot.app.go_to(1)
    await pilot.pause()
    await pilot.press("R")
    await pilot.pause()
    pilot.app.clear_notifications()  # the startup "missed deadlines" toast is the board's business
    await pilot.pause()


async def editing_an_item(pilot) -> None:
    await open_review(pilot)
    await pilot.press("down", "e")
    await pilot.pause()
    for field in pilot.app.screen.query("Input"):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_review_screen(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=open_review)


@pytest.mark.parametrize("size", SIZES)
def test_editing_an_action_item(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=editing_an_item)
