"""The board: every open incident on one line, most urgent first, with a live countdown.

A Line-API widget rather than a DataTable: a table whose cells change every second repaints every
visible row (a stock DataTable takes ~180 ms a tick with 200 rows on screen). Here a tick repaints
only the lines on screen whose countdown or age text changed, and only those two columns; the rest
of each line comes from a cache keyed by the incident's version. Only rows on screen are formatted.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.css.styles import RenderStyles
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from ...model import Incident, IncidentKeys, Status
from ...policy import Policy
from ..board_model import BoardModel, BoardRow, Tone
from ..filtering import BoardFilter
from .scrollbar import SteadyScrollBar, steady_vertical_scrollbar

STATUS_SHORT = {
    Status.TRIGGERED: "trig",
    Status.ACKNOWLEDGED: "ack'd",
    Status.INVESTIGATING: "invest",
    Status.MITIGATED: "mitig",
    Status.RESOLVED: "resolv",
    Status.CLOSED: "closed",
}

WIDE = 110  # from this width the board spells statuses and escalation levels out
_TONE_STYLE = {
    Tone.BREACHED: "breached",
    Tone.WARNING: "warning",
    Tone.NONE: "muted",
    Tone.CALM: "base",
    Tone.DONE: "base",
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the board: its key, its header and its width."""

    key: str
    title: str
    width: int


def columns_for(width: int) -> list[Column]:
    """Column layout for a board `width` cells wide; the title takes what is left.

    The escalation level is spelled out only on very wide boards: elsewhere `L2` says the same and
    the detail pane names the level and whom to call.
    """
    if width >= WIDE:
        esc = Column("esc", "ESCALATION", 14) if width >= 150 else Column("esc", "ESC", 3)
        fixed = [
            Column("id", "ID", 8),
            Column("sev", "SEV", 3),
            Column("status", "STATUS", 13),
            Column("next", "NEXT DEADLINE", 24),
            Column("age", "AGE", 5),
            esc,
            Column("runbook", "STEPS", 5),
            Column("title", "TITLE", 0),
            Column("services", "SERVICES", 14),
            Column("assignee", "ASSIGNEE", 10),
        ]
    elif width >= 60:
        fixed = [
            Column("id", "ID", 8),
            Column("sev", "SEV", 3),
            Column("status", "STATUS", 6),
            Column("next", "NEXT DEADLINE", 24),
            Column("age", "AGE", 5),
            Column("esc", "ES", 2),
            Column("title", "TITLE", 0),
        ]
    else:
        fixed = [
            Column("id", "ID", 8),
            Column("sev", "SEV", 3),
            Column("next", "NEXT DEADLINE", 24),
            Column("title", "TITLE", 0),
        ]
    used = 1 + sum(c.width for c in fixed) + (len(fixed) - 1)
    return [Column(c.key, c.title, max(5, width - used)) if c.key == "title" else c for c in fixed]


def fit(text: str, width: int) -> str:
    """Pad or cut `text` to exactly `width` cells, marking a cut with an ellipsis."""
    if text.isascii():
        if len(text) <= width:
            return text.ljust(width)
        return text[: width - 1] + "…" if width > 1 else text[:width]
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


class IncidentBoard(ScrollView, can_focus=True):
    """Incidents, one per line, sorted by urgency; the cursor row is the selected incident."""

    DEFAULT_CSS = """
    IncidentBoard {
        background: $surface;
        overflow-x: hidden;
        & > .board--header { background: $panel; color: $foreground; text-style: bold; }
        & > .board--cursor { background: $block-cursor-blurred-background; }
        &:focus > .board--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: bold;
        }
        & > .board--p0 { color: $text-error; text-style: bold; }
        & > .board--p1 { color: $text-warning; text-style: bold; }
        & > .board--p2 { color: $text-primary; }
        & > .board--p3 { color: $text-muted; }
        & > .board--unknown { color: $text-warning; text-style: reverse; }
        & > .board--breached { color: $text-error; text-style: bold; }
        & > .board--warning { color: $text-warning; }
        & > .board--muted { color: $text-muted; }
        & > .board--empty { color: $text-muted; }
    }
    """

    COMPONENT_CLASSES = {
        "board--header",
        "board--cursor",
        "board--p0",
        "board--p1",
        "board--p2",
        "board--p3",
        "board--unknown",
        "board--breached",
        "board--warning",
        "board--muted",
        "board--empty",
    }

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
    ]

    # The incident under the cursor (None: the board is empty). A reactive rather than a message:
    # `watch(board, "highlighted", …)` runs in the same turn as the key press, so the detail pane
    # follows in the frame right after the cursor's (key_queue.py), not at the next 60 Hz slot.
    highlighted: reactive[int | None] = reactive(None, init=False, repaint=False)

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        return steady_vertical_scrollbar(self)

    def __init__(self, policy: Policy, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.model = BoardModel(policy)
        self.cursor = 0
        self._now: datetime | None = None
        self._now_ts = 0.0
        self._columns: list[Column] = columns_for(80)
        self._dynamic_x = (0, 0)  # where the countdown and age columns sit, for partial refreshes
        self._cache: dict[tuple, tuple[list[Segment], list[Segment]]] = {}  # the columns that stay put
        self._lines: dict[int, tuple[tuple, Strip]] = {}  # incident → (what it showed, the line drawn)
        self._drawn_at: dict[int, int] = {}  # row index → the incident last drawn there
        self._dynamic: dict[int, tuple[BoardRow, tuple[str, Tone, str], float]] = {}  # → (row, text, until)
        # When each line on screen next needs a look: (until, offset) for the window `_due_window`.
        self._due: list[tuple[float, int]] = []
        self._due_window: tuple | None = None
        self._window_changes = 0  # moves when the lines on screen may show other rows (for `_due`)
        self._line_width = 0
        self._width = 80
        self._dynamic_widths = (0, 0)
        self._styles: dict[str, Style] | None = None
        self._header_line: tuple[int, Strip] | None = None  # (width, the header drawn)
        self._bypassed = False  # render_lines drew rows past the StylesCache
        self.show_closed = False
        # The runbook column ("3/5 steps ticked"), asked for rows on screen only and kept per version:
        # ticking a step is an action, so it moves the version too.
        self.progress_of: Callable[[Incident], str | None] | None = None
        self._progress: dict[int, tuple[int, str | None]] = {}

    # --- data -------------------------------------------------------------------------------------

    @property
    def selected_number(self) -> int | None:
        return self.highlighted

    def _set_now(self, now: datetime) -> None:
        if now != self._now:
            if self._now is not None and now < self._now:
                self._dynamic.clear()  # the clock went back (a test, or a corrected system clock)
                self._due_window = None
            self._now = now
            self._now_ts = now.timestamp()

    def load(
        self, incidents: Sequence[Incident | IncidentKeys], now: datetime, *, lazy: bool = False
    ) -> list[BoardRow]:
        """Show a fresh read of the incidents; returns rows whose deadlines were recomputed (`lazy`:
        see `BoardModel.load`; the rows on screen are completed as they are drawn)."""
        self._set_now(now)
        recomputed = self.model.load(incidents, now, lazy=lazy)
        # The lines the first frame shows, read whole in one query rather than one by one.
        self.model.fill(self.model.rows[: max(self.size.height, self.app.size.height)])
        self._rearranged()
        return recomputed

    def update(self, incidents: list[Incident], gone: list[int], now: datetime) -> list[BoardRow]:
        """Show a re-read of some incidents, and drop `gone`; returns their rebuilt rows."""
        self._set_now(now)
        rebuilt = self.model.update(incidents, gone, now)
        self._rearranged()
        return rebuilt

    def advance(self, now: datetime) -> list[BoardRow]:
        """One clock tick: repaint the countdowns that changed; re-sort only if a deadline changed state."""
        self._set_now(now)
        changed = self.model.advance(now)
        if changed:
            self._rearranged(only_moved=True)
        elif self.model.rows:
            self._repaint_countdowns()
        return changed

    def set_filter(self, board_filter: BoardFilter) -> None:
        self.model.set_filter(board_filter)
        self._rearranged()

    def select(self, number: int) -> bool:
        index = self.model.index_of(number)
        if index is None:
            return False
        self._move_to(index)
        return True

    def _lead(self, incident: Incident) -> str:
        """Without an assignee, whoever holds the first role (the commander, as shipped): 'IC dana'."""
        roles = self.model.policy.roles
        if not roles or not (holder := incident.roles.get(roles[0].id)):
            return ""
        words = roles[0].name.split()
        short = "".join(w[0].upper() for w in words) if len(words) > 1 else roles[0].name
        return f"{short} {holder}"

    def progress_label(self, incident: Incident) -> str | None:
        if self.progress_of is None:
            return None
        cached = self._progress.get(incident.number)
        if cached is not None and cached[0] == incident.version:
            return cached[1]
        label = self.progress_of(incident)
        self._progress[incident.number] = (incident.version, label)
        return label

    def progress_changed(self) -> None:
        """The runbooks themselves changed: every progress label may be different."""
        self._progress.clear()
        self._forget_lines()
        self.refresh()

    def _rearranged(self, *, only_moved: bool = False) -> None:
        """Rows were added, removed or re-sorted: keep the cursor on the same incident if it is still
        there, and repaint the lines whose incident or text changed (a deadline running out moves
        one row; repainting the whole board for it would cost a full frame).

        `only_moved`: the rows that changed are the ones the model moved (a clock's transition
        rebuilt them). When they all went and came below the lines on screen, as at 10k most do
        every second, those lines show the rows they showed, and only their countdowns can differ.
        """
        rows = self.model.rows
        moved = self.model.take_moved()
        index = self.model.index_of(self.highlighted)
        if index is None:
            index = min(self.cursor, len(rows) - 1) if rows else 0
        self.cursor = index
        size = Size(self.size.width, len(rows) + 1)
        forgot = self._cache_prune()
        if size != self.virtual_size or not rows:
            self._window_changes += 1
            self._resize_virtually(size)
            self.refresh()
        elif only_moved and not forgot and (moved is None or moved >= int(self.scroll_y) + self._page_rows()):
            self._repaint_countdowns()
        else:
            self._window_changes += 1
            self._repaint_changed_lines()
        self._scroll_cursor_into_view()
        self._announce()

    def _resize_virtually(self, size: Size) -> None:
        """Take `size` as the board's scrollable size.

        The board's own size never depends on its rows, so while the scrollbar stays as it was,
        only the scrollbar and the scroll limits need to know: assigning `virtual_size` lays out the
        whole screen again, and a storm importing in slices changes the row count every slice.
        """
        height = self.scrollable_content_region.height
        if self.show_vertical_scrollbar and min(size.height, self.virtual_size.height) > height:
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
        else:
            self.virtual_size = size

    def _scroll_update(self, virtual_size: Size) -> None:
        bar = self.vertical_scrollbar
        if isinstance(bar, SteadyScrollBar):  # Textual repaints it at every layout (see SteadyScrollBar)
            with bar.steady():
                super()._scroll_update(virtual_size)
        else:
            super()._scroll_update(virtual_size)

    def _announce(self) -> None:
        rows = self.model.rows
        number = rows[self.cursor].incident.number if rows else None
        self.highlighted = number

    # --- cursor -----------------------------------------------------------------------------------

    def _move_to(self, index: int) -> None:
        rows = self.model.rows
        if not rows:
            return
        index = max(0, min(index, len(rows) - 1))
        if index == self.cursor and self.highlighted == rows[index].incident.number:
            return
        old = self.cursor
        self.cursor = index
        top = round(self.scroll_y)
        self._scroll_cursor_into_view()
        if round(self.scroll_y) == top:  # else the scroll repainted every row (watch_scroll_y)
            self._refresh_rows(old, index)
        self._announce()

    def _refresh_rows(self, *indexes: int) -> None:
        top, (width, height) = int(self.scroll_y), self.size
        regions = [Region(0, y, width, 1) for index in indexes if 1 <= (y := index - top + 1) < height]
        if regions:  # (none would repaint the whole board) one refresh for all: each costs about as much as a line
            self.refresh(*regions)

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_y)
        page = self._page_rows()
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + page:
            self.scroll_to(y=self.cursor - page + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * self._page_rows())

    def action_jump(self, index: int) -> None:
        self._move_to(index if index >= 0 else len(self.model.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._move_to(int(self.scroll_y) + event.y - 1)

    # --- rendering --------------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        # ScrollView repaints the whole board on a scroll; the header stays put, only the rows move.
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = new_value
        if round(old_value) != round(new_value):
            width, height = self.size
            if height > 1:
                self.refresh(Region(0, 1, width, height - 1))

    def on_resize(self, event: events.Resize) -> None:
        self._layout_columns()
        self.virtual_size = Size(self.size.width, len(self.model.rows) + 1)
        self._scroll_cursor_into_view()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        self._layout_columns()  # the scrollbar takes its width from the lines
        self.refresh()

    def _layout_columns(self) -> None:
        # Kept here: `scrollable_content_region` costs more than drawing a line, so not per line.
        self._width = self.scrollable_content_region.width
        self._columns = columns_for(self._width)
        x, start, end = 1, 0, 0
        for column in self._columns:
            if column.key == "next":
                start = x
            if column.key in ("next", "age"):
                end = x + column.width + 1
            x += column.width + 1
        self._dynamic_x = (start, end - start)
        widths = {c.key: c.width for c in self._columns}
        self._dynamic_widths = (widths.get("next", 0), widths.get("age", 0))
        self._line_width = x - 1
        self._forget_lines()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._forget_lines()
        self.refresh()

    def on_focus(self) -> None:
        self._styles = None  # the cursor row's style depends on focus
        self._forget_lines()
        self.refresh()

    on_blur = on_focus

    def _forget_lines(self) -> None:
        self._header_line = None
        self._cache.clear()
        self._lines.clear()
        self._drawn_at.clear()

    def _style_table(self) -> dict[str, Style]:
        if self._styles is None:
            base = self.rich_style
            names = ("header", "cursor", "p0", "p1", "p2", "p3", "unknown", "breached", "warning", "muted", "empty")
            self._styles = {"base": base}
            for name in names:
                # Not partial: muted colours are translucent and must be blended over the background.
                self._styles[name] = self.get_component_rich_style(f"board--{name}")
        return self._styles

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in `crop`, as Textual's StylesCache would draw them, minus its copying.

        The StylesCache builds every line it is asked for anew, around the Strip `render_line`
        returned: the new line meets the app's line filters and the compositor's cutting for the
        first time, every time. A scroll by one row asks for every row on screen, each an incident
        drawn a row higher a moment ago. Here the content rows are `render_line`'s own cached
        Strips, so Textual's caches on each Strip (width, filters, cuts) answer for every row the
        board drew before. The rows beneath the content (the bottom border) and any board styled
        with what this does not draw (side borders, padding, outline, tint, opacity, hatch) go
        through Textual as before.
        """
        styles = self.styles
        if not self._plain(styles):
            if self._bypassed:  # its cache holds rows drawn before they went past it
                self._bypassed = False
                self._styles_cache.clear()
            return super().render_lines(crop)
        self._bypassed = True
        content_height = self.size.height
        top, bottom = crop.y, min(crop.bottom, content_height)
        strips: list[Strip] = []
        if top < bottom:
            width = self.size.width
            base_background, background = self.background_colors
            inner = self._styles_cache.get_inner_outer(base_background, background)[0].rich_style
            filters = self.get_line_filters()
            render_line = self.render_line
            for y in range(top, bottom):
                strip = render_line(y).adjust_cell_length(width, inner)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                strips.append(strip)
            x1, x2 = crop.column_span
            if (x1, x2) != (0, width):
                strips = [strip.crop(x1, x2) for strip in strips]
        if crop.bottom > content_height:
            below = max(top, content_height)
            strips.extend(super().render_lines(Region(crop.x, below, crop.width, crop.bottom - below)))
        return strips

    def _plain(self, styles: RenderStyles) -> bool:
        """No styling that the StylesCache would draw over or around a content row."""
        gutter = styles.gutter
        return (
            not (gutter.top or gutter.left or gutter.right)
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and styles.text_opacity == 1.0
            and not (styles.has_rule("hatch") and styles.hatch != "none")
            and self.opacity == 1.0
        )

    def render_line(self, y: int) -> Strip:
        width = self._width
        styles = self._style_table()
        if y == 0:
            if self._header_line is None or self._header_line[0] != width:
                self._header_line = (width, self._header(width, styles))
            return self._header_line[1]
        rows = self.model.rows
        index = int(self.scroll_y) + y - 1
        if not rows:
            return self._empty_line(y, width, styles)
        if index >= len(rows):
            return Strip.blank(width, styles["base"])
        row = rows[index]
        if not isinstance(row.incident, Incident):  # known by its keys alone: the lines on screen are read whole
            top = int(self.scroll_y)
            self.model.fill(rows[top : top + self.scrollable_content_region.height])
        inc = self.model.full(row)
        dynamic = self._dynamic_text(row)
        key = (inc.version, self.model.escalation(row).index, dynamic, index == self.cursor, width)
        cached = self._lines.get(inc.number)
        if cached is not None and cached[0] == key:
            self._drawn_at[index] = inc.number
            return cached[1]
        before, after = self._static_parts(row, styles)
        segments = [*before, *self._dynamic_segments(dynamic, styles), *after]
        if index == self.cursor:
            cursor = styles["cursor"]
            segments = [Segment(text, cursor if style is None else style + cursor) for text, style, _ in segments]
        strip = Strip(segments, width) if self._line_width == width else Strip(segments).adjust_cell_length(width)
        self._lines[inc.number] = (key, strip)
        self._drawn_at[index] = inc.number
        return strip

    def _repaint_countdowns(self) -> None:
        """Refresh the countdown columns of the lines on screen whose text changed since drawn.

        The hot path of every tick: a heap says which lines on screen can have a new text by now
        (an "!! ack 6h19m overdue" changes once a minute), so a tick looks at those lines only. It
        is rebuilt when the lines on screen change (a scroll, a re-sort, a resize).
        """
        rows = self.model.rows
        top = int(self.scroll_y)
        height = min(self.scrollable_content_region.height - 1, len(rows) - top)
        window = (self._window_changes, id(rows), top, height)
        if window != self._due_window:
            self._due_window = window
            self._due = [(-math.inf, offset) for offset in range(max(0, height))]  # a heap: all equal
        due, now, drawn, dynamic = self._due, self._now_ts, self._lines, self._dynamic
        changed: list[int] = []
        while due and due[0][0] <= now:
            offset = heapq.heappop(due)[1]
            row = rows[top + offset]
            text = self._dynamic_text(row)
            line = drawn.get(row.incident.number)
            if line is None or line[0][2] != text:
                changed.append(offset)
            heapq.heappush(due, (dynamic[row.incident.number][2], offset))
        x, width = self._dynamic_x
        changed.sort()
        run_start: int | None = None
        previous: int | None = None
        for at in (*changed, None):
            if at is not None and previous is not None and at == previous + 1:
                previous = at
                continue
            if run_start is not None and previous is not None:
                self.refresh(Region(x, 1 + run_start, width, previous - run_start + 1))
            run_start = previous = at

    def _repaint_changed_lines(self) -> None:
        """Refresh the whole lines on screen that now show another incident, or the same one changed."""
        top = int(self.scroll_y)
        self._refresh_stale(
            0,
            self.size.width,
            lambda offset, row, drawn: (
                self._drawn_at.get(top + offset) != row.incident.number
                or drawn[:2] != (row.incident.version, self.model.escalation(row).index)
                or drawn[2] != self._dynamic_text(row)
                or drawn[3] != (top + offset == self.cursor)
            ),
        )

    def _refresh_stale(self, x: int, width: int, stale: Callable[[int, BoardRow, tuple], bool]) -> None:
        rows = self.model.rows
        top = int(self.scroll_y)
        height = min(self.scrollable_content_region.height - 1, len(rows) - top)
        run_start = None
        for offset in range(height + 1):
            if offset < height:
                row = rows[top + offset]
                drawn = self._lines.get(row.incident.number)
                changed = drawn is None or stale(offset, row, drawn[0])
            else:
                changed = False
            if changed and run_start is None:
                run_start = offset
            elif not changed and run_start is not None:
                self.refresh(Region(x, 1 + run_start, width, offset - run_start))
                run_start = None

    def _header(self, width: int, styles: dict[str, Style]) -> Strip:
        style = styles["header"]
        text = " " + " ".join(fit(c.title, c.width) for c in self._columns)
        return Strip([Segment(fit(text, width), style)], width)

    def _empty_line(self, y: int, width: int, styles: dict[str, Style]) -> Strip:
        if self.model.total and self.model.filter.active:
            lines = [
                f"No incident matches the filter “{self.model.filter.text}”.",
                "Press / to change the filter, or escape to clear it.",
            ]
        else:
            lines = [
                "No open incidents. All quiet.",
                "",
                "Press d to declare an incident, ? for help, ctrl+p for every command.",
            ]
            if not self.show_closed:
                lines.append("Press c to show closed incidents as well.")
        index = y - 2
        text = lines[index] if 0 <= index < len(lines) else ""
        return Strip([Segment(fit("  " + text, width), styles["empty"])], width)

    def _static_parts(self, row: BoardRow, styles: dict[str, Style]) -> tuple[list[Segment], list[Segment]]:
        inc = self.model.full(row)
        esc = self.model.escalation(row)
        key = (inc.number, inc.version, esc.index)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        base = styles["base"]
        muted = styles["muted"]
        sev = inc.severity
        sev_style = styles[sev.value.lower()] if sev is not None else styles["unknown"]
        before: list[Segment] = [Segment(" ", base)]
        after: list[Segment] = []
        target = before
        for column in self._columns:
            w = column.width
            if column.key == "id":
                target.append(Segment(fit(inc.id, w) + " ", base))
            elif column.key == "sev":
                target.append(Segment(fit(sev.value if sev else "P?", w), sev_style))
                target.append(Segment(" ", base))
            elif column.key == "status":
                label = inc.status.value if w >= 13 else STATUS_SHORT[inc.status]
                style = styles["warning"] if inc.status is Status.TRIGGERED else base if inc.is_open else muted
                target.append(Segment(fit(label, w) + " ", style))
            elif column.key in ("next", "age"):
                target = after  # the countdown and the age are drawn per tick
            elif column.key == "esc":
                text = f"L{esc.index + 1} {esc.tier.level}" if w >= 6 else f"L{esc.index + 1}"
                style = styles["warning"] if esc.index > 0 and inc.is_open else muted
                target.append(Segment(fit(text, w) + " ", style))
            elif column.key == "runbook":
                progress = self.progress_label(inc)
                empty = "—" if self.progress_of is not None else ""  # blank until the runbooks are read
                target.append(Segment(fit(progress or empty, w) + " ", base if progress else muted))
            elif column.key == "title":
                if inc.is_open and inc.alert_state == "resolved":
                    # Alertmanager says it stopped firing; only the engineer may call it resolved.
                    flag = "alert stopped, confirm: "
                    target.append(Segment(flag[:w], styles["warning"]))
                    target.append(Segment(fit(inc.title, max(0, w - len(flag))) + " ", base))
                else:
                    target.append(Segment(fit(inc.title, w) + " ", base if inc.is_open else muted))
            elif column.key == "services":
                target.append(Segment(fit(", ".join(inc.services) or "—", w) + " ", muted))
            elif column.key == "assignee":
                who = inc.assignee or self._lead(inc)
                target.append(Segment(fit(who or "—", w) + " ", base if who else muted))
        if after and after[-1].text.endswith(" "):  # no gap after the last column
            last = after[-1]
            after[-1] = Segment(last.text[:-1], last.style)
        # Fewer segments make every later step cheaper: Textual filters, crops and re-styles a
        # changed line segment by segment, and on a tick every countdown line changes.
        before, after = list(Segment.simplify(before)), list(Segment.simplify(after))
        self._cache[key] = (before, after)
        return before, after

    def _dynamic_text(self, row: BoardRow) -> tuple[str, Tone, str]:
        """(next deadline text, its tone, age) at the board's `now`, formatted again only when it
        can have changed: every second for a countdown under an hour, once a minute above."""
        cached = self._dynamic.get(row.incident.number)
        if cached is not None and cached[0] is row and self._now_ts < cached[2]:
            return cached[1]
        text, until = row.dynamic_text(self._now_ts)
        self._dynamic[row.incident.number] = (row, text, until)
        return text

    def _dynamic_segments(self, dynamic: tuple[str, Tone, str], styles: dict[str, Style]) -> list[Segment]:
        text, tone, age = dynamic
        next_width, age_width = self._dynamic_widths
        style = styles[_TONE_STYLE[tone]]
        segments = [Segment(fit(text, next_width) + " ", style)] if next_width else []
        if age_width:
            segments.append(Segment(fit(age, age_width) + " ", styles["muted"]))
        return segments

    def _cache_prune(self) -> bool:
        """Forget the lines drawn if they outgrew the rows (True when it did)."""
        # Versions only grow; dropping the cache when it outgrows the data keeps it bounded.
        if len(self._cache) > 4 * max(64, self.model.total) or len(self._lines) > 2 * max(64, self.model.total):
            self._forget_lines()
            return True
        return False
