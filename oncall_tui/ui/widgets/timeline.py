"""The incident's timeline as a person reads it: time, who, what happened, newest at the bottom."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ... import event_text
from ...clock import format_local
from ...model import Event, Incident

_TONE_STYLES = {"error": "$text-error bold", "warning": "$text-warning", "success": "$text-success"}


def timeline_content(events: list[Event]) -> Content:
    if not events:
        return Content.from_markup("[$foreground-muted]No events yet.[/]")
    lines = []
    for event in events:
        text, tone = event_text.describe(event)
        style = _TONE_STYLES.get(tone, "")
        lines.append(
            Content.assemble(
                (format_local(event.at), "$foreground-muted"),
                "  ",
                (f"{event.actor:<10}", "$text-accent"),
                " ",
                (text, style),
            )
        )
    return Content("\n").join(lines)


class TimelineView(VerticalScroll, can_focus=True):
    """Scrollable timeline of the selected incident; follows the newest event."""

    DEFAULT_CSS = """
    TimelineView { height: 1fr; padding: 0 1; }
    TimelineView > Static { width: 1fr; }
    """

    def __init__(self, desk, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.desk = desk
        self._shown: tuple[int, int] | None = None

    def compose(self):
        yield Static("", id="timeline-text")

    def show_incident(self, incident: Incident | None) -> None:
        key = (incident.number, incident.version) if incident else None
        if key == self._shown:
            return
        self._shown = key
        text = self.query_one("#timeline-text", Static)
        if incident is None:
            text.update(Content.from_markup("[$foreground-muted]No incident selected.[/]"))
            return
        text.update(timeline_content(self.desk.timeline(incident.number)))
        self.call_after_refresh(self.scroll_end, animate=False)
