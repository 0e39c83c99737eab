"""Where the desk's files live: its shipped content, the user's config, and the database."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def data_dir() -> Path:
    """The shipped content (runbooks, templates, policy).

    In a wheel it is `oncall_tui/data`; in a source checkout (editable install) it is the repo's
    top-level `data/`.
    """
    packaged = Path(__file__).with_name("data")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "data"


def config_dir() -> Path:
    """The user's own policy, runbooks and templates: $ONCALL_TUI_CONFIG, else XDG config."""
    if env := os.environ.get("ONCALL_TUI_CONFIG"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base).expanduser() / "oncall-tui"


def default_db_path() -> Path | str:
    """$ONCALL_TUI_DB, else the XDG data dir; a `postgresql://` URL there (team mode) stays a URL."""
    if env := os.environ.get("ONCALL_TUI_DB"):
        return db_target(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "oncall-tui" / "desk.db"


def db_target(value: str | Path) -> Path | str:
    """What `--db` or $ONCALL_TUI_DB names: a PostgreSQL server's URL as is, else a desk file's path."""
    if isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
        return value
    return Path(value).expanduser()


def target_name(target: Path | str) -> str:
    """A short name for the record, for the status bar: the file's name, or db@host (never a password)."""
    if isinstance(target, Path):
        return target.name
    from urllib.parse import urlsplit

    try:
        url = urlsplit(target)
        return f"{url.path.lstrip('/') or url.username or 'postgres'}@{url.hostname or 'localhost'}"
    except ValueError:
        return "postgresql"


def shown_target(target: Path | str) -> str:
    """The record as a message may show it: a path as is, a server's URL without its password."""
    if isinstance(target, Path):
        return str(target)
    from urllib.parse import urlsplit, urlunsplit

    try:
        url = urlsplit(target)
        host = url.hostname or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        netloc = (f"{url.username}@" if url.username else "") + host + (f":{url.port}" if url.port else "")
        return urlunsplit((url.scheme, netloc, url.path, "", ""))
    except ValueError:
        return "postgresql://…"


def demo_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "oncall-tui" / "demo.db"


def current_actor() -> str:
    """Who is acting: $ONCALL_TUI_USER, else the login name."""
    if env := os.environ.get("ONCALL_TUI_USER"):
        return env.strip()
    for var in ("USER", "LOGNAME", "USERNAME"):
        if val := os.environ.get(var):
            return val
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def escapes(path: Path, directory: Path) -> Path | None:
    """Where `path` really leads, when a symlink takes it outside `directory`; else None.

    Runbook and template folders may come from a shared git repository: a link in one to
    /etc/shadow or ~/.ssh/id_rsa must not be rendered, shown or posted to chat.
    """
    try:
        target = path.resolve(strict=True)
        home = directory.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling or looping link: not inside either
        return Path(os.path.realpath(path))
    return None if target.is_relative_to(home) else target


def refusal(path: Path, directory: Path, target: Path, what: str) -> str:
    return (
        f"{path.name} is a link to {target}, outside {directory}: refused (a {what} must be a file inside its "
        "folder, so a shared folder cannot make the desk read other files)"
    )


def editor_command(path: Path) -> list[str]:
    """$VISUAL, else $EDITOR, else vi, split as a shell would, with `path` last.

    Raises ValueError with a sentence naming the variable when it cannot be read as a command
    (`EDITOR='vim "'` has an unclosed quote; an empty one names nothing).
    """
    name = "VISUAL" if os.environ.get("VISUAL") else "EDITOR" if os.environ.get("EDITOR") else ""
    raw = os.environ.get(name, "") if name else "vi"
    import shlex

    try:
        words = shlex.split(raw)
    except ValueError as exc:
        raise InputError(
            f"${name} = {raw!r} is not a command the desk can run ({exc}); fix it, e.g. EDITOR=vim"
        ) from None
    if not words:
        raise InputError(f"${name} is blank; set it to your editor, e.g. EDITOR=vim")
    return [*words, str(path)]


def fresh_demo_file(path: Path) -> None:
    """`--demo` starts from a fresh demo file each time: its clocks are relative to now, and a demo
    played with yesterday is not what someone trying the desk today should see."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
