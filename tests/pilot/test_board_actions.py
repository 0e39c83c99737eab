"""Triage actions, refusals, conflicts, other desks and breaches, as the engineer at the board sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets._toast import Toast
from waits import palette_offers, until

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.model import Severity, Status
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.dialogs.modals import ConfirmScreen, FieldPicker, TextPrompt
from oncall_tui.ui.dialogs.severity_picker import SeverityPicker

pytestmark = pytest.mark.anyio


def board_rows(app: OncallApp) -> list[str]:
    board = app.board_screen.board
    lines = [board.render_line(y).text.rstrip() for y in range(1, board.size.height)]
    return [line for line in lines if line.strip().startswith("INC-")]


def toasts(app: OncallApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


@pytest.fixture
def make_app(db_path, clock):
    def make(desk: Desk) -> OncallApp:
        return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)

    return make


@pytest.fixture
def other_desk(db_path, policy, clock):
    """Bob's desk: another connection to the same file, as a second `oncall-tui` would have."""
    d = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
    yield d
    d.close()


async def test_board_is_sorted_breached_first_then_nearest_deadline_then_severity(desk, clock, make_app):
    clock.set("2026-11-27T02:40:00Z")
    desk.declare("Old and unacknowledged", severity="P3")  # ack due 02:45: breached by 03:00
    clock.set("2026-11-27T02:59:00Z")
    desk.declare("Fresh P2", severity="P2")  # ack due 03:04
    desk.declare("Fresh P0", severity="P0")  # same ack deadline, worse severity
    clock.set("2026-11-27T03:00:00Z")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True):
        rows = board_rows(app)
        assert [r.split()[0] for r in rows] == ["INC-1", "INC-3", "INC-2"]
        assert "!! ack 15m00s overdue" in rows[0]


async def test_filter_by_severity_status_service_and_text(desk, make_app):
    desk.declare("Login failures", severity="P0", services=["identity"])
    desk.declare("Slow API", severity="P2", services=["api"])
    desk.declare("Login page typo", severity="P3", services=["web"])
    desk.acknowledge(3)
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("slash")
        assert isinstance(app.screen, TextPrompt)
        await type_text(pilot, "sev:P9")
        await pilot.press("enter")
        assert isinstance(app.screen, TextPrompt)  # a typo is shown, not applied
        assert "unknown severity" in str(app.screen.query_one("#prompt-error").render())
        for _ in range(6):
            await pilot.press("backspace")
        await type_text(pilot, "login status:trig")
        await pilot.press("enter")
        assert [r.split()[0] for r in board_rows(app)] == ["INC-1"]
        assert "filter: login status:trig (1 shown)" in str(app.query_one("#desk-status").render())

        await pilot.press("escape")  # clears the filter
        assert len(board_rows(app)) == 3

        await pilot.press("slash", *"svc:api,web")
        await pilot.press("enter")
        assert sorted(r.split()[0] for r in board_rows(app)) == ["INC-2", "INC-3"]


async def test_refusals_are_explained_and_nothing_is_written(desk, make_app):
    desk.declare("No severity yet")
    desk.acknowledge(1)
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("x")  # resolve needs a severity first
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("resolving INC-1 needs a severity first" in t for t in toasts(app))
        assert desk.get(1).status is Status.ACKNOWLEDGED


async def test_another_desk_acknowledging_first_is_a_conflict_not_a_crash(desk, other_desk, make_app):
    desk.declare("Login failures", severity="P1")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        assert "triggered" in board_rows(app)[0]
        other_desk.acknowledge(1)
        await pilot.press("a")
        await pilot.pause()
        assert any("already acknowledged by bob" in t for t in toasts(app))
        assert "acknowledged" in board_rows(app)[0]  # the board now shows what bob did
        assert [e.actor for e in desk.timeline(1) if e.kind == "acknowledged"] == ["bob"]


async def test_severity_picked_against_a_stale_view_is_a_conflict(desk, other_desk, make_app):
    desk.declare("Login failures")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("s")
        assert isinstance(app.screen, SeverityPicker)
        other_desk.set_severity(1, "P2")
        await pilot.press("0")
        await pilot.pause()
        assert desk.get(1).severity is Severity.P2
        assert any("severity was changed by bob" in t for t in toasts(app))


async def test_another_desks_changes_appear_on_the_next_tick_and_cost_one_pragma_otherwise(desk, other_desk, make_app):
    desk.declare("Login failures", severity="P1")
    app = make_app(desk)
    statements: list[str] = []
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        desk.store.conn.set_trace_callback(statements.append)
        for _ in range(5):
            app.tick()
        assert statements == ["PRAGMA data_version"] * 5  # nothing changed: nothing read

        other_desk.declare("Slow API", severity="P2")
        other_desk.acknowledge(1)
        statements.clear()
        app.tick()
        await pilot.pause()
        fetched = [s.split(" FROM ")[1] for s in statements if s.startswith("SELECT number, title,")]
        assert fetched == ["incidents WHERE number IN (1,2) ORDER BY number"]  # just those two, whole
        rows = board_rows(app)
        assert [r.split()[0] for r in rows] == ["INC-2", "INC-1"]
        assert "acknowledged" in rows[1]

        # A commit that touches no incident (the paging watcher's heartbeat) re-reads none.
        with other_desk.store.write():
            other_desk.store.beat(
                {"token": "w", "kind": "agent", "host": "h", "pid": 1, "actor": "bob", "pages": 0}
                | {"started_at": "2026-11-27T03:00:00Z", "seen_at": "2026-11-27T03:00:05Z"}
            )
        statements.clear()
        app.tick()
        await pilot.pause()
        assert not [s for s in statements if s.startswith("SELECT number, title,") or "FROM checks" in s]
        desk.store.conn.set_trace_callback(None)


def count_bells(app) -> list[int]:
    """The terminal bells the app rings from now on, one entry each."""
    bells: list[int] = []
    app.bell = lambda: bells.append(1)
    return bells


async def test_a_deadline_running_out_while_open_toasts_rings_and_is_written_once(desk, clock, make_app):
    desk.declare("Login failures", severity="P3")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        bells = count_bells(app)
        clock.advance(minutes=4, seconds=59)
        app.tick()
        await pilot.pause()
        assert "! ack in 1s" in board_rows(app)[0]
        assert bells == [] and not toasts(app)

        clock.advance(seconds=2)
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "!! ack 1s overdue" in board_rows(app)[0]
        notes = toasts(app)
        assert any("INC-1: Acknowledge deadline missed" in t for t in notes)
        # "If unable to respond, escalate to next tier": the missed ack escalates at once.
        assert any("INC-1: escalated to Secondary On-Call — call secondary on-call" in t for t in notes)
        assert bells == [1]  # one bell for what ran out in the same second
        breaches = [e.details for e in desk.timeline(1) if e.kind == "deadline_breached"]
        assert [b["deadline"] for b in breaches] == ["acknowledge", "escalate:secondary-on-call"]

        clock.advance(seconds=30)
        app.tick()
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert bells == [1]
        assert len([e for e in desk.timeline(1) if e.kind == "deadline_breached"]) == 2


async def test_a_burst_of_breaches_is_one_toast_one_bell_and_b_lists_them(desk, clock, make_app):
    for i in range(12):
        desk.declare(f"Storm alert {i}", severity="P3")
    desk.declare("Calm one", severity="P3")
    desk.acknowledge(13)
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        bells = count_bells(app)
        clock.advance(minutes=5, seconds=1)  # twelve ack clocks (and their escalations) run out at once
        app.tick()
        await pilot.pause()
        notes = [t for t in toasts(app) if "breached" in t or "missed" in t]
        assert len(notes) == 1, notes
        assert "24 deadlines breached in the last minute, on 12 incidents — press B to list them" in notes[0]
        assert bells == [1]

        clock.advance(seconds=20)
        desk.declare("One more", severity="P3")
        app.refresh_incidents()
        clock.advance(minutes=5, seconds=1)
        app.tick()
        await pilot.pause()
        notes = [t for t in toasts(app) if "breached" in t or "missed" in t]
        assert len(notes) == 1 and "26 deadlines breached" in notes[0], notes  # the same toast, updated
        assert bells == [1]  # the same burst

        await pilot.press("B")
        await pilot.pause()
        shown = [r.incident.title for r in app.board_screen.board.model.rows]
        assert len(shown) == 13 and "Calm one" not in shown
        await pilot.press("B")
        await pilot.pause()
        assert len(app.board_screen.board.model.rows) == 14
        await app.workers.wait_for_complete()


async def test_a_deadline_running_out_behind_a_dialog_rings_at_once_and_toasts_when_it_closes(desk, clock, make_app):
    desk.declare("Login failures", severity="P3")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        bells = count_bells(app)
        await pilot.press("d")  # the declare form: half filled in when the ack clock runs out
        await pilot.press(*"Slow API")
        clock.advance(minutes=5, seconds=1)
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert bells == [1]
        assert [e.details["deadline"] for e in desk.timeline(1) if e.kind == "deadline_breached"] == [
            "acknowledge",
            "escalate:secondary-on-call",
        ]
        assert not any("deadline missed" in t for t in toasts(app))  # nothing over the form

        await pilot.press("escape")
        app.tick()
        await pilot.pause()
        assert any("INC-1: Acknowledge deadline missed" in t for t in toasts(app))
        assert bells == [1]


async def test_breaches_from_before_the_desk_opened_are_recorded_with_one_summary(desk, clock, make_app):
    clock.set("2026-11-27T01:00:00Z")
    for title in ("Login failures", "Slow API", "Queue backlog"):
        desk.declare(title, severity="P3")
    clock.set("2026-11-27T03:00:00Z")  # two hours on: each missed its ack and so went to Secondary
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        bells = count_bells(app)
        # The toast first: it lasts 10 s, and the six fsync'd writes behind it may take longer on a busy disk.
        await until(pilot, lambda: toasts(app), "the summary toast")
        notes = toasts(app)
        await app.workers.wait_for_complete()
        assert len(notes) == 1
        assert "6 deadlines had already run out on 3 incidents when the desk opened" in notes[0]
        assert bells == []
        recorded = {
            (n, e.details["deadline"]) for n in (1, 2, 3) for e in desk.timeline(n) if e.kind == "deadline_breached"
        }
        assert len(recorded) == 6


async def test_a_read_only_database_says_so_and_the_desk_keeps_running(db_path, policy, clock, desk, make_app):
    desk.declare("Login failures", severity="P1")
    readonly = Desk.open(db_path, policy=policy, clock=clock, actor="alice", readonly=True)
    app = make_app(readonly)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        assert "read-only" in str(app.query_one("#desk-status").render())
        await pilot.press("a")
        await pilot.pause()
        assert any("read-only" in t for t in toasts(app))
        await pilot.press("down")  # still answering keys
        assert app.is_running
    readonly.close()
    assert desk.get(1).status is Status.TRIGGERED


async def test_assign_and_edit_fields(desk, make_app):
    desk.declare("Login failures", severity="P1")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("o")
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one("#prompt-input").value == "alice"  # yourself, by default
        await pilot.press("ctrl+u", *"carol", "enter")
        assert desk.get(1).assignee == "carol"

        await pilot.press("e")
        assert isinstance(app.screen, FieldPicker)
        await pilot.press("down")  # Title → Impact
        await pilot.press("enter")
        assert isinstance(app.screen, TextPrompt)
        await type_text(pilot, "All tenants, EU first")
        await pilot.press("enter")
        assert desk.get(1).impact == "All tenants, EU first"
        assert "All tenants, EU first" in str(app.query_one("#incident-summary").render())


async def test_closing_asks_first(desk, make_app):
    desk.declare("Export backlog", severity="P2")
    desk.acknowledge(1)
    desk.edit(1, "root_cause", "undersized pool")
    desk.edit(1, "resolution", "more workers")
    desk.move(1, Status.RESOLVED)
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("f")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert desk.get(1).status is Status.RESOLVED
        await pilot.press("f", "y")
        assert desk.get(1).status is Status.CLOSED
        assert board_rows(app) == []  # closed ones are behind `c`
        await pilot.press("c")
        assert "closed" in board_rows(app)[0]


async def test_every_action_is_in_the_command_palette(desk, make_app):
    desk.declare("Login failures", severity="P1")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "acknowledge")
        await palette_offers(pilot, "acknowledge")
        await pilot.press("enter")
        await pilot.pause()
        assert desk.get(1).status is Status.ACKNOWLEDGED


async def test_clocks_tick_down_from_the_one_app_timer(desk, clock, make_app):
    desk.declare("Login failures", severity="P1")
    app = make_app(desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        clocks = app.query_one("#clock-list")
        assert "Acknowledge            03:05        5m00s left" in clocks.render().plain
        clock.advance(timedelta(seconds=90))
        app.tick()
        await pilot.pause()
        assert "Acknowledge            03:05        3m30s left" in clocks.render().plain
        assert "ack in 3m30s" in board_rows(app)[0]
        assert all(widget.auto_refresh is None for widget in app.screen.query("*"))


async def test_every_countdown_on_screen_is_repainted_when_its_text_changes(desk, clock, make_app):
    """What the terminal shows, not what a line would render: a line whose countdown changed but
    was not marked for repainting would keep showing the old time. Two minutes of ticks, with
    moves and pages between them, over incidents whose clocks tick by the second and the minute."""
    from datetime import timedelta

    from oncall_tui.demo import seed_bulk

    for minutes in (1, 3, 7, 12, 25, 50, 70, 130):
        desk.declare(f"Started {minutes}m ago", severity="P1", started_at=clock.now() - timedelta(minutes=minutes))
    seed_bulk(desk, 40, seed=3)
    app = make_app(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.board_screen.board
        for second in range(125):
            clock.advance(seconds=1)
            app.tick()
            if second % 17 == 5:
                await pilot.press("down", "pagedown" if second % 2 else "up")
            await pilot.pause()
            # The screen as composed from what each widget last painted (its per-line caches).
            shown = [strip.text for strip in app.screen._compositor.render_strips()]
            top = board.region.y + 1  # below the board's header
            first = int(board.scroll_y)
            for offset, row in enumerate(board.model.rows[first : first + board.size.height - 1]):
                (text, _tone, age), _until = row.dynamic_text(clock.now().timestamp())
                line = shown[top + offset]
                assert text in line and f" {age} " in line, (second, row.incident.id, text, age, line)
