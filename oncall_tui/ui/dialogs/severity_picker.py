"""Choose a severity by the runbook's own criteria, so the judgement is made against the text."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from ...model import Severity
from ...policy import Policy
from .modals import MODAL_CSS

_STYLE = {
    Severity.P0: "$text-error bold",
    Severity.P1: "$text-warning bold",
    Severity.P2: "$text-primary bold",
    Severity.P3: "bold",
}


class SeverityPicker(ModalScreen[Severity | None]):
    """P0–P3 with their criteria; 0–3 picks at once, enter picks the highlighted one."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="SeverityPicker")
        + """
    SeverityPicker > Vertical { width: 76; }
    SeverityPicker OptionList { height: auto; max-height: 100%; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        *(Binding(str(i), f"pick({i})", f"P{i}", show=False) for i in range(4)),
    ]

    def __init__(self, policy: Policy, incident_id: str, current: Severity | None) -> None:
        super().__init__()
        self.policy = policy
        self.incident_id = incident_id
        self.current = current

    def compose(self) -> ComposeResult:
        options = []
        for sev in Severity:
            info = self.policy.severities[sev]
            mark = "  (current)" if sev is self.current else ""
            lines = [Content.assemble((f"{sev.value} {info.name}", _STYLE[sev]), (mark, "$foreground-muted"))]
            lines += [Content(f"   · {c}") for c in info.criteria]
            options.append(Option(Content("\n").join(lines), id=sev.value))
        with Vertical():
            yield Label(f"Severity of {self.incident_id}", classes="title")
            yield OptionList(*options, id="severity-options")
            yield Static("0–3 or enter: choose · escape: cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = list(Severity).index(self.current) if self.current else 0

    def action_pick(self, index: int) -> None:
        self.dismiss(list(Severity)[index])

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(Severity(event.option.id))
