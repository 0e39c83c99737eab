"""Command palette (ctrl+p): every described app binding by name, and "go to" any loaded incident.

The actions are read from the app's `BINDINGS`, so a feature that adds a binding with a description
appears here without touching this module.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .help import bindings_of, key_label


class TriageCommands(Provider):
    def _commands(self):
        app = self.app
        for binding in bindings_of(app):
            title = f"{binding.description} ({key_label(app, binding)})"
            yield title, binding.tooltip or binding.description, partial(app.run_action, binding.action)

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
        board = getattr(self.app, "board", None)
        if board is None:
            return
        for row in board.model.all_rows():
            inc = row.incident
            text = f"Go to {inc.id} {inc.title}"
            if (score := matcher.match(text)) > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(self.app.go_to, inc.number),
                    help=f"{inc.status.value} · {', '.join(inc.services) or 'no services'}",
                )
