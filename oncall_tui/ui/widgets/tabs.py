"""Light tabs for the detail pane: one line of tab names over the content of the open tab.

Textual's TabbedContent mounts a dozen widgets per use (a scrolling tab bar, an animated underline,
a content switcher); on the desk they were a quarter of the time to the board's first frame. The
detail pane needs less: the names, keys and clicks to move between them, and which content shows.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class Pane(Container):
    """One tab's content; `label` is its name on the strip."""

    DEFAULT_CSS = "Pane { height: 1fr; }"

    def __init__(self, label: str, *children: Widget, id: str) -> None:
        super().__init__(*children, id=id)
        self.label = label


class TabStrip(Widget, can_focus=True):
    """The tab names on one line; the open one bold and underlined (so also on a monochrome
    terminal), reversed while the strip has focus."""

    DEFAULT_CSS = """
    TabStrip { height: 1; width: 1fr; padding: 0 1; color: $foreground-muted; }
    TabStrip:focus { background-tint: $foreground 5%; }
    """
    BINDINGS = [
        Binding("left", "step(-1)", "Previous tab", show=False),
        Binding("right", "step(1)", "Next tab", show=False),
    ]
    GAP = 2

    def __init__(self, tabbed: Tabbed) -> None:
        super().__init__()
        self.tabbed = tabbed

    def render(self) -> Content:
        parts: list[Content | str] = []
        active_style = "bold underline $text-accent" + (" reverse" if self.has_focus else "")
        for pane in self.tabbed.panes:
            if parts:
                parts.append(" " * self.GAP)
            style = active_style if pane.id == self.tabbed.active else "$foreground-muted"
            parts.append(Content.styled(pane.label, style))
        return Content("").join(parts)

    def on_focus(self) -> None:
        self.refresh()

    on_blur = on_focus

    def action_step(self, step: int) -> None:
        self.tabbed.step(step)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)  # from the first name, not from the padding before it
        if offset is None:
            return
        x = 0
        for pane in self.tabbed.panes:
            if x <= offset.x < x + len(pane.label):
                self.tabbed.active = pane.id or ""
                return
            x += len(pane.label) + self.GAP


class Tabbed(Widget):
    """Tabs over panes; `active` is the open pane's id."""

    DEFAULT_CSS = "Tabbed { height: 1fr; layout: vertical; }"

    class TabActivated(Message):
        """A pane was opened (by key, click or code)."""

        def __init__(self, tabbed: Tabbed, pane: Pane) -> None:
            super().__init__()
            self.tabbed = tabbed
            self.pane = pane

        @property
        def control(self) -> Tabbed:
            return self.tabbed

    active: reactive[str] = reactive("", init=False)

    def __init__(self, *panes: Pane, id: str | None = None) -> None:
        super().__init__(id=id)
        self.panes = panes
        self.set_reactive(Tabbed.active, (panes[0].id or "") if panes else "")

    def compose(self) -> ComposeResult:
        yield TabStrip(self)
        for pane in self.panes:
            pane.display = pane.id == self.active
            yield pane

    @property
    def active_pane(self) -> Pane | None:
        return next((p for p in self.panes if p.id == self.active), None)

    def step(self, step: int) -> None:
        ids = [p.id for p in self.panes]
        index = ids.index(self.active) if self.active in ids else 0
        self.active = ids[(index + step) % len(ids)] or ""

    def validate_active(self, pane_id: str) -> str:
        if not any(p.id == pane_id for p in self.panes):
            raise ValueError(f"no tab {pane_id!r}")
        return pane_id

    def watch_active(self, pane_id: str) -> None:
        for pane in self.panes:
            pane.display = pane.id == pane_id
        self.query_one(TabStrip).refresh()
        if (active := self.active_pane) is not None:
            self.post_message(self.TabActivated(self, active))
