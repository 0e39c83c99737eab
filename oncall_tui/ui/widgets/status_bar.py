"""The top line: which desk this is, how bad things are, the filter, who you are and the time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual import getters
from textual.content import Content
from textual.widget import Widget

from ...clock import format_local
from .board import IncidentBoard

if TYPE_CHECKING:
    from ..app import OncallApp


class DeskStatus(Widget):
    if TYPE_CHECKING:
        app = getters.app(OncallApp)

    DEFAULT_CSS = """
    DeskStatus { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(
        self,
        board: IncidentBoard,
        db_name: str,
        actor: str,
        *,
        readonly: bool = False,
        demo: bool = False,
        alerts: bool | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.alerts = alerts  # False: no Alertmanager configured (say so); True/None: its own indicator speaks
        self.demo = demo
        self.board = board
        self.db_name = db_name
        self.actor = actor
        self.readonly = readonly
        self._counted: tuple[int, tuple[int, int, int]] | None = None
        self._checking = ""  # the startup integrity check's progress, while it runs

    def show_checking(self, done: int | None, total: int | None) -> None:
        """How far the startup integrity check got (None: it finished)."""
        self._checking = f"checking the record {100 * done // max(1, total)}%" if done is not None and total else ""
        self.refresh()

    def on_mount(self) -> None:
        self.watch(self.app, "now", self._tick, init=False)

    def _tick(self, now: datetime) -> None:
        self.refresh()

    def _counts(self) -> tuple[int, int, int]:
        """(open, breached, unacknowledged), counted again only when the board's rows changed."""
        model = self.board.model
        if self._counted is None or self._counted[0] != model.revision:
            open_rows = [r for r in model.all_rows() if r.incident.is_open]
            self._counted = (
                model.revision,
                (
                    len(open_rows),
                    sum(1 for r in open_rows if r.breached),
                    sum(1 for r in open_rows if r.incident.acknowledged_at is None),
                ),
            )
        return self._counted[1]

    def render(self) -> Content:
        model = self.board.model
        open_count, breached, unacked = self._counts()
        # Narrow terminals keep what matters at 3 a.m.: the counts, the filter and the time.
        wide = self.content_size.width >= 100
        left = [("oncall-tui", "bold")]
        if wide:
            left.append((f" {self.db_name}", "$foreground-muted"))
        if self.demo:  # a demo board must never be mistaken for the real desk
            left.append((" DEMO", "$text-accent bold"))
        if self.readonly:
            left.append((" read-only", "$text-warning bold"))
        left.append(("  ", ""))
        if not open_count:
            left.append(("no open incidents", "$text-success"))
        else:
            left.append((f"{open_count} open", "bold"))
            if breached:
                left.append((" · ", ""))
                left.append((f"!! {breached} breached", "$text-error bold"))
            if unacked:
                left.append((" · ", ""))
                left.append((f"{unacked} {'unacknowledged' if wide else 'unacked'}", "$text-warning"))
        if model.filter.active:
            shown = f"{len(model.rows)} shown" if wide else str(len(model.rows))
            left.append((f"  filter: {model.filter.text} ({shown})", "$text-accent"))
        if self.board.show_closed:  # `c` is on: the board holds more than the open incidents
            left.append(("  +closed", "$text-accent bold"))
        if self.alerts is False:
            # No Alertmanager: alerts reach nobody through this desk, and a newcomer should know how.
            how = " (--alertmanager URL turns them on)" if wide else ""
            left.append(("  alerts: off", "$text-warning"))
            left.append((how, "$foreground-muted"))
        if self._checking:
            left.append((f"  {self._checking}", "$foreground-muted"))
        now = self.app.now
        right = Content.assemble(
            (f"{self.actor}  " if wide else "", "$foreground-muted"),
            (format_local(now, with_date=False), "bold"),
            (" " + now.astimezone().strftime("%Z"), "$foreground-muted"),
        )
        left_content = Content.assemble(*left)
        space = self.content_size.width - right.cell_length
        if left_content.cell_length > space - 1:
            left_content = left_content.truncate(max(0, space - 1), ellipsis=True)
        return left_content + Content(" " * max(1, space - left_content.cell_length)) + right
