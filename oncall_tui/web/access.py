"""Who may open the served desk, under which name, and how many at once.

Every viewer has a token (a random secret printed in their link when the server starts); the
token decides the name written on the timeline for what that viewer does, so a served desk has no
anonymous writes. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass

TOKEN_BYTES = 24  # 192 bits, written as 32 URL-safe characters


@dataclass(frozen=True, slots=True)
class Viewer:
    name: str
    token: str


class Access:
    """The viewers and their tokens; `who(token)` is the name a session runs as, or None."""

    def __init__(self, viewers: list[Viewer]) -> None:
        if not viewers:
            raise ValueError("a served desk needs at least one viewer")
        names = [v.name for v in viewers]
        if len(set(names)) != len(names):
            raise ValueError("each --viewer name can be given once")
        self.viewers = tuple(viewers)

    @classmethod
    def generate(cls, names: list[str]) -> Access:
        return cls([Viewer(name, secrets.token_urlsafe(TOKEN_BYTES)) for name in names])

    def who(self, token: str | None) -> str | None:
        if not token:
            return None
        found = None
        for viewer in self.viewers:  # every token compared, in constant time: no timing oracle
            if hmac.compare_digest(viewer.token.encode(), token.encode()):
                found = viewer.name
        return found


def is_loopback(host: str) -> bool:
    """Only this machine can reach `host` (127.0.0.0/8, ::1, or a name that resolves only there)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


class Sessions:
    """How many desk processes run, capped: each browser tab costs one."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("--max-sessions must be at least 1")
        self.limit = limit
        self.open = 0

    @property
    def full(self) -> bool:
        return self.open >= self.limit

    def claim(self) -> bool:
        if self.full:
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open = max(0, self.open - 1)
