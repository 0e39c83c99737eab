"""migrate: move a desk's whole record into another, empty one (a file, or PostgreSQL for team mode)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from ..store import is_server_target, open_record


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "migrate",
        help="copy a whole desk (every incident, event, review, page, override) into an empty record",
        description=(
            "Copy everything a desk holds into an empty record — another desk file, or a PostgreSQL "
            "database (postgresql://…) for team mode. Events are copied as they are, with their sequence "
            "numbers and hashes, and both sides are verified. The target is written in one transaction: "
            "if the copy fails or is interrupted, the target stays empty and migrate can be run again. "
            "The source is only read; stop the desks writing to it first, or what they write meanwhile "
            "stays behind."
        ),
    )
    p.add_argument("--from", dest="source", required=True, metavar="DB", help="the desk to copy (a file or a URL)")
    p.add_argument("--to", dest="target", required=True, metavar="DB", help="the empty record to copy into")
    p.set_defaults(func=cmd_migrate)


def _target(value: str) -> Path | str:
    return value if is_server_target(value) else Path(value).expanduser()


def cmd_migrate(args: argparse.Namespace) -> int:
    from ..cli import CliError
    from ..migrate import migrate

    source, target = _target(args.source), _target(args.target)
    same = source == target or (
        isinstance(source, Path)
        and isinstance(target, Path)
        and target.exists()
        and source.resolve() == target.resolve()
    )
    if same:
        raise CliError("--from and --to name the same record; migrate copies into another, empty one")
    created = isinstance(target, Path) and not target.exists()
    # Read-only: moving the evidence must never change it (nor migrate its schema behind the user's back).
    src = open_record(source, readonly=True, create=False)
    try:
        dst = open_record(target)
        try:
            moved = migrate(src, dst, say=_progress if sys.stderr.isatty() else lambda _: None)
        except BaseException:
            dst.close()
            if created and isinstance(target, Path):
                _remove_new_file(target)  # a file this command made and left empty: not worth keeping
            raise
        dst.close()
    finally:
        src.close()
    print(moved.summary())
    print(f"OK: verified on both sides — {moved.target_report.summary(name_first=False)}")
    return 0


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _remove_new_file(path: Path) -> None:
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
