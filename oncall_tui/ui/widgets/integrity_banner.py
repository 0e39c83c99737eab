"""A red line across the top of the desk when its record cannot be trusted.

Checked once at startup (`verify.quick_status`): a broken hash chain means someone changed the
timeline behind the desk's back, and a damaged file means the next write may fail. Either stays on
screen for the whole session, unlike a notification that scrolls away at 3 a.m.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from ...desk import Desk
from ...store import StoreError
from ...verify import quick_status


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


def integrity_problem(desk: Desk) -> str | None:
    """What is wrong with the desk's record, in one line, or None when it holds."""
    try:
        report = quick_status(desk)
    except StoreError as exc:
        return f"the database could not be checked ({exc})"
    return None if report.ok else report.summary()
