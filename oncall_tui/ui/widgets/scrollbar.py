"""A vertical scrollbar that repaints only when what it draws changes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from math import ceil
from typing import Self

from textual.geometry import Region
from textual.reactive import Reactive
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widget import Widget


class SteadyScrollBar(ScrollBar):
    """Textual's scrollbar, minus the repaints that would draw the same bar.

    Its position is the board's top row, so each row the board scrolls repaints the whole bar. With
    a thousand rows the thumb moves an eighth of a cell every nine rows: the other eight repaints
    drew what was there, and were half the lines of a scrolling key's frame.

    Textual also repaints it each time its widget is laid out again, even when nothing about it
    changed (`steady`): a breach toast on a maximised board lays out the screen, and the bar's 200
    lines cost as much as the rest of that frame.
    """

    window_virtual_size: Reactive[int] = Reactive(100, repaint=False)
    window_size: Reactive[int] = Reactive(0, repaint=False)
    position: Reactive[float] = Reactive(0, repaint=False)

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1) -> None:
        super().__init__(vertical, name, thickness=thickness)
        self._drawn: tuple[object, ...] = ()
        self._steady = False

    @contextmanager
    def steady(self) -> Iterator[None]:
        """Meanwhile a repaint of the whole bar is made only if it would draw another bar."""
        self._steady = True
        try:
            yield
        finally:
            self._steady = False

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Self:
        if self._steady and repaint and not (regions or layout or recompose):
            look = self._look()
            if look == self._drawn:
                return self
            self._drawn = look
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def watch_window_virtual_size(self) -> None:
        self._repaint_if_moved()

    def watch_window_size(self) -> None:
        self._repaint_if_moved()

    def watch_position(self) -> None:
        self._repaint_if_moved()

    def _repaint_if_moved(self) -> None:
        look = self._look()
        if look != self._drawn:
            self._drawn = look
            super().refresh()

    def _look(self) -> tuple[object, ...]:
        """What the bar's cells depend on (what `render` would draw, in default colours)."""
        virtual = ceil(self.window_virtual_size)
        window = ceil(self.window_size if self.window_size < self.window_virtual_size else 0)
        size = self.size.height if self.vertical else self.size.width
        if self.renderer is ScrollBarRender and virtual != window:
            # Where `render_bar` puts the thumb, in eighths of a cell, which is all its cells depend
            # on: drawing the bar to compare it was an eighth of what the board does for a scrolling key.
            if not (window and size and virtual and size != virtual):
                return (self.size, self.thickness)  # no thumb
            bars = len(ScrollBarRender.VERTICAL_BARS if self.vertical else ScrollBarRender.HORIZONTAL_BARS)
            thumb = max(1, window / (virtual / size))
            start = int((size - thumb) * (self.position / (virtual - window)) * bars)
            return (self.size, self.thickness, start, start + ceil(thumb * bars))
        bar = self.renderer.render_bar(
            size=size,
            virtual_size=virtual,
            window_size=window,
            position=self.position,
            thickness=self.thickness,
            vertical=self.vertical,
        )
        return (self.size, *bar.segments)


def steady_vertical_scrollbar(widget: Widget) -> ScrollBar:
    """`widget`'s vertical scrollbar, made a SteadyScrollBar on first use.

    What `Widget.vertical_scrollbar` does, with the class swapped: Textual has no hook to choose it.
    """
    if widget._vertical_scrollbar is None:
        bar = SteadyScrollBar(vertical=True, name="vertical", thickness=widget.scrollbar_size_vertical)
        widget._vertical_scrollbar = bar
        bar.display = False
        widget.app._start_widget(widget, bar)
    return widget._vertical_scrollbar
