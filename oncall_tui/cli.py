"""`oncall-tui`: open the desk, or act on incidents from one line of shell.

Subcommands live in `oncall_tui.commands.*`, each module registering its own; this module holds
the shared options, opening the database, and turning every expected failure into one clear line on
stderr and a non-zero exit (never a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .clock import Clock, SystemClock
from .desk import Desk
from .lifecycle import ActionRefused
from .paths import db_target, default_db_path, demo_db_path
from .policy import PolicyError, load_policy
from .store import StoreError

# Each module has `register(subparsers, common)`; its subcommands set `func(args) -> int`.
COMMAND_MODULES = (
    "oncall_tui.commands.incidents",
    "oncall_tui.commands.runbooks",
    "oncall_tui.commands.demo",
    "oncall_tui.commands.compose",
    "oncall_tui.commands.integrity",
    "oncall_tui.commands.migrate",
    "oncall_tui.commands.followup",
    "oncall_tui.commands.alerts",
    "oncall_tui.commands.paging",
    "oncall_tui.commands.serve",
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A failure to report as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse, reading '-20m' and '-1h30m' as values (a start time typed the way the board's declare
    form takes it), as it reads '-5' when no option looks like a number: `--started-at -3m` works,
    not only `--started-at=-3m`. No option of ours starts with a digit, so nothing is shadowed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's own hook for "this dash-word is a value" (private, stable since Python 2.7).
        self._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-(?:\d+[dhms])+$", re.IGNORECASE)


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        type=db_target,
        default=argparse.SUPPRESS,
        metavar="PATH|URL",
        help="desk database file, or postgresql://user@host/db for team mode "
        "(default: $ONCALL_TUI_DB, else ~/.local/share/oncall-tui/desk.db)",
    )
    common.add_argument(
        "--policy",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="policy file merged over the shipped one (default: ~/.config/oncall-tui/policy.toml)",
    )
    return common


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; without `commands`, only what opening the board takes (see `main`)."""
    common = common_options()
    parser = _Parser(
        prog="oncall-tui",
        parents=[common],
        # Broken by hand: the raw formatter (kept for the epilog's examples) does not wrap.
        description=(
            "The on-call desk in a terminal. Run with no command to open the live board:\n"
            "every open incident, the clocks running out, the runbook for what is broken,\n"
            "and a status update ready to paste. The commands below do the same things from\n"
            "one line of shell."
        ),
        epilog=(
            "examples:\n"
            "  oncall-tui --demo                      open the desk on a demo database\n"
            "  oncall-tui --wall                      the read-only wall-board for a room\n"
            '  oncall-tui declare "Login failures" --severity P1 --service identity\n'
            "  oncall-tui ack INC-1\n"
            "  oncall-tui show INC-1 --json\n"
            "\nthe actor recorded on the timeline is $ONCALL_TUI_USER, else your login name."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"oncall-tui {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open a fresh demo database filled with realistic incidents (your own desk is not touched)",
    )
    parser.add_argument(
        "--wall",
        action="store_true",
        help="the wall-board: large clocks for a screen across the room (read-only)",
    )
    parser.add_argument(
        "--alertmanager",
        metavar="URL",
        action="append",
        help="Prometheus Alertmanager to pull alerts from; repeat it (or separate by commas) for an HA cluster",
    )
    parser.add_argument("--runbooks", type=Path, metavar="DIR", help="your own runbooks, added to the shipped ones")
    parser.add_argument("--templates", type=Path, metavar="DIR", help="your own message templates")
    if not commands:
        parser.exit_on_error = False
        parser.allow_abbrev = False  # "--he" or "--dem" go to the full parser, which knows every option
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def _board_args(argv: list[str]) -> argparse.Namespace | None:
    """The arguments, if they only open the board; None when they name a command, ask for help or
    need the full parser to explain what is wrong with them.

    Opening the board is what a paged engineer waits for: it should not pay for importing and
    registering every subcommand (a tenth of the time to the board's first frame).
    """
    if "-h" in argv or "--help" in argv:
        return None
    try:
        args, rest = build_parser(commands=False).parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    if rest:
        return None
    args.command = None
    return args


def db_path(args: argparse.Namespace) -> Path | str:
    if db := getattr(args, "db", None):
        return db_target(db)
    if getattr(args, "demo", False):
        return demo_db_path()
    return default_db_path()


def open_desk(args: argparse.Namespace, *, readonly: bool = False) -> Desk:
    """The desk the arguments name, on the clock `main` was given."""
    policy = load_policy(getattr(args, "policy", None))
    return Desk.open(db_path(args), policy=policy, clock=args.clock, readonly=readonly)


def _speak_any_encoding() -> None:
    """With PYTHONIOENCODING=ascii (or a C locale) a title in another script, or the '—' in our own
    messages, would end the command with UnicodeEncodeError: such characters are escaped instead."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if reconfigure is not None and encoding not in ("utf8", "utf_8"):
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one command line. `clock` is the only source of "now" for everything below (a test's
    FrozenClock); the real clock is read only here, as the default."""
    _speak_any_encoding()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _board_args(argv) or build_parser().parse_args(argv)
    args.clock = clock or SystemClock()
    try:
        if args.command is None:
            return _open_board(args)
        return int(args.func(args) or 0)
    except CliError as exc:
        _fail(str(exc))
        return exc.status
    except BrokenPipeError:
        # `oncall-tui show INC-1 | head`: the reader left; stay quiet like other Unix tools, and
        # point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except (ActionRefused, StoreError, PolicyError, ValueError, OSError) as exc:
        _fail(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _open_board(args: argparse.Namespace) -> int:
    from .ui.launch import launch  # Textual is imported only when the board is opened

    return launch(args)


def _fail(message: str) -> None:
    print(f"oncall-tui: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
