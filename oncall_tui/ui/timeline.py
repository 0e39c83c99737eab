"""The incident's timeline as a person reads it: time, who, what happened, newest at the bottom."""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ..alerts.describe import describe_alert_event
from ..clock import format_duration, format_local, from_iso
from ..model import Event, Incident

_FIELD_NAMES = {"eta": "ETA", "root_cause": "root cause", "contributing_factors": "contributing factors"}


def _field(name: str) -> str:
    return _FIELD_NAMES.get(name, name.replace("_", " "))


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value) if value not in (None, "") else "—"


def describe_event(event: Event) -> tuple[str, str]:
    """(one-line description, tone) for an event; tone is '', 'error', 'warning' or 'success'.

    Kinds this desk does not know (added by other features) still read sensibly: their details
    are listed as key=value.
    """
    d = event.details
    kind = event.kind
    if kind == "declared":
        sev = d.get("severity") or "severity not set"
        services = ", ".join(d.get("services") or []) or "no services named"
        text = f"declared “{d.get('title', '')}” · {sev} · {services}"
        if d.get("source") == "alert":
            text += " (from an alert)"
        return text, ""
    if kind == "acknowledged":
        late = d.get("late_by_seconds")
        return ("acknowledged" + (f" ({format_duration(late)} late)" if late else "")), "warning" if late else "success"
    if kind == "severity_set":
        return f"severity {d.get('from') or 'unset'} → {d.get('to')}", ""
    if kind == "status_changed":
        tone = "success" if d.get("to") in ("mitigated", "resolved", "closed") else ""
        return f"status {d.get('from')} → {d.get('to')}", tone
    if kind == "assigned":
        return (f"assigned to {d['to']}" if d.get("to") else "unassigned"), ""
    if kind == "field_edited":
        return f"{_field(d.get('field', '?'))}: {_value(d.get('to'))}", ""
    if kind == "note":
        return f"note: {d.get('text', '')}", ""
    if kind == "message_sent":
        text = f"{d.get('template', 'message')} message sent via {d.get('via', '?')}"
        if d.get("next_update_at"):
            text += f"; next update promised {format_local(from_iso(d['next_update_at']))}"
        return text, "success"
    if kind == "deadline_breached":
        due = format_local(from_iso(d.get("due_at")))
        label = d.get("label", d.get("deadline"))
        if str(d.get("deadline", "")).startswith("escalate:"):
            return f"!! escalation: call {label.removeprefix('Escalate to ')} (reached {due})", "error"
        return f"!! deadline missed: {label} (was due {due})", "error"
    if kind == "runbook_step":
        mark = "x" if d.get("checked") else " "
        return f"[{mark}] {d.get('runbook', '')} step {d.get('step')}: {d.get('text', '')}", ""
    if (line := describe_alert_event(kind, d)) is not None:
        return line
    extra = " ".join(f"{k}={_value(v)}" for k, v in d.items())
    return f"{kind.replace('_', ' ')} {extra}".strip(), ""


def timeline_content(events: list[Event]) -> Content:
    if not events:
        return Content.from_markup("[$foreground-muted]No events yet.[/]")
    lines = []
    for event in events:
        text, tone = describe_event(event)
        style = {"error": "$text-error bold", "warning": "$text-warning", "success": "$text-success"}.get(tone, "")
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
