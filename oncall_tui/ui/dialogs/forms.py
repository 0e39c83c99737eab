"""Multi-field forms: declare an incident, resolve one. Validation happens here, before the desk
is asked, so a typo costs a red line under the field rather than a refused action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...errors import InputError
from ...model import Incident, Severity
from ...when import parse_past
from .modals import MODAL_CSS


def parse_services(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


@dataclass(frozen=True, slots=True)
class Declaration:
    title: str
    severity: Severity | None
    services: list[str]
    impact: str
    channel: str
    started_at: datetime | None


class FormScreen(ModalScreen):
    """Labelled inputs with an error line each; enter or ctrl+s submits, escape cancels."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="FormScreen")
        + """
    FormScreen > Vertical { width: 80; }
    FormScreen VerticalScroll { height: auto; max-height: 1fr; }
    FormScreen .field-label { padding-top: 1; width: 1fr; color: $text-muted; }
    FormScreen .field-label.-first { padding-top: 0; }
    FormScreen Input { background: $boost; }
    FormScreen Input:focus { background: $primary 20%; }
    FormScreen .error { display: none; }
    FormScreen .error.-shown { display: block; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "submit", "Save", show=False),
        # Priority: the focus moves as the key is read, not after the field has seen it, so text typed
        # ahead of a slow link ("title<Tab>P1<Tab>web") lands in the field after the Tab.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
    ]
    TITLE_TEXT = ""
    SUBMIT_LABEL = "Save"
    FIELDS: tuple[tuple[str, str, str], ...] = ()  # (id, label, placeholder)

    def __init__(self, values: dict[str, str] | None = None) -> None:
        super().__init__()
        self.values = values or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.TITLE_TEXT, classes="title", markup=False)
            with VerticalScroll(can_focus=False):
                for i, (name, label, placeholder) in enumerate(self.FIELDS):
                    yield Label(label, classes="field-label -first" if i == 0 else "field-label")
                    # Compact inputs: six fields and their errors fit a 24-line terminal.
                    yield Input(self.values.get(name, ""), placeholder=placeholder, id=f"field-{name}", compact=True)
                    yield Static("", classes="error", id=f"error-{name}", markup=False)
            with Horizontal(classes="buttons"):
                yield Static("enter / ctrl+s: save · tab: next field · escape: cancel", classes="hint")
                yield Button(self.SUBMIT_LABEL, id="submit", variant="primary", compact=True)

    def field(self, name: str) -> str:
        return self.query_one(f"#field-{name}", Input).value.strip()

    def show_errors(self, errors: dict[str, str]) -> bool:
        """Mark each field with its error (or clear it); focus the first bad field. True if any."""
        first = None
        for name, _, _ in self.FIELDS:
            message = errors.get(name, "")
            error = self.query_one(f"#error-{name}", Static)
            error.update(message)
            error.set_class(bool(message), "-shown")
            self.query_one(f"#field-{name}", Input).set_class(bool(message), "-invalid")
            if message and first is None:
                first = name
        if first is not None:
            self.query_one(f"#field-{first}", Input).focus()
        return first is not None

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#submit")
    def _button(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)


class DeclareScreen(FormScreen):
    TITLE_TEXT = "Declare an incident"
    SUBMIT_LABEL = "Declare"
    FIELDS = (
        ("title", "Title (required): what is broken", "e.g. Users cannot log in"),
        ("severity", "Severity: P0–P3, or empty if not determined yet", "P0, P1, P2, P3"),
        ("services", "Affected services, comma-separated", "e.g. identity, api-gateway"),
        ("impact", "Initial impact assessment", "who is affected and how"),
        ("channel", "Communication channel", "e.g. #inc-login"),
        ("started", "Started: empty for now, -20m, 03:12 or an ISO time", "now"),
    )

    def __init__(self, now: datetime) -> None:
        super().__init__()
        self.now = now

    def action_submit(self) -> None:
        errors: dict[str, str] = {}
        title = self.field("title")
        if not title:
            errors["title"] = "a title is required"
        severity = None
        if raw := self.field("severity"):
            try:
                severity = Severity.parse(raw)
            except InputError as exc:
                errors["severity"] = str(exc)
        started = None
        try:
            started = parse_past(self.field("started"), self.now)
        except InputError as exc:
            errors["started"] = str(exc)
        if self.show_errors(errors):
            return
        self.dismiss(
            Declaration(
                title=title,
                severity=severity,
                services=parse_services(self.field("services")),
                impact=self.field("impact"),
                channel=self.field("channel"),
                started_at=started,
            )
        )


class ResolveScreen(FormScreen):
    """What the Resolution message needs: root cause and resolution (required), prevention."""

    SUBMIT_LABEL = "Resolve"
    FIELDS = (
        ("root_cause", "Root cause (required)", "what caused the issue"),
        ("resolution", "Resolution (required)", "how it was fixed"),
        ("prevention", "Prevention", "how to prevent recurrence"),
    )

    def __init__(self, incident: Incident) -> None:
        super().__init__({name: getattr(incident, name) for name, _, _ in self.FIELDS})
        self.TITLE_TEXT = f"Resolve {incident.id}: {incident.title}"

    def action_submit(self) -> None:
        errors = {
            name: f"{label.split(' (')[0].lower()} is required to resolve"
            for name, label, _ in self.FIELDS[:2]
            if not self.field(name)
        }
        if self.show_errors(errors):
            return
        self.dismiss({name: self.field(name) for name, _, _ in self.FIELDS})
