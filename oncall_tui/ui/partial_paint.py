"""A partial repaint renders the lines it paints, not every line of every widget it touches.

For a frame that repaints a few lines (a cursor move, a countdown), Textual's compositor asks
each widget overlapping the changed area for *all* of its visible lines, then paints only those
in the area: the screen and the containers behind the board render 40 lines each, from cache,
through every line filter, to paint two. `paint_only_changed_lines` narrows each widget's request
to the rows of the changed area, which the compositor paints from anyway (its spans lie inside
that area). On a board of 1,000 this took ~0.4 ms of the ~5.5 ms a cursor key costs (event-loop
CPU, bench_board `--only keys`, back to back).

Nor is a widget asked for lines that the widgets in front of it paint over entirely: the
compositor keeps the frontmost render of each cut, so the screen and the container behind the
board, asked for the rows of a scroll, drew them to be thrown away.

Nor does it ask for the lines between the changed areas: the compositor renders everything inside
the one rectangle around all of them, so a clock tick that changes a countdown near the top of a
tall board and the breach toast at its bottom had every widget render all 200 lines in between, to
paint a dozen. Each widget is asked for the runs of changed lines only (the lines Textual paints).

This replaces private methods of Textual (`Compositor._get_renders` and `render_partial_update`,
Textual 8): when they are not there in the form expected, nothing is replaced and Textual paints as
it always has.
"""

from __future__ import annotations

import bisect
import inspect
from collections.abc import Iterable, Iterator
from itertools import pairwise

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip

_Renders = Iterable[tuple[Region, Region, list[Strip]]]


def paint_only_changed_lines() -> None:
    """Install the narrowed `_get_renders` (once; see the module's text)."""
    textual_renders = Compositor._get_renders
    textual_partial = Compositor.render_partial_update
    if getattr(textual_renders, "narrowed", False):
        return
    if list(inspect.signature(textual_renders).parameters) != ["self", "crop"]:
        return  # another Textual: leave it be
    if list(inspect.signature(textual_partial).parameters) != ["self"]:
        return

    def _get_renders(self: Compositor, crop: Region | None = None) -> _Renders:
        if not crop:  # a full repaint: every line is painted
            return textual_renders(self, crop)
        return _renders_within(self, crop, _PAINTING.get(id(self)))

    def render_partial_update(self: Compositor) -> object:
        # The lines this update paints (Textual's own spans are the same lines), for `_get_renders`.
        _PAINTING[id(self)] = sorted({y for region in self._dirty_regions for y in region.line_range})
        try:
            return textual_partial(self)
        finally:
            del _PAINTING[id(self)]

    _get_renders.narrowed = True  # type: ignore[attr-defined]
    Compositor._get_renders = _get_renders  # type: ignore[method-assign]
    Compositor.render_partial_update = render_partial_update  # type: ignore[method-assign,assignment]


_PAINTING: dict[int, list[int]] = {}  # compositor (id) → the lines its partial update paints, while it runs


def _runs(lines: list[int]) -> list[tuple[int, int]]:
    """Sorted line numbers as runs of consecutive lines: [(start, end), …], `end` excluded."""
    runs: list[tuple[int, int]] = []
    for y in lines:
        if runs and runs[-1][1] == y:
            runs[-1] = (runs[-1][0], y + 1)
        else:
            runs.append((y, y + 1))
    return runs


def _renders_within(
    compositor: Compositor, crop: Region, lines: list[int] | None = None
) -> Iterator[tuple[Region, Region, list[Strip]]]:
    top, bottom = crop.y, crop.bottom
    runs = _runs(lines) if lines else [(top, bottom)]
    starts = [start for start, _ in runs]
    overlaps = crop.overlaps
    intersection = Region.intersection
    in_front: list[tuple[int, int, int, int]] = []  # (x, right, y, bottom) painted by widgets so far
    # Front to back, as Textual yields them: the compositor lets the first render of a cut win.
    for widget, (region, clip) in compositor.visible_widgets.items():
        if not overlaps(clip):
            continue
        first, last = max(clip.y, top), min(clip.bottom, bottom)
        if last <= first:
            continue
        x, y, width, height = intersection(region, Region(clip.x, first, clip.width, last - first))
        if not (width and height):
            continue
        shown = _rows_showing(in_front, x, x + width, y, y + height)
        in_front.append((x, x + width, y, y + height))
        if shown is None:
            continue
        y, end = shown
        # The runs of painted lines that reach into these rows, each cut to them.
        for start, stop in runs[max(0, bisect.bisect_right(starts, y) - 1) :]:
            if start >= end:
                break
            first, last = max(y, start), min(end, stop)
            if last > first:
                part = Region(clip.x, first, clip.width, last - first)
                yield region, part, widget.render_lines(Region(x - region.x, first - region.y, width, last - first))


def _rows_showing(
    in_front: list[tuple[int, int, int, int]], x: int, right: int, y: int, bottom: int
) -> tuple[int, int] | None:
    """The first and past-the-last row of `x..right` × `y..bottom` that the areas `in_front` do not
    cover entirely (None: they cover it all). Rows are looked at in bands between the areas' edges."""
    over = [area for area in in_front if area[0] < right and area[1] > x and area[2] < bottom and area[3] > y]
    if not over:
        return y, bottom
    edges = sorted({y, bottom, *(a[2] for a in over if a[2] > y), *(a[3] for a in over if a[3] < bottom)})
    shown: list[int] = []
    for band_top, band_bottom in pairwise(edges):
        reach = x  # how far from the left the areas over this band cover without a gap
        for left, area_right, _, _ in sorted(a for a in over if a[2] <= band_top and a[3] >= band_bottom):
            if left > reach:
                break
            reach = max(reach, area_right)
        if reach < right:
            shown += (band_top, band_bottom)
    return (shown[0], shown[-1]) if shown else None
