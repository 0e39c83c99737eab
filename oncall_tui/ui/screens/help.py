"""`?`: every key the desk answers to, read from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from ..dialogs.modals import MODAL_CSS
from ..filtering import FILTER_HELP

NAVIGATION = [
    ("↑ ↓ j k", "move on the board"),
    ("pgup pgdn", "a page up / down"),
    ("home end", "first / last incident"),
    ("tab shift+tab", "next / previous pane"),
    ("[ ] ← →", "previous / next tab of the detail pane (← → on its tab names; a click opens one)"),
    ("space", "in the Runbook and Process tabs: tick or untick the highlighted step"),
    ("ctrl+p", "command palette: every action by name, and go to an incident"),
    ("escape", "close a dialog; on the board, clear the filter"),
]

LEGEND = [
    ("P0 P1 P2 P3", "severity; P? = not determined yet (its 15-minute clock is running)"),
    ("!! … overdue", "a deadline was missed and the action is still not done"),
    ("! … in 45s", "a deadline is close (the last 20% of its time, at least a minute)"),
    ("L2 L3 …", "escalation level reached: the detail pane says whom to call now"),
]


def bindings_of(screen: Screen) -> list[Binding]:
    """The actions of `screen` and of the app that carry a description, in declaration order (the
    screen's own first: they are what its footer shows first)."""
    seen: set[str] = set()
    out = []
    for binding in (*type(screen).BINDINGS, *type(screen.app).BINDINGS):
        if isinstance(binding, Binding) and binding.description:
            key = binding.id or binding.action
            if key not in seen:
                seen.add(key)
                out.append(binding)
    return out


def key_label(app: App[object], binding: Binding) -> str:
    keys = [app.get_key_display(Binding(k.strip(), binding.action)) for k in binding.key.split(",")]
    return " ".join(keys)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="HelpScreen")
        + """
    HelpScreen > Vertical { width: 90; height: 1fr; max-height: 44; }
    HelpScreen VerticalScroll { height: 1fr; }
    HelpScreen .section { text-style: bold; color: $text-accent; padding-top: 1; }
    HelpScreen .section.-first { padding-top: 0; }
    HelpScreen Grid { grid-size: 2; grid-columns: 16 1fr; grid-gutter: 0 1; height: auto; }
    HelpScreen Grid .key { text-style: bold; }
    HelpScreen Grid Static { height: auto; }
    """
    )
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", show=False)]

    def __init__(self, screen: Screen) -> None:
        """`screen`: the one whose keys are listed (with the app's)."""
        super().__init__()
        self.described = screen

    def compose(self) -> ComposeResult:
        actions = [(key_label(self.app, b), b.tooltip or b.description) for b in bindings_of(self.described)]
        with Vertical():
            yield Label("oncall-tui — keys", classes="title")
            with VerticalScroll(id="help-body"):
                yield from self._section("Actions on the selected incident and the desk", actions, first=True)
                yield from self._section("Moving around", NAVIGATION)
                yield from self._section("Filter ( / ): everything given must match", list(FILTER_HELP))
                yield from self._section("Reading the board", LEGEND)
            yield Static("escape, q or ?: close · ↑/↓ scroll", classes="hint")

    def _section(self, title: str, rows: list[tuple[str, str]], *, first: bool = False) -> ComposeResult:
        yield Label(title, classes="section -first" if first else "section")
        with Grid():
            for key, text in rows:
                yield Static(key, classes="key", markup=False)
                yield Static(text, markup=False)
