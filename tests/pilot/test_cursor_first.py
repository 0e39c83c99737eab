"""A cursor key paints the moved cursor first and the detail of the row it reached in the frame right
after; a key typed after it still acts on, and shows, the incident the cursor reached."""

from __future__ import annotations

import pytest
from key_bursts import burst
from textual.app import App, ComposeResult
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oncall_tui.config import DeskOptions
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.widgets.detail import IncidentDetail
from oncall_tui.ui.widgets.scrollbar import SteadyScrollBar, steady_vertical_scrollbar

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(desk, db_path, clock):
    for title in ("Login failures", "Checkout latency", "Search index stale"):
        desk.declare(title, severity="P2")
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def _settle(pilot) -> None:
    for _ in range(6):
        await pilot.pause()


def _record_frames(app) -> list[tuple[int | None, int | None]]:
    """(the incident under the cursor, the incident the detail shows) as each frame is written."""
    frames: list[tuple[int | None, int | None]] = []
    display = app._display

    def recorded(screen, update) -> None:
        display(screen, update)
        shown = app.board_screen.query_one(IncidentDetail).incident
        frames.append((app.board_screen.board.selected_number, shown.number if shown else None))

    app._display = recorded
    return frames


async def test_the_cursor_is_painted_before_the_detail_it_brings(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        first = app.board_screen.board.selected_number
        frames = _record_frames(app)
        await pilot.press("j")
        await _settle(pilot)
        reached = app.board_screen.board.selected_number
        assert reached != first
        moved = [shown for cursor, shown in frames if cursor == reached]
        assert moved[0] == first  # the cursor's own frame: the detail still shows where it came from
        assert moved[-1] == reached  # and the next one shows where it went
        assert app.board_screen.query_one(IncidentDetail).incident.number == reached


async def test_a_key_typed_after_a_move_acts_on_the_incident_reached(app, desk):
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        first = app.board_screen.board.selected_number
        await burst(pilot, "j", "a")
        await _settle(pilot)
        reached = app.board_screen.board.selected_number
        assert reached != first
        assert desk.get(reached).status is Status.ACKNOWLEDGED
        assert desk.get(first).status is Status.TRIGGERED
        detail = app.board_screen.query_one(IncidentDetail).incident
        assert (detail.number, detail.status) == (reached, Status.ACKNOWLEDGED)


class _Rows(ScrollView):
    """A thousand rows, to scroll one at a time."""

    def __init__(self, steady: bool) -> None:
        super().__init__()
        self.steady = steady
        self.virtual_size = Size(20, 1000)

    @property
    def vertical_scrollbar(self):
        return steady_vertical_scrollbar(self) if self.steady else super().vertical_scrollbar

    def render_line(self, y: int) -> Strip:
        return Strip.blank(self.size.width)


class _SideBySide(App):
    CSS = "Horizontal { height: 1fr; } _Rows { width: 1fr; height: 14; }"

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        with Horizontal():
            yield _Rows(steady=False)
            yield _Rows(steady=True)


def _bar_cells(rows: _Rows) -> list[list[tuple[str, object]]]:
    """What the bar shows: its lines as the screen has them (a line not repainted stays as drawn)."""
    bar = rows.vertical_scrollbar
    strips = bar.render_lines(Region(0, 0, bar.size.width, bar.size.height))
    return [[(seg.text, seg.style.bgcolor if seg.style else None) for seg in strip] for strip in strips]


async def test_the_steady_scrollbar_draws_what_textuals_draws_at_every_row():
    app = _SideBySide()
    async with app.run_test(size=(60, 16)) as pilot:
        stock, steady = app.query(_Rows)
        assert isinstance(steady.vertical_scrollbar, SteadyScrollBar)
        repaints = {"stock": 0, "steady": 0}
        for name, rows in (("stock", stock), ("steady", steady)):
            bar = rows.vertical_scrollbar
            refresh = bar.refresh

            def counted(*args, _refresh=refresh, _name=name, **kwargs):
                repaints[_name] += 1
                return _refresh(*args, **kwargs)

            bar.refresh = counted
        for y in [*range(0, 40), 500, 986, *range(986, 950, -1), 0]:
            stock.scroll_to(y=y, animate=False)
            steady.scroll_to(y=y, animate=False)
            await pilot.pause()
            await pilot.pause()
            assert _bar_cells(steady) == _bar_cells(stock), f"at row {y}"
        # One row of a thousand moves the thumb an eighth of a cell every nine rows or so.
        assert repaints["steady"] * 3 < repaints["stock"], repaints
