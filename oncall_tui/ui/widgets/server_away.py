"""A line across the top of the desk while its database server cannot be reached (team mode).

The board keeps showing the last state it read and its clocks keep counting; the banner says since
when the record is out of reach and that actions are not recorded meanwhile, so nobody mistakes a
frozen board for a quiet night. It goes when the desk has reconnected and caught up.
"""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from ...clock import format_local


class ServerAwayBanner(Static):
    DEFAULT_CSS = """
    ServerAwayBanner {
        height: auto;
        max-height: 2;
        background: $warning;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, since: datetime) -> None:
        self.since = since
        text = Content.assemble(
            ("Database unreachable", "bold"),
            f" since {format_local(since)} — retrying; actions are not recorded.",
        )
        super().__init__(text, id="server-away")
