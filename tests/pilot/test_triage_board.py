"""Issue 15 on the board: tenants, the suggestion, roles, fired-before, the blind banner, rough edges."""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast
from waits import keys_done, palette_offers, until

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


def make_app(desk, clock, db_path, **options) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path, **options), clock=clock)


async def test_incidents_arriving_on_an_empty_board_select_the_first_row(desk, clock, db_path, policy):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
        for title in ("Login failures", "Checkout errors", "Search slow"):
            other.declare(title)
        other.close()
        app.tick()
        await pilot.pause()
        assert app.board_screen.selected is not None
        await pilot.press("a")
        await pilot.pause()
        assert sum(1 for i in desk.incidents() if i.status is Status.ACKNOWLEDGED) == 1


def detail_text(app) -> str:
    return str(app.screen.query_one("#incident-summary").render())


# --- tenants ---------------------------------------------------------------------------------------


async def test_tenants_declared_in_the_form_are_on_the_ticket_and_edited_with_e(desk, clock, db_path):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d", *"Login failures", "tab", "tab", "tab", "tab", *"acme, globex", "enter")
        await pilot.pause()
        inc = desk.get(1)
        assert inc.tenants == ("acme", "globex")
        assert "tenants    acme, globex" in detail_text(app)
        await pilot.press("e")
        await pilot.pause()
        options = app.screen.query_one("#field-options")
        options.highlighted = next(i for i, o in enumerate(options.options) if o.id == "tenants")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+u", *"40: acme, globex", "enter")
        await pilot.pause()
        assert desk.get(1).tenant_count == 40
        assert "tenants    40 tenants: acme, globex" in detail_text(app)
        assert desk.timeline(1)[-1].details["to"] == "40 tenants: acme, globex"


async def test_a_tenant_list_the_desk_cannot_read_is_marked_in_the_form(desk, clock, db_path):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d", *"Login failures", "tab", "tab", "tab", "tab", *"acme, 12", "enter")
        await pilot.pause()
        assert "cannot read" in str(app.screen.query_one("#error-tenants").render())
        assert desk.incidents() == []


# --- the suggestion: each criterion, in the declare form and the picker ------------------------------

CRITERIA = [
    ("", "3", "P0", "Complete service outage affecting multiple tenants"),
    ("Complete service outage affecting multiple tenants", "", "P0", "Complete service outage affecting multiple"),
    ("Possible security breach: tokens leaked", "", "P0", "Security breach or data compromise"),
    ("Audit log: legal evidence integrity lost", "", "P0", "Loss of legal evidence integrity"),
    ("Retention ran early: compliance violation", "", "P0", "Compliance violation"),
    ("Complete outage for this tenant", "acme", "P1", "Single tenant complete outage"),
    ("An individual user cannot sign in", "", "P2", "Individual user access problems"),
    ("Export fails; workaround: use CSV", "", "P3", "Minor service issues with workaround"),
]


@pytest.mark.parametrize(("impact", "tenants", "severity", "criterion"), CRITERIA)
async def test_the_declare_form_suggests_and_the_engineer_confirms(
    desk, clock, db_path, impact, tenants, severity, criterion
):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d", *"Something is wrong", "tab", "tab", "tab", *impact, "tab", *tenants)
        await pilot.pause()
        field = app.screen.query_one("#field-severity")
        assert field.value is None  # a suggestion never sets the severity by itself
        shown = str(field.render())
        assert f"◆ suggested {severity}: {criterion}"[:60] in shown
        field.focus()
        await pilot.press("space")  # the picker, the suggestion marked and under the cursor
        await pilot.pause()
        picker = app.screen
        assert "◆ suggested" in str(picker.query_one("#severity-options").get_option(severity).prompt)
        assert f"The runbook suggests {severity}" in str(picker.query_one("#suggestion").render())
        await pilot.press("enter")
        await pilot.pause()
        assert str(field.value.value) == severity
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert desk.get(1).severity.value == severity


async def test_the_picker_on_the_board_marks_the_suggestion_and_takes_names(desk, clock, db_path):
    desk.declare("Checkout down", impact="Complete outage at acme", tenants="acme")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "◆ runbook suggests P1: Single tenant complete outage" in detail_text(app)
        await pilot.press("s")
        await pilot.pause()
        assert "◆ Single tenant complete outage: 1 tenant affected" in str(
            app.screen.query_one("#severity-options").get_option("P1").prompt
        )
        await pilot.press("escape")  # looked, did not confirm: nothing set
        await pilot.pause()
        assert desk.get(1).severity is None
        await pilot.press("s", "c")  # "critical": the engineer overrules the suggestion
        await pilot.pause()
        assert desk.get(1).severity.value == "P0"
        await pilot.press("d", *"Other", "tab", *"high", "enter")  # typed ahead as a name
        await pilot.pause()
        assert desk.get(2).severity.value == "P1"


# --- roles -------------------------------------------------------------------------------------------


async def test_roles_are_given_by_key_shown_on_ticket_and_board_and_on_the_timeline(desk, clock, db_path):
    desk.declare("Login failures")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("enter")  # Incident commander
        await pilot.pause()
        await pilot.press("ctrl+u", *"dana", "enter")
        await pilot.pause()
        assert desk.get(1).roles == {"commander": "dana"}
        assert "roles      IC dana · CL — · Scribe —" in detail_text(app)
        assert "IC dana" in app.board_screen.board.render_line(1).text
        assert desk.timeline(1)[-1].kind == "role_assigned"
        await pilot.press("w", "down", "down", "enter", "ctrl+u", *"sam", "enter")
        await pilot.pause()
        assert desk.get(1).roles == {"commander": "dana", "scribe": "sam"}


# --- has this fired before? ---------------------------------------------------------------------------


async def test_an_alert_that_fired_before_shows_how_it_was_fixed(desk, clock, db_path):
    from datetime import timedelta

    from oncall_tui.alerts.parse import Alert
    from oncall_tui.alerts.reconcile import reconcile

    labels = {"alertname": "IdentityHighErrorRate", "severity": "warning", "service": "identity"}  # P2
    reconcile(desk, [Alert("fp1", labels, {"summary": "Login errors"}, clock.now() - timedelta(minutes=5))])
    desk.acknowledge(1)
    desk.edit(1, "root_cause", "JWKS cache empty after key rotation")
    desk.edit(1, "resolution", "Refilled the cache")
    desk.move(1, Status.RESOLVED)
    desk.move(1, Status.CLOSED)
    clock.advance(hours=30)
    reconcile(desk, [Alert("fp1", labels, {"summary": "Login errors"}, clock.now())])
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = detail_text(app)
        assert "fired before: 1 time, 1 the very same alert, last 2026-11-27" in text
        assert "INC-1   cause JWKS cache empty after key rotation · fix Refilled the cache" in text


# --- rough edges on the board --------------------------------------------------------------------------


async def test_age_stops_when_an_incident_is_closed(desk, clock, db_path):
    inc = desk.declare("Typo", severity="P3")
    desk.acknowledge(inc.number)
    desk.edit(inc.number, "root_cause", "x")
    desk.edit(inc.number, "resolution", "y")
    clock.advance(minutes=42)
    desk.move(inc.number, Status.RESOLVED)
    desk.move(inc.number, Status.CLOSED)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert " 42m " in app.board_screen.board.render_line(1).text
        assert "+closed" in str(app.screen.query_one("#desk-status").render())
        clock.advance(hours=3)
        app.tick()
        await pilot.pause()
        assert " 42m " in app.board_screen.board.render_line(1).text


async def test_an_undetermined_incident_shows_notify_as_due_if_p0_or_p1(desk, clock, db_path):
    desk.declare("Something odd", services=["api"], impact="x", assignee="alice")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        clocks = str(app.screen.query_one("#clock-list").render())
        assert "Notify stakeholders" in clocks and "due if P0/P1: in 15m00s" in clocks
        await pilot.press("m")
        await pilot.pause()
        hint = str(app.screen.query_one("#deadline-hint").render())
        assert hint == "Notify stakeholders: due 03:15 UTC if it is P0/P1 (severity not determined)"


async def test_80x24_shows_eight_incidents_and_the_ticket_beside_the_clocks(desk, clock, db_path):
    for i in range(8):
        desk.declare(f"Incident number {i + 1}", services=["svc"], impact=f"impact {i + 1}", channel="#inc")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        board = app.board_screen.board
        lines = [board.render_line(y).text for y in range(board.size.height)]
        assert sum(1 for line in lines if line.strip().startswith("INC-")) == 8
        assert "8 open" in str(app.screen.query_one("#desk-status").render())
        summary = app.screen.query_one("#incident-summary")
        clocks = app.screen.query_one("#clock-list")
        assert summary.region.x > clocks.region.x  # beside, not below
        text = str(summary.render())
        for field in ("services", "channel", "started", "impact"):
            assert field in text
        assert summary.region.bottom <= app.screen.query_one("#detail").region.bottom  # no scrolling


async def test_80x24_breaches_make_one_toast_over_the_ticket_never_the_board_nor_the_clocks(desk, clock, db_path):
    for i in range(3):
        desk.declare(f"Incident {i}")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        app.clear_notifications()
        clock.advance(minutes=6)  # three acknowledgements run out at once
        app.tick()
        await until(pilot, lambda: app.screen.query(Toast), "the toast")
        await keys_done(pilot)  # and the frames after it: a second toast would be up by now
        toasts = list(app.screen.query(Toast))
        assert len(toasts) == 1
        # Below the board (its titles show another desk's changes) and right of the clock list.
        assert toasts[0].region.y >= app.screen.query_one("#detail").region.y
        assert toasts[0].region.x >= app.screen.query_one("#clock-list").region.right


async def test_the_80_column_footer_shows_whole_keys_and_more(desk, clock, db_path):
    desk.declare("Login failures")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one("DeskFooter")
        keys = list(footer.query("FooterKey"))
        assert keys[-2].description == "more" and keys[-2].key == "question_mark"
        right = max(k.region.right for k in keys if not k.has_class("-command-palette"))
        palette = next(k for k in keys if k.has_class("-command-palette"))
        assert right <= palette.region.x  # nothing runs under the palette key, nothing is cut
        assert "r" in footer.hidden_keys


async def test_help_lists_the_keys_and_colours_of_the_screen_in_front(desk, clock, db_path):
    desk.declare("Login failures", severity="P1", services=["identity"], impact="x", assignee="alice")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "MONITORING IS BLIND" in text and "◆ suggested" in text  # the colour legend
        assert "restart the desk to apply" in text
        await pilot.press("escape", "m")
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.query_one(".title").render().plain == "oncall-tui — keys of the composer"
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Copy the message" in text and "typed for this message only" in text
        assert "Acknowledge the selected incident" not in text


async def test_the_palette_goes_to_a_closed_incident(desk, clock, db_path):
    inc = desk.declare("Old outage", severity="P3")
    desk.acknowledge(inc.number)
    desk.edit(inc.number, "root_cause", "x")
    desk.edit(inc.number, "resolution", "y")
    desk.move(inc.number, Status.RESOLVED)
    desk.move(inc.number, Status.CLOSED)
    desk.declare("Open one")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Go to INC-1")
        await palette_offers(pilot, "INC-1")
        await pilot.press("enter")
        await pilot.pause()
        assert app.board_screen.selected == 1
        assert "+closed" in str(app.screen.query_one("#desk-status").render())


async def test_declaring_does_not_turn_on_closed_incidents(desk, clock, db_path):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d", *"Login failures", "enter")
        await pilot.pause()
        assert app.board_screen.selected == 1
        assert not app.board_screen.board.show_closed
        assert "+closed" not in str(app.screen.query_one("#desk-status").render())
