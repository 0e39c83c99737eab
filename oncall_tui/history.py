"""Years of closed incidents in seconds: a desk with history, for benchmarks and scale tests.

Playing 100,000 incidents through `Desk` actions would take an hour (a transaction, a read and a
hash per action). Instead a few incidents are played through the real actions once — each a shape
a night takes: acknowledged in time, a missed acknowledgement and an escalation, a severity found
later, a mitigation before the fix — and copied: moved to another start time, renumbered, their
chains hashed again in Python, and written in one transaction. Every copy's timeline is what the
desk would have written (`verify` replays it and finds the row agrees) because it is one.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .clock import FrozenClock, from_iso, iso
from .desk import Desk
from .model import Severity, Status
from .policy import Policy
from .store import Record, Store, canonical_json, event_hash

_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_TITLES = (
    "Login failures for {t}",
    "Slow API responses on /search",
    "Checkout errors in eu-west",
    "Export jobs stuck in queue",
    "Webhook deliveries delayed",
    "Connection pool exhausted on primary",
    "Policy evaluation timeouts",
    "Legal hold sync lagging for {t}",
)
_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark")
_BATCH = 5_000  # incidents per executemany: bounded memory whatever `count` is


Piece = str | int | None  # literal text, an instant (its index), or the title (None)


@dataclass(frozen=True, slots=True)
class _Shape:
    """One closed incident as the desk wrote it, cut where a copy differs: its instants (moved by
    the same amount), its title, its number. Copying is then joining strings and hashing."""

    instants: tuple[datetime, ...]
    row: tuple[tuple[str, str, Any], ...]  # (column, "value" / "instant" / "title", the value or index)
    events: tuple[tuple[int, str, str, tuple[Piece, ...]], ...]  # (at, actor, kind, details pieces)
    started: datetime


def _cut(text: str, instants: dict[str, int], title: str | None) -> tuple[Piece, ...]:
    """`text` as pieces: every instant in it replaced by its index, and `title` (JSON-encoded) by None."""
    pieces: list[Piece] = []
    marks = [(m.start(), m.end(), instants.setdefault(m.group(), len(instants))) for m in _INSTANT.finditer(text)]
    if title is not None:
        quoted = '"title":' + json.dumps(title, ensure_ascii=False)
        at = text.index(quoted) + len('"title":"')
        marks.append((at, at + len(quoted) - len('"title":""'), -1))
    last = 0
    for start, end, index in sorted(marks):
        pieces += [text[last:start], None if index == -1 else index]
        last = end
    pieces.append(text[last:])
    return tuple(p for p in pieces if p != "")


def _play(desk: Desk, clock: FrozenClock, start: datetime) -> Iterator[int]:
    """The shapes, played through the desk's own actions; yields each incident's number."""

    def at(minutes: float, actor: str = "ava") -> Desk:
        clock.set(start + timedelta(minutes=minutes))
        desk.actor = actor
        return desk

    def close(number: int, minutes: float) -> None:
        d = at(minutes)
        d.edit(number, "root_cause", "A configuration change rolled out to every region at once")
        d.edit(number, "resolution", "Rolled the change back and added a canary stage")
        d.move(number, Status.RESOLVED)
        severity = desk.get(number).severity
        if severity is not None and severity in desk.policy.review_severities:
            from . import review

            review.schedule(at(minutes + 120), number, start + timedelta(minutes=minutes + 60 * 20), ["ava", "sam"])
            review.complete(at(minutes + 60 * 21), number, notes="Canary stages for global config")
        at(minutes + 60 * 24).move(number, Status.CLOSED)

    # Acknowledged in time, a status message, fixed within the hour.
    n = at(0, "pagerbot").declare("Checkout errors in eu-west", severity=Severity.P1, services=["api"]).number
    at(3).acknowledge(n)
    at(8).record_message(n, template="initial", text="[P1] Checkout errors in eu-west", via="clipboard")
    at(10).move(n, Status.INVESTIGATING)
    at(25).note(n, "Error rate back under 1% after the rollback")
    close(n, 40)
    yield n
    # The acknowledgement missed: the breach and the escalation on the timeline, then the work.
    n = at(0, "pagerbot").declare("Slow API responses on /search", severity=Severity.P2, services=["db"]).number
    policy = desk.policy
    at(6, "desk").record_breach(n, "acknowledge", "Acknowledge", start + policy.acknowledge)
    tier = policy.escalation[1] if len(policy.escalation) > 1 else None
    if tier is not None:
        at(6, "desk").record_breach(n, tier.key, f"Escalate to {tier.level}", start + policy.acknowledge)
    at(9, "sam").acknowledge(n)
    at(12, "sam").assign(n, "sam")
    at(15, "sam").move(n, Status.INVESTIGATING)
    at(50, "sam").move(n, Status.MITIGATED)
    close(n, 90)
    yield n
    # Declared before anyone knew how bad: the severity set later, tenants named.
    n = at(0, "dana").declare("Login failures for acme", services=["identity"], tenants="acme, globex").number
    at(2, "dana").acknowledge(n)
    at(6, "dana").set_severity(n, Severity.P0)
    at(7, "dana").record_message(n, template="initial", text="[P0] Login failures", via="clipboard")
    at(9, "dana").move(n, Status.INVESTIGATING)
    close(n, 30)
    yield n
    # A quiet P3, a note and the fix.
    n = at(0, "lee").declare("Export jobs stuck in queue", severity=Severity.P3, services=["exports"]).number
    at(20, "lee").acknowledge(n)
    at(30, "lee").note(n, "Queue drained after the worker restart")
    close(n, 45)
    yield n


def _shapes(policy: Policy) -> list[_Shape]:
    with tempfile.TemporaryDirectory(prefix="oncall-history-") as folder:
        start = from_iso("2026-01-05T02:00:00Z")
        clock = FrozenClock(start)
        desk = Desk(Store.open(Path(folder) / "shapes.db"), policy, clock, actor="ava")
        try:
            shapes = []
            for number in _play(desk, clock, start):
                row = desk.store.incident_row(number)
                assert row is not None
                instants: dict[str, int] = {}
                cells: list[tuple[str, str, Any]] = []
                for column, value in row.items():
                    if column == "title":
                        cells.append((column, "title", None))
                    elif isinstance(value, str) and _INSTANT.fullmatch(value):
                        cells.append((column, "instant", instants.setdefault(value, len(instants))))
                    elif column not in ("number", "head_hash"):
                        cells.append((column, "value", value))
                events = []
                for e in desk.store.events(number):
                    at = instants.setdefault(iso(e.at), len(instants))
                    text = canonical_json(e.details)
                    events.append(
                        (at, e.actor, e.kind, _cut(text, instants, row["title"] if e.kind == "declared" else None))
                    )
                moments = tuple(from_iso(text) for text in sorted(instants, key=instants.__getitem__))
                shapes.append(_Shape(moments, tuple(cells), tuple(events), from_iso(row["started_at"])))
            return shapes
        finally:
            desk.close()


def generate_history(
    store: Record,
    policy: Policy,
    count: int,
    *,
    now: datetime,
    days: float = 730.0,
    seed: int = 19,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Append `count` closed incidents that started over the `days` before `now` (the last one
    closed a day before `now`); returns how many were written. One transaction, no fsync per
    incident: generated history has nothing to lose if the machine stops halfway."""
    rng = random.Random(seed)
    shapes = _shapes(policy)
    number = store.next_number()
    span = max(0.0, days * 86400 - 3 * 86400)
    written = 0
    with store.bulk_fill(), store.write():
        while written < count:
            rows: list[dict[str, Any]] = []
            events: list[tuple[int, str, str, str, str, str, str]] = []
            for _ in range(min(_BATCH, count - written)):
                shape = rng.choice(shapes)
                began = now - timedelta(days=days, seconds=-int(rng.uniform(0, span)))
                delta = began - shape.started
                times = [iso(moment + delta) for moment in shape.instants]
                title = rng.choice(_TITLES).format(t=rng.choice(_TENANTS))
                quoted = json.dumps(title, ensure_ascii=False)[1:-1]
                prev = ""
                for at, actor, kind, pieces in shape.events:
                    text = "".join(
                        p if type(p) is str else quoted if p is None else times[p]  # type: ignore[index]
                        for p in pieces
                    )
                    digest = event_hash(prev, number, times[at], actor, kind, text)
                    events.append((number, times[at], actor, kind, text, prev, digest))
                    prev = digest
                row = {
                    column: value if what == "value" else times[value] if what == "instant" else title
                    for column, what, value in shape.row
                }
                rows.append(row | {"number": number, "head_hash": prev})
                number += 1
            store.append_history(rows, events)
            written += len(rows)
            if progress is not None:
                progress(written)
    return written
