"""The intake's timeline events as a person reads them.

The alert part of `oncall_tui.event_text` (every timeline, the review document, `oncall-tui show`),
and the lines `oncall-tui pull` and the board's notifications print for what a poll wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from ..clock import format_local, from_iso

ALERT_EVENT_KINDS = (
    "alert_fired",
    "alert_refired",
    "alert_resolved",
    "silence_created",
    "silence_expired",
    "silenced_elsewhere",
)


def describe_alert_event(kind: str, details: Mapping[str, Any], tz: tzinfo | None = None) -> tuple[str, str] | None:
    """(one line, tone) for an intake event — tone is '', 'error', 'warning' or 'success' — or None
    for any other kind of event. Times are in `tz` (None: the user's own zone)."""
    if kind == "alert_fired":
        tenants = details.get("tenants") or ()
        also = f"; tenants {', '.join(plain(str(t)) for t in tenants)}" if tenants else ""
        return f"Alert {names(details)} joined this incident (firing since {_earliest(details, tz)}){also}", "warning"
    if kind == "alert_refired":
        return f"Alert {names(details)} fired again (since {_earliest(details, tz)})", "warning"
    if kind == "alert_resolved":
        remaining = details.get("remaining") or 0
        if remaining:
            return f"Alert {names(details)} stopped firing; {remaining} still firing", ""
        return f"Alert {names(details)} stopped firing — confirm, then resolve the incident", "success"
    if kind == "silence_created":
        return f"Alert silenced in Alertmanager until {_when(details.get('ends_at'), tz)}", ""
    if kind == "silence_expired":
        gone = " (it had already ended)" if details.get("already_gone") else ""
        return f"Alertmanager silence expired{gone}", ""
    if kind == "silenced_elsewhere":
        who = plain(details.get("created_by") or "") or "someone"
        comment = plain(details.get("comment") or "")
        text = f"Already silenced in Alertmanager by {who} until {_when(details.get('ends_at'), tz)}"
        return (text + (f": “{comment}”" if comment else "")), "warning"
    return None


def names(details: Mapping[str, Any]) -> str:
    records: Sequence[Mapping[str, Any]] = details.get("alerts") or ()
    found = list(dict.fromkeys(plain(r.get("alertname") or r.get("fingerprint") or "?") for r in records))
    if not found:
        return "?"
    return ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")


def plain(text: str) -> str:
    """Alert labels and silence comments come from other systems: no control characters reach the
    terminal (an escape sequence in a label must not repaint the board), one line."""
    text = "".join(" " if ch in "\t\n\r" else ch for ch in str(text))
    return " ".join("".join(ch for ch in text if ch >= " " and not "\x7f" <= ch <= "\x9f").split())


def _earliest(details: Mapping[str, Any], tz: tzinfo | None) -> str:
    starts = sorted(r["starts_at"] for r in details.get("alerts") or () if r.get("starts_at"))
    return _when(starts[0] if starts else None, tz, missing="an unknown time")


def _when(text: str | None, tz: tzinfo | None, *, missing: str = "further notice") -> str:
    return format_local(from_iso(text), tz, with_date=True) if text else missing
