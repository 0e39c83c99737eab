"""The fields of the communication templates, without jinja2: the CLI's help lists them on every
call, and that should not cost importing the template engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    hint: str = ""
    incident_field: str | None = None  # where "save to incident" writes it; None: per message only


KNOWN_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("severity", "Severity", "P0–P3; change it on the board", None),
        FieldSpec("service", "Service Name", "affected services, comma-separated", "services"),
        FieldSpec("timestamp", "Timestamp", "when it started", None),
        FieldSpec("impact", "Impact", "brief description", "impact"),
        FieldSpec("tenants", "Tenants", "names, a count, or 40: acme, globex", "tenants"),
        FieldSpec("assigned", "Assigned", "engineer name", "assignee"),
        FieldSpec("progress", "Status", "update on progress", None),
        FieldSpec("eta", "ETA", "estimated time to resolution", "eta"),
        FieldSpec("next_update", "Next Update", "in 30m, 45 min, 03:45 or an ISO time", None),
        FieldSpec("root_cause", "Root Cause", "what caused the issue", "root_cause"),
        FieldSpec("resolution", "Resolution", "how it was fixed", "resolution"),
        FieldSpec("prevention", "Prevention", "how to prevent recurrence", "prevention"),
    )
}
