"""The footer: whole keys only, the most important first, and "? more" when some do not fit.

Textual's footer lays every key out in a row and lets the terminal cut the last one mid-word
(`r Run▏`). This one measures the keys for the width it has, keeps the ones that fit whole in the
screen's own order (the board lists them as a page is worked), and ends with the help key, which
lists every one of them.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class DeskFooter(Footer):
    def __init__(self, *, compact: bool = True, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self._width = 0
        self.hidden_keys: list[str] = []  # what did not fit, for the tests and the curious

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        width = self.app.size.width
        self._width = width
        palette = [w for w in widgets if w.has_class("-command-palette")]
        keys = [w for w in widgets if not w.has_class("-command-palette")]
        gap = 1 if self.compact else 2
        used = sum(_cells(w) + 2 for w in palette)  # its border and padding
        more = self._more_key()
        reserve = (_cells(more) + gap) if more is not None else 0
        shown: list = []
        self.hidden_keys = []
        for i, widget in enumerate(keys):
            need = _cells(widget) + gap
            last = i == len(keys) - 1
            if used + need + (0 if last else reserve) <= width and not self.hidden_keys:
                shown.append(widget)
                used += need
            elif isinstance(widget, FooterKey):
                self.hidden_keys.append(widget.key)
        yield from shown
        if self.hidden_keys and more is not None:
            yield more
        yield from palette

    def _more_key(self) -> FooterKey | None:
        """The help key, as this screen answers to it: `?` on the board, `f1` where ? is text."""
        active = self.screen.active_bindings
        for key in ("question_mark", "f1"):
            if key in active:
                _node, binding, enabled, _tooltip = active[key]
                return FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    "more",
                    binding.action,
                    disabled=not enabled,
                    tooltip="Every key of this screen",
                    classes="-more",
                ).data_bind(compact=Footer.compact)
        return None

    def on_resize(self) -> None:
        if self.app.size.width != self._width:
            self.call_after_refresh(self.recompose)


def _cells(widget) -> int:
    if isinstance(widget, FooterKey):
        description = f" {widget.description}" if widget.description else ""
        return len(widget.key_display) + len(description)
    return len(str(getattr(widget, "renderable", ""))) + 1
