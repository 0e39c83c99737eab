"""A search box over a list of runbooks: the runbook library's list and the runbook chooser's."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ...runbooks import Runbook, RunbookLibrary


class RunbookSearch(Vertical):
    """A search box over a list of runbooks; Enter on either picks the highlighted one."""

    DEFAULT_CSS = """
    RunbookSearch { height: 1fr; }
    RunbookSearch Input { margin-bottom: 1; }
    RunbookSearch OptionList {
        height: 1fr; border: none; padding: 0; background: transparent;
        text-wrap: nowrap; text-overflow: ellipsis;
        &:focus { border: none; }
    }
    """
    BINDINGS = [
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    class Chosen(Message):
        def __init__(self, runbook_id: str) -> None:
            super().__init__()
            self.runbook_id = runbook_id

    class Highlighted(Message):
        def __init__(self, runbook_id: str | None) -> None:
            super().__init__()
            self.runbook_id = runbook_id

    def __init__(
        self,
        library: RunbookLibrary,
        *,
        first: list[str] | None = None,
        notes: dict[str, str] | None = None,
        current: str = "",
        include_process: bool = True,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.library = library
        self.first = first or []
        self.notes = notes or {}
        self.current = current
        self.include_process = include_process

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search runbooks", id="runbook-query")
        yield OptionList(id="runbook-hits")

    def on_mount(self) -> None:
        self.refill()

    @property
    def query_text(self) -> str:
        return self.query_one("#runbook-query", Input).value

    @property
    def highlighted_id(self) -> str | None:
        option = self.query_one("#runbook-hits", OptionList).highlighted_option
        return option.id if option is not None and option.id and not option.disabled else None

    def refill(self, keep: str | None = None) -> None:
        """Fill the list for the current query, keeping `keep` (or the highlighted runbook) selected."""
        keep = keep or self.highlighted_id
        hits = [h for h in self.library.search(self.query_text) if self.include_process or not h.runbook.is_process]
        if not self.query_text.strip():
            rank = {rid: i for i, rid in enumerate(self.first)}
            hits.sort(key=lambda h: rank.get(h.runbook.id, len(rank)))
        options = [Option(self._prompt(h.runbook, h.excerpt), id=h.runbook.id) for h in hits]
        hits_list = self.query_one("#runbook-hits", OptionList)
        hits_list.set_options(options)
        ids = [h.runbook.id for h in hits]
        if ids:
            hits_list.highlighted = ids.index(keep) if keep in ids else 0
        else:
            self.post_message(self.Highlighted(None))

    def _prompt(self, rb: Runbook, excerpt: str) -> Content:
        line = Content.styled(rb.title, "bold")
        if rb.id == self.current:
            line += Content.styled(" (current)", "$text-success")
        meta = f"v{rb.version} · {rb.step_count} steps"
        if not self.library.is_shipped(rb):
            meta += " · yours"
        if rb.is_process:
            meta += " · every incident"
        elif excerpt:
            meta += f" · {excerpt}"
        line += Content.styled(f"\n{meta}", "$text-muted")
        note = self.notes.get(rb.id)
        if note:
            line += Content.styled(f"\nsuggested: {note}", "$text-warning")
        return line

    @on(Input.Changed, "#runbook-query")
    def _query_changed(self) -> None:
        self.refill()

    @on(Input.Submitted, "#runbook-query")
    def _submitted(self) -> None:
        if (rid := self.highlighted_id) is not None:
            self.post_message(self.Chosen(rid))

    @on(OptionList.OptionSelected, "#runbook-hits")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and not event.option.disabled:
            self.post_message(self.Chosen(event.option.id))

    @on(OptionList.OptionHighlighted, "#runbook-hits")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.Highlighted(event.option.id))

    def action_move(self, step: int) -> None:
        hits = self.query_one("#runbook-hits", OptionList)
        if step > 0:
            hits.action_cursor_down()
        else:
            hits.action_cursor_up()
