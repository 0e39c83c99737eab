"""Multi-field forms: declare an incident, resolve one. Validation happens here, before the desk
is asked, so a typo costs a red line under the field rather than a refused action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from ...errors import InputError
from ...model import Incident, Severity
from ...policy import Policy, load_policy
from ...suggestion import Suggestion, suggest
from ...tenants import parse_tenants
from ...when import parse_past
from .modals import MODAL_CSS

_SEVERITY_STYLE = {
    Severity.P0: "$text-error bold",
    Severity.P1: "$text-warning bold",
    Severity.P2: "$text-primary bold",
    Severity.P3: "bold",
}


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
    tenants: str = ""


class SeverityField(Widget, can_focus=True):
    """The declare form's severity: the picker's choice, not free text.

    Typed ahead it still works: a digit (`1`, `P1`, `sev1`) or the start of a name (`h`igh,
    `c`ritical) sets it; backspace makes it undetermined again; space opens the picker with the
    runbook's criteria and the suggestion marked. A suggestion is shown, never taken by itself.
    """

    DEFAULT_CSS = """
    SeverityField { height: auto; max-height: 3; width: 1fr; background: $boost; padding: 0 1; }
    SeverityField:focus { background: $primary 20%; }
    """
    BINDINGS = [
        Binding("space", "pick", "Picker", show=False),
        Binding("enter", "screen.submit", "Save", show=False),
        Binding("backspace,delete", "clear", "Not determined", show=False),
    ]
    value: reactive[Severity | None] = reactive(None)
    suggestion: reactive[Suggestion | None] = reactive(None)

    def __init__(self, policy: Policy, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.policy = policy
        self._typed = ""
        self._names = {policy.severities[s].name.lower(): s for s in Severity} | {
            n.lower(): s
            for n, s in (
                ("critical", Severity.P0),
                ("high", Severity.P1),
                ("medium", Severity.P2),
                ("low", Severity.P3),
            )
        }

    def render(self) -> Content:
        sev = self.value
        if sev is None:
            chosen = Content.styled("P? not determined", "$text-warning")
        else:
            chosen = Content.styled(f"{sev.value} {self.policy.severities[sev].name}", _SEVERITY_STYLE[sev])
        tip = self.suggestion
        if tip is not None and tip.severity is not sev:
            hint = Content.styled(
                f"  ◆ suggested {tip.severity.value}: {tip.line()} — space to confirm", "$text-accent"
            )
        else:
            hint = Content.styled("  0–3, a name, or space for the picker", "$foreground-muted")
        return chosen + hint

    def on_key(self, event: events.Key) -> None:
        char = (event.character or "").lower()
        if not char or not (char.isalnum() or char == "?"):
            return
        event.stop()
        event.prevent_default()
        if char in "0123":
            self.value, self._typed = Severity(f"P{char}"), ""
            return
        if char == "?":
            self.value, self._typed = None, ""
            return
        self._typed += char
        for attempt in (self._typed, char):
            found = {sev for name, sev in self._names.items() if name.startswith(attempt)}
            if len(found) == 1:
                self.value = found.pop()
                self._typed = attempt
                return
            if found or attempt in ("p", "s", "se", "sev"):  # "p1", "sev1": the digit decides
                self._typed = attempt
                return
        self._typed = ""

    def action_clear(self) -> None:
        self.value, self._typed = None, ""

    def action_pick(self) -> None:
        from .severity_picker import SeverityPicker

        def chosen(severity: Severity | None) -> None:
            self.value = severity
            self.focus()

        self.app.push_screen(
            SeverityPicker(self.policy, "the new incident", self.value, self.suggestion, allow_none=True), chosen
        )


class FormScreen(ModalScreen):
    """Labelled inputs with an error line each; enter or ctrl+s submits, escape cancels."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="FormScreen")
        + """
    FormScreen > Vertical { width: 80; }
    FormScreen VerticalScroll { height: auto; max-height: 1fr; }
    FormScreen .field-label { padding-top: 1; width: 1fr; color: $text-muted; }
    FormScreen .field-label.-first { padding-top: 0; }
    FormScreen.-short .field-label { padding-top: 0; }
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
    # 24 lines: the labels sit right on their fields, so every field and the buttons fit.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    TITLE_TEXT = ""
    SUBMIT_LABEL = "Save"
    HINT = "enter / ctrl+s: save · tab: next field · escape: cancel"
    FIELDS: tuple[tuple[str, str, str], ...] = ()  # (id, label, placeholder)

    def __init__(self, values: dict[str, str] | None = None) -> None:
        super().__init__()
        self.values = values or {}

    def field_widget(self, name: str, placeholder: str) -> Widget:
        # Compact inputs: the form's fields and their errors fit a 24-line terminal.
        return Input(self.values.get(name, ""), placeholder=placeholder, id=f"field-{name}", compact=True)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.TITLE_TEXT, classes="title", markup=False)
            with VerticalScroll(can_focus=False):
                for i, (name, label, placeholder) in enumerate(self.FIELDS):
                    yield Label(label, classes="field-label -first" if i == 0 else "field-label", markup=False)
                    yield self.field_widget(name, placeholder)
                    yield Static("", classes="error", id=f"error-{name}", markup=False)
            with Horizontal(classes="buttons"):
                yield Static(self.HINT, classes="hint")
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
            self.query_one(f"#field-{name}").set_class(bool(message), "-invalid")
            if message and first is None:
                first = name
        if first is not None:
            self.query_one(f"#field-{first}").focus()
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
        ("severity", "Severity (the runbook's suggestion follows what you type below)", ""),
        ("services", "Affected services, comma-separated", "e.g. identity, api-gateway"),
        ("impact", "Initial impact assessment", "who is affected and how"),
        ("tenants", "Tenants affected: names, a count, or both", "e.g. acme, globex · 40 · 40: acme, globex"),
        ("channel", "Communication channel", "e.g. #inc-login"),
        ("started", "Started: empty for now, -20m, 03:12 or an ISO time", "now"),
    )

    def __init__(self, now: datetime, policy: Policy | None = None) -> None:
        super().__init__()
        self.now = now
        self.policy = policy or load_policy(use_user_config=False)

    def field_widget(self, name: str, placeholder: str) -> Widget:
        if name == "severity":
            return SeverityField(self.policy, id="field-severity")
        return super().field_widget(name, placeholder)

    @on(Input.Changed, "#field-title, #field-impact, #field-tenants")
    def _facts_changed(self) -> None:
        try:
            tenants = parse_tenants(self.field("tenants")).affected
        except InputError:
            tenants = 0
        self.query_one(SeverityField).suggestion = suggest(
            self.policy, title=self.field("title"), impact=self.field("impact"), tenants=tenants
        )

    def action_submit(self) -> None:
        errors: dict[str, str] = {}
        title = self.field("title")
        if not title:
            errors["title"] = "a title is required"
        severity = self.query_one(SeverityField).value
        try:
            parse_tenants(self.field("tenants"))
        except InputError as exc:
            errors["tenants"] = str(exc)
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
                tenants=self.field("tenants"),
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
