"""Who may open the served desk, under which name, and how many at once.

Every viewer has a token (a random secret printed in their link when the server starts); the
token decides the name written on the timeline for what that viewer does, so a served desk has no
anonymous writes. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path

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
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def exposure_warning(host: str, public_url: str | None) -> str | None:
    """What to say when the desk can be reached from the network without TLS; None when it cannot."""
    if is_loopback(host) or (public_url or "").startswith("https://"):
        return None
    return (
        f"WARNING: serving on {host} without TLS: the tokens and everything on the desk cross the network "
        "in clear. Put it behind a TLS proxy and pass --public-url https://…"
    )


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


def read_tokens(path: Path) -> list[Viewer]:
    """Viewers kept in a tokens file (`name = "token"` lines of TOML), so links outlive a restart."""
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    viewers = []
    for name, token in raw.items():
        if not isinstance(token, str) or len(token) < 16:
            raise ValueError(f"{path}: the token of {name!r} must be a string of at least 16 characters")
        viewers.append(Viewer(str(name), token))
    return viewers


def write_tokens(path: Path, viewers: list[Viewer]) -> None:
    """Write the tokens file readable by its owner only (it holds everyone's secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# oncall-tui serve: one viewer per line; delete a line to revoke that link.\n"
    text += "".join(f"{json.dumps(v.name)} = {json.dumps(v.token)}\n" for v in viewers)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def viewers_for(names: list[str], tokens_file: Path | None) -> tuple[Access, str]:
    """The viewers for this start, and a note on where their tokens came from.

    Without a file every start makes new tokens. With one, the names in it keep their tokens, and
    any name asked for that it lacks gets a new one, written back.
    """
    if tokens_file is None:
        return Access.generate(names), ""
    kept = read_tokens(tokens_file) if tokens_file.exists() else []
    if kept and tokens_file.stat().st_mode & 0o077:
        raise ValueError(f"{tokens_file} can be read by others: chmod 600 it (it holds every viewer's token)")
    known = {v.name for v in kept}
    fresh = [Viewer(n, secrets.token_urlsafe(TOKEN_BYTES)) for n in dict.fromkeys(names) if n not in known]
    if fresh or not tokens_file.exists():
        write_tokens(tokens_file, kept + fresh)
    note = f"tokens kept in {tokens_file}" + (f" ({len(fresh)} new)" if fresh and kept else "")
    return Access(kept + fresh), note
