"""Talking to Alertmanager's API v2 over HTTP (httpx, async).

Every failure — refused connection, a server that hangs, a proxy's HTML error page, a body cut off
or far too large — becomes an `AlertSourceError` whose text is short enough for a status line and
says what happened ("no answer within 5s", "HTTP 502: Bad Gateway"). Credentials are never in the
config file: it names the environment variables that hold them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..clock import iso, parse_instant
from ..errors import DeskError
from .parse import Alert, AlertPayloadError, AlertStream, Silence, decode_json, parse_silences

T = TypeVar("T")

MAX_BODY_BYTES = 8 * 1024 * 1024  # for everything but the alert list: silences, status, errors
MAX_ALERTS_BYTES = 256 * 1024 * 1024  # ~200,000 alerts; `[alerts] max_reply_mib` changes it
USER_AGENT = "oncall-tui"


class AlertSourceError(DeskError):
    """Alertmanager could not be used just now; the message is for the status line, as is."""

    title = "Alertmanager"


@dataclass(frozen=True, slots=True)
class AlertReply:
    alerts: tuple[Alert, ...]
    truncated: str = ""  # why only part of the list was read ("" when it was read whole)


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """`GET /api/v2/status`, the parts the desk uses."""

    started_at: datetime | None  # Alertmanager's "uptime" is the instant it started
    cluster: str = ""  # "ready", "settling", "disabled"
    peers: int = 0


def normalize_url(url: str) -> str:
    """The Alertmanager's base URL from what a person is likely to paste.

    `host:9093`, `http://host:9093/`, the web UI's `http://host:9093/#/alerts` and the API's own
    `…/api/v2/alerts` all mean the same server; a route prefix (`http://host/alertmanager`) is kept.
    """
    raw = url.strip()
    if not raw:
        raise AlertSourceError("no Alertmanager URL given")
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AlertSourceError(f"not an http(s) URL: {url!r} (try http://127.0.0.1:9093)")
    path = parts.path.rstrip("/")
    for suffix in ("/api/v2/alerts", "/api/v2"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def auth_from_settings(section: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> httpx.Auth | None:
    """Basic or bearer auth from the env variables that `[alertmanager]` in config.toml names."""
    env = os.environ if environ is None else environ

    def read(key: str) -> str | None:
        name = section.get(key)
        if not name:
            return None
        value = env.get(str(name))
        if value is None:
            raise AlertSourceError(f"config.toml [alertmanager] {key} names ${name}, which is not set")
        return value

    token = read("bearer_token_env")
    if token is not None:
        return _Bearer(token)
    user = read("basic_user_env")
    if user is not None:
        return httpx.BasicAuth(user, read("basic_password_env") or "")
    return None


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class AlertmanagerClient:
    """One Alertmanager. Open it with `async with`, or call `aclose()` when done."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        auth: httpx.Auth | None = None,
        max_bytes: int = MAX_ALERTS_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._http = httpx.AsyncClient(
            base_url=self.url + "/api/v2",
            timeout=httpx.Timeout(timeout),
            auth=auth,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
            follow_redirects=True,
        )

    @classmethod
    def from_settings(
        cls, url: str, section: Mapping[str, Any], *, timeout: float, max_bytes: int = MAX_ALERTS_BYTES
    ) -> AlertmanagerClient:
        return cls(url, timeout=timeout, auth=auth_from_settings(section), max_bytes=max_bytes)

    async def __aenter__(self) -> AlertmanagerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the API --------------------------------------------------------------------------------

    async def alerts(self) -> tuple[Alert, ...]:
        """Every alert Alertmanager holds now: firing, silenced and inhibited alike."""
        reply = await self.read_alerts()
        if reply.truncated:
            raise AlertSourceError(reply.truncated)
        return reply.alerts

    async def read_alerts(self, *, matchers: tuple[str, ...] = (), receiver: str = "") -> AlertReply:
        """The alerts (those `matchers` and `receiver` select, on the server), parsed as they arrive.

        An answer larger than the limit is read up to it: the alerts before the cut are returned
        with `truncated` saying so, because a desk that sees most of a storm beats a blind one.
        """
        params: list[tuple[str, str | int | float | bool | None]] = [("filter", m) for m in matchers]
        if receiver:
            params.append(("receiver", receiver))
        stream = AlertStream()
        truncated = ""
        try:
            async with asyncio.timeout(self.timeout):
                async with self._http.stream("GET", "/alerts", params=params) as response:
                    if response.status_code >= 400:
                        await self._fail(response, await self._read(response, MAX_BODY_BYTES))
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            with contextlib.suppress(AlertPayloadError):  # up to the limit, not a byte more
                                stream.feed(chunk[: len(chunk) - (size - self.max_bytes)])
                            truncated = (
                                f"Alertmanager's answer is over {_size(self.max_bytes)}: only the first "
                                f"{len(stream.alerts):,} alerts were read ([alerts] max_reply_mib)"
                            )
                            break
                        # Decoding is the costly part of a storm's answer: off the event loop.
                        await asyncio.to_thread(stream.feed, chunk)
        except (TimeoutError, httpx.TimeoutException):
            raise AlertSourceError(f"no answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise AlertSourceError(_describe(exc)) from None
        except AlertPayloadError as exc:
            raise AlertSourceError(str(exc)) from None
        if truncated:
            return AlertReply(tuple(stream.alerts), truncated)
        try:
            return AlertReply(stream.close())
        except AlertPayloadError as exc:
            raise AlertSourceError(str(exc)) from None

    async def silences(self) -> dict[str, Silence]:
        body = await self._request("GET", "/silences")
        return _payload(parse_silences, body)

    async def status(self) -> ServerStatus:
        data = _payload(decode_json, await self._request("GET", "/status"))
        if not isinstance(data, dict):
            raise AlertSourceError("Alertmanager's status is not an object")
        started = None
        if isinstance(data.get("uptime"), str):
            try:
                started = parse_instant(data["uptime"], default_tz=UTC)
            except (ValueError, OverflowError):
                started = None
        found = data.get("cluster")
        cluster: dict[str, Any] = found if isinstance(found, dict) else {}
        listed = cluster.get("peers")
        peers: list[Any] = listed if isinstance(listed, list) else []
        return ServerStatus(started, str(cluster.get("status") or ""), len(peers))

    async def create_silence(
        self,
        labels: Mapping[str, str],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
        silence_id: str = "",
    ) -> str:
        """A silence matching exactly these labels; returns its id. With `silence_id`, that silence
        is updated (renewed) instead — Alertmanager may answer with a new id, which is the one to keep."""
        if not labels:
            raise AlertSourceError("cannot silence an alert without labels")
        payload: dict[str, Any] = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())],
            "startsAt": iso(starts_at),
            "endsAt": iso(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        if silence_id:
            payload["id"] = silence_id
        data = _payload(decode_json, await self._request("POST", "/silences", json=payload))
        sid = data.get("silenceID") if isinstance(data, dict) else None
        if not isinstance(sid, str) or not sid:
            raise AlertSourceError("Alertmanager accepted the silence but did not say its id")
        return sid

    async def expire_silence(self, silence_id: str) -> bool:
        """Expire a silence; False when Alertmanager no longer knows it (nothing left to expire)."""
        try:
            await self._request("DELETE", f"/silence/{silence_id}")
        except _NotFound:
            return False
        return True

    # --- transport ------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> bytes:
        try:
            # httpx's timeout is per read; the deadline covers a server that trickles bytes too.
            async with asyncio.timeout(self.timeout):
                async with self._http.stream(method, path, **kwargs) as response:
                    body = await self._read(response, MAX_BODY_BYTES)
        except (TimeoutError, httpx.TimeoutException):
            raise AlertSourceError(f"no answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise AlertSourceError(_describe(exc)) from None
        if response.status_code >= 400:
            await self._fail(response, body)
        return body

    async def _fail(self, response: httpx.Response, body: bytes) -> None:
        text = _short(body)
        # Alertmanager answers an unknown silence with 500 "silence not found" (0.25) or 404.
        if response.status_code == 404 or "not found" in text.lower():
            raise _NotFound(f"HTTP {response.status_code}: {text}")
        raise AlertSourceError(f"HTTP {response.status_code}: {text or response.reason_phrase}")

    async def _read(self, response: httpx.Response, limit: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise AlertSourceError(f"the answer is too large ({_size(int(declared))}; the limit is {_size(limit)})")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise AlertSourceError(f"the answer is too large (over {_size(limit)})")
            chunks.append(chunk)
        return b"".join(chunks)


class _NotFound(AlertSourceError):
    pass


def _payload(parse: Callable[[bytes], T], body: bytes) -> T:
    try:
        return parse(body)
    except AlertPayloadError as exc:
        raise AlertSourceError(str(exc)) from None


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if isinstance(exc, httpx.ConnectError):
        if "refused" in low or "all connection attempts failed" in low:
            return "connection refused"
        if "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low:
            return "cannot resolve the host name"
        if "certificate" in low or "ssl" in low:
            return f"TLS failed: {text}"
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the connection: {text}"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    return text


def _short(body: bytes, limit: int = 120) -> str:
    text = body[: limit * 4].decode("utf-8", "replace")
    if text.lstrip().startswith("{"):  # Alertmanager's own errors: {"code": 612, "message": "…"}
        try:
            message = decode_json(body).get("message")
        except (AlertPayloadError, AttributeError):
            message = None
        if isinstance(message, str):
            text = message
    elif text.lstrip().startswith("<"):  # an HTML error page: its title says more than its markup
        lower = text.lower()
        start, end = lower.find("<title>"), lower.find("</title>")
        text = text[start + 7 : end] if 0 <= start < end else "an HTML error page"
    text = " ".join(text.split()).strip('"')
    return text[:limit] + ("…" if len(text) > limit else "")


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"
