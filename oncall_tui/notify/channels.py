"""Sending one page over one Apprise URL, and saying truthfully what happened.

Apprise (ntfy, e-mail, Slack, Mattermost, Teams, Matrix, Telegram, JSON webhooks and ~100 more)
answers a send with a bool; the reason — the HTTP status, the SMTP server's complaint, the socket
error — is in its log. So each attempt runs the channel's plugin in a thread of its own, with its
log records of that thread captured, under a deadline: a channel that hangs costs at most the
timeout, and a result is never "delivered" unless Apprise said it was.

Apprise is imported here, in the sending thread, never at module import: it costs ~0.2 s, which
the board's first frame must not pay. URLs hold secrets (tokens, passwords), so results name only
the scheme, the host and, for e-mail, the recipient.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

_IMPORT_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    result: str
    seconds: float


@dataclass(frozen=True, slots=True)
class ChannelResult:
    channel: str  # redacted
    delivered: bool
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        last = self.attempts[-1].result if self.attempts else "not tried"
        tries = f" after {len(self.attempts)} attempts" if len(self.attempts) > 1 else ""
        return f"{self.channel}: {last}{tries}"

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "delivered": self.delivered,
            "attempts": [{"ok": a.ok, "result": a.result, "seconds": round(a.seconds, 3)} for a in self.attempts],
        }


def redact(url: str) -> str:
    """What a timeline may say about a channel: `mailto://smtp.example.com → ava@example.com`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an address that is not a URL)"
    shown = f"{parts.scheme}://{host}{port}"
    if parts.scheme in ("mailto", "mailtos"):
        to = parse_qs(parts.query).get("to")
        if to:
            shown += f" → {to[0]}"
    return shown


def _apprise() -> Any:
    with _IMPORT_LOCK:  # two sending threads importing Apprise at once could see it half-loaded
        import apprise

        return apprise


class _ThreadLog(logging.Handler):
    """Apprise's log records from one thread: the reason behind its True/False."""

    def __init__(self, thread: int) -> None:
        super().__init__(logging.DEBUG)
        self.thread = thread
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append((record.levelno, record.getMessage()))


def problem(url: str) -> str | None:
    """Why Apprise cannot use `url`, or None when it can (imports Apprise: call it off the UI thread)."""
    apprise = _apprise()
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception as exc:  # a plugin's own validation may raise anything
        return f"Apprise cannot use {redact(url)}: {exc}"
    if not plugin:
        return f"Apprise cannot read the address {redact(url)} (unknown scheme or missing parts)"
    return None


def send_once(url: str, title: str, body: str, *, timeout: float) -> Attempt:
    """One attempt, at most `timeout` (+1 s) long; never raises."""
    _apprise()  # loaded before the clock starts: the first send of a process must not time out importing
    started = time.monotonic()
    outcome: dict[str, object] = {}

    def run() -> None:
        apprise = _apprise()
        log = logging.getLogger("apprise")
        handler = _ThreadLog(threading.get_ident())
        log.addHandler(handler)
        if log.level == logging.NOTSET or log.level > logging.DEBUG:
            log.setLevel(logging.DEBUG)
        log.propagate = False  # its lines belong on the timeline, not on the terminal under the board
        try:
            plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
            if not plugin:
                outcome["result"] = "Apprise cannot read this address (unknown scheme or missing parts)"
                outcome["ok"] = False
                return
            for name in ("socket_connect_timeout", "socket_read_timeout"):
                if hasattr(plugin, name):
                    setattr(plugin, name, timeout)
            ok = bool(plugin.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
            outcome["ok"] = ok
            outcome["result"] = _reason(handler.records, ok)
        except Exception as exc:
            outcome["ok"] = False
            outcome["result"] = f"{type(exc).__name__}: {exc}"
        finally:
            log.removeHandler(handler)

    worker = threading.Thread(target=run, name="page-send", daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    seconds = time.monotonic() - started
    if worker.is_alive():
        return Attempt(False, f"no answer within {timeout:g} s (gave up waiting; it may still arrive)", seconds)
    return Attempt(bool(outcome.get("ok")), str(outcome.get("result", "no result")), seconds)


def _reason(records: Sequence[tuple[int, str]], ok: bool) -> str:
    """The line that says why: Apprise's success line, or its warning plus the socket error behind it."""
    if ok:
        sent = [m for lvl, m in records if lvl >= logging.INFO and m.lower().startswith("sent")]
        return sent[-1] if sent else "delivered"
    warnings = [m for lvl, m in records if lvl >= logging.WARNING]
    detail = [m for lvl, m in records if lvl < logging.WARNING and "exception" in m.lower()]
    text = warnings[-1] if warnings else "Apprise reported a failure"
    if detail:
        text += " — " + _short(detail[-1])
    return text


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    for marker in ("Caused by ", "Socket Exception: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def send(
    url: str,
    title: str,
    body: str,
    *,
    timeout: float,
    waits: Sequence[float] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> ChannelResult:
    """Try `url` until it takes the page, waiting `waits[i]` before retry i+1 (backoff)."""
    attempts: list[Attempt] = []
    for wait in (0.0, *waits):
        if wait:
            sleep(wait)
        attempt = send_once(url, title, body, timeout=timeout)
        attempts.append(attempt)
        if attempt.ok or attempt.result.startswith("Apprise cannot read"):
            break  # delivered, or an address no retry will mend
    return ChannelResult(redact(url), attempts[-1].ok, tuple(attempts))
