"""`oncall-tui pull`: one poll of Alertmanager, printing what it changed on the desk."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "pull",
        parents=[common],
        help="import alerts from Alertmanager once and print what changed",
        description=(
            "Poll Alertmanager once, as the board does every few seconds: a new alert becomes an "
            "incident (started at the alert's start), an alert that fired again or stopped is "
            "written on its incident's timeline, acknowledged incidents get their silence and "
            "resolved ones have it expired. When nothing changed, it says so and writes nothing."
        ),
    )
    p.add_argument(
        "--alertmanager",
        metavar="URL",
        action="append",
        default=argparse.SUPPRESS,
        help="the Alertmanager, repeated for an HA cluster (default: url in [alertmanager] of config.toml)",
    )
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
    p.set_defaults(func=cmd_pull)


def cmd_pull(args: argparse.Namespace) -> int:
    from ..alerts.client import AlertSourceError
    from ..alerts.intake import PullResult, intake_for
    from ..cli import EXIT_ERROR, EXIT_USAGE, CliError, open_desk
    from ..config import options_from_args

    options = options_from_args(args)
    if not options.alertmanager_url:
        raise CliError(
            "no Alertmanager to pull from: pass --alertmanager URL or set url in [alertmanager] of config.toml",
            EXIT_USAGE,
        )
    desk = open_desk(args)

    async def pull() -> PullResult:
        intake = intake_for(desk, options)
        try:
            return await intake.pull()
        finally:
            await intake.aclose()

    try:
        result = asyncio.run(pull())
    except AlertSourceError as exc:
        raise CliError(f"Alertmanager at {', '.join(options.alertmanager_urls)}: {exc}") from None
    finally:
        desk.close()

    if args.json:
        print(
            json.dumps(
                {
                    "alerts": result.alerts,
                    "skipped": result.skipped,
                    "changes": [
                        {"kind": c.kind, "incident": f"INC-{c.incident}", "text": c.text} for c in result.changes
                    ],
                    "problems": list(result.problems),
                },
                indent=2,
            )
        )
    elif result.skipped:
        print("Another desk on this database is importing alerts right now; nothing done.")
    else:
        for change in result.changes:
            print(change.text)
        if not result.changes:
            noun = "alert" if result.alerts == 1 else "alerts"
            print(f"Nothing new ({result.alerts} {noun} in Alertmanager).")
    for problem in result.problems:
        print(f"oncall-tui: warning: {problem}", file=sys.stderr)
    return EXIT_ERROR if result.problems else 0
