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
        self._checking = ""  # the startup integrity check's progress, while it runs
        self._behind = False  # it changed while another widget was maximised

    def show_checking(self, done: int | None, total: int | None) -> None:
        """How far the startup integrity check got (None: it finished)."""
        self._checking = f"checking the record {100 * done // max(1, total)}%" if done is not None and total else ""
        self.refresh()

    def on_mount(self) -> None:
        self.watch(self.app, "now", self._tick, init=False)
        self.watch(self.screen, "maximized", self._maximized, init=False)

    def _tick(self, now: datetime) -> None:
        self.changed()

    def changed(self) -> None:
        """Show the time and the counts as they are now, when it is on screen.

        Under a maximised widget (Textual then arranges that widget and the footer alone) it waits:
        a frame with a widget off screen marked for repaint makes Textual rebuild its map of every
        widget, about half a millisecond of each tick on a board of 10k.
        """
        if self._hidden():
            self._behind = True
        else:
            self.refresh()

    def _hidden(self) -> bool:
        maximized = self.screen.maximized
        return maximized is not None and maximized is not self and maximized not in self.ancestors

    def _maximized(self, _maximized: object) -> None:
        if self._behind and not self._hidden():  # before the frame that shows it again
            self._behind = False
            self.refresh()

    def _counts(self) -> tuple[int, int, int]:
        """(open, breached, unacknowledged): the board model keeps them as its rows change."""
        return self.board.model.counts

    def render(self) -> Content:
        """The line at the most detail that fits whole. What goes first: the Alertmanager hint, the
        file's name, the long words, the actor (whole), "alerts: off", the product's name, the long
        counts. The clock and the counts stay; nothing is cut mid-word."""
        width = self.content_size.width
        wide = width >= 100
        now = self.app.now
        clock = Content.assemble(
            (format_local(now, with_date=False), "bold"), (" " + now.astimezone().strftime("%Z"), "$foreground-muted")
        )
        actor = Content.styled(f"{self.actor}  ", "$foreground-muted")
        # (file name, hint, long words, actor, alerts: off, product name, long counts)
        steps = [
            (True, "long", True, True, True, True, True),
            (True, "short", True, True, True, True, True),
            (True, "", True, True, True, True, True),
            (False, "", True, True, True, True, True),
            (False, "", False, True, True, True, True),
            (False, "", False, False, True, True, True),
            (False, "", False, False, False, True, True),
            (False, "", False, False, False, False, True),
            (False, "", False, False, False, False, False),
        ]
        if not wide:  # a narrow line starts where the wide one ended up: short words, no name, no actor
            steps = steps[5:]
        left, right = Content(""), clock
        for db_name, hint, long_words, with_actor, alerts, product, long_counts in steps:
            left = self._left(
                db_name=db_name, hint=hint, long_words=long_words, alerts=alerts, product=product, counts=long_counts
            )
            right = actor + clock if with_actor else clock
            if left.cell_length + 2 + right.cell_length <= width:
                break
        space = width - right.cell_length
        if left.cell_length > space - 1:  # a terminal too narrow for even the counts: cut between words
            plain = left.plain[: max(0, space - 2)]
            cut = plain.rfind(" ") if " " in plain else len(plain)
            left = left[:cut].rstrip() + Content("…")
        return left + Content(" " * max(1, space - left.cell_length)) + right

    def _left(
        self, *, db_name: bool, hint: str, long_words: bool, alerts: bool, product: bool, counts: bool
    ) -> Content:
        model = self.board.model
        open_count, breached, unacked = self._counts()
        head = [("oncall-tui", "bold")] if product else []
        if db_name:
            head.append((self.db_name, "$foreground-muted"))
        if self.demo:  # a demo board must never be mistaken for the real desk
            head.append(("DEMO", "$text-accent bold"))
        if self.readonly:
            head.append(("read-only", "$text-warning bold"))
        left: list[tuple[str, str]] = []
        for i, part in enumerate(head):
            left.extend([(" ", ""), part] if i else [part])
        if left:
            left.append(("  ", ""))
        if not open_count:
            left.append(("no open incidents" if counts else "none open", "$text-success"))
        else:
            left.append((f"{open_count} open", "bold"))
            if breached:
                left.append((" · ", ""))
                left.append((f"!! {breached} breached" if counts else f"!! {breached}", "$text-error bold"))
            if unacked:
                left.append((" · ", ""))
                left.append((f"{unacked} {'unacknowledged' if long_words else 'unacked'}", "$text-warning"))
        if model.filter.active:
            shown = f"{len(model.rows)} shown" if long_words else str(len(model.rows))
            left.append((f"  filter: {model.filter.text} ({shown})", "$text-accent"))
        if self.board.show_closed:  # `c` is on: the board holds more than the open incidents
            left.append(("  +closed", "$text-accent bold"))
        if self.alerts is False and alerts:
            # No Alertmanager: alerts reach nobody through this desk, and a newcomer should know how.
            left.append(("  alerts: off", "$text-warning"))
            if hint:
                how = " (--alertmanager URL turns them on)" if hint == "long" else " (--alertmanager URL)"
                left.append((how, "$foreground-muted"))
        if self._checking:  # the startup integrity check, while it runs
            left.append((f"  {self._checking}", "$foreground-muted"))
        return Content.assemble(*left)
