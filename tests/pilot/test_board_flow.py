"""The whole triage flow by real key presses, checked in the database and on the screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from key_bursts import burst

from oncall_tui.config import DeskOptions
from oncall_tui.model import Severity, Status
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.dialogs.forms import DeclareScreen, ResolveScreen
from oncall_tui.ui.dialogs.modals import ConfirmScreen, TextPrompt
from oncall_tui.ui.dialogs.severity_picker import SeverityPicker

pytestmark = pytest.mark.anyio


@pytest.fixture
def db_path(record_target):
    """On both backends: the desk (conftest's, opened on `db_path`) is a file or a PostgreSQL database."""
    return record_target


def board_text(app: OncallApp) -> list[str]:
    board = app.board_screen.board
    return [board.render_line(y).text.rstrip() for y in range(board.size.height)]


def clocks_text(app: OncallApp) -> str:
    return app.query_one("#clock-list").render().plain


def summary_text(app: OncallApp) -> str:
    return str(app.query_one("#incident-summary").render())


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


@pytest.fixture
def app(desk, db_path, clock):
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def test_empty_board_tells_a_new_user_what_to_press(app):
    async with app.run_test(size=(80, 24)):
        text = "\n".join(board_text(app))
        assert "No open incidents" in text
        assert "Press d to declare an incident" in text


async def test_triage_flow_declare_to_resolve(app, desk, clock):
    async with app.run_test(size=(120, 40)) as pilot:
        # Declare: a form; the title is required, the start time is relative.
        await pilot.press("d")
        assert isinstance(app.screen, DeclareScreen)
        await pilot.press("enter")  # empty title
        assert isinstance(app.screen, DeclareScreen)
        assert "a title is required" in str(app.screen.query_one("#error-title").render())
        await type_text(pilot, "Login failures")
        await pilot.press("tab", "tab")
        await type_text(pilot, "identity, api")
        await pilot.press("tab", "tab", "tab", "tab")  # impact, tenants, channel, started
        await type_text(pilot, "-3m")
        await pilot.press("enter")
        assert not isinstance(app.screen, DeclareScreen)

        inc = desk.get(1)
        assert inc.title == "Login failures"
        assert inc.services == ("identity", "api")
        assert inc.severity is None
        assert inc.started_at == clock.now() - timedelta(minutes=3)
        assert app.board_screen.selected == 1
        assert "INC-1    P?  triggered     ack in 2m00s " in board_text(app)[1]

        # Acknowledge.
        await pilot.press("a")
        assert desk.get(1).status is Status.ACKNOWLEDGED
        assert desk.get(1).acknowledged_by == "alice"
        assert "acknowledged" in board_text(app)[1]

        # Severity through the picker, which shows the runbook's criteria.
        await pilot.press("s")
        assert isinstance(app.screen, SeverityPicker)
        options = app.screen.query_one("#severity-options")
        assert "Service degradation affecting core functionality" in str(options.get_option("P1").prompt)
        await pilot.press("1")
        assert desk.get(1).severity is Severity.P1
        assert " P1 " in board_text(app)[1]
        assert "P1 High" in summary_text(app)
        assert "Notify stakeholders" in clocks_text(app)

        # A note.
        await pilot.press("n")
        assert isinstance(app.screen, TextPrompt)
        await type_text(pilot, "JWKS cache empty since deploy")
        await pilot.press("enter")
        assert [e.details["text"] for e in desk.timeline(1) if e.kind == "note"] == ["JWKS cache empty since deploy"]

        # Forward: acknowledged → investigating → mitigated.
        await pilot.press("f")
        assert desk.get(1).status is Status.INVESTIGATING
        await pilot.press("f")
        assert desk.get(1).status is Status.MITIGATED
        assert "mitigated" in board_text(app)[1]

        # Forward from mitigated is resolving: a form asks for root cause and resolution first.
        await pilot.press("f")
        assert isinstance(app.screen, ResolveScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, ResolveScreen)  # both required
        assert desk.get(1).status is Status.MITIGATED
        await type_text(pilot, "JWKS cache not refreshed after key rotation")
        await pilot.press("tab")
        await type_text(pilot, "Restarted the cache warmer")
        await pilot.press("enter")
        while isinstance(app.screen, ConfirmScreen):  # offers to compose the Resolution message
            await pilot.press("n")

        inc = desk.get(1)
        assert inc.status is Status.RESOLVED
        assert inc.root_cause == "JWKS cache not refreshed after key rotation"
        assert inc.resolution == "Restarted the cache warmer"
        kinds = [e.kind for e in desk.timeline(1)]
        assert kinds[0] == "declared" and kinds[-1] == "status_changed"
        assert kinds.count("field_edited") == 2
        assert "resolved" in board_text(app)[1]
        assert "Post-incident review" in clocks_text(app)

        # The timeline tab lists it all, newest at the bottom.
        await pilot.press("right_square_bracket")
        timeline = str(app.query_one("#timeline-text").render())
        lines = [line for line in timeline.splitlines() if line.strip()]
        assert "Declared: Login failures (identity, api)" in lines[0]
        assert "Status mitigated → resolved" in lines[-1]
        assert any("Note: JWKS cache empty since deploy" in line for line in lines)


async def test_a_form_typed_ahead_in_one_burst_fills_each_field(app, desk):
    """Over a slow link the whole form can arrive in one read: each Tab must move on before the
    text after it is typed, or everything lands in the title."""
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d")
        await burst(pilot, *"Checkout errors", "tab", *"P1", "tab", *"payments")
        form = app.screen
        assert isinstance(form, DeclareScreen)
        values = {i.id: i.value for i in form.query("Input")}
        assert values["field-title"] == "Checkout errors"
        assert form.query_one("#field-severity").value is Severity.P1
        assert values["field-services"] == "payments"
        await pilot.press("ctrl+s")
        assert [(i.title, i.severity, i.services) for i in desk.incidents()] == [
            ("Checkout errors", Severity.P1, ("payments",))
        ]
