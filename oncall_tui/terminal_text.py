"""Text a terminal shows as text: nothing in it can drive the terminal.

C0 and C1 controls (ESC, and the 8-bit CSI U+009B that some terminals also honour) start escape
sequences: an OSC 52 one sets the user's clipboard, others repaint or retitle the screen.
Bidirectional overrides make a line read differently from what is stored (Trojan Source). The desk
removes them from what it is given (`desk.clean_text`) and, with the same function, from everything it
reads back out of the file, which another writer (a script, an older version, a hand edit) may have
filled: the board, `list`, `show` and `export` only ever print what passed through here.
"""

from __future__ import annotations

import unicodedata
from typing import Any

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _shown(ch: str, keep: str) -> str:
    if ch in keep:
        return ch
    category = unicodedata.category(ch)
    if category == "Cc" or ch in BIDI_CONTROLS:
        return ""
    if category == "Cs":  # a byte that was not UTF-8 on the command line: SQLite cannot store it
        return "\ufffd"
    return ch


def printable(text: str, *, keep: str = "\n\t") -> str:
    """`text` without the characters a terminal acts on; `keep` lists the ones to leave (lines, tabs).

    `str.isprintable` is the fast path (C, a few nanoseconds for a title): the board decodes every
    open incident before its first frame, and almost every string is clean.
    """
    if text.isprintable():
        return text
    return "".join(_shown(ch, keep) for ch in text)


def printable_value(value: Any) -> Any:
    """Every string inside a decoded JSON value (an event's details), made printable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [printable_value(v) for v in value]
    if isinstance(value, dict):
        return {printable(k) if isinstance(k, str) else k: printable_value(v) for k, v in value.items()}
    return value
