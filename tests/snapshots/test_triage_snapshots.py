"""Snapshots for issue 15: the severity picker with its suggestion, the ticket with tenants, roles
and fired-before, and an 80x24 board holding eight incidents. Each SVG was looked at before it
was accepted."""

from __future__ import annotations

import pytest

from oncall_tui.alerts.parse import Alert
from oncall_tui.alerts.reconcile import reconcile
from oncall_tui.config import DeskOptions
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

IDENTITY = {"alertname": "IdentityHighErrorRate", "severity": "warning", "service": "identity", "tenant": "acme"}


@pytest.fixture
def night(desk, clock):
    """Eight open incidents at 03:00, one of them an alert that fired before and was fixed."""
    clock.set("2026-11-25T01:00:00Z")
    reconcile(desk, [Alert("fp-id", IDENTITY, {"summary": "Login errors above 5%"}, clock.now())])
    desk.acknowledge(1)
    desk.edit(1, "root_cause", "JWKS cache empty after key rotation")
    desk.edit(1, "resolution", "Refilled the cache, restarted the verifier")
    desk.move(1, Status.RESOLVED)
    desk.move(1, Status.CLOSED)
    clock.set("2026-11-27T02:20:00Z")
    titles = [
        ("Export queue backlog", "P2", ["export"], ""),
        ("Compliance checks failing", "P0", ["compliance"], "Governance writes rejected for all tenants"),
        ("Slow API responses", None, ["api", "db"], ""),
        ("Docs typo on status page", "P3", ["status-page"], ""),
        ("Search results stale", "P2", ["search"], ""),
        ("Checkout errors for acme", None, ["shop"], "Complete outage: acme cannot check out"),
        ("Webhook deliveries delayed", "P1", ["webhooks"], ""),
    ]
    for i, (title, sev, services, impact) in enumerate(titles):
        clock.set(f"2026-11-27T02:{22 + 5 * i}:00Z")
        tenants = "acme" if "acme" in title else ""
        desk.declare(title, severity=sev, services=services, impact=impact, tenants=tenants)
    desk.acknowledge(3)
    desk.set_role(3, "commander", "dana")
    clock.set("2026-11-27T02:58:00Z")
    reconcile(desk, [Alert("fp-id", IDENTITY, {"summary": "Login errors above 5%"}, clock.now())])
    desk.edit(9, "impact", "Logins fail for 3 tenants: acme, globex, initech")
    desk.set_tenants(9, "acme, globex, initech")
    desk.set_role(9, "commander", "dana")
    desk.set_role(9, "scribe", "sam")
    clock.set("2026-11-27T03:00:00Z")
    return desk


def make_app(desk, db_path, clock) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def settle(pilot) -> None:
    app = pilot.app
    await pilot.pause()
    await app.workers.wait_for_complete()
    app.tick()
    app.clear_notifications()
    await pilot.pause()


async def select_alert(pilot) -> None:
    await settle(pilot)
    pilot.app.go_to(9)
    await pilot.pause()


def test_board_80x24_with_eight_incidents(snap_compare, night, db_path, clock):
    assert snap_compare(make_app(night, db_path, clock), terminal_size=(80, 24), run_before=select_alert)


def test_ticket_with_tenants_roles_and_fired_before(snap_compare, night, db_path, clock):
    assert snap_compare(make_app(night, db_path, clock), terminal_size=(120, 40), run_before=select_alert)


def test_severity_picker_marks_the_suggestion(snap_compare, night, db_path, clock):
    async def open_picker(pilot) -> None:
        await select_alert(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(make_app(night, db_path, clock), terminal_size=(120, 40), run_before=open_picker)


def test_declare_form_with_the_severity_picker_field(snap_compare, night, db_path, clock):
    async def declare(pilot) -> None:
        await settle(pilot)
        await pilot.press("d", *"Checkout down", "tab", "tab", *"shop", "tab", *"Complete outage", "tab", *"acme")
        await pilot.pause()

    assert snap_compare(make_app(night, db_path, clock), terminal_size=(80, 24), run_before=declare)
