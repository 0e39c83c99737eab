"""Issue 19: the board's first frame reads only what its rows sort and count by (`IncidentKeys`),
and the incidents whole once it is up: the first frame is the real board all the same (its order,
its counts, its top rows drawn whole), and once the first look is over every row holds its
incident whole, as the record has it. On both backends."""

from __future__ import annotations

import pytest
from waits import until

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.model import Incident, IncidentKeys, Status
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.board_model import BoardModel
from oncall_tui.ui.filtering import BoardFilter
from oncall_tui.ui.screens import board as board_screen

pytestmark = pytest.mark.anyio


@pytest.fixture
def db_path(record_target):
    """On both backends: the desk (conftest's, opened on `db_path`) is a file or a PostgreSQL database."""
    return record_target


def fill_desk(desk: Desk, clock, count: int) -> None:
    with desk.store.bulk_fill():
        for i in range(count):
            desk.declare(f"Storm alert {i}", severity=("P0", "P1", "P2", "P3", None)[i % 5], started_at=clock.now())
            if i % 3 == 0:
                desk.acknowledge(i + 1)
            if i % 21 == 0:
                desk.move(i + 1, Status.INVESTIGATING)
            clock.advance(seconds=37)
    desk.move(4, Status.MITIGATED)
    desk.edit(13, "root_cause", "a bad deploy")
    desk.edit(13, "resolution", "rolled back")
    desk.move(13, Status.RESOLVED)
    desk.move(13, Status.CLOSED)


def keys_of(incident: Incident) -> IncidentKeys:
    return IncidentKeys(*(getattr(incident, name) for name in IncidentKeys._fields))


def slow_look(monkeypatch) -> None:
    """A few incidents read whole a slice, slices far apart: the look lasts a while."""
    monkeypatch.setattr(board_screen, "LOOK_BUDGET_SECONDS", 0.0)
    monkeypatch.setattr(board_screen, "LOOK_GAP_SECONDS", 0.05)
    monkeypatch.setattr(board_screen, "FILL_ROWS", 5)


def test_the_keys_are_the_incidents_own(desk, clock):
    fill_desk(desk, clock, 30)
    store = desk.store
    assert store.incident_keys() == [keys_of(i) for i in store.incidents()]
    everything = store.incident_keys(include_closed=True)
    assert everything == [keys_of(i) for i in store.incidents(include_closed=True)]
    assert 13 in {k.number for k in everything} - {k.number for k in store.incident_keys()}


async def test_the_first_frame_is_the_boards_and_the_incidents_are_read_whole_after_it(
    desk, clock, db_path, monkeypatch
):
    fill_desk(desk, clock, 150)
    full = BoardModel(desk.policy)
    full.load(desk.incidents(), clock.now())
    slow_look(monkeypatch)
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.board_screen
        model = screen.board.model
        assert [r.incident.number for r in model.rows] == [r.incident.number for r in full.rows]
        assert model.counts == full.counts
        open_count, breached, unacked = full.counts
        status = str(app.screen.query_one("#desk-status").render())
        assert f"{open_count} open" in status and f"!! {breached} breached" in status and f"{unacked} unack" in status
        assert screen.board.virtual_size.height == len(full.rows) + 1  # the scrollbar's length
        height = screen.board.size.height
        lines = "\n".join(str(screen.board.render_line(y).text) for y in range(1, height))
        assert all(f"{r.incident.id} " in lines and r.whole.title in lines for r in full.rows[: height - 1])
        assert isinstance(screen.current(), Incident)  # the selected one, for the detail and the actions
        assert any(isinstance(r.incident, IncidentKeys) for r in model.rows)  # the rest: keys, for now

        await pilot.press("end")  # a row drawn before the look reached it is read whole to be drawn
        assert screen.selected == full.rows[-1].incident.number
        last = "\n".join(str(screen.board.render_line(y).text) for y in range(1, height))
        assert full.rows[-1].whole.title in last and isinstance(screen.current(), Incident)

        await until(pilot, lambda: not screen._looking_back, "the first look's end", timeout=30)
        await app.workers.wait_for_complete()  # the breaches it found, written
        app.tick()  # and taken as written
        await pilot.pause()
        differ = [
            (r.incident, desk.get(r.incident.number)) for r in model.rows if r.incident != desk.get(r.incident.number)
        ]
        assert not differ, differ[:1]
        assert [(r.incident.number, r.escalation) for r in model.rows] == [
            (r.incident.number, r.escalation) for r in full.rows
        ]
        await app.workers.wait_for_complete()


async def test_a_change_or_a_filter_before_the_incidents_are_read_whole(desk, clock, db_path, policy, monkeypatch):
    fill_desk(desk, clock, 150)
    slow_look(monkeypatch)
    app = OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.board_screen
        model = screen.board.model
        keyed = [r.incident.number for r in model.rows if isinstance(r.incident, IncidentKeys)]
        assert keyed
        # Another desk acknowledges one the board knows by its keys alone: the board shows it.
        target = next(n for n in keyed if desk.get(n).acknowledged_at is None)
        other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
        other.acknowledge(target)
        other.close()
        app.tick()
        await until(pilot, lambda: model.get(target).incident.acknowledged_at is not None, "the acknowledgement")
        assert isinstance(model.get(target).incident, Incident)

        # A filter reads every row whole first (it matches titles and services).
        wanted = BoardFilter.parse("alert 1")
        screen.board.set_filter(wanted)
        assert all(isinstance(r.incident, Incident) for r in model.all_rows())
        expected = sorted(i.number for i in desk.incidents() if wanted.matches(i))
        assert sorted(r.incident.number for r in model.rows) == expected
        full = BoardModel(desk.policy)
        full.load(desk.incidents(), clock.now())
        assert model.counts == full.counts
        await until(pilot, lambda: not screen._looking_back, "the first look's end", timeout=30)
        await app.workers.wait_for_complete()
