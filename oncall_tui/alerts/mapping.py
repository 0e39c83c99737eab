"""What incident an alert (or a group of alerts) asks for, by the policy's `[alerts]` table.

Pure: an `Alert` and the `AlertPolicy` in, a `Draft` out. Severity comes from the `severity` label
through `severity_map` — a value the map does not name leaves the severity undetermined, so the
desk's "determine severity" clock runs rather than a guess being recorded as a decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ..clock import iso
from ..model import Severity
from ..policy import AlertPolicy
from ..runbooks import RunbookLibrary, confident_choice
from ..tenants import tenants_from_labels
from .parse import Alert, labelset_fingerprint

TITLE_LIMIT = 200
SERVICE_LIMIT = 200
ANNOTATION_LIMIT = 2_000  # a runaway description must not bloat every copy of the timeline

# Picks the runbook for an alert: its id, or "" when nothing fits. `runbook_matcher` makes one from
# the runbook library; without one, only an explicit `runbook` label or annotation is used.
RunbookMatcher = Callable[[Alert], str]


@dataclass(frozen=True, slots=True)
class Draft:
    """The incident a new alert (or a new group of alerts) should become."""

    key: str  # the incident's fingerprint: the alert's own, or its group's
    title: str
    severity: Severity | None
    services: tuple[str, ...]
    symptom: str  # runbook id, "" when none applies
    labels: dict[str, str]  # what a silence for this incident matches
    started_at: datetime | None
    alerts: tuple[Alert, ...]
    tenants: tuple[str, ...] = ()  # from the policy's tenant labels, across the group

    @property
    def cut(self) -> list[str]:
        """What of the alert was too long for the incident and was cut, for the intake to say."""
        first = self.alerts[0]
        explicit = _one_line(first.labels.get("runbook") or first.annotations.get("runbook") or "")
        if len(explicit) > RUNBOOK_LIMIT:
            return [f"its runbook label ({len(explicit):,} characters) was cut to {RUNBOOK_LIMIT}"]
        return []

    def details(self) -> dict[str, Any]:
        """What the `declared` event records about where the incident came from."""
        first = self.alerts[0]
        out: dict[str, Any] = {
            "alertname": first.name,
            "alerts": [member_record(a) for a in self.alerts],
            "annotations": {k: v[:ANNOTATION_LIMIT] for k, v in first.annotations.items()},
        }
        if first.generator_url:
            out["generator_url"] = first.generator_url
        if url := first.annotations.get("runbook_url"):
            out["runbook_url"] = url
        return out


def member_record(alert: Alert) -> dict[str, Any]:
    """How an alert is named on the timeline: enough to tell later whether it fired again."""
    return {"fingerprint": alert.fingerprint, "alertname": alert.name, "starts_at": iso(alert.starts_at)}


def severity_for(alert: Alert, policy: AlertPolicy) -> Severity | None:
    value = alert.labels.get("severity", "").strip().lower()
    return policy.severity_map.get(value) if value else None


def services_for(alerts: Sequence[Alert], policy: AlertPolicy) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for alert in alerts:
        for label in policy.service_labels:
            value = _one_line(alert.labels.get(label, ""))[:SERVICE_LIMIT]
            if value:
                found.setdefault(value)
    return tuple(found)


def title_for(alert: Alert) -> str:
    text = _one_line(alert.summary) or _one_line(alert.name) or f"Alert {alert.fingerprint}"
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1].rstrip() + "…"


RUNBOOK_LIMIT = 200  # the incident's symptom field holds at most this


def runbook_for(alert: Alert, matcher: RunbookMatcher | None = None) -> str:
    """An explicit `runbook` label or annotation wins (cut to what the field holds: an alert is
    never refused for a long label); then the library's matcher, if any."""
    explicit = _one_line(alert.labels.get("runbook") or alert.annotations.get("runbook") or "")
    if explicit:
        return explicit[:RUNBOOK_LIMIT]
    return (matcher(alert) or "") if matcher is not None else ""


def runbook_matcher(library: RunbookLibrary, policy: AlertPolicy) -> RunbookMatcher:
    """The library's choice for an alert: the runbook its `runbook_url` names, else the suggestion
    the library is sure of (an alert name, service or label in a runbook's front matter). A guess
    is not recorded: the runbook pane still suggests it, and the engineer chooses."""

    def match(alert: Alert) -> str:
        named = _runbook_id_in_url(alert.annotations.get("runbook_url", ""))
        if named and (rb := library.get(named)) is not None and not rb.is_process:
            return rb.id
        choice = confident_choice(
            library.suggest(title=title_for(alert), services=services_for([alert], policy), labels=alert.labels)
        )
        return choice.id if choice is not None else ""

    return match


def group_key(alert: Alert, group_by: Sequence[str]) -> tuple[str, dict[str, str]]:
    """(incident key, labels a silence should match) for the incident an alert belongs to.

    Without grouping it is the alert's fingerprint and all its labels. With `group_by`, alerts
    sharing those labels share an incident; an alert with none of them stands alone, because a group
    with no labels could not be silenced.
    """
    if group_by:
        shared = {name: alert.labels[name] for name in group_by if alert.labels.get(name)}
        if shared:
            return "group:" + labelset_fingerprint(shared), shared
    return alert.fingerprint, dict(alert.labels)


def draft_for(
    key: str,
    labels: dict[str, str],
    alerts: Sequence[Alert],
    policy: AlertPolicy,
    matcher: RunbookMatcher | None = None,
) -> Draft:
    """The incident for alerts that share a key; `alerts` are ordered oldest first."""
    first = alerts[0]
    severities = [s for s in (severity_for(a, policy) for a in alerts) if s is not None]
    starts = [a.starts_at for a in alerts if a.starts_at is not None]
    symptom = next((r for r in (runbook_for(a, matcher) for a in alerts) if r), "")
    return Draft(
        key=key,
        title=title_for(first),
        severity=min(severities, key=lambda s: s.value) if severities else None,  # P0 sorts first
        services=services_for(alerts, policy),
        symptom=symptom,
        labels=labels,
        started_at=min(starts) if starts else None,
        alerts=tuple(alerts),
        tenants=tenants_for(alerts, policy),
    )


def tenants_for(alerts: Sequence[Alert], policy: AlertPolicy) -> tuple[str, ...]:
    return tenants_from_labels((a.labels for a in alerts), policy.tenant_labels)


def _runbook_id_in_url(url: str) -> str:
    """`https://wiki/runbooks/identity-service-outage.md` or `…/runbooks#identity-service-outage`."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    return (parts.fragment or PurePosixPath(parts.path).stem).lower()


def _one_line(text: str) -> str:
    return " ".join("".join(ch for ch in text if ch >= " " or ch in "\t\n").split())
