"""The desk pages while it is open: Pilot tests pressing real keys, against the real SMTP server.

The app's clock is frozen at the real time (the receivers stamp nothing, but an Alertmanager would);
each `tick` after `clock.advance` is the app's one-second clock firing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from paging_fixtures import POLICY, write_config
from paging_receivers import refused_url
from pilot_helpers import until

from oncall_tui.clock import FrozenClock
from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.policy import load_policy
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def make_app(db_path, config_dir, clock) -> tuple[OncallApp, Desk]:
    policy = load_policy(config_dir / "policy.toml")
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock), desk


async def tick(app, pilot, clock, seconds: float = 1) -> None:
    clock.advance(seconds=seconds)
    app.tick()
    await pilot.pause(0.05)


def status_text(app) -> str:
    widget = app.query_one("#paging-status")
    return widget.render().plain


async def test_an_open_desk_pages_shows_who_holds_the_pager_and_pages_by_hand(db_path, config_dir, clock, smtp):
    app, desk = make_app(db_path, config_dir, clock)
    async with app.run_test(size=(140, 40)) as pilot:
        paging = app.query_one("#paging-status")
        await tick(app, pilot, clock)
        await until(pilot, lambda: paging.view.configured, "the first look")
        roster = paging._pager.roster.get()
        primary = roster.people[roster.holder("primary", clock.now())]
        assert status_text(app).startswith(f"☎ {primary.name}")
        assert "no agent: pages while open" in status_text(app)

        # Born from an alert, as the intake declares it (the Alertmanager path is in test_paging_delivery).
        inc = desk.declare(
            "IdentityServiceDown", severity="P1", services=["identity"], source="alert", fingerprint="f00d"
        )
        await tick(app, pilot, clock)
        await until(pilot, lambda: smtp.to(f"{primary.handle}@example.com"), "the primary's e-mail", timeout=15)
        app.go_to(inc.number)
        await until(pilot, lambda: app.board_screen.selected == inc.number, "the incident selected")
        contact = paging.contact("Primary On-Call")
        assert contact.startswith(primary.name + " until ")

        # E: pick the Engineering Manager level; the page goes now and says so.
        await pilot.press("E")
        await until(pilot, lambda: app.screen.__class__.__name__ == "EscalatePicker", "the escalate picker")
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: smtp.to("chen@example.com"), "the manager's e-mail", timeout=15)
        mail = smtp.to("chen@example.com")[-1]
        assert "paged by hand" in mail.body and inc.id in mail.subject
        await until(
            pilot,
            lambda: any(e.kind == "page_result" and e.details["person"] == "chen" for e in desk.timeline(inc.number)),
            "the delivery on the timeline",
        )

        # O: who is on call, two weeks ahead.
        await pilot.press("O")
        await until(pilot, lambda: app.screen.query("#oncall-body"), "who is on call")
        body = app.screen.query_one("#oncall-body").render().plain
        assert "primary — next 14 days  (UTC; Europe/Berlin in brackets)" in body and primary.name in body
        await pilot.press("escape")


async def test_a_person_nobody_can_reach_turns_the_board_red_and_the_next_tier_is_paged(
    db_path, tmp_path, clock, smtp, monkeypatch
):
    config = write_config(
        tmp_path / "unreachable",
        urls={"ava": refused_url(), "ben": smtp.url("ben@example.com"), "chen": smtp.url("chen@example.com")},
        policy=POLICY.replace('schedule = "primary"', 'person = "ava"').replace(
            'schedule = "secondary"', 'person = "ben"'
        ),
    )
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(config))
    app, desk = make_app(db_path, config, clock)
    async with app.run_test(size=(140, 40)) as pilot:
        paging = app.query_one("#paging-status")
        inc = desk.declare("Payments down", severity="P0")
        for _ in range(20):
            await tick(app, pilot, clock)
            if smtp.to("ben@example.com") and app.query("#unreached-banner"):
                break
            await pilot.pause(0.2)
        assert smtp.to("ben@example.com"), "the next tier was not paged"
        await tick(app, pilot, clock)
        await until(pilot, lambda: app.query("#unreached-banner"), "the red line")
        await until(pilot, lambda: "reached Ben" in str(app.query_one("#unreached-banner").render()), "Ben reached")
        banner = str(app.query_one("#unreached-banner").render())
        assert "INC-1: could not reach Ava Jones; reached Ben Okafor" in banner
        # Acknowledging settles it: the line goes.
        await pilot.press("a")
        await tick(app, pilot, clock)
        await until(pilot, lambda: not app.query("#unreached-banner"), "the red line to go after the ack")
        assert desk.get(inc.number).acknowledged_at is not None and paging.view.unreached == ()


async def test_a_person_with_no_working_address_is_flagged_before_it_matters(db_path, tmp_path, clock, monkeypatch):
    config = write_config(
        tmp_path / "flagged",
        urls={"ava": "notascheme://nowhere", "ben": refused_url(), "chen": refused_url()},
    )
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(config))
    app, desk = make_app(db_path, config, clock)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await tick(app, pilot, clock)
        paging = app.query_one("#paging-status")
        await until(pilot, lambda: paging.view.configured, "the first look")
        assert paging.view.address_problems == (
            "Ava Jones has no working address: Apprise cannot read the address notascheme://nowhere "
            "(unknown scheme or missing parts)",
        )
        await until(
            pilot,
            lambda: any("Ava Jones has no working address" in str(n.message) for n in app._notifications),
            "the toast naming Ava",
        )
        assert desk.incidents() == []  # flagged with no incident open: before it matters
