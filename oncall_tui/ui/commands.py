"""Command palette (ctrl+p): every described binding of the screen it is opened over and of the app,
by name, and "go to" any incident the board has loaded.

The actions are read from the bindings themselves, so a feature that adds a binding with a
description appears here without touching this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..model import Incident
from ..store import StoreError
from .screens.help import bindings_of, key_label

if TYPE_CHECKING:
    from .app import OncallApp


class TriageCommands(Provider):
    _incidents: list = []

    @property
    def desk_app(self) -> OncallApp:
        return cast("OncallApp", self.app)

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        app, screen = self.app, self.screen
        for binding in bindings_of(screen):
            title = f"{binding.description} ({key_label(app, binding)})"
            yield title, binding.tooltip or binding.description, partial(screen.run_action, binding.action)

    async def startup(self) -> None:
        # Every incident, closed ones too (the one from last week is what people look up), read once
        # per palette rather than once per key typed.
        app = self.desk_app
        try:
            self._incidents = app.desk.incidents(include_closed=True)
        except StoreError:
            # As the board shows them: those it has read whole (right after startup it may know
            # some by their keys alone, and the record cannot be read to read them now).
            rows = app.board_screen.board.model.all_rows()
            self._incidents = [row.incident for row in rows if isinstance(row.incident, Incident)]

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            # The footer's word is short ("Ack"); the tooltip says it in full ("Acknowledge …").
            score = max(matcher.match(title), matcher.match(help_text) * 0.9)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, text=title, help=help_text)
        app = self.desk_app
        for inc in self._incidents:
            closed = " (closed)" if inc.status.value == "closed" else ""
            text = f"Go to {inc.id} {inc.title}{closed}"
            if (score := matcher.match(text)) > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(app.go_to, inc.number),
                    help=f"{inc.status.value} · {', '.join(inc.services) or 'no services'}",
                )
