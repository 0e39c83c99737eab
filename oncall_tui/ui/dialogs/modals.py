"""Small dialogs: confirm, one line of text, and pick a field to edit.

Each is a `ModalScreen` that returns its answer through `dismiss` (None when cancelled), so the
caller reads as `self.push_screen(ConfirmScreen(...), callback)`.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

MODAL_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
}}
{name} > Vertical {{
    width: 72;
    max-width: 100%;
    height: auto;
    max-height: 100%;
    border: thick $primary 80%;
    background: $surface;
    padding: 0 1;
}}
{name} .title {{ text-style: bold; width: 1fr; padding-bottom: 1; }}
{name} .hint {{ color: $text-muted; width: 1fr; }}
{name} .error {{ color: $text-error; width: 1fr; }}
{name} .buttons {{ height: auto; align-horizontal: right; padding-top: 1; }}
{name} .buttons Button {{ margin-left: 1; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask before an irreversible step; y/enter confirms, n/escape declines."""

    DEFAULT_CSS = MODAL_CSS.format(name="ConfirmScreen")
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, detail: str = "", *, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.labels = (yes, no)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="title", markup=False)
            if self.detail:
                yield Static(self.detail, classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.labels[1]} (n)", id="no")
                yield Button(f"{self.labels[0]} (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class PasteAllInput(Input):
    """A one-line input that keeps every line of a paste: Textual's keeps only the first, so a log
    excerpt pasted into a note would lose all but its first line without a word."""

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()  # Input's own handler would then insert the first line again
        lines = [line.strip() for line in event.text.splitlines() if line.strip()]
        text = " · ".join(lines)
        if self.selection.is_empty:
            self.insert_text_at_cursor(text)
        else:
            self.replace(text, *self.selection)


class TextPrompt(ModalScreen[str | None]):
    """One line of text: enter submits (if `check` accepts it), escape cancels.

    `check(text)` returns an error message to show, or None when the text is fine.
    """

    DEFAULT_CSS = MODAL_CSS.format(name="TextPrompt")
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self,
        title: str,
        value: str = "",
        *,
        placeholder: str = "",
        hint: str = "",
        check: Callable[[str], str | None] | None = None,
        allow_empty: bool = True,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.prompt_title = title
        self.value = value
        self.placeholder = placeholder
        self.hint = hint
        self.check = check
        self.allow_empty = allow_empty

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt_title, classes="title", markup=False)
            yield PasteAllInput(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", classes="error", id="prompt-error", markup=False)
            yield Static(
                (self.hint + "\n" if self.hint else "") + "enter: save · escape: cancel",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#prompt-error").display = False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        problem = None
        if not text and not self.allow_empty:
            problem = "this needs some text"
        elif self.check is not None:
            problem = self.check(text)
        if problem:
            error = self.query_one("#prompt-error", Static)
            error.update(problem)
            error.display = True
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FieldPicker(ModalScreen[str | None]):
    """Choose which field of the incident to edit; shows each field's current value."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="FieldPicker")
        + """
    FieldPicker OptionList { height: auto; max-height: 14; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, fields: list[tuple[str, str, str]], *, title: str = "Edit which field?") -> None:
        """`fields`: (field name, label, current value)."""
        super().__init__()
        self.fields = fields
        self.title_text = title

    def compose(self) -> ComposeResult:
        width = max(len(label) for _, label, _ in self.fields) + 2
        options = [Option(f"{label:<{width}}{_preview(value)}", id=name) for name, label, value in self.fields]
        with Vertical():
            yield Label(self.title_text, classes="title", markup=False)
            yield OptionList(*options, id="field-options", markup=False)
            yield Static("enter: edit · escape: cancel", classes="hint")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _preview(value: str, limit: int = 40) -> str:
    flat = " ".join(value.split())
    if not flat:
        return "—"
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
