"""A red line across the top of the desk when its record cannot be trusted.

Checked at startup, in a worker, for what is new since the last start (`startup_check`): a broken
hash chain means someone changed the timeline behind the desk's back, and a damaged file means the
next write may fail. Either stays on screen for the whole session, unlike a notification that
scrolls away at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.content import Content
from textual.widgets import Static

from ...startup_check import StartupCheck, check_since_last
from ...store import Record, StoreError


class IntegrityBanner(Static):
    DEFAULT_CSS = """
    IntegrityBanner {
        height: auto;
        max-height: 2;  /* never more than two lines of the board, even at 40x10 */
        background: $error;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        text = Content.assemble(
            ("Timeline integrity: ", "bold"), problem, " — run ", ("oncall-tui verify", "bold"), " for details."
        )
        super().__init__(text, id="integrity-banner")


def check_in_background(
    record: Record,
    *,
    progress: Callable[[int, int], None],
    should_stop: Callable[[], bool],
    opened: Callable[[Record | None], None] = lambda _: None,
) -> StartupCheck | None:
    """The startup check (see startup_check.py) on a connection of its own, for a worker thread:
    what is new since the last start, in slices that leave the event loop its frames. `opened` is
    given that connection, then None once it is closed: the file's own check is one statement
    (most of a second on a desk with history), which only `Record.interrupt` stops."""
    try:
        own = record.reopen(readonly=record.readonly)
    except StoreError as exc:
        return StartupCheck(f"the database could not be checked ({exc})", 0, 0)
    opened(own)
    try:
        return check_since_last(own, progress=progress, should_stop=should_stop, sound=record.note_sound)
    except StoreError as exc:
        return StartupCheck(f"the database could not be checked ({exc})", 0, 0)
    finally:
        opened(None)
        own.close()
