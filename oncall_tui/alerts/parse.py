"""Alertmanager API v2 payloads → frozen data.

The shapes are those Alertmanager really sends (`GET /api/v2/alerts`, `GET /api/v2/silences`):
times in RFC 3339 with or without fractional seconds, Go's zero time `0001-01-01T00:00:00Z` for
"not set", extra fields that newer versions add, `null` where a list is empty. Anything else — an
HTML error page from a proxy, JSON cut off mid-way, a list of the wrong things — raises
`AlertPayloadError` with a message that says what was wrong, never another exception.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..clock import parse_instant
from ..errors import DeskError
from ..foreground import breather

GO_ZERO_YEAR = 1  # Go's zero time.Time marshals as 0001-01-01T00:00:00Z: "not set"
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_SEPARATOR = 0xFF


class AlertPayloadError(DeskError, ValueError):
    """A payload that is not what Alertmanager sends; the message says what it is instead.

    The message quotes keys and names from the payload, and it lands on stderr and in the board's
    notifications: control characters are shown escaped so a hostile payload cannot repaint the
    terminal or break the one-line rule.
    """

    title = "Alertmanager"

    def __init__(self, message: str) -> None:
        super().__init__(
            "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in message)
        )


@dataclass(frozen=True, slots=True)
class Alert:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    updated_at: datetime | None = None
    state: str = "active"  # "active", "suppressed" (silenced or inhibited), "unprocessed"
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    generator_url: str = ""
    receivers: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def summary(self) -> str:
        return self.annotations.get("summary", "")


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    created_by: str
    comment: str
    state: str  # "active", "pending", "expired"
    starts_at: datetime | None
    ends_at: datetime | None
    matchers: tuple[dict[str, Any], ...] = ()
    updated_at: datetime | None = None

    @property
    def live(self) -> bool:
        """Active or about to be: a silence that still holds, or will."""
        return self.state in ("active", "pending")


def labelset_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's own fingerprint of a label set (FNV-1a 64 over the sorted pairs).

    Used when a payload (a proxy's, a test's) leaves the fingerprint out, so the same alert still
    maps to the same incident as when Alertmanager names it.
    """
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name, labels[name]):
            for byte in chunk.encode("utf-8"):
                digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            digest = ((digest ^ _SEPARATOR) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


# --- decoding -----------------------------------------------------------------------------------


def decode_json(body: bytes | str) -> Any:
    """JSON text → data, or an AlertPayloadError that says what the body looks like instead."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AlertPayloadError(f"the answer is not UTF-8 text (bad byte at {exc.start:,})") from None
    else:
        text = body
    stripped = text.lstrip()
    if not stripped:
        raise AlertPayloadError("the answer is empty, not JSON")
    if stripped.startswith("<"):
        raise AlertPayloadError(
            f"the answer is an HTML page, not JSON ({_preview(stripped)}) — is the URL the Alertmanager itself?"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # Cut off mid-way: the parser ran out of text, or out of it inside a string.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise AlertPayloadError(f"the JSON ends early, cut off after {len(text):,} characters") from None
        raise AlertPayloadError(f"malformed JSON at character {exc.pos:,}: {exc.msg}") from None
    except RecursionError:
        raise AlertPayloadError("the JSON is nested too deeply to be an alert list") from None


def parse_alerts(body: bytes | str) -> tuple[Alert, ...]:
    """The body of `GET /api/v2/alerts`."""
    return alerts_from_json(decode_json(body))


def alerts_from_json(data: Any) -> tuple[Alert, ...]:
    if not isinstance(data, list):
        raise AlertPayloadError(f"expected a JSON list of alerts, got {_kind(data)}")
    return tuple(_alert(item, index) for index, item in enumerate(data))


class AlertStream:
    """`GET /api/v2/alerts` parsed as it arrives, one alert at a time.

    An alert storm's answer is tens of megabytes: reading it whole before parsing any of it would
    double its memory and leave nothing to show if it is cut off. Each alert is decoded as soon as its
    closing brace arrives (the C JSON decoder, one element at a time), so a reply stopped at the size
    limit still yields every alert before the cut, and the caller can warn rather than go blind.
    """

    def __init__(self) -> None:
        self._decoder = json.JSONDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._pos = 0
        self._opened = False
        self._closed = False
        self._seen = 0  # characters consumed and dropped from the buffer
        self.alerts: list[Alert] = []
        self._breathe = breather()  # parsed in a worker thread: the screen's keys come first

    def feed(self, chunk: bytes) -> None:
        try:
            self._text += self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise AlertPayloadError(
                f"the answer is not UTF-8 text (bad byte near {self._seen + exc.start:,})"
            ) from None
        self._drain(final=False)

    def close(self) -> tuple[Alert, ...]:
        """Everything arrived: the alerts, or AlertPayloadError if the answer was not a whole list."""
        try:
            self._text += self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise AlertPayloadError("the answer is not UTF-8 text (it ends mid-character)") from None
        self._drain(final=True)
        if not self._closed:
            rest = self._text[self._pos :].strip()
            if not self._opened:
                # Not a list at all: the whole-body decoder says what it is (HTML, an object, …).
                return alerts_from_json(decode_json(rest))
            raise AlertPayloadError(f"the JSON ends early, cut off after {self._seen + len(self._text):,} characters")
        return tuple(self.alerts)

    def _drain(self, *, final: bool) -> None:
        text, pos = self._text, self._pos
        if not self._opened:
            stripped = text.lstrip()
            if not stripped:
                return
            if stripped[0] != "[":
                return  # not a list: close() reports it
            pos = len(text) - len(stripped) + 1
            self._opened = True
        while not self._closed:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text):
                break
            if text[pos] == "]":
                self._closed = True
                pos += 1
                if text[pos:].strip():
                    raise AlertPayloadError("unexpected text after the list of alerts")
                break
            try:
                item, end = self._decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                if not final:
                    break  # most likely not all here yet; the final pass tells a cut from garbage
                if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
                    raise AlertPayloadError(
                        f"the JSON ends early, cut off after {self._seen + len(text):,} characters"
                    ) from None
                raise AlertPayloadError(f"malformed JSON at character {self._seen + exc.pos:,}: {exc.msg}") from None
            except RecursionError:
                raise AlertPayloadError("the JSON is nested too deeply to be an alert list") from None
            self.alerts.append(_alert(item, len(self.alerts)))
            pos = end
            self._breathe()
        # Keep only the unread tail: the buffer stays the size of one alert, not of the answer.
        self._seen += pos
        self._text, self._pos = text[pos:], 0


def parse_silences(body: bytes | str) -> dict[str, Silence]:
    """The body of `GET /api/v2/silences`, by silence id."""
    data = decode_json(body)
    if not isinstance(data, list):
        raise AlertPayloadError(f"expected a JSON list of silences, got {_kind(data)}")
    silences = (silence_from_json(item, f"silence {index}") for index, item in enumerate(data))
    return {s.id: s for s in silences}


def silence_from_json(item: Any, where: str = "silence") -> Silence:
    if not isinstance(item, dict):
        raise AlertPayloadError(f"{where} is {_kind(item)}, not an object")
    ident = _string(item, "id", where, required=True)
    status = item.get("status") or {}
    if not isinstance(status, dict):
        raise AlertPayloadError(f"{where}: status is {_kind(status)}, not an object")
    matchers = item.get("matchers") or []
    if not isinstance(matchers, list) or not all(isinstance(m, dict) for m in matchers):
        raise AlertPayloadError(f"{where}: matchers is not a list of objects")
    return Silence(
        id=ident,
        created_by=_string(item, "createdBy", where),
        comment=_string(item, "comment", where),
        state=_string(status, "state", where) or "active",
        starts_at=_time(item, "startsAt", where),
        ends_at=_time(item, "endsAt", where),
        matchers=tuple(matchers),
        updated_at=_time(item, "updatedAt", where),
    )


def _alert(item: Any, index: int) -> Alert:
    where = f"alert {index}"
    if not isinstance(item, dict):
        raise AlertPayloadError(f"{where} is {_kind(item)}, not an object")
    labels = _string_map(item, "labels", where)
    if not labels:
        raise AlertPayloadError(f"{where} has no labels")
    where = f"alert {index} ({labels.get('alertname') or 'no alertname'})"
    status = item.get("status") or {}
    if not isinstance(status, dict):
        raise AlertPayloadError(f"{where}: status is {_kind(status)}, not an object")
    receivers = item.get("receivers") or []
    if not isinstance(receivers, list):
        raise AlertPayloadError(f"{where}: receivers is {_kind(receivers)}, not a list")
    return Alert(
        fingerprint=_string(item, "fingerprint", where) or labelset_fingerprint(labels),
        labels=labels,
        annotations=_string_map(item, "annotations", where),
        starts_at=_time(item, "startsAt", where),
        ends_at=_time(item, "endsAt", where),
        updated_at=_time(item, "updatedAt", where),
        state=_string(status, "state", where) or "active",
        silenced_by=_string_list(status, "silencedBy", where),
        inhibited_by=_string_list(status, "inhibitedBy", where),
        generator_url=_string(item, "generatorURL", where),
        receivers=tuple(r["name"] for r in receivers if isinstance(r, dict) and isinstance(r.get("name"), str)),
    )


# --- fields -------------------------------------------------------------------------------------


def _string(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise AlertPayloadError(f"{where} has no {key}")
        return ""
    if not isinstance(value, str):
        raise AlertPayloadError(f"{where}: {key} is {_kind(value)}, not text")
    return value


def _string_map(obj: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AlertPayloadError(f"{where}: {key} is {_kind(value)}, not an object")
    for name, text in value.items():
        if not isinstance(text, str):
            raise AlertPayloadError(f"{where}: {key}.{name} is {_kind(text)}, not text")
    return dict(value)


def _string_list(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AlertPayloadError(f"{where}: {key} is not a list of text")
    return tuple(value)


def _time(obj: dict[str, Any], key: str, where: str) -> datetime | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AlertPayloadError(f"{where}: {key} is {_kind(value)}, not a time")
    try:
        moment = parse_instant(value, default_tz=UTC)
    except (ValueError, OverflowError):
        raise AlertPayloadError(f"{where}: {key} is not a time: {value[:40]!r}") from None
    return None if moment.year == GO_ZERO_YEAR else moment


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:4])
        return f"an object (keys: {keys})" if keys else "an empty object"
    return type(value).__name__


def _preview(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat[:limit] + ("…" if len(flat) > limit else ""))
