"""The metrics screen at 80x24 and 120x40 over a month of history, on a frozen clock.

Each SVG under __snapshots__/ was looked at before it was accepted. Refresh with
`--snapshot-update` only after looking at the new ones.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall_tui import review
from oncall_tui.config import DeskOptions
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SEVERITIES = ("P1", "P2", "P0", "P3", "P2", None, "P1")


@pytest.fixture
def app(desk, clock, db_path) -> OncallApp:
    """A month ending 2026-11-27 03:00: 0–4 incidents a day, acknowledged after 1–9 minutes, some
    never; most resolved, the newest still open. A fixed pattern, so every run draws the same."""
    end = clock.now()
    desk.store.conn.execute("PRAGMA synchronous = OFF")  # test data; no need to fsync each action
    n = 0
    for day in range(29, -1, -1):
        for k in range((day * 37) % 11 // 2):
            n += 1
            start = end - timedelta(days=day, hours=k * 4 + 1)
            clock.set(start)
            inc = desk.declare(f"Incident {n}", severity=SEVERITIES[n % len(SEVERITIES)])
            if k == 0 and day < 4:
                continue  # paged, never acknowledged
            clock.advance(minutes=1 + (n * 3) % 9)
            desk.acknowledge(inc.number)
            major = inc.severity is not None and inc.severity.major
            if major and n % 2:
                clock.advance(minutes=4)
                desk.record_message(inc.number, template="initial", via="clipboard", text="[P1] Service Issue")
            if day == 0 or inc.severity is None:
                continue
            clock.advance(minutes=20 + (n * 17) % 160)
            desk.edit(inc.number, "root_cause", "Known")
            desk.edit(inc.number, "resolution", "Fixed")
            desk.move(inc.number, Status.RESOLVED)
            if major and day > 2 and n % 3:
                clock.advance(hours=30)
                review.complete(desk, inc.number)
                item = review.add_item(
                    desk, inc.number, f"Follow-up for incident {n}", due=clock.now().date() + timedelta(days=7)
                )
                if n % 4 == 1:
                    review.set_done(desk, item.id, True)
    clock.set(end)
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def open_metrics(pilot) -> None:
    await pilot.pause()  # the startup work queued after the first frame (breaches, runbooks)
    await pilot.app.workers.wait_for_complete()
    await pilot.press("M")
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_metrics_screen(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=open_metrics)
