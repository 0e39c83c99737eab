"""Opening the board imports only what its first frame needs.

The time to the first frame is an engineer at 3 a.m. waiting; each of these modules cost it
milliseconds (sqlite-utils alone a tenth of the budget) and is needed only later, when a screen
or a command asks for it. Checked in a fresh interpreter, as the `oncall-tui` command starts.
"""

from __future__ import annotations

import subprocess
import sys

from oncall_tui.cli import _board_args

NOT_BEFORE_THE_FIRST_FRAME = (
    "sqlite_utils",  # schema work only: creating or migrating a file
    "jinja2",  # the composer
    "httpx",  # the Alertmanager intake
    "markdown_it",  # runbook text
    "hashlib",  # writing to the timeline, verifying it
    "oncall_tui.runbooks",  # read right after the first frame
    "oncall_tui.verify",  # the integrity check runs after the first frame
    "oncall_tui.commands.incidents",  # subcommands are not registered to open the board
    "oncall_tui.ui.dialogs.forms",
    "oncall_tui.ui.widgets.runbook_pane",
    "oncall_tui.ui.widgets.timeline",
    "textual.widgets._tabbed_content",
    "textual_serve",  # `oncall-tui serve` only
    "aiohttp",
    "oncall_tui.web.server",
    "oncall_tui.ui.wall.app",  # `--wall` only
)

PROBE = """
import sys
from oncall_tui.cli import _board_args
assert _board_args(["--db", "desk.db"]) is not None
from oncall_tui.ui import launch
from oncall_tui.ui.app import OncallApp
print("\\n".join(sorted(sys.modules)))
"""


def test_the_board_starts_without_what_it_needs_only_later():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(out.stdout.split())
    assert "oncall_tui.ui.app" in loaded
    assert sorted(loaded & set(NOT_BEFORE_THE_FIRST_FRAME)) == []


def test_only_arguments_that_open_the_board_skip_the_subcommands():
    assert _board_args([]) is not None
    args = _board_args(["--db", "x.db", "--demo", "--alertmanager", "http://127.0.0.1:9093"])
    assert args is not None and args.command is None and args.demo and str(args.db) == "x.db"
    # A command, a request for help or a mistake goes to the full parser, which explains it.
    for argv in (
        ["ack", "INC-1"],
        ["--db", "x.db", "list"],
        ["-h"],
        ["--he"],
        ["--dem"],
        ["--db"],
        ["--bogus"],
        ["--demo", "--help"],
    ):
        assert _board_args(argv) is None, argv
