"""The wall in a real (headless) Textual app: read-only by construction, pages turn with the clock."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from wall_fixtures import twelve_open_three_breached

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.screens.board import BoardScreen
from oncall_tui.ui.wall.app import WallApp
from oncall_tui.ui.wall.widgets import ClockCard, IncidentLines

pytestmark = pytest.mark.anyio


# Every key the desk binds, the writing ones among them: none may do anything on the wall.
DESK_KEYS = sorted({b.key for b in (*OncallApp.BINDINGS, *BoardScreen.BINDINGS)} - {"q"})
assert {"a", "d", "s", "f", "x", "n", "o", "e", "m"} <= set(DESK_KEYS)  # the writing keys are in the list


def wall(db_path, policy, clock, cycle: float = 8) -> WallApp:
    return WallApp(
        Desk.open(db_path, policy=policy, clock=clock, readonly=True), DeskOptions(db_path), clock=clock, cycle=cycle
    )


def record(db_path) -> tuple:
    conn = sqlite3.connect(db_path)
    try:
        return (
            conn.execute("SELECT count(*), max(rowid) FROM events").fetchone(),
            conn.execute("SELECT group_concat(status || version) FROM incidents").fetchone(),
        )
    finally:
        conn.close()


def shown_cards(app) -> list[str]:
    return [c.number for c in app.screen.query(ClockCard) if c.display]


def test_the_wall_refuses_a_writable_desk(desk, db_path):
    with pytest.raises(ValueError, match="read-only"):
        WallApp(desk, DeskOptions(db_path))


async def test_no_desk_key_writes_and_the_palette_offers_nothing_that_does(desk, db_path, policy, clock):
    twelve_open_three_breached(desk, clock)
    before = record(db_path)
    app = wall(db_path, policy, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.desk.readonly
        for key in [*DESK_KEYS, "enter", "space", "ctrl+s", "delete"]:
            await pilot.press(key)
            await pilot.pause()
        assert app.screen.id == "wall"  # no form, picker or confirmation opened
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert set(titles) <= {"Theme", "Quit", "Keys"}, titles
        assert {b.action for b in app.BINDINGS} == {"quit"}
    assert record(db_path) == before


async def test_breached_first_and_large_and_pages_turn_with_the_clock(desk, db_path, policy, clock):
    twelve_open_three_breached(desk, clock)
    app = wall(db_path, policy, clock, cycle=8)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.tick()
        await pilot.pause()
        cards = app.screen.query(ClockCard)
        assert [c.number for c in cards if c.display] == [1, 3, 2]  # the three breached, most overdue first
        lines = app.screen.query_one(IncidentLines)
        first = [r.incident.number for r in lines.page.rows]
        assert lines.page.pages == 2 and lines.total == 9
        seen = set(first)
        clock.advance(seconds=8)
        app.tick()
        await pilot.pause()
        second = [r.incident.number for r in lines.page.rows]
        assert second != first and lines.page.number == 2
        seen |= set(second)
        assert len(seen) == 9  # every other open incident comes round
        assert [c.number for c in cards if c.display] == [1, 3, 2]  # the breached stay put


async def test_a_clock_running_out_moves_its_incident_to_the_large_cards(desk, db_path, policy, clock):
    inc = desk.declare("Login failures", severity="P0", services=["identity"])
    app = wall(db_path, policy, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.tick()
        await pilot.pause()
        card = next(c for c in app.screen.query(ClockCard) if c.display)
        assert card.number == inc.number and not card.has_class("-breached")
        assert card.digits == "5:00"
        clock.advance(minutes=5, seconds=1)
        app.tick()
        await pilot.pause()
        assert card.has_class("-breached") and card.digits == "+0:01"


async def test_another_desk_s_acknowledgement_shows_within_a_tick(desk, db_path, policy, clock):
    inc = desk.declare("Login failures", severity="P0", services=["identity"])
    clock.advance(minutes=6)
    app = wall(db_path, policy, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.tick()
        await pilot.pause()
        card = next(c for c in app.screen.query(ClockCard) if c.display)
        assert card.has_class("-breached") and "NOT ACKNOWLEDGED" in card.caption
        desk.acknowledge(inc.number)
        app.tick()
        await pilot.pause()
        card = next(c for c in app.screen.query(ClockCard) if c.display)
        assert "ACKNOWLEDGE" not in card.caption.split("\n")[0]


async def test_all_clear_when_nothing_is_open(desk, db_path, policy, clock):
    inc = desk.declare("Docs typo", severity="P3", services=["docs"])
    app = wall(db_path, policy, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#all-clear").display
        desk.acknowledge(inc.number)
        desk.edit(inc.number, "root_cause", "typo")
        desk.edit(inc.number, "resolution", "fixed")
        desk.move(inc.number, Status.RESOLVED)
        clock.advance(timedelta(seconds=1))
        app.tick()
        await pilot.pause()
        assert app.screen.query_one("#all-clear").display
        assert not any(c.display for c in app.screen.query(ClockCard))


async def test_a_damaged_desk_file_is_said_loudly_and_the_last_read_stays(desk, db_path, policy, clock):
    desk.declare("Login failures", severity="P0", services=["identity"])
    app = wall(db_path, policy, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.tick()
        app.desk.store.conn.close()  # the file went away under the wall
        app.tick()
        await pilot.pause()
        health = app.screen.query_one("#wall-health")
        assert health.store_problem
        assert "UNREADABLE" in str(health.render())
        assert any(c.display for c in app.screen.query(ClockCard))


ROSTER = {
    "people.toml": """
[people.ava]
name = "Ava Jones"
tz = "Europe/Berlin"
[people.ben]
name = "Ben Okafor"
tz = "America/New_York"
""",
    "schedules.toml": """
[schedules.primary]
tz = "Europe/Berlin"
[[schedules.primary.layers]]
name = "weekly"
rotation = ["ava", "ben"]
shift = "1w"
start = 2026-11-23
handoff = "10:00"
""",
    "policy.toml": """
[[escalation]]
after_minutes = 0
level = "Primary On-Call"
schedule = "primary"

[[escalation]]
after_minutes = 30
level = "Secondary On-Call"
person = "ben"
""",
}


async def test_the_wall_names_who_holds_each_level_from_the_schedules(tmp_path, monkeypatch, db_path, clock):
    from oncall_tui.policy import load_policy

    config = tmp_path / "config"
    config.mkdir()
    for name, text in ROSTER.items():
        (config / name).write_text(text)
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(config))
    policy = load_policy(config / "policy.toml")
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    desk.declare("Login failures", severity="P0", services=["identity"])
    desk.close()
    app = wall(db_path, policy, clock)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = str(app.screen.query_one("#wall-on-call").render())
        # 27 November, 03:00 UTC: Ava's week (from Monday 23rd, 10:00 Berlin); Ben is the level's person.
        assert "Primary On-Call Ava Jones until Mon 09:00" in line, line
        assert "Secondary On-Call Ben Okafor" in line, line
