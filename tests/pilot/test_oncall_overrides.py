"""Overrides from the desk, pressing real keys: `O`, then t (take the pager), c (cover), s (swap)
and x (cancel). Each form shows what will change before enter makes it, refuses in one red line,
and the on-call screen shows the result and the audit trail at once.

The clock is frozen on Saturday 2027-03-20 12:00 UTC (13:00 in Berlin), in ava's week; ben's week
from Monday 22 March crosses Berlin's switch to summer time on Sunday 28 March.
"""

from __future__ import annotations

import pytest
from support.roster import PRIMARY_THEN_MANAGER, people_toml, schedules_toml, unreachable_urls, write_config
from waits import keys_done, palette_offers, until

from oncall_tui import overrides
from oncall_tui.clock import FrozenClock, parse_instant
from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.policy import load_policy
from oncall_tui.schedules import load_roster
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio

PEOPLE = people_toml(unreachable_urls())
SCHEDULES = schedules_toml("2027-03-15", secondary=False)
POLICY = PRIMARY_THEN_MANAGER


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
    desk = Desk.open(db_path, policy=load_policy(config / "policy.toml"), clock=march, actor="alice")
    yield desk
    desk.close()


def make_app(desk, db_path, clock) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


def text_of(app, selector: str) -> str:
    return app.screen.query_one(selector).render().plain


async def open_oncall(app, pilot) -> None:
    await pilot.press("O")
    await until(pilot, lambda: type(app.screen).__name__ == "OnCallScreen", "the on-call screen")
    await until(pilot, lambda: "Levels" in text_of(app, "#oncall-body"), "the levels")


async def test_t_takes_the_pager_showing_the_change_before_enter_makes_it(oncall_desk, db_path, march):
    app = make_app(oncall_desk, db_path, march)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_oncall(app, pilot)
        assert "Primary On-Call       Ava Jones until" in text_of(app, "#oncall-body")
        await pilot.press("t")
        await until(pilot, lambda: type(app.screen).__name__ == "TakeForm", "the take form")
        # alice is not in people.toml: the form asks who, and says so before anything is made.
        await until(pilot, lambda: "✗ who?" in text_of(app, "#plan"), "the missing person")
        await pilot.press("tab", "tab", *"zed")
        await until(pilot, lambda: "'zed' is not in people.toml" in text_of(app, "#plan"), "the unknown person")
        await pilot.press("enter")
        await keys_done(pilot)
        assert type(app.screen).__name__ == "TakeForm" and overrides.listed(oncall_desk) == []
        await pilot.press("backspace", "backspace", "backspace", *"chen")
        await until(pilot, lambda: "Ava Jones → Chen Li" in text_of(app, "#plan"), "the plan")
        plan = text_of(app, "#plan").splitlines()
        assert plan == [
            "primary (Primary On-Call): Ava Jones → Chen Li",
            "  now → 16:00 UTC",
            "  now → 17:00 Europe/Berlin",
        ]
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "OnCallScreen", "back on the on-call screen")
        (made,) = overrides.listed(oncall_desk)
        assert (made.person, made.kind, made.created_by) == ("chen", "take", "alice")
        assert made.ends_at == parse_instant("2027-03-20T16:00:00Z")
        body = text_of(app, "#oncall-body")
        assert "Primary On-Call       Chen Li until Sat 16:00 (17:00 Berlin)" in body
        assert "Chen Li  #1 by alice" in body
        assert "alice    #1: Chen Li takes primary, 12:00 → 16:00" in text_of(app, "#oncall-history")


async def test_c_covers_a_night_and_refuses_an_overlap_in_one_line(oncall_desk, db_path, march, config):
    overrides.add(oncall_desk, load_roster(config), "primary", "chen", hours=2)
    app = make_app(oncall_desk, db_path, march)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_oncall(app, pilot)
        await pilot.press("c", *"ben", "tab", *"ava")
        await until(pilot, lambda: "overlaps override #1 (chen on primary" in text_of(app, "#plan"), "the overlap")
        assert len(text_of(app, "#plan").splitlines()) == 1
        # From 22:00 in the schedule's zone (21:00 UTC) for eight hours.
        await pilot.press("tab", "tab", "ctrl+a", "ctrl+k", *"22:00", "tab", "ctrl+a", "ctrl+k", *"+8h")
        await until(pilot, lambda: "Ava Jones → Ben Okafor" in text_of(app, "#plan"), "the cover plan")
        assert "  Sat 20 Mar 21:00 → Sun 21 Mar 05:00 UTC" in text_of(app, "#plan")
        assert "  Sat 20 Mar 22:00 → Sun 21 Mar 06:00 Europe/Berlin" in text_of(app, "#plan")
        await pilot.press("enter")
        await until(pilot, lambda: len(overrides.listed(oncall_desk)) == 2, "the cover")
        cover = overrides.listed(oncall_desk)[-1]
        assert (cover.person, cover.covering, cover.kind) == ("ben", "ava", "cover")
        assert cover.starts_at == parse_instant("2027-03-20T21:00:00Z")
        assert "#2: Ben Okafor covers Ava Jones on primary" in text_of(app, "#oncall-history")


async def test_s_swaps_weeks_across_dst_and_x_cancels_both_halves(oncall_desk, db_path, march):
    app = make_app(oncall_desk, db_path, march)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_oncall(app, pilot)
        # ava's week after next (29 March) for ben's week across the switch.
        await pilot.press("s", "tab", *"ava", "tab", *"2027-03-30", "tab", *"ben")
        await until(pilot, lambda: "Ben Okafor → Ava Jones" in text_of(app, "#plan"), "the swap plan")
        plan = text_of(app, "#plan")
        assert "  Mon 22 Mar 10:00 → Mon 29 Mar 10:00 Europe/Berlin" in plan
        assert "  Mon 29 Mar 10:00 → Mon 05 Apr 10:00 Europe/Berlin" in plan
        assert "  Mon 22 Mar 09:00 → Mon 29 Mar 08:00 UTC" in plan  # 167 hours: the clocks went forward
        await pilot.press("enter")
        await until(pilot, lambda: len(overrides.listed(oncall_desk)) == 2, "both halves")
        assert "swap #2: Ben Okafor takes Ava Jones's shift" in text_of(app, "#oncall-history")

        await pilot.press("x")
        await until(pilot, lambda: type(app.screen).__name__ == "CancelPicker", "the cancel picker")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", "the confirmation")
        question = app.screen.query_one(".title").render().plain
        assert question == "Cancel override #1 and the other half of its swap?"
        await pilot.press("y")
        await until(pilot, lambda: overrides.listed(oncall_desk) == [], "both cancelled")
        history = text_of(app, "#oncall-history")
        assert history.count("alice    cancelled #") == 2
        assert history.index("cancelled #2") < history.index("cancelled #1") < history.index("swap #2")


async def test_every_key_of_the_screen_is_in_its_footer_help_and_palette(oncall_desk, db_path, march):
    app = make_app(oncall_desk, db_path, march)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_oncall(app, pilot)
        footer = app.screen.query_one("DeskFooter")
        shown = {w.key for w in footer.query("FooterKey")}
        assert {"t", "c", "s", "x", "escape"} <= shown
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "the help")
        assert "keys of the on-call screen" in app.screen.query_one(".title").render().plain
        await pilot.press("escape", "ctrl+p")
        await until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", "the palette")
        await pilot.press(*"swap")
        await palette_offers(pilot, "swap")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "SwapForm", "the swap form from the palette")
        await pilot.press("escape", "escape")
        await until(pilot, lambda: app.screen is app.board_screen, "back on the board")


async def test_the_screen_shows_an_override_made_on_another_desk_at_once(oncall_desk, db_path, march, config):
    app = make_app(oncall_desk, db_path, march)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_oncall(app, pilot)
        other = Desk.open(db_path, policy=oncall_desk.policy, clock=march, actor="bob")
        try:
            overrides.add(other, load_roster(config), "primary", "ben", hours=3, covering="ava")
        finally:
            other.close()
        app.tick()
        await until(pilot, lambda: "bob      #1: Ben Okafor covers Ava Jones" in text_of(app, "#oncall-history"), "it")
        assert "Primary On-Call       Ben Okafor until" in text_of(app, "#oncall-body")
