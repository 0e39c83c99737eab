"""Open the board from the CLI's parsed arguments."""

from __future__ import annotations

import argparse
import sys

from ..config import options_from_args
from ..desk import Desk
from ..policy import PolicyError, load_policy
from ..store import StoreError


def launch(args: argparse.Namespace) -> int:
    """Open the desk database and run the board; returns the process exit code.

    A database or policy that cannot be used is one line on stderr and exit status 1, before the
    terminal is taken over, so the message stays readable.
    """
    try:
        options = options_from_args(args)
        desk = Desk.open(options.db_path, policy=load_policy(options.policy_path))
    except (StoreError, PolicyError, OSError) as exc:
        print(f"oncall-tui: {exc}", file=sys.stderr)
        return 1
    try:
        if options.demo and not desk.incidents(include_closed=True):
            _seed_demo(desk)
        from .app import OncallApp  # after the checks above: a bad --db fails fast

        app = OncallApp(desk, options)
        app.run()
        return app.return_code or 0
    finally:
        desk.close()


def _seed_demo(desk: Desk) -> None:
    try:
        from ..demo import seed_demo
    except ImportError:  # the demo content ships separately from the board
        print("oncall-tui: no demo content in this build; opening an empty demo desk", file=sys.stderr)
        return
    seed_demo(desk)
