"""Moving a desk: copy a whole record into an empty one — another file, or a PostgreSQL database.

Written against `store.Record` alone, so any backend moves to any other. The copy is the record as
it is, not a replay: every event keeps its sequence number, its hashes and its place, so the chains
verify on the target exactly as on the source, and `verify` is run on both sides to prove it. The
target is written in one transaction: a copy that fails or is killed half-way leaves it as empty as
it was, and `migrate` can simply be run again.

What is not copied: who is watching (`watchers`, a liveness table every desk and agent rewrites
within a minute of starting), and the intake lock (it is not in the record).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .store import StoreError
from .verify import Report, verify_store

if TYPE_CHECKING:
    from .store import Record

# What each table is called in the report.
NAMES = {
    "incidents": ("incident", "incidents"),
    "events": ("event", "events"),
    "checks": ("runbook check", "runbook checks"),
    "action_items": ("action item", "action items"),
    "alert_silences": ("alert silence", "alert silences"),
    "overrides": ("override", "overrides"),
    "pages": ("page", "pages"),
}


@dataclass(frozen=True, slots=True)
class Moved:
    source: str
    target: str
    counts: dict[str, int]  # table → rows copied
    source_report: Report
    target_report: Report

    def summary(self) -> str:
        parts = []
        for table, (one, many) in NAMES.items():
            n = self.counts.get(table, 0)
            parts.append(f"{n:,} {one if n == 1 else many}")
        return f"copied {self.source} to {self.target}: " + ", ".join(parts)


def migrate(source: Record, target: Record, *, say: Callable[[str], None] = lambda _: None) -> Moved:
    """Copy everything `source` holds into the empty `target`; raises StoreError (nothing copied)
    when the source does not verify, the target is not empty or cannot be written."""
    if target.readonly:
        why = f" ({target.why_readonly})" if target.why_readonly else ""
        raise StoreError(f"{target.location} is read-only{why}; nothing was copied")
    _refuse_held(target)  # before the long part: a wrong --to is told at once
    say(f"checking {source.location} …")
    before = verify_store(source)
    if not before.ok:
        raise StoreError(
            f"{source.location} does not verify ({before.summary()}); nothing was copied — run "
            f"`oncall-tui verify --db {source.location}` and restore the desk from a backup first"
        )
    counts: dict[str, int] = {}
    say(f"copying into {target.location} …")
    with target.write():  # one transaction: all of it, or (on any failure, or a kill) nothing
        _refuse_held(target)  # again, under the lock: another migrate may have got there first
        with source.snapshot():  # one consistent read, even if a desk writes to the source meanwhile
            for table in source.record_tables():
                n = 0
                for columns, rows in source.table_batches(table):
                    n += target.copy_rows(table, columns, rows)
                counts[table] = n
            target.set_sequence_marks(source.sequence_marks())
    say(f"checking {target.location} …")
    after = verify_store(target)
    heads = {c.incident: c.head_hash for c in before.chains}
    copied = {c.incident: c.head_hash for c in after.chains}
    if not after.ok or copied != heads:
        # Not expected: the copy was committed; say plainly that it is not a faithful one.
        problem = after.summary() if not after.ok else "its chain heads differ from the source's"
        raise StoreError(f"the copy in {target.location} does not verify ({problem}); do not use it")
    return Moved(source.location, target.location, counts, before, after)


def _refuse_held(target: Record) -> None:
    held = target.held_rows()
    if held:
        shown = ", ".join(f"{n:,} {NAMES.get(t, (t, t))[n != 1]}" for t, n in held.items())
        raise StoreError(
            f"{target.location} is not empty (it holds {shown}); migrate copies only into an empty record "
            "— nothing was copied"
        )
