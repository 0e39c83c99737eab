"""What a timeline event says, as one sentence a person would write: the one wording for the board's
Timeline tab, the review screen, the Markdown review and `oncall-tui show`.

Each line comes with a tone ('', 'error', 'warning' or 'success') that screens turn into colour;
plain text never depends on it. Details come from the database, and so from other desks, other
versions of this program and other systems (alert labels, pasted notes): whatever they hold, the
line has no control characters, and an event this module does not know, or one whose details are
not the shape expected, still reads as a line instead of stopping the screen that shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any

from .alerts.describe import ALERT_EVENT_KINDS, describe_alert_event
from .clock import format_duration, format_local, from_iso
from .model import Event

TONES = ("", "error", "warning", "success")
CLOCK_BEHIND = "clock_behind_seconds"  # in any event's details: see Desk.act
Line = tuple[str, str]
Details = Mapping[str, Any]

_FIELD_NAMES = {
    "root_cause": "Root cause",
    "contributing_factors": "Contributing factors",
    "eta": "ETA",
    "tenants": "Tenants affected",
}
_SETTLED = ("mitigated", "resolved", "closed")
_FALLBACK_VALUE_LIMIT = 80


def describe(event: Event, tz: tzinfo | None = None, *, multiline: bool = False) -> Line:
    """(text, tone) for one event; times in the text are in `tz` (None: the user's own zone).

    The text is one line unless `multiline`, which keeps the line breaks of a multi-line field for
    a document that can show them (the Markdown review turns them into `<br>`).
    """
    describer = _DESCRIBERS.get(event.kind)
    try:
        if describer is not None:
            text, tone = describer(event.details, tz)
        else:
            text, tone = describe_alert_event(event.kind, event.details, tz) or _fallback(event.kind, event.details)
    except (AttributeError, KeyError, OverflowError, TypeError, ValueError):
        # Details written by another version, or by hand: say what is there rather than fail.
        text, tone = _fallback(event.kind, event.details)
    behind = event.details.get(CLOCK_BEHIND) if isinstance(event.details, Mapping) else None
    if isinstance(behind, (int, float)) and not isinstance(behind, bool) and 0 < behind < 1e9:
        # Desk.act's mark: this event's time is earlier than the one before it on the timeline.
        text = f"{text} [written by a clock {format_duration(behind)} behind the event before it]"
        tone = "error" if tone == "error" else "warning"
    return _shown(text, multiline), tone


def _shown(text: str, multiline: bool) -> str:
    """No control characters reach a terminal or a document (an escape sequence in a note must not
    repaint the screen that shows it); tabs become spaces; line breaks only where asked for."""
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = ["".join(" " if ch == "\t" else ch for ch in line if ch == "\t" or _printable(ch)) for line in lines]
    if multiline:
        return "\n".join(kept)
    # Lines stay apart on one line: "no canary · alert fired late", not "no canary alert fired late".
    return " · ".join(" ".join(line.split()) for line in kept if line.strip())


def _printable(ch: str) -> bool:
    return ch >= " " and not "\x7f" <= ch <= "\x9f"


def _when(value: Any, tz: tzinfo | None) -> str:
    return format_local(from_iso(value), tz, with_date=True) if value else "?"


def _field(name: str) -> str:
    return _FIELD_NAMES.get(name, name.replace("_", " ").capitalize())


def _late(seconds: Any) -> str:
    return f", {format_duration(seconds)} after the deadline" if seconds else ""


# --- the desk's own events ------------------------------------------------------------------------


def _declared(d: Details, tz: tzinfo | None) -> Line:
    sev = f" as {d['severity']}" if d.get("severity") else ""
    origin = " from an alert" if d.get("source") == "alert" else ""
    services = f" ({', '.join(d['services'])})" if d.get("services") else ""
    tenants = f"; tenants: {d['tenants']}" if d.get("tenants") else ""
    return f"Declared{sev}{origin}: {d.get('title', '')}{services}{tenants}", ""


def _acknowledged(d: Details, tz: tzinfo | None) -> Line:
    late = d.get("late_by_seconds")
    # Another desk (or a person in Alertmanager's UI) took it: their silence reached this desk.
    via = " through an Alertmanager silence (someone has it)" if d.get("via") == "silence" else ""
    return "Acknowledged" + via + _late(late), "warning" if late else "success"


def _severity_set(d: Details, tz: tzinfo | None) -> Line:
    return (f"Severity {d['from']} → {d['to']}" if d.get("from") else f"Severity set to {d.get('to')}"), ""


def _status_changed(d: Details, tz: tzinfo | None) -> Line:
    return f"Status {d.get('from')} → {d.get('to')}", "success" if d.get("to") in _SETTLED else ""


def _assigned(d: Details, tz: tzinfo | None) -> Line:
    return (f"Assigned to {d['to']}" if d.get("to") else "Unassigned"), ""


def _role_assigned(d: Details, tz: tzinfo | None) -> Line:
    role = str(d.get("name") or d.get("role") or "Role")
    if d.get("to"):
        was = f" (was {d['from']})" if d.get("from") else ""
        return f"{role}: {d['to']}{was}", ""
    return f"{role}: {d.get('from') or 'nobody'} stood down", ""


def _field_edited(d: Details, tz: tzinfo | None) -> Line:
    to = d.get("to")
    if isinstance(to, list):
        to = ", ".join(str(v) for v in to)
    name = _field(str(d.get("field", "")))
    return (f"{name}: {to}" if to else f"{name} cleared"), ""


def _note(d: Details, tz: tzinfo | None) -> Line:
    return f"Note: {d.get('text', '')}", ""


def _message_sent(d: Details, tz: tzinfo | None) -> Line:
    template = str(d.get("template") or "status").capitalize()
    promised = f"; next update promised for {_when(d['next_update_at'], tz)}" if d.get("next_update_at") else ""
    return f"{template} message sent via {d.get('via', '?')}{promised}", "success"


def _message_saved(d: Details, tz: tzinfo | None) -> Line:
    template = str(d.get("template") or "status").capitalize()
    return f"{template} message saved to {d.get('path') or 'a file'} (not sent)", ""


def _deadline_breached(d: Details, tz: tzinfo | None) -> Line:
    key = str(d.get("deadline", ""))
    due = _when(d.get("due_at"), tz)
    if key.startswith("escalate:"):
        # Reaching an escalation tier is not a failure of the runbook: it is the runbook saying who
        # to call now, so it reads as an instruction.
        label = str(d.get("label") or f"Escalate to {key.removeprefix('escalate:')}")
        return f"Time to {label[:1].lower()}{label[1:]} ({due})", "error"
    return f"Deadline missed: {d.get('label') or key or '?'} (due {due})", "error"


def _runbook_step(d: Details, tz: tzinfo | None) -> Line:
    verb = "checked" if d.get("checked") else "unchecked"
    text = d.get("text", "")
    if d.get("section") and d.get("ordinal") is not None:  # numbered as the screen shows it
        return f"{d['section']}, step {d['ordinal']} {verb}: {text}", ""
    return f"Runbook step {d.get('step')} {verb}: {text}", ""


# --- the post-incident review ---------------------------------------------------------------------


def _start_corrected(d: Details, tz: tzinfo | None) -> Line:
    return (
        f"Start time corrected to {_when(d.get('to'), tz)} (was {_when(d.get('from'), tz)}); clocks count from it",
        "",
    )


def _review_scheduled(d: Details, tz: tzinfo | None) -> Line:
    who = f" with {', '.join(d['attendees'])}" if d.get("attendees") else ""
    if d.get("previous"):
        return f"Review moved to {_when(d.get('for'), tz)}{who} (was {_when(d['previous'], tz)})", ""
    return f"Review scheduled for {_when(d.get('for'), tz)}{who}", ""


def _review_completed(d: Details, tz: tzinfo | None) -> Line:
    late = d.get("late_by_seconds")
    notes = f": {d['notes']}" if d.get("notes") else ""
    return f"Review completed{_late(late)}{notes}", "warning" if late else "success"


def _review_waived(d: Details, tz: tzinfo | None) -> Line:
    return f"Review waived: {d.get('reason', '')}", ""


def _item(d: Details) -> str:
    return f"Action item #{d.get('item')}"


def _action_item_added(d: Details, tz: tzinfo | None) -> Line:
    extra = ", ".join(
        e for e in (f"owner {d['owner']}" if d.get("owner") else "", f"due {d['due']}" if d.get("due") else "") if e
    )
    return f"{_item(d)} added: {d.get('title', '')}" + (f" ({extra})" if extra else ""), ""


def _action_item_edited(d: Details, tz: tzinfo | None) -> Line:
    parts = [f"{name} → {change.get('to') or '—'}" for name, change in (d.get("changes") or {}).items()]
    return f"{_item(d)} edited: {'; '.join(parts)}", ""


def _action_item_done(d: Details, tz: tzinfo | None) -> Line:
    return f"{_item(d)} done: {d.get('title', '')}", "success"


def _action_item_reopened(d: Details, tz: tzinfo | None) -> Line:
    return f"{_item(d)} reopened: {d.get('title', '')}", ""


_PAGE_WHY = {
    "new": "new incident",
    "not_acknowledged": "not acknowledged in time",
    "escalated": "escalation matrix",
    "unreachable": "previous level unreachable",
    "repeat": "repeat",
    "manual": "by hand",
}


def _page(d: Details, tz: tzinfo | None) -> Line:
    who = d.get("name") or d.get("person") or "nobody"
    why = _PAGE_WHY.get(str(d.get("reason", "")), str(d.get("reason", "")))
    note = f": {d['note']}" if d.get("note") else ""
    if d.get("nobody"):
        return f"Could not page {d.get('level', '?')} ({why}): {d['nobody']}", "error"
    via = ", ".join(str(c) for c in d.get("channels") or []) or "no channel"
    return f"Paging {who} as {d.get('level', '?')} ({why}{note}) via {via}", "warning"


def _page_result(d: Details, tz: tzinfo | None) -> Line:
    who = d.get("name") or d.get("person") or "?"
    parts = []
    for c in d.get("channels") or []:
        attempts = c.get("attempts") or []
        last = attempts[-1].get("result", "") if attempts else "not tried"
        tries = f" after {len(attempts)} attempts" if len(attempts) > 1 else ""
        parts.append(f"{c.get('channel', '?')} {'OK' if c.get('delivered') else 'FAILED'}: {last}{tries}")
    detail = "; ".join(parts)
    if d.get("delivered"):
        return f"Page delivered to {who} — {detail}", "success"
    return f"Could not reach {who}: every channel failed — {detail}", "error"


def _page_resent(d: Details, tz: tzinfo | None) -> Line:
    return f"Page to {d.get('person', '?')} resent: {d.get('note', '')}", "warning"


def _override_moved_page(d: Details, tz: tzinfo | None) -> Line:
    done = "cancelled" if d.get("action") == "cancelled" else "made"
    was = d.get("from_name") or "nobody"
    who = d.get("to_name") or "nobody"
    return (
        f"Override #{d.get('override', '?')} {done}: {d.get('level', '?')} is {who} now (was {was}); "
        f"the next page goes to {who}",
        "warning",
    )


_DESCRIBERS: dict[str, Callable[[Details, tzinfo | None], Line]] = {
    "page": _page,
    "override_moved_page": _override_moved_page,
    "page_result": _page_result,
    "page_resent": _page_resent,
    "declared": _declared,
    "acknowledged": _acknowledged,
    "severity_set": _severity_set,
    "status_changed": _status_changed,
    "assigned": _assigned,
    "role_assigned": _role_assigned,
    "field_edited": _field_edited,
    "start_corrected": _start_corrected,
    "note": _note,
    "message_sent": _message_sent,
    "message_saved": _message_saved,
    "deadline_breached": _deadline_breached,
    "runbook_step": _runbook_step,
    "review_scheduled": _review_scheduled,
    "review_completed": _review_completed,
    "review_waived": _review_waived,
    "action_item_added": _action_item_added,
    "action_item_edited": _action_item_edited,
    "action_item_done": _action_item_done,
    "action_item_reopened": _action_item_reopened,
}

KNOWN_KINDS = (*_DESCRIBERS, *ALERT_EVENT_KINDS)


def _fallback(kind: str, d: Any) -> Line:
    """An event of a kind this desk does not know (a newer version wrote it): its name and its plain
    values, each kept short so one odd event cannot flood the timeline."""
    values = d.items() if isinstance(d, Mapping) else ()
    summary = ", ".join(
        f"{k}={_short(v)}"
        for k, v in values
        if not isinstance(v, (dict, list)) and v not in (None, "") and k != CLOCK_BEHIND
    )
    return str(kind).replace("_", " ").capitalize() + (f": {summary}" if summary else ""), ""


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _FALLBACK_VALUE_LIMIT else text[: _FALLBACK_VALUE_LIMIT - 1] + "…"
