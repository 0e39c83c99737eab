"""The timeline's hash chain: the same bytes on every backend, so a record can move and still verify."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any


@cache
def _sha256() -> Callable[[bytes], Any]:
    """Python's own SHA-256 (the same digests as OpenSSL's), not `hashlib`'s: hashlib sets up
    OpenSSL's digests as it is imported, 0.6 MB of a board's resident memory for a hash the desk
    computes per event written. A walk over a million events pays ~0.45 µs an event more (2.10
    instead of 1.65: +0.5 s at 1.1M events), in the startup check's worker or in `verify`."""
    for name in ("_sha256", "_sha2"):  # CPython 3.11, 3.12 on
        try:
            return importlib.import_module(name).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    from hashlib import sha256  # an interpreter built without its own

    return sha256


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, incident: int, at: str, actor: str, kind: str, details_json: str) -> str:
    """The chain link: covers the event's content and the previous event's hash.

    The chain is per incident, so an incident's record can be exported and checked alone; the
    incident row keeps the head, so removing the newest event is caught too.
    """
    payload = "\x1f".join((prev_hash, str(incident), at, actor, kind, details_json))
    return str(_sha256()(payload.encode("utf-8")).hexdigest())


def chain_end(rows: Iterable[tuple[Any, ...]], link: str = "") -> str | None:
    """The hash of the last of `rows` if each links to the one before it (the first to `link`) and
    still gives the hash it stores; None at the first that does not.

    `rows` as the timeline stores them: (seq, incident, at, actor, kind, details, prev_hash, hash).
    The walk over a million events: `event_hash` inlined, nothing built per row. Only says whether
    the chain holds; where and how it broke is `verify.check_chain`'s to say.
    """
    sha256 = _sha256()
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
