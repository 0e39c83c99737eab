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
    "silence_renewed",
    "silence_ended",
    "maintenance_began",
    "maintenance_ended",
    "alert_severity_raised",
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
        if details.get("stray"):
            gone += " (created by a request that timed out)"
        return f"Alertmanager silence expired{gone}", ""
    if kind == "silence_renewed":
        return (
            f"Alertmanager silence renewed until {_when(details.get('ends_at'), tz)} (still acknowledged, still firing)",
            "",
        )
    if kind == "silence_ended":
        reason = details.get("reason")
        if reason == "expired_elsewhere":
            who = plain(details.get("by") or "") or "someone"
            return (
                f"The desk's Alertmanager silence was expired outside the desk ({who}); the alert notifies again",
                "warning",
            )
        if reason == "lost":
            return "The desk's Alertmanager silence is gone (no Alertmanager knows it: lost with a restart?)", "warning"
        return f"The desk's Alertmanager silence lapsed at {_when(details.get('ends_at'), tz)}", "warning"
    if kind == "maintenance_began":
        why = plain(details.get("why") or "")
        return f"Alert {names(details)} arrived {why}: in maintenance, no clock runs until it goes live", ""
    if kind == "maintenance_ended":
        return f"Alert {names(details)} is live (its silence ended): the clocks start now", "warning"
    if kind == "alert_severity_raised":
        return (
            f"Alert {names(details)} joined at {details.get('to')}: severity raised from {details.get('from') or 'undetermined'}",
            "warning",
        )
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


# --- what an SRE looks for on an alert-born incident --------------------------------------------


def alert_facts(store: Any, incident: Any) -> dict[str, Any] | None:
    """The alert behind an incident as the record holds it: labels, annotations, the Prometheus
    graph (generatorURL), the runbook link, how many alerts, and every silence seen over them (who,
    until when, whether it is this desk's own). None for an incident typed by hand.

    One source for the detail pane, `oncall-tui show` (text and JSON) and the export document.
    `store` is the desk's `Record`; `incident` an `Incident`.
    """
    if incident.source != "alert":
        return None
    declared = store.last_event(incident.number, ("declared",))
    details: Mapping[str, Any] = declared.details if declared is not None else {}
    silences = [
        {
            "id": row["silence_id"],
            "created_by": row["created_by"],
            "comment": row["comment"],
            "starts_at": row["starts_at"],
            "ends_at": row["ends_at"],
            "state": row["state"],
            "own": bool(row["own"]),
        }
        for row in store.alert_silences(incident.number)
    ]
    return {
        "labels": dict(incident.labels),
        "annotations": dict(details.get("annotations") or {}),
        "generator_url": details.get("generator_url") or "",
        "runbook_url": details.get("runbook_url") or "",
        "alerts": len(details.get("alerts") or ()),
        "state": incident.alert_state or "firing",
        "silences": silences,
    }


def fact_lines(facts: Mapping[str, Any], tz: tzinfo | None = None) -> list[tuple[str, str]]:
    """(label, one line) pairs for a person: the detail pane and `show` print these."""
    lines: list[tuple[str, str]] = []
    state = facts.get("state")
    if state == "maintenance":
        lines.append(("alert", "in maintenance (arrived silenced or inhibited): no clock runs"))
    elif state == "resolved":
        lines.append(("alert", "stopped firing in Alertmanager: confirm, then resolve"))
    labels = facts.get("labels") or {}
    if labels:
        lines.append(("labels", plain(", ".join(f"{k}={v}" for k, v in sorted(labels.items())))))
    annotations = facts.get("annotations") or {}
    for key in ("summary", "description"):
        if annotations.get(key):
            lines.append((key, plain(annotations[key])))
    others = {k: v for k, v in annotations.items() if k not in ("summary", "description", "runbook_url")}
    if others:
        lines.append(("annotations", plain(", ".join(f"{k}={v}" for k, v in sorted(others.items())))))
    if facts.get("generator_url"):
        lines.append(("graph", plain(facts["generator_url"])))
    if facts.get("runbook_url"):
        lines.append(("runbook url", plain(facts["runbook_url"])))
    for s in facts.get("silences") or ():
        if s.get("state") not in ("active", "pending"):
            continue
        whose = "this desk's ack" if s.get("own") else plain(s.get("comment") or "")[:60]
        who = plain(s.get("created_by") or "") or "someone"
        lines.append(("silenced", f"by {who} until {_when(s.get('ends_at'), tz)}" + (f" ({whose})" if whose else "")))
    return lines
