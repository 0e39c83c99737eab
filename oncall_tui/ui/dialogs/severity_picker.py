"""Choose a severity by the runbook's own criteria, so the judgement is made against the text.

When the incident's tenants, impact or alert labels meet one of the policy's criteria, the picker
marks the severity they suggest and says which criterion matched and why; the cursor starts there
when no severity is set yet. It is a suggestion: only the engineer's enter (or key) sets anything.
"""

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
from ...suggestion import Suggestion
from .modals import MODAL_CSS

_STYLE = {
    Severity.P0: "$text-error bold",
    Severity.P1: "$text-warning bold",
    Severity.P2: "$text-primary bold",
    Severity.P3: "bold",
}


def severity_keys(policy: Policy) -> dict[str, Severity]:
    """One letter per severity name ('c' critical, 'h' high…), where the first letters differ."""
    firsts = [policy.severities[s].name[:1].lower() for s in Severity]
    return {
        letter: sev
        for letter, sev in zip(firsts, Severity, strict=True)
        if letter.isalpha() and firsts.count(letter) == 1
    }


class SeverityPicker(ModalScreen[Severity | None]):
    """P0–P3 with their criteria; 0–3 (or a name's first letter) picks at once, enter the highlighted one."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="SeverityPicker")
        + """
    SeverityPicker > Vertical { width: 76; }
    SeverityPicker OptionList { height: auto; max-height: 100%; }
    SeverityPicker #suggestion { color: $text-accent; padding: 0 0 1 0; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        *(Binding(str(i), f"pick({i})", f"P{i}", show=False) for i in range(4)),
    ]

    def __init__(
        self,
        policy: Policy,
        incident_id: str,
        current: Severity | None,
        suggestion: Suggestion | None = None,
        *,
        allow_none: bool = False,
    ) -> None:
        super().__init__()
        self.policy = policy
        self.incident_id = incident_id
        self.current = current
        self.suggestion = suggestion
        self.allow_none = allow_none  # the declare form may leave it undetermined
        self.letters = severity_keys(policy)
        for letter, sev in self.letters.items():
            self._bindings.bind(letter, f"pick({list(Severity).index(sev)})", sev.value, show=False)
        if allow_none:
            self._bindings.bind("question_mark", "undetermined", "Not determined", show=False)

    def compose(self) -> ComposeResult:
        options = []
        suggested = self.suggestion.severity if self.suggestion else None
        for sev in Severity:
            info = self.policy.severities[sev]
            marks = []
            if sev is self.current:
                marks.append(("  (current)", "$foreground-muted"))
            if sev is suggested:
                marks.append(("  ◆ suggested", "$text-accent bold"))
            lines = [Content.assemble((f"{sev.value} {info.name}", _STYLE[sev]), *marks)]
            tip = self.suggestion if sev is suggested else None
            for criterion in info.criteria:
                if tip is not None and criterion == tip.criterion:
                    lines.append(Content.styled(f" ◆ {criterion}: {tip.because}", "$text-accent"))
                else:
                    lines.append(Content(f"   · {criterion}"))
            if sev is suggested and self.suggestion is not None and self.suggestion.criterion not in info.criteria:
                lines.append(Content.styled(f" ◆ {self.suggestion.line()}", "$text-accent"))
            options.append(Option(Content("\n").join(lines), id=sev.value))
        if self.allow_none:
            options.append(
                Option(Content.styled("P? not determined yet (its 15-minute clock runs)", "bold"), id="none")
            )
        names = ", ".join(f"{k} {self.policy.severities[s].name.lower()}" for k, s in self.letters.items())
        with Vertical():
            yield Label(f"Severity of {self.incident_id}", classes="title", markup=False)
            yield Static(self._suggestion_line(), id="suggestion", markup=False)
            yield OptionList(*options, id="severity-options")
            hint = f"0–3 or {names}, or enter: choose" + (" · ?: not determined" if self.allow_none else "")
            yield Static(hint + " · escape: cancel", classes="hint", markup=False)

    def _suggestion_line(self) -> str:
        s = self.suggestion
        if s is None:
            return "No criterion matches its title, impact or tenants yet: judge it against the list."
        verb = "keeps" if s.severity is self.current else "suggests"
        return f"The runbook {verb} {s.severity.value}: {s.line()}. Enter confirms; nothing is set until you choose."

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        start = self.current or (self.suggestion.severity if self.suggestion else None)
        if start is not None:
            options.highlighted = list(Severity).index(start)
        else:
            options.highlighted = len(Severity) if self.allow_none else 0

    def action_pick(self, index: int) -> None:
        self.dismiss(list(Severity)[index])

    def action_undetermined(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(self.current if self.allow_none else None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(None if event.option.id == "none" else Severity(event.option.id))
