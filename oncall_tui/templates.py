"""Status messages from the runbook's communication templates.

Templates are jinja2 files (`data/templates/*.j2`, overridden or extended by the user's directories)
with a front matter in a leading jinja comment, so the file stays a valid template and error line
numbers stay the file's own:

    {#---
    title = "Update"
    kind = "update"
    fields = ["severity", "service", "progress", "eta", "next_update"]
    ---#}
    [{{ severity }}] Service Issue: {{ service }}

Rendering is sandboxed (a template from a shared dotfiles repo must not be able to run code) and
strict: a field with no value, or a name the desk does not know, stops the message with a
`TemplateProblem` naming the field, its file and line, instead of sending a message with a hole in it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .deadlines import compute
from .errors import DeskError
from .export_json import incident_dict
from .message_fields import KNOWN_FIELDS as KNOWN_FIELDS  # re-exported: the composer imports them from here
from .message_fields import FieldSpec as FieldSpec
from .model import Incident, Status
from .paths import data_dir, escapes, refusal
from .policy import Policy
from .tenants import format_tenants
from .when import parse_future as parse_when  # re-exported: the composer's next update reads it from here

SUFFIX = ".j2"
SHIPPED_ORDER = ("initial", "update", "resolution", "handoff")
KINDS = ("initial", "update", "resolution", "other")
MAX_MESSAGE_CHARS = 40_000  # the timeline keeps at most 50,000 characters of a message

_FRONT_MATTER = re.compile(r"\A\{#---[ \t]*\n(?P<body>.*?)\n---#\}", re.DOTALL)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


RENDER_SECONDS = 2.0  # a status message renders in milliseconds; a template that takes longer is a bug
_MAX_ITEMS = 100_000  # the longest string, list or range a template may build
_MAX_INT_BITS = 4096  # integers a template may compute (9**999999999 takes minutes, in C, unstoppable)


class RenderLimit(Exception):
    """A template ran past its time or size limit; stopped where it was."""


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, plus limits: a user template runs on the desk's time and memory.

    Python cannot stop a thread from outside, so the template stops itself: every call, attribute,
    loop step over `range` and chunk of output checks the deadline, and operators that can build
    huge values (`**`, `*`) are computed only when the result is small. The optimizer is told those
    operators are intercepted, so a constant like `9**999999999` is not folded at compile time either.
    """

    intercepted_binops = frozenset({"**", "*"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        import threading

        self._render = threading.local()  # the board renders in worker threads: a deadline each
        self.globals["range"] = self._range

    def start(self, seconds: float) -> None:
        import time

        self._render.deadline = time.monotonic() + seconds

    def check(self) -> None:
        import time

        if time.monotonic() > getattr(self._render, "deadline", float("inf")):
            raise RenderLimit(f"the template took longer than {RENDER_SECONDS:g} s to render (a loop too big?)")

    def _range(self, *args: int) -> Iterator[int]:
        values = range(*args)
        if len(values) > _MAX_ITEMS:
            raise RenderLimit(f"range of {len(values):,} numbers; at most {_MAX_ITEMS:,}")
        for i in values:
            self.check()
            yield i

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        self.check()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.check()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.check()
        return super().getitem(obj, argument)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.check()
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and abs(left) > 1 and right > 0 and right * abs(left).bit_length() > _MAX_INT_BITS:
            raise RenderLimit(f"{left} ** {right} is too big a number for a message")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > _MAX_ITEMS:
                    raise RenderLimit(f"repeating {len(seq):,} items {times:,} times is too big for a message")
            if ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
                raise RenderLimit("too big a number for a message")
        return super().call_binop(context, operator, left, right)


class TemplateProblem(DeskError):
    """A template that cannot produce a message; says what, and where in which file."""

    title = "Template"

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        fields: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = Path(file) if file is not None else None
        self.line = line
        self.fields = tuple(fields)  # fields the engineer can fix it by filling in, if any

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.file is not None else self.message


# Names a template may use besides its fields: read-only facts about the incident.
EXTRA_NAMES = (
    "incident",
    "id",
    "title",
    "channel",
    "status",
    "severity_name",
    "escalation_level",
    "now",
    "handoff_brief",  # the whole desk's handoff brief (handoff.brief), given only to templates that use it
    "roles",  # role id → who holds it ("" when nobody): {{ roles.commander or "unassigned" }}
    "role_names",  # role id → the policy's name for it
    "tenants_affected",  # "40 tenants: acme, globex", "" when nobody has said
)


def uses(template: MessageTemplate, name: str) -> bool:
    """Does `template` read `name`? (The handoff brief reads the whole desk: built only when used.)"""
    return name in meta.find_undeclared_variables(template.ast)


_PROGRESS = {
    Status.TRIGGERED: "Alert received; not yet acknowledged",
    Status.ACKNOWLEDGED: "Acknowledged; investigating",
    Status.INVESTIGATING: "Under Investigation",
    Status.MITIGATED: "Mitigated; monitoring for recurrence",
    Status.RESOLVED: "Resolved",
    Status.CLOSED: "Resolved",
}


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    name: str
    title: str
    description: str
    kind: str  # what sending it means for the process: initial, update, resolution or other
    fields: tuple[FieldSpec, ...]
    path: Path
    compiled: jinja2.Template = field(repr=False, compare=False)
    ast: nodes.Template = field(repr=False, compare=False)

    @property
    def record_as(self) -> str:
        """The name the timeline records: the runbook's kind (which drives the clocks), else its own."""
        return self.kind if self.kind != "other" else self.name

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def line_of(self, name: str) -> int | None:
        """The first line that uses `name`, to point at it in an error."""
        lines = [n.lineno for n in self.ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
        return min(lines) if lines else None


@dataclass(frozen=True, slots=True)
class Message:
    template: MessageTemplate
    text: str
    values: dict[str, str]  # the field values it was rendered from
    next_update_at: datetime | None  # the instant its "Next Update" promises, if it has one


class TemplateLibrary:
    """The shipped templates, then each user directory in order; a later file overrides by name."""

    def __init__(self, dirs: Iterable[Path] = ()) -> None:
        self.dirs = (data_dir() / "templates", *(Path(d).expanduser() for d in dirs))
        # Immutable: a template cannot even change the lists and dicts it is given.
        self.env = _LimitedSandbox(
            loader=jinja2.FunctionLoader(self._load_source),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # chat text, not HTML
            keep_trailing_newline=False,
        )

    def paths(self) -> dict[str, Path]:
        """name → file; read on every call so a template added while the desk runs shows up."""
        found: dict[str, Path] = {}
        for directory in self.dirs:
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob(f"*{SUFFIX}")):
                if path.is_file() or path.is_symlink():  # a link is listed, and refused when read
                    found[path.name[: -len(SUFFIX)]] = path
        return found

    def _read(self, path: Path) -> str:
        """A template's text; a link leading outside its folder is refused, not followed."""
        if (target := escapes(path, path.parent)) is not None:
            raise TemplateProblem(refusal(path, path.parent, target, "template"), file=path)
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateProblem(f"cannot read the template: {exc}", file=path) from None

    def names(self) -> list[str]:
        found = self.paths()
        shipped = [n for n in SHIPPED_ORDER if n in found]
        return shipped + sorted(n for n in found if n not in SHIPPED_ORDER)

    def get(self, name: str) -> MessageTemplate:
        path = self.paths().get(name)
        if path is None:
            available = ", ".join(self.names()) or "none"
            raise TemplateProblem(f"no template named {name!r} (available: {available})")
        source = self._read(path)
        settings = _front_matter(source, path)
        try:
            ast = self.env.parse(source, name + SUFFIX, str(path))
            compiled = self.env.template_class.from_code(
                self.env, self.env.compile(ast, name + SUFFIX, str(path)), self.env.make_globals(None)
            )
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"syntax error: {exc.message}", file=path, line=exc.lineno) from None

        declared = settings.get("fields", [])
        used = [n for n in _names_in_order(ast) if n in KNOWN_FIELDS and n not in declared]
        labels = settings.get("labels", {})
        specs = tuple(_spec(n, labels.get(n)) for n in (*declared, *used))
        template = MessageTemplate(
            name=name,
            title=str(settings.get("title") or name.replace("-", " ").replace("_", " ").title()),
            description=str(settings.get("description", "")),
            kind=str(settings.get("kind") or (name if name in KINDS else "other")),
            fields=specs,
            path=path,
            compiled=compiled,
            ast=ast,
        )
        known = {*template.field_names, *EXTRA_NAMES, *self.env.globals}  # globals: range, dict, …
        unknown = sorted(meta.find_undeclared_variables(ast) - known, key=lambda n: template.line_of(n) or 0)
        if unknown:
            raise TemplateProblem(
                f"unknown field {unknown[0]!r}: the desk has no value for it; add it to the front "
                f"matter's fields to ask for it in the form (known: {', '.join(KNOWN_FIELDS)})",
                file=path,
                line=template.line_of(unknown[0]),
            )
        return template

    def _load_source(self, name: str) -> tuple[str, str, Callable[[], bool]] | None:
        """For `{% include %}` and `{% extends %}` between templates."""
        stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
        path = self.paths().get(stem)
        if path is None:
            return None
        mtime = path.stat().st_mtime
        return self._read(path), str(path), lambda: path.is_file() and path.stat().st_mtime == mtime


def _spec(name: str, label: Any) -> FieldSpec:
    known = KNOWN_FIELDS.get(name)
    if known is not None:
        return known if not label else FieldSpec(name, str(label), known.hint, known.incident_field)
    return FieldSpec(name, str(label or name.replace("_", " ").title()), "this template's own field", None)


def _front_matter(source: str, path: Path) -> dict[str, Any]:
    match = _FRONT_MATTER.match(source)
    if match is None:
        return {}
    try:
        settings = tomllib.loads(match["body"])
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\s*\(at (?:line (\d+).*|end of document)\)$", str(exc))
        reason = str(exc)[: where.start()] if where else str(exc)
        # The TOML starts on the file's second line; "end of document" is the closing ---#} line.
        line = int(where[1]) + 1 if where and where[1] else match["body"].count("\n") + 3
        raise TemplateProblem(f"front matter: {reason}", file=path, line=line) from None
    fields_ = settings.get("fields", [])
    if not isinstance(fields_, list) or not all(isinstance(f, str) and _IDENTIFIER.match(f) for f in fields_):
        raise TemplateProblem('front matter: fields must be a list of names like "impact"', file=path, line=1)
    if not isinstance(settings.get("labels", {}), dict):
        raise TemplateProblem('front matter: labels must be a table of name = "Label"', file=path, line=1)
    kind = settings.get("kind")
    if kind is not None and kind not in KINDS:
        raise TemplateProblem(f"front matter: kind must be one of {', '.join(KINDS)}", file=path, line=1)
    return settings


def _names_in_order(ast: nodes.Template) -> list[str]:
    seen: dict[str, int] = {}
    for n in ast.find_all(nodes.Name):
        if n.ctx == "load":
            seen.setdefault(n.name, n.lineno)
    return sorted(seen, key=seen.__getitem__)


# --- values ---------------------------------------------------------------------------------------


def prefill(incident: Incident, policy: Policy, now: datetime, tz: tzinfo | None = None) -> dict[str, str]:
    """What the desk already knows for each field; the engineer may change any of it per message."""
    cadence = policy.update_cadence.get(incident.severity) if incident.severity else None
    minutes = int((cadence or timedelta(minutes=60)).total_seconds() // 60)
    return {
        "severity": incident.severity.value if incident.severity else "",
        "service": ", ".join(incident.services),
        "timestamp": format_when(incident.started_at, now, tz, always_date=True),
        "impact": incident.impact,
        "tenants": format_tenants(incident.tenants, incident.tenant_count),
        "assigned": incident.assignee or incident.acknowledged_by,
        "progress": _PROGRESS[incident.status],
        "eta": incident.eta,
        "next_update": f"in {minutes} min",
        "root_cause": incident.root_cause,
        "resolution": incident.resolution,
        "prevention": incident.prevention,
    }


def compose(
    library: TemplateLibrary,
    name: str,
    incident: Incident,
    *,
    policy: Policy,
    now: datetime,
    tz: tzinfo | None = None,
    overrides: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Message:
    """Render template `name` for `incident`; `overrides` are this message's own field values,
    `extra` more names for the template (the handoff brief).

    Overrides for fields the template does not have are ignored, so the composer can keep what the
    engineer typed while they switch between templates.
    """
    template = library.get(name)
    values = {**prefill(incident, policy, now, tz), **(overrides or {})}
    # One line per field, whether typed here or stored multi-line on the incident: the message is line-based.
    wanted = {f.name: " ".join(str(values.get(f.name, "")).split()) for f in template.fields}

    missing = [f for f in template.fields if not wanted[f.name]]
    if missing:
        names = ", ".join(f"{f.label} ({f.name})" for f in missing)
        raise TemplateProblem(
            f"no value for {names}: fill {'it' if len(missing) == 1 else 'them'} in before sending",
            file=template.path,
            line=template.line_of(missing[0].name),
            fields=[f.name for f in missing],
        )

    if wanted.get("severity"):
        # Typed per message, so checked here: "[urgent] Service Issue" would reach stakeholders otherwise.
        try:
            wanted["severity"] = policy.parse_severity(wanted["severity"]).value
        except ValueError as exc:
            raise TemplateProblem(
                f"Severity (severity): {exc}",
                file=template.path,
                line=template.line_of("severity"),
                fields=["severity"],
            ) from None

    next_update_at = None
    if "next_update" in wanted:
        try:
            next_update_at = parse_when(wanted["next_update"], now, tz)
        except ValueError as exc:
            raise TemplateProblem(
                f"Next Update (next_update): {exc}",
                file=template.path,
                line=template.line_of("next_update"),
                fields=["next_update"],
            ) from None
        wanted["next_update"] = format_when(next_update_at, now, tz)

    dl = compute(incident, policy, now)
    sev_info = policy.severities.get(incident.severity) if incident.severity else None
    context: dict[str, Any] = {
        **wanted,
        "incident": incident_dict(incident),
        "id": incident.id,
        "title": incident.title,
        "channel": incident.channel,
        "status": incident.status.value,
        "severity_name": sev_info.name if sev_info else "",
        "escalation_level": dl.escalation.tier.level,
        "now": format_when(now, now, tz, always_date=True),
        "roles": {**{r.id: "" for r in policy.roles}, **incident.roles},
        "role_names": {r.id: r.name for r in policy.roles},
        "tenants_affected": format_tenants(incident.tenants, incident.tenant_count),
        "handoff_brief": "",
        **(extra or {}),
    }
    text = _render(template, context).strip("\n")
    if len(text) > MAX_MESSAGE_CHARS:
        raise TemplateProblem(
            f"the message is {len(text):,} characters; at most {MAX_MESSAGE_CHARS:,}", file=template.path
        )
    return Message(template, text, wanted, next_update_at)


def _render(template: MessageTemplate, context: dict[str, Any]) -> str:
    env = template.compiled.environment
    limited = env if isinstance(env, _LimitedSandbox) else None
    if limited is not None:
        limited.start(RENDER_SECONDS)
    try:
        # Chunk by chunk, so a template writing a huge message stops at the size limit, not after it.
        out: list[str] = []
        size = 0
        for chunk in template.compiled.generate(context):
            size += len(chunk)
            if size > MAX_MESSAGE_CHARS:
                raise RenderLimit(f"the message is over {MAX_MESSAGE_CHARS:,} characters")
            if limited is not None:
                limited.check()
            out.append(chunk)
        return "".join(out)
    except RenderLimit as exc:
        file, line = _template_frame(exc.__traceback__, template.path)
        raise TemplateProblem(f"stopped: {exc}", file=file, line=line) from None
    except TemplateProblem:  # an included template that is refused
        raise
    except jinja2.TemplateSyntaxError as exc:  # from an included template
        raise TemplateProblem(f"syntax error: {exc.message}", file=exc.filename, line=exc.lineno) from None
    except Exception as exc:  # the template's own bug, e.g. {{ 1 / 0 }}, is reported like any other
        if isinstance(exc, jinja2.exceptions.SecurityError):
            problem = f"not allowed in a template (sandbox): {exc}"
        elif isinstance(exc, jinja2.UndefinedError):
            problem = f"undefined: {exc}"
        elif isinstance(exc, jinja2.TemplateError):
            problem = str(exc)
        else:
            problem = f"{type(exc).__name__}: {exc}"
        file, line = _template_frame(exc.__traceback__, template.path)
        raise TemplateProblem(problem, file=file, line=line) from None


def _template_frame(tb: TracebackType | None, default: Path) -> tuple[Path, int | None]:
    """The innermost traceback frame inside a template file (jinja rewrites them to template lines)."""
    file, line = default, None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(SUFFIX):
            file, line = Path(name), tb.tb_lineno
        tb = tb.tb_next
    return file, line


# --- "Next Update" ---------------------------------------------------------------------------------


def format_when(at: datetime, now: datetime, tz: tzinfo | None = None, *, always_date: bool = False) -> str:
    """An instant as a message says it: '03:45 UTC', with the date when it is not today."""
    local = at.astimezone(tz)
    same_day = local.date() == now.astimezone(tz).date()
    return local.strftime("%H:%M %Z" if same_day and not always_date else "%Y-%m-%d %H:%M %Z")


def suggest_template(incident: Incident) -> str:
    """The message the runbook expects next for this incident."""
    if not incident.is_open or incident.resolved_at is not None:
        return "resolution"
    if incident.notified_at is None:
        return "initial"
    return "update"
