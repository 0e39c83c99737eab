"""A repaint of a few lines paints exactly what a full repaint would show on them, while the
widgets behind are asked only for those lines (partial_paint.py)."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widget import Widget

from oncall_tui.config import DeskOptions
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(desk, db_path, clock):
    for n in range(30):
        desk.declare(f"Incident number {n}", severity=f"P{n % 4}")
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


def _painted(update) -> dict[int, str]:
    """The text a partial update writes on each line it paints."""
    return {y: "".join(s.text for s in update.chops[y].values() if s is not None) for y, _, _ in update.spans}


async def test_a_partial_repaint_shows_what_a_full_repaint_shows_on_its_lines(app, monkeypatch):
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(4):
            await pilot.pause()
        await pilot.press("j", "j", "j")
        for _ in range(4):
            await pilot.pause()
        board = app.board_screen.board
        compositor = app.screen._compositor
        asked: dict[str, int] = {}
        render_lines = Widget.render_lines

        def counted(widget, crop):
            asked[type(widget).__name__] = asked.get(type(widget).__name__, 0) + crop.height
            return render_lines(widget, crop)

        monkeypatch.setattr(Widget, "render_lines", counted)
        top = board.region.y + 2
        compositor._dirty_regions.add(Region(0, top, 120, 2))  # two board lines, as a cursor move
        update = compositor.render_partial_update()
        asked_for_two = dict(asked)
        full = [strip.text for strip in compositor.render_strips()]

        painted = _painted(update)
        assert sorted(painted) == [top, top + 1]
        assert painted == {y: full[y] for y in painted}
        assert "Incident number" in painted[top] + painted[top + 1]
        assert asked_for_two and max(asked_for_two.values()) <= 2, (
            asked_for_two
        )  # not the 40 lines of the screen behind


def _cells(update) -> dict[int, list[tuple[str, object]]]:
    """Each painted line's cells as (character, style): what the terminal is sent, colour and all."""
    return {
        y: [
            (ch, seg.style)
            for strip in update.chops[y].values()
            if strip is not None
            for seg in strip
            for ch in seg.text
        ]
        for y, _, _ in update.spans
    }


async def test_a_scroll_repaints_exactly_what_a_full_repaint_shows_without_asking_what_is_hidden(app, monkeypatch):
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(4):
            await pilot.pause()
        await pilot.press(*["j"] * 20)  # past the board's last line: each key scrolls
        for _ in range(4):
            await pilot.pause()
        screen = app.screen
        compositor = screen._compositor
        board = app.board_screen.board
        asked: list[str] = []
        render_lines = Widget.render_lines

        def counted(widget, crop):
            asked.append(type(widget).__name__)
            return render_lines(widget, crop)

        monkeypatch.setattr(Widget, "render_lines", counted)
        full = compositor.render_strips()
        expected = {y: [(ch, s.style) for s in strip for ch in s.text] for y, strip in enumerate(full)}
        for region in (
            Region(0, board.region.y + 1, 120, board.size.height - 1),  # a scroll: every row
            Region(0, board.region.y + 3, 120, 1),  # a cursor line
            Region(30, board.region.y + 1, 29, 5),  # countdowns
            Region(0, 0, 120, 30),  # everything, as a partial update
        ):
            asked.clear()
            compositor._dirty_regions.add(region)
            cells = _cells(compositor.render_partial_update())
            assert cells == {y: expected[y] for y in cells}
            if region.height < 30:
                assert screen.__class__.__name__ not in asked, asked  # wholly behind the board


def test_a_widget_is_asked_for_the_rows_that_those_in_front_leave_showing():
    from oncall_tui.ui.partial_paint import _rows_showing

    board, scrollbar = (0, 119, 2, 20), (119, 120, 2, 20)
    assert _rows_showing([], 0, 120, 0, 30) == (0, 30)
    assert _rows_showing([board, scrollbar], 0, 120, 2, 20) is None  # the screen behind both
    assert _rows_showing([board, scrollbar], 0, 120, 0, 30) == (0, 30)  # the status line and footer show
    assert _rows_showing([board], 0, 120, 2, 20) == (2, 20)  # a column left uncovered
    assert _rows_showing([board, scrollbar], 0, 120, 5, 25) == (20, 25)
    toast = (80, 118, 10, 14)
    assert _rows_showing([toast], 0, 119, 2, 20) == (2, 20)  # the board under a toast
    assert _rows_showing([(0, 60, 2, 20), (61, 120, 2, 20)], 0, 120, 2, 20) == (2, 20)  # a gap
    assert _rows_showing([(0, 120, 2, 8), (0, 120, 12, 20)], 0, 120, 2, 20) == (8, 12)
