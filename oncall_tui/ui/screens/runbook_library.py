"""The runbook library: every runbook, searchable, readable, and editable in $EDITOR.

The runbook's own follow-up step is "update runbooks with new information"; this screen is where
that happens. A shipped runbook is never edited in place (the package may be read-only, and an
upgrade would overwrite it): it is first copied into the user's runbook directory, and the copy,
which has the same id, replaces it from then on. Files that could not be used are listed with the
reason, so a typo in a runbook is found here rather than at 3 a.m.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import getters, on
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from ...paths import editor_command
from ...runbooks import Runbook, RunbookLibrary, readable_markdown
from ..widgets.footer import DeskFooter
from ..widgets.runbook_search import RunbookSearch

if TYPE_CHECKING:
    from textual.widgets import Markdown

    from ..app import OncallApp


def _markdown_widget():
    # Textual's Markdown widget brings markdown-it (~40 ms): the library screen pays for it when it
    # opens, not the first time the runbook pane is shown.
    from textual.widgets import Markdown

    return Markdown("", id="library-markdown")


def _matched_by(rb: Runbook) -> str:
    """What makes an incident pick this runbook, for the author who wonders why it did (or not)."""
    rules = rb.match
    lines = [
        f"- {label}: " + ", ".join(f"`{v}`" for v in values)
        for label, values in (
            ("services", rules.services),
            ("alert names", rules.alertnames),
            ("keywords", rules.keywords),
        )
        if values
    ]
    lines += [f"- label `{key}`: " + ", ".join(f"`{v}`" for v in values) for key, values in rules.labels.items()]
    if rb.is_process:
        return "\n\n---\n\n*Applies to every incident.*\n"
    if not lines:
        return "\n\n---\n\n*Matches no incident by itself: choose it with r.*\n"
    return "\n\n---\n\n**Matched by**\n\n" + "\n".join(lines) + "\n"


class RunbookLibraryScreen(Screen):
    """All runbooks: search on the left, the highlighted one read-only on the right."""

    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    DEFAULT_CSS = """
    RunbookLibraryScreen #library-body { height: 1fr; }
    RunbookLibraryScreen #library-list { padding: 0 1; }
    RunbookLibraryScreen #library-view { width: 3fr; border-left: vkey $foreground 20%; padding: 0 1; }
    RunbookLibraryScreen #library-meta { color: $text-muted; height: auto; }
    RunbookLibraryScreen #library-title { text-style: bold; height: 1; padding: 0 1; background: $panel; }
    RunbookLibraryScreen #library-left { width: 2fr; min-width: 30; max-width: 56; }
    RunbookLibraryScreen #library-problems { height: auto; max-height: 40%; color: $text-warning; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Back", id="library.close"),
        Binding(
            "e",
            "edit",
            "Edit in $EDITOR",
            tooltip="Open the runbook file in your editor; reloaded on return",
            id="library.edit",
        ),
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the runbook files again", id="library.reload"),
        Binding("slash", "search", "Search", id="library.search"),
        Binding("tab", "focus_next", "Next", show=False),
    ]

    def __init__(self, library: RunbookLibrary, *, runbook_id: str | None = None) -> None:
        super().__init__()
        self.library = library
        self.start_id = runbook_id
        self.shown: Runbook | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="library-title")
        with Horizontal(id="library-body"):
            with Vertical(id="library-left"):
                yield RunbookSearch(self.library, id="library-list")
                yield Static("", id="library-problems")
            with VerticalScroll(id="library-view"):
                yield Static("", id="library-meta")
                yield _markdown_widget()
        yield DeskFooter(compact=False)

    def _title(self) -> str:
        count = len(self.library)
        broken = sum(1 for p in self.library.problems if p.skipped)
        text = f"Runbook library — {count} runbook{'s' * (count != 1)}"
        if broken:
            text += f", {broken} file{'s' * (broken != 1)} skipped (see below the list)"
        return text

    def _problems(self) -> Content:
        return Content("\n").join(
            Content.assemble(
                ("⚠ ", "bold"), (p.path.name, "bold"), f": {p.message}" + ("" if p.skipped else " (loaded)")
            )
            for p in self.library.problems
        )

    def on_mount(self) -> None:
        self.query_one("#library-problems", Static).update(self._problems())
        search = self.query_one(RunbookSearch)
        search.refill(keep=self.start_id)
        # Focus on the list, so single keys (e to edit) act; / goes to the search box.
        self.query_one("#runbook-hits", OptionList).focus()

    @on(RunbookSearch.Highlighted)
    def _highlighted(self, event: RunbookSearch.Highlighted) -> None:
        self.show_runbook(self.library.get(event.runbook_id) if event.runbook_id else None)

    @on(RunbookSearch.Chosen)
    def _chosen(self, event: RunbookSearch.Chosen) -> None:
        # Enter in the search box goes to the list; Enter on the list goes to the text, to scroll it.
        hits = self.query_one("#runbook-hits", OptionList)
        (self.query_one("#library-view") if hits.has_focus else hits).focus()

    def show_runbook(self, rb: Runbook | None) -> None:
        if rb is self.shown and rb is not None:
            return
        self.shown = rb
        meta = self.query_one("#library-meta", Static)
        view = cast("Markdown", self.query_one("#library-markdown"))  # imported late, for start-up time
        if rb is None:
            meta.update("No runbook matches the search.")
            view.update("")
            return
        where = "shipped (e edits your own copy)" if self.library.is_shipped(rb) else str(rb.path)
        meta.update(f"{rb.id} · version {rb.version} · {rb.step_count} steps · {where}")
        view.update(readable_markdown(rb) + _matched_by(rb))
        self.query_one("#library-view", VerticalScroll).scroll_home(animate=False)

    # --- actions ---

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_search(self) -> None:
        self.query_one("#runbook-query", Input).focus()

    def action_reload(self) -> None:
        self._reloaded(self.library.reload(), quiet=False)

    def action_edit(self) -> None:
        rb = self.shown
        if rb is None:
            return
        try:
            path = self.editable_path(rb)
        except OSError as exc:
            self.notify(
                f"Could not copy {rb.path.name} to {self.library.edit_dir}: {exc.strerror or exc}",
                title="Not edited",
                severity="error",
            )
            return
        try:
            command = editor_command(path)
        except ValueError as exc:
            self.notify(str(exc), title="Not edited", severity="error", markup=False)
            return
        try:
            with self.app.suspend():
                finished = subprocess.run(command, check=False)
        except SuspendNotSupported:
            self.notify(
                f"This terminal cannot hand over to an editor; edit {path} and press ctrl+r.",
                title="Not edited",
                severity="warning",
            )
            return
        except OSError as exc:
            self.notify(
                f"Could not start {command[0]!r} ({exc.strerror or exc}); set $EDITOR.",
                title="Not edited",
                severity="error",
            )
            return
        if finished.returncode != 0:
            self.notify(f"{command[0]} exited with status {finished.returncode}", severity="warning")
        self.shown = None  # the file may have changed: show it again whatever reload says
        self._reloaded(self.library.reload(), quiet=True, path=path)

    def editable_path(self, rb: Runbook) -> Path:
        """The file to edit for `rb`: the user's own copy, made now for a shipped runbook."""
        if not self.library.is_shipped(rb):
            return rb.path
        target = self.library.edit_dir / rb.path.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(rb.path, target)
            self.notify(f"Editing your copy, {target}; it replaces the shipped runbook from now on.", title=rb.title)
        return target

    def _reloaded(self, changed: bool, *, quiet: bool, path: Path | None = None) -> None:
        search = self.query_one(RunbookSearch)
        current = self.shown.id if self.shown else search.highlighted_id
        self.shown = None
        self.query_one("#library-title", Static).update(self._title())
        self.query_one("#library-problems", Static).update(self._problems())
        search.refill(keep=current)
        for problem in self.library.problems:
            if path is None or problem.path == path:
                self.notify(
                    problem.message,
                    title=f"{problem.path.name}",
                    severity="error" if problem.skipped else "warning",
                    timeout=10,
                )
        if changed:
            self.app.refresh_incidents()  # the incident panes show the new text and version
        if not quiet:
            self.notify("Runbooks reloaded" if changed else "No runbook files changed")
