"""The timeline's hash chain: the same bytes on every backend, so a record can move and still verify."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, incident: int, at: str, actor: str, kind: str, details_json: str) -> str:
    """The chain link: covers the event's content and the previous event's hash.

    The chain is per incident, so an incident's record can be exported and checked alone; the
    incident row keeps the head, so removing the newest event is caught too.
    """
    payload = "\x1f".join((prev_hash, str(incident), at, actor, kind, details_json))
    import hashlib  # here, not at the top: opening the board reads, and hashlib costs it milliseconds

    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chain_end(rows: Iterable[tuple[Any, ...]], link: str = "") -> str | None:
    """The hash of the last of `rows` if each links to the one before it (the first to `link`) and
    still gives the hash it stores; None at the first that does not.

    `rows` as the timeline stores them: (seq, incident, at, actor, kind, details, prev_hash, hash).
    The walk over a million events: `event_hash` inlined, nothing built per row. Only says whether
    the chain holds; where and how it broke is `verify.check_chain`'s to say.
    """
    from hashlib import sha256

    for _, incident, at, actor, kind, details, prev_hash, digest in rows:
        if prev_hash != link:
            return None
        if (
            sha256(f"{prev_hash}\x1f{incident}\x1f{at}\x1f{actor}\x1f{kind}\x1f{details}".encode()).hexdigest()
            != digest
        ):
            return None
        link = digest
    return link
