"""Snapshots of the on-call screen and its override forms at a frozen instant; 80x24 and 120x40.

Saturday 2027-03-20 12:00 UTC, in ava's week of the primary schedule (Europe/Berlin, weekly,
handoff Monday 10:00); ben's week from 22 March crosses the switch to summer time. Each SVG under
__snapshots__/ was looked at before it was accepted.
"""

from __future__ import annotations

import pytest
from support.roster import THREE_TIERS, people_toml, schedules_toml, unreachable_urls, write_config
from textual.widgets import Input

from oncall_tui import overrides
from oncall_tui.clock import FrozenClock
from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.policy import load_policy
from oncall_tui.schedules import load_roster
from oncall_tui.ui.app import OncallApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

PEOPLE = people_toml(unreachable_urls())
SCHEDULES = schedules_toml("2027-03-15")
POLICY = THREE_TIERS


@pytest.fixture
def config(tmp_path, monkeypatch):
    directory = write_config(tmp_path / "config", people=PEOPLE, schedules=SCHEDULES, policy=POLICY)
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(directory))
    return directory


@pytest.fixture
def march() -> FrozenClock:
    return FrozenClock("2027-03-20T12:00:00Z")


@pytest.fixture
def oncall_desk(db_path, config, march):
    """One live cover (chen for ava tonight) and one cancelled take on the audit trail."""
    desk = Desk.open(db_path, policy=load_policy(config / "policy.toml"), clock=march, actor="alice")
    roster = load_roster(config)
    march.set("2027-03-20T09:00:00Z")
    taken = overrides.add(desk, roster, "primary", "ben", hours=2, reason="ava in a meeting")
    march.set("2027-03-20T10:30:00Z")
    overrides.cancel(desk, taken.id)
    march.set("2027-03-20T11:00:00Z")
    desk.actor = "bob"
    overrides.add(
        desk,
        roster,
        "primary",
        "chen",
        starts_at=march.now().replace(hour=21),
        ends_at=march.now().replace(day=21, hour=5),
        covering="ava",
        reason="ava on a night flight",
    )
    desk.actor = "alice"
    march.set("2027-03-20T12:00:00Z")
    yield desk
    desk.close()


def make_app(desk, db_path, clock) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def until(pilot, check, what: str, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {what!r} within {timeout}s")
        await pilot.pause(0.05)


async def keys_done(pilot) -> None:
    """Until every key pressed has been handled (the desk's key queue hands them on one by one)."""
    import time

    queue = pilot.app.key_queue
    deadline = time.monotonic() + 10
    while (queue._keys or (queue._pump is not None and not queue._pump.done())) and time.monotonic() < deadline:
        await pilot.pause(0.05)
    for _ in range(3):
        await pilot.pause()


def opened(*keys: str, shown: str = ""):
    """Open the on-call screen, press `keys`, and wait until the screen in front shows `shown`."""

    async def run_before(pilot):
        app = pilot.app
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("O")
        await keys_done(pilot)
        if keys:
            await pilot.press(*keys)
            await keys_done(pilot)
        await until(pilot, lambda: shown in screen_text(app), shown)
        for field in app.screen.query("Input").results(Input):
            field.cursor_blink = False  # a blinking cursor would make each snapshot a coin toss
        await app.workers.wait_for_complete()
        app.clear_notifications()
        await pilot.pause()

    return run_before


def screen_text(app) -> str:
    return "\n".join(w.render().plain for w in app.screen.query("Static") if hasattr(w.render(), "plain"))


@pytest.mark.parametrize("size", SIZES)
def test_oncall_screen_with_the_audit_trail(snap_compare, oncall_desk, db_path, march, size):
    assert snap_compare(
        make_app(oncall_desk, db_path, march), terminal_size=size, run_before=opened(shown="ava on a night")
    )


@pytest.mark.parametrize("size", SIZES)
def test_take_form_shows_the_change(snap_compare, oncall_desk, db_path, march, size):
    keys = ("t", "tab", "tab", *"ben")
    shown = "Ava Jones → Ben Okafor"
    assert snap_compare(
        make_app(oncall_desk, db_path, march), terminal_size=size, run_before=opened(*keys, shown=shown)
    )


@pytest.mark.parametrize("size", SIZES)
def test_cover_form_refuses_an_overlap(snap_compare, oncall_desk, db_path, march, size):
    keys = ("c", *"ben", "tab", *"ava", "tab", "tab", "ctrl+a", "ctrl+k", *"22:00")
    shown = "overlaps override #2"
    assert snap_compare(
        make_app(oncall_desk, db_path, march), terminal_size=size, run_before=opened(*keys, shown=shown)
    )


@pytest.mark.parametrize("size", SIZES)
def test_swap_form_across_dst(snap_compare, oncall_desk, db_path, march, size):
    keys = ("s", "tab", *"ava", "tab", *"2027-03-30", "tab", *"ben")
    shown = "Ava Jones → Ben Okafor"
    assert snap_compare(
        make_app(oncall_desk, db_path, march), terminal_size=size, run_before=opened(*keys, shown=shown)
    )


@pytest.mark.parametrize("size", SIZES)
def test_cancel_confirmation(snap_compare, oncall_desk, db_path, march, size):
    assert snap_compare(
        make_app(oncall_desk, db_path, march),
        terminal_size=size,
        run_before=opened("x", "enter", shown="Chen Li → Ava Jones"),
    )
