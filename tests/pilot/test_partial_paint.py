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
