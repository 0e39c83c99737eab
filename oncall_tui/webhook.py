"""Post a status message to a Slack/Mattermost-compatible incoming webhook.

The result is a sentence the engineer can act on — posted, refused (with the server's own words),
timed out, or unreachable — never an exception. The webhook URL is a secret (whoever has it can post
to the channel), so results name only its scheme and host.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_TIMEOUT = 10.0
EXCERPT_CHARS = 200


@dataclass(frozen=True, slots=True)
class PostResult:
    ok: bool
    summary: str
    status_code: int | None = None


def webhook_settings(chat: dict[str, Any]) -> tuple[str | None, float]:
    """(url, timeout) from the config file's [chat] section; url is None when none is configured."""
    url = str(chat.get("webhook_url") or "").strip() or None
    try:
        timeout = float(chat.get("timeout_seconds", DEFAULT_TIMEOUT))
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT
    return url, timeout if timeout > 0 else DEFAULT_TIMEOUT


def redact(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


async def post_message(
    url: str,
    text: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> PostResult:
    where = redact(url)
    try:
        # httpx's timeout bounds each wait (connect, each read); a server answering one byte a second
        # never trips it. The whole exchange, body included, gets `timeout` in total.
        async with asyncio.timeout(timeout), httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json={"text": text})
    except httpx.ConnectTimeout:
        return PostResult(False, f"chat webhook at {where} could not be reached within {timeout:g} s; not posted")
    except (httpx.TimeoutException, TimeoutError):
        # The request went out; the server may have posted it and be slow to say so.
        return PostResult(
            False,
            f"chat webhook at {where} did not answer within {timeout:g} s; it may have been posted — "
            "look in the channel before posting again",
        )
    except httpx.InvalidURL:
        return PostResult(False, "the chat webhook_url in the config file is not a valid URL")
    except httpx.UnsupportedProtocol:
        return PostResult(False, f"the chat webhook_url must start with http:// or https:// (is {where})")
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return PostResult(False, f"cannot reach the chat webhook at {where}: {reason}; not posted")
    if response.is_success:
        return PostResult(True, f"posted to chat ({where}, HTTP {response.status_code})", response.status_code)
    body = " ".join(response.text.split())
    if len(body) > EXCERPT_CHARS:
        body = body[:EXCERPT_CHARS] + "…"
    detail = f": {body}" if body else ""
    return PostResult(
        False,
        f"chat webhook at {where} refused the message: HTTP {response.status_code}{detail}",
        response.status_code,
    )
