"""An incident's record as documents: the Markdown post-incident review, and the complete JSON.

The Markdown comes from a jinja2 template, `export/review.md.j2`, looked up in the user's template
directories first and then in the shipped `data/templates/`. It lives in a sub-folder because every
top-level `*.j2` there is a chat message template for the composer. Rendering is sandboxed with
strict undefined names, like the composer's messages: a template shared through a dotfiles repo must
not run code, and a misspelt name must stop the export rather than leave a hole in the document.

All times in the documents are UTC: a review is read by people in several zones, and a timeline
that mixes them is a timeline nobody can check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from . import deadlines, event_text, review
from .alerts.describe import alert_facts
from .clock import format_duration, from_iso, iso
from .deadlines import Deadlines, State
from .desk import Desk
from .errors import DeskError
from .export_json import deadlines_dict, event_dict, incident_dict
from .model import Event, Incident, Severity, Status
from .paths import data_dir
from .store import INCIDENT_TIME_FIELDS
from .tenants import format_tenants

UTC = UTC
TEMPLATE = "export/review.md.j2"
FORMAT = "oncall-tui/incident"
FORMAT_VERSION = 1


class ExportProblem(DeskError, ValueError):
    """The document cannot be produced (a broken template, an unwritable file); says where."""

    title = "Export failed"
    severity = "error"


# --- missed deadlines on the timeline -------------------------------------------------------------


def is_missed_deadline(event: Event) -> bool:
    """A recorded breach of one of the runbook's obligations (reaching an escalation tier is not)."""
    return event.kind == "deadline_breached" and not str(event.details.get("deadline", "")).startswith("escalate:")


# --- deadlines, met or missed ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    key: str
    label: str
    due_at: datetime | None
    done_at: datetime | None
    state: str  # met, missed, pending, waived
    late_by: timedelta | None
    recorded: bool  # a desk saw it breach and wrote it on the timeline
    result: str  # what the document says: "met", "missed by 7m00s", "missed, never done", …


def _result(state: str, done_at: datetime | None, late_by: timedelta | None, incident_open: bool) -> str:
    if state != "missed":
        return state
    if done_at is not None:
        return f"missed by {format_duration(late_by.total_seconds())}" if late_by is not None else "missed"
    if not incident_open:
        return "missed, never done"
    return f"missed, {format_duration(late_by.total_seconds())} overdue so far" if late_by is not None else "missed"


def deadline_rows(incident: Incident, dl: Deadlines, events: list[Event]) -> list[DeadlineRow]:
    """The runbook's obligations for this incident (every kind in `deadlines.DEADLINE_KINDS`), as
    judged now, plus every missed one the timeline recorded that the milestones no longer show (a
    late update whose clock has since restarted)."""
    rows: list[DeadlineRow] = []
    breaches = {
        (e.details.get("deadline"), e.details.get("due_at")): e for e in events if e.kind == "deadline_breached"
    }
    computed_keys = set()
    for d in dl.items:
        if deadlines.kind(d.key) is None or d.state is State.NOT_APPLICABLE:
            continue
        computed_keys.add((d.key, iso(d.due_at)))
        state = {State.MET: "met", State.BREACHED: "missed", State.PENDING: "pending"}[d.state]
        recorded = (d.key, iso(d.due_at)) in breaches
        result = _result(state, d.done_at, d.late_by, incident.is_open)
        rows.append(DeadlineRow(d.key, d.label, d.due_at, d.done_at, state, d.late_by, recorded, result))
    for (key, due_text), event in breaches.items():
        if (key, due_text) in computed_keys or str(key).startswith("escalate:"):
            continue
        due = from_iso(due_text) if due_text else None
        done = _done_after(str(key), due, events)
        late = (done - due) if done is not None and due is not None else None
        label = event.details.get("label") or str(key)
        result = _result("missed", done, late, incident.is_open)
        rows.append(DeadlineRow(str(key), label, due, done, "missed", late, True, result))
    if incident.review_waived and (waived := deadlines.kind("review")) is not None:
        rows.append(DeadlineRow(waived.key, waived.label, None, None, "waived", None, False, "waived"))
    rows.sort(key=lambda r: (r.due_at is None, r.due_at or datetime.max.replace(tzinfo=UTC)))
    return rows


def _done_after(key: str, due: datetime | None, events: list[Event]) -> datetime | None:
    """When a recorded-only breach was finally made good, where the timeline says so: the first
    message after it of a kind that meets the deadline."""
    found = deadlines.kind(key)
    if found is None or not found.messages or due is None:
        return None
    for e in events:
        if e.kind == "message_sent" and e.details.get("template") in found.messages and e.at > due:
            return e.at
    return None


# --- the context both documents are made from -----------------------------------------------------


def review_context(desk: Desk, number: int, now: datetime | None = None) -> dict[str, Any]:
    """Plain values for the template: what a person writing their own review template can use."""
    now = now or desk.now()
    inc = desk.get(number)
    events = desk.timeline(number)
    dl = desk.deadlines(inc, now)
    state = review.state(desk, inc)
    sev_info = desk.policy.severities.get(inc.severity) if inc.severity else None
    acknowledged = inc.acknowledged_at
    return {
        "id": inc.id,
        "number": inc.number,
        "title": inc.title,
        "severity": inc.severity.value if inc.severity else "",
        "severity_name": sev_info.name if sev_info else "",
        "status": inc.status.value,
        "services": list(inc.services),
        "impact": inc.impact,
        "channel": inc.channel,
        "assignee": inc.assignee,
        "root_cause": inc.root_cause,
        "resolution": inc.resolution,
        "prevention": inc.prevention,
        "contributing_factors": inc.contributing_factors,
        # One factor per line or bullet, as the engineer wrote them: the document lists them.
        "contributing_factor_list": factor_list(inc.contributing_factors),
        "tenants": list(inc.tenants),
        "tenant_count": inc.tenants_affected,
        "tenants_affected": format_tenants(inc.tenants, inc.tenant_count),
        "roles": [{"id": r.id, "name": r.name, "who": inc.roles.get(r.id, "")} for r in desk.policy.roles]
        + [{"id": k, "name": k, "who": v} for k, v in inc.roles.items() if k not in {r.id for r in desk.policy.roles}],
        "source": inc.source,
        "started_at": inc.started_at,
        "declared_at": inc.declared_at,
        "acknowledged_at": acknowledged,
        "acknowledged_by": inc.acknowledged_by,
        "mitigated_at": inc.mitigated_at,
        "resolved_at": inc.resolved_at,
        "closed_at": inc.closed_at,
        "time_to_acknowledge": _span(inc.started_at, acknowledged),
        "time_to_resolve": _span(inc.started_at, inc.resolved_at),
        "escalation": dl.escalation.tier.level,
        "timeline": [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "kind": e.kind,
                "text": event_text.describe(e, UTC, multiline=True)[0],
                "breach": is_missed_deadline(e),
            }
            for e in events
        ],
        "action_items": [
            {"id": i.id, "title": i.title, "owner": i.owner, "due": i.due.isoformat() if i.due else "", "done": i.done}
            for i in review.items(desk, number)
        ],
        "deadlines": [
            {
                "key": r.key,
                "label": r.label,
                "due_at": r.due_at,
                "done_at": r.done_at,
                "state": r.state,
                "result": r.result,
                "recorded": r.recorded,
            }
            for r in deadline_rows(inc, dl, events)
        ],
        "review": {
            "required": review.review_required(desk, inc),
            "scheduled_for": state.scheduled_for,
            "attendees": list(state.attendees),
            "done_at": state.done_at,
            "done_by": state.done_by,
            "notes": state.notes,
            "waived": state.waived,
            "waived_by": state.waived_by,
            "due_at": state.due_at,
            "summary": _review_summary(state, review.review_required(desk, inc)),
        },
        "head_hash": inc.head_hash,
        "event_count": len(events),
        "generated_at": now,
        "generated_by": desk.actor,
    }


_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")


def factor_list(text: str) -> list[str]:
    """Contributing factors as items: one per line (bullets and numbers dropped); a single
    paragraph with semicolons is split on them, the way people type a list on one line."""
    lines = [_BULLET.sub("", line).strip() for line in text.splitlines()]
    items = [line for line in lines if line]
    if len(items) == 1 and ";" in items[0]:
        items = [part.strip() for part in items[0].split(";") if part.strip()]
    return items


def _review_summary(state: review.ReviewState, required: bool) -> str:
    parts = []
    if state.scheduled_for:
        parts.append(f"scheduled for {_utc(state.scheduled_for)}")
    if state.attendees:
        parts.append(f"attendees: {', '.join(state.attendees)}")
    if state.done_at:
        parts.append(f"completed {_utc(state.done_at)} by {state.done_by}")
    if state.waived:
        parts.append(f"waived by {state.waived_by}: {state.waived}")
    return "; ".join(parts) or ("not scheduled yet" if required else "not required")


def _span(start: datetime, end: datetime | None) -> str:
    return format_duration((end - start).total_seconds()) if end is not None else ""


# --- Markdown -------------------------------------------------------------------------------------


def _utc(moment: datetime | None, seconds: bool = False) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, line breaks kept as <br>."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def _search_path(template_dirs: Iterable[Path]) -> list[str]:
    search = [str(Path(d).expanduser()) for d in reversed(tuple(template_dirs))]
    search.append(str(data_dir() / "templates"))
    return search


def environment(template_dirs: Iterable[Path] = ()) -> SandboxedEnvironment:
    """User directories first (a user's `export/review.md.j2` replaces the shipped one), then ours."""
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(_search_path(template_dirs)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["utc"] = _utc
    env.filters["cell"] = _cell
    return env


def render_markdown(desk: Desk, number: int, *, template_dirs: Iterable[Path] = (), now: datetime | None = None) -> str:
    context = review_context(desk, number, now)
    dirs = tuple(template_dirs)
    env = environment(dirs)
    try:
        template = env.get_template(TEMPLATE)
        return template.render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise ExportProblem(f"{exc.filename or TEMPLATE}:{exc.lineno}: syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound:
        raise ExportProblem(f"no {TEMPLATE} in {', '.join(_search_path(dirs))}") from None
    except jinja2.TemplateError as exc:
        where = _template_line(exc.__traceback__)
        raise ExportProblem(f"{where}{exc}") from None


def _template_line(tb: TracebackType | None) -> str:
    where = ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            where = f"{name}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return where


# --- JSON: everything the database holds about the incident ---------------------------------------


def export_document(desk: Desk, number: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or desk.now()
    inc = desk.get(number)
    checks = desk.store.check_rows(number)
    state = review.state(desk, inc)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": iso(now),
        "exported_by": desk.actor,
        "incident": incident_dict(inc),
        **({"alert": facts} if (facts := alert_facts(desk.store, inc)) is not None else {}),
        **deadlines_dict(desk.deadlines(inc, now)),
        "review": {
            "scheduled_for": iso(state.scheduled_for),
            "attendees": list(state.attendees),
            "window_opens": iso(state.window_opens),
            "due_at": iso(state.due_at),
            "done_at": iso(state.done_at),
            "done_by": state.done_by,
            "notes": state.notes,
            "waived": state.waived,
            "waived_by": state.waived_by,
        },
        "action_items": [
            {
                "id": i.id,
                "title": i.title,
                "owner": i.owner,
                "due": i.due.isoformat() if i.due else None,
                "done": i.done,
                "created_at": iso(i.created_at),
                "version": i.version,
            }
            for i in review.items(desk, number)
        ],
        "checks": checks,
        "timeline": [event_dict(e) for e in desk.timeline(number)],
        "head_hash": inc.head_hash,
    }


@dataclass(frozen=True, slots=True)
class Exported:
    incident: Incident
    timeline: list[Event]
    action_items: list[review.ActionItem]
    checks: list[dict[str, Any]]


def read_export(doc: dict[str, Any]) -> Exported:
    """The objects back from a JSON export (for tooling, and to prove the export loses nothing)."""
    if doc.get("format") != FORMAT:
        raise ExportProblem(f"not an oncall-tui incident export (format {doc.get('format')!r})")
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise ExportProblem(f"export format {doc['format_version']} is newer than this oncall-tui reads")
    raw = dict(doc["incident"])
    raw.pop("id", None)
    names = {f.name for f in fields(Incident)}
    data: dict[str, Any] = {k: v for k, v in raw.items() if k in names}
    for key in INCIDENT_TIME_FIELDS:
        data[key] = from_iso(data.get(key))
    data["services"] = tuple(data.get("services") or ())
    data["tenants"] = tuple(data.get("tenants") or ())
    data["status"] = Status(data["status"])
    data["severity"] = Severity(data["severity"]) if data.get("severity") else None
    incident = Incident(**data)
    timeline = [
        Event(
            e["seq"], incident.number, from_iso(e["at"]), e["actor"], e["kind"], e["details"], e["prev_hash"], e["hash"]
        )
        for e in doc["timeline"]
    ]
    items = [
        review.ActionItem(
            id=i["id"],
            incident=incident.number,
            title=i["title"],
            owner=i["owner"],
            due=datetime.fromisoformat(i["due"]).date() if i["due"] else None,
            done=i["done"],
            created_at=from_iso(i["created_at"]),
            version=i["version"],
        )
        for i in doc["action_items"]
    ]
    return Exported(incident, timeline, items, list(doc["checks"]))


# --- files ----------------------------------------------------------------------------------------


def default_export_dir() -> Path:
    """Where the review screen writes its documents: $XDG_DATA_HOME/oncall-tui/exports."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "oncall-tui" / "exports"


def write_text(path: Path, text: str) -> Path:
    """Write all of it or nothing: a half-written review is worse than the previous one."""
    path = Path(path).expanduser()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # beside it, so the rename is atomic
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ExportProblem(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def export_markdown_file(
    desk: Desk, number: int, directory: Path | None = None, *, template_dirs: Iterable[Path] = ()
) -> Path:
    text = render_markdown(desk, number, template_dirs=template_dirs)
    inc = desk.get(number)
    return write_text((directory or default_export_dir()) / f"{inc.id}-review.md", text)
