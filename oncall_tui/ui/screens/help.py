"""`?`: every key the desk answers to, read from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.content import Content
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

# The board's colours, each key drawn in the style the board uses for it: (text, style, meaning).
LEGEND = [
    ("P0", "$text-error bold", "critical: complete outage for many tenants, security, legal evidence, compliance"),
    ("P1", "$text-warning bold", "high: core functionality degraded, one tenant down, below SLO"),
    ("P2", "$text-primary", "medium: minor issues, one user, non-critical security events"),
    ("P3", "$foreground-muted", "low: minor with a workaround, requests, documentation"),
    ("P?", "$text-warning reverse", "not determined yet: its 15-minute clock runs, and it may be a P0"),
    ("!! … overdue", "$text-error bold", "a deadline was missed and the action is still not done"),
    ("! … in 45s", "$text-warning bold", "a deadline is close (the last 20% of its time, at least a minute)"),
    ("done", "$text-success", "a clock whose action was done in time"),
    ("L2 L3 …", "$text-warning", "escalation level reached: the detail pane says whom to call now"),
    ("◆ suggested", "$text-accent bold", "the severity the runbook's criteria suggest: s, then enter, confirms it"),
    ("MONITORING IS BLIND", "$error", "red line first on the board: no alert can reach the desk"),
]
# Other screens' words for what their colours mean, by screen class name.
SCREEN_LEGENDS: dict[str, list[tuple[str, str, str]]] = {
    "ComposerScreen": [
        ("italic field", "italic", "typed for this message only (ctrl+s saves it to the incident)"),
        ("red field", "$error", "the message needs a value here before it can be sent"),
        ("edited by hand", "$text-warning", "the text is yours now; ctrl+r rebuilds it from the fields"),
        ("due / OVERDUE", "$text-warning", "the clock this message meets: notify stakeholders, next update"),
    ],
    "ReviewScreen": [
        ("**bold** line", "bold", "a missed deadline on the timeline"),
        ("Review overdue", "$text-error bold", "past the 48 hours the runbook allows"),
        ("not scheduled", "$text-warning", "press s to schedule the review"),
    ],
    "MetricsScreen": [
        ("missed", "$text-warning", "deadlines the timeline records as missed, per kind"),
    ],
    "OnCallScreen": [
        ("accent name", "$text-accent", "an override holds the pager there (its number and who made it follow)"),
        ("nobody", "$text-error bold", "a gap: no layer and no override covers that stretch; nobody is paged"),
        ("muted line", "$foreground-muted", "on the audit trail: a cancellation"),
    ],
    "RunbookLibraryScreen": [
        ("⚠ warnings", "$text-warning", "files the library skipped or read with problems (at the bottom)"),
    ],
}
GENERIC_MOVES = [
    ("tab shift+tab", "next / previous field or pane"),
    ("ctrl+p", "command palette: every action of this screen by name"),
    ("escape", "back (a draft or unsaved text is kept where the screen says so)"),
    ("f1", "this help, from any screen (? types a ? where there is text to write)"),
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
        described = self.described
        actions = [(key_label(self.app, b), b.tooltip or b.description) for b in bindings_of(described)]
        name = type(described).__name__
        board = name == "BoardScreen"
        title = "oncall-tui — keys" if board else f"oncall-tui — keys of the {_screen_title(described)}"
        with Vertical():
            yield Label(title, classes="title", markup=False)
            with VerticalScroll(id="help-body"):
                if board:
                    yield from self._section("Actions on the selected incident and the desk", actions, first=True)
                    yield from self._section("Moving around", NAVIGATION)
                    yield from self._section("Filter ( / ): everything given must match", list(FILTER_HELP))
                    yield from self._legend("Reading the board: the colours", LEGEND)
                    yield from self._section("Settings", self._settings())
                else:
                    yield from self._section("Keys of this screen", actions, first=True)
                    yield from self._section("Moving around", GENERIC_MOVES)
                    if legend := SCREEN_LEGENDS.get(name):
                        yield from self._legend("What the colours say here", legend)
            yield Static("escape, q or ?: close · ↑/↓ scroll", classes="hint")

    def _section(self, title: str, rows: list[tuple[str, str]], *, first: bool = False) -> ComposeResult:
        yield Label(title, classes="section -first" if first else "section")
        with Grid():
            for key, text in rows:
                yield Static(key, classes="key", markup=False)
                yield Static(text, markup=False)

    def _settings(self) -> list[tuple[str, str]]:
        app = self.app
        desk = getattr(app, "desk", None)
        options = getattr(app, "options", None)
        rows = []
        if desk is not None:
            rows.append(("policy", " + ".join(desk.policy.sources) + " — read at startup: restart the desk to apply"))
        rows.append(
            ("config.toml", "~/.config/oncall-tui/config.toml — restart to apply; [chat] is read again on ctrl+g")
        )
        if options is not None and not options.alertmanager_url:
            rows.append(("alerts: off", "start with --alertmanager URL, or set url in [alertmanager] of config.toml"))
        return rows

    def _legend(self, title: str, rows: list[tuple[str, str, str]]) -> ComposeResult:
        yield Label(title, classes="section")
        with Grid():
            for sample, style, text in rows:
                yield Static(Content.styled(sample, style), classes="legend")
                yield Static(text, markup=False)


def _screen_title(screen: Screen) -> str:
    words = {
        "ComposerScreen": "composer",
        "ReviewScreen": "review screen",
        "MetricsScreen": "metrics screen",
        "RunbookLibraryScreen": "runbook library",
        "OnCallScreen": "on-call screen",
    }
    return words.get(type(screen).__name__) or type(screen).__name__.removesuffix("Screen").lower()
