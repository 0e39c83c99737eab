"""Open the board from the CLI's parsed arguments."""

from __future__ import annotations

import argparse
import sys


def launch(args: argparse.Namespace) -> int:
    print("oncall-tui: the live board is not built yet; use the subcommands (oncall-tui --help)", file=sys.stderr)
    return 1
