"""The picker behind `E`: page a chosen level (with who holds it now) or a person, now."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ..widgets.paging_status import PagingView
from .modals import MODAL_CSS


class EscalatePicker(ModalScreen[tuple[int | None, str | None] | None]):
    """Page whom? Each level with who holds it now, then every person by name."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="EscalatePicker")
        + """
    EscalatePicker OptionList { height: auto; max-height: 16; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, incident_id: str, view: PagingView) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.view = view

    def compose(self) -> ComposeResult:
        options = []
        for i, h in enumerate(self.view.holders):
            who = h.person or f"nobody ({h.why_nobody})"
            options.append(Option(f"L{i + 1} {h.level} — {who}", id=f"level:{i}"))
        for handle, name in self.view.people:
            options.append(Option(f"{name} ({handle})", id=f"person:{handle}"))
        with Vertical():
            yield Label(f"Page about {self.incident_id} now", classes="title")
            yield OptionList(*options, id="escalate-options", markup=False)
            yield Label("enter pages · esc cancels · every attempt goes on the timeline", classes="hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        self.dismiss((int(value), None) if kind == "level" else (None, value))

    def action_cancel(self) -> None:
        self.dismiss(None)
