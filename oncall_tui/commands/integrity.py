"""verify and backup: prove the timeline was not altered, and copy the desk while it runs."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..store import StoreError, is_server_target, open_record
from ..verify import Report, verify_store

if TYPE_CHECKING:
    from ..store import Record

# 0: every chain holds; 1: the file could not be checked (the usual one-line error);
# 3: the file was read and something in it does not hold. Scripts and cron can tell these apart.
EXIT_BROKEN = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "verify",
        parents=[common],
        help="check that no timeline event was edited, removed or reordered",
        description=(
            "Walk every incident's hash chain and SQLite's own integrity check, read-only. Reports the "
            "first event that was edited, removed or reordered in each incident. Exit status: 0 when "
            f"everything holds, {EXIT_BROKEN} when something does not, 1 when the file cannot be read."
        ),
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON (every chain with its head hash)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every incident's chain, not just broken ones")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "backup",
        parents=[common],
        help="copy the desk database to FILE while desks keep running, and check the copy",
        description=(
            "Copy the desk with SQLite's online backup API: one consistent snapshot, taken without "
            "stopping desks that are writing. The copy is checked (integrity and every hash chain) "
            "before it takes FILE's name, so FILE is never a half-written backup. To restore, open it "
            "with --db FILE, or copy it over the desk file while no desk is running."
        ),
    )
    p.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=cmd_backup)


def _source(args: argparse.Namespace) -> Record:
    from ..cli import db_path

    # Read-only: checking or copying the evidence must never change it (nor migrate it).
    return open_record(db_path(args), readonly=True)


def cmd_verify(args: argparse.Namespace) -> int:
    store = _source(args)
    try:
        report = verify_store(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"database": str(store.location), **report.as_dict()}, indent=2))
    else:
        print("\n".join(report.lines(every_chain=args.verbose)))
    return 0 if report.ok else EXIT_BROKEN


def cmd_backup(args: argparse.Namespace) -> int:
    from ..cli import CliError

    dest: Path = args.file.expanduser()
    store = _source(args)
    try:
        source = store.location
        if dest.exists() and not is_server_target(source) and dest.resolve() == Path(source).resolve():
            raise CliError("the backup must go to another file than the desk itself")
        if dest.is_dir():
            raise CliError(f"{dest} is a directory; name the backup file, e.g. {dest / 'desk-backup.db'}")
        if dest.exists() and not args.force:
            raise CliError(f"{dest} already exists; pass --force to replace it")
        if not dest.parent.is_dir():
            raise CliError(f"{dest.parent}: no such folder")
        partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
        try:
            store.backup_to(partial)
            report = _check_copy(partial)
            os.replace(partial, dest)
            _fsync_dir(dest.parent)
        except StoreError as exc:
            raise StoreError(f"no backup was written to {dest}: {exc}") from None
        except OSError as exc:  # e.g. the fsync of a copy that filled the disk
            raise StoreError(f"no backup was written to {dest}: {exc.strerror or exc}") from None
        finally:
            # The copy's own journal too: a copy that failed mid-write leaves one beside it.
            for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-journal", "-wal", "-shm"))):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
    finally:
        store.close()
    size = dest.stat().st_size
    print(
        f"backed up {source} to {dest}: {len(report.chains):,} incidents, {report.events:,} events, {size / 1024:,.0f} KiB"
    )
    print(
        ("OK: " if report.ok else "FAILED: ") + "copy checked — file integrity ok, " + report.summary(name_first=False)
    )
    return 0 if report.ok else EXIT_BROKEN


def _check_copy(partial: Path) -> Report:
    copy = open_record(partial, readonly=True)
    try:
        report = verify_store(copy)
    finally:
        copy.close()
    if not report.file_ok:
        raise StoreError(f"the copy failed SQLite's integrity check ({report.integrity[0]}); no backup was written")
    return report


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the folder's entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
