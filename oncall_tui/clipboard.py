"""Copy text to the machine's own clipboard, and say whether it really got there.

Over SSH or in tmux the desk also sends the text to the terminal with OSC 52 (the UI does that:
it needs the terminal), which cannot be confirmed; this module is the half that can.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyperclip


@dataclass(frozen=True, slots=True)
class CopyResult:
    confirmed: bool
    detail: str  # for the user: where the text went, or why it did not


def copy_text(text: str) -> CopyResult:
    """Copy with pyperclip and read it back; never raises."""
    try:
        pyperclip.copy(text)
        back = pyperclip.paste()
    except pyperclip.PyperclipException:
        # Its message is install advice for a desktop; over SSH the answer is simply "none here".
        return CopyResult(False, "no system clipboard on this machine")
    except Exception as exc:  # a clipboard helper that crashed or hung up must not take the desk with it
        return CopyResult(False, f"system clipboard failed: {_first_sentence(str(exc)) or type(exc).__name__}")
    if back != text:
        return CopyResult(False, "system clipboard did not keep the text")
    return CopyResult(True, "copied to the system clipboard")


def _first_sentence(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first.split(". ")[0].rstrip(".")
