"""The timeline's hash chain: the same bytes on every backend, so a record can move and still verify."""

from __future__ import annotations

import json
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
