"""Open the board from the CLI's parsed arguments."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from ..config import options_from_args
from ..desk import Desk
from ..paths import fresh_demo_file
from ..policy import PolicyError, load_policy
from ..store import StoreError


def launch(args: argparse.Namespace) -> int:
    """Open the desk database and run the board; returns the process exit code.

    A database or policy that cannot be used is one line on stderr and exit status 1, before the
    terminal is taken over, so the message stays readable.
    """
    # No garbage collection until the board's first frame (the app turns it back on): its passes over
    # the objects Textual's import creates cost tens of milliseconds of a startup that is all new objects.
    gc.disable()
    try:
        return _launch(args)
    finally:
        gc.enable()


def _launch(args: argparse.Namespace) -> int:
    try:
        options = options_from_args(args)
        if options.demo and not getattr(args, "db", None):
            fresh_demo_file(Path(options.db_path))
        wall = bool(getattr(args, "wall", False))
        # The wall never writes: its store is opened read-only (a fresh demo is seeded first).
        desk = Desk.open(
            options.db_path,
            policy=load_policy(options.policy_path),
            clock=args.clock,
            readonly=wall and not options.demo,
        )
    except (StoreError, PolicyError, OSError) as exc:
        print(f"oncall-tui: {exc}", file=sys.stderr)
        return 1
    try:
        if options.demo and not desk.incidents(include_closed=True):
            from ..demo import seed_demo

            seed_demo(desk)
        if wall:
            return _run_wall(desk, options)
        from .app import OncallApp  # after the checks above: a bad --db fails fast

        app = OncallApp(desk, options)
        app.run()
        return app.return_code or 0
    finally:
        desk.close()


def _run_wall(desk: Desk, options) -> int:
    from .wall.app import WallApp

    if not desk.readonly:  # the demo was seeded through this one: reopen it read-only
        desk.close()
        desk = Desk.open(options.db_path, policy=desk.policy, clock=desk.clock, readonly=True)
    try:
        app = WallApp(desk, options)
        app.run()
        return app.return_code or 0
    finally:
        desk.close()
