"""What a desk is opened with: the CLI's options over the user's config file.

`~/.config/oncall-tui/config.toml` (all optional):

    [alertmanager]
    url = "http://127.0.0.1:9093"        # or an HA pair: url = ["http://am-1:9093", "http://am-2:9093"]
    bearer_token_env = "AM_TOKEN"        # the token itself stays in the environment
    basic_user_env = "AM_USER"
    basic_password_env = "AM_PASSWORD"

    [chat]
    webhook_url = "https://chat.example/hooks/…"   # Slack/Mattermost-compatible incoming webhook

    [serve]                              # `oncall-tui serve`; its options override these
    host = "127.0.0.1"
    port = 8000
    max_sessions = 8                     # browser tabs at once: each runs a desk process
    tokens = "~/.config/oncall-tui/serve-tokens.toml"   # links that outlive a restart (0600)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .paths import config_dir, db_target, default_db_path, demo_db_path
from .schema import ConfigError, Table, read_toml, single_file


@dataclass(frozen=True, slots=True)
class DeskOptions:
    """What a desk is opened with: the CLI's options over config.toml."""

    db_path: Path | str  # a desk file, or a PostgreSQL URL (team mode)
    policy_path: Path | None = None
    runbook_dirs: tuple[Path, ...] = ()
    template_dirs: tuple[Path, ...] = ()
    alertmanager_url: str | list[str] | tuple[str, ...] | None = None  # one, a list, or "a, b"
    demo: bool = False
    settings: dict[str, Any] = field(default_factory=dict)  # the whole config.toml, by section

    @property
    def alertmanager_urls(self) -> tuple[str, ...]:
        """Every Alertmanager to poll, in the order given, each once (an HA pair is two)."""
        return alertmanager_urls(self.alertmanager_url)

    def section(self, name: str) -> dict[str, Any]:
        value = self.settings.get(name, {})
        return value if isinstance(value, dict) else {}


def alertmanager_urls(value: Any) -> tuple[str, ...]:
    """URLs from a string (comma- or space-separated), a list of them, or nothing; never raises."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else [str(value)]
    urls: list[str] = []
    for item in items:
        urls.extend(part for part in str(item).replace(",", " ").split() if part)
    return tuple(dict.fromkeys(urls))


def read_config(path: Path | None = None) -> dict[str, Any]:
    """config.toml, every key the desk reads checked (see schema.py); {} when there is none."""
    path = path or config_dir() / "config.toml"
    try:
        if not path.is_file():
            return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    settings = read_toml(path)
    check_config(settings, path)
    return settings


def check_config(settings: dict[str, Any], path: Path) -> None:
    top = Table(settings, "config", single_file(path))
    am = top.table("alertmanager")
    if isinstance(am.raw.get("url"), list):  # an HA cluster: every Alertmanager of it
        for url in am.texts("url"):
            Table({"url": url}, "config", single_file(path), ("alertmanager",)).url("url")
    else:
        for url in alertmanager_urls(am.text("url")):
            Table({"url": url}, "config", single_file(path), ("alertmanager",)).url("url")
    for key in ("bearer_token_env", "basic_user_env", "basic_password_env"):
        am.text(key)
    chat = top.table("chat")
    chat.url("webhook_url")
    chat.number("timeout_seconds", 10, low=0, high=120, unit="seconds", above=True)


def options_from_args(args: argparse.Namespace) -> DeskOptions:
    settings = read_config()
    user_dir = config_dir()
    runbooks = [user_dir / "runbooks"]
    if getattr(args, "runbooks", None):
        runbooks.append(args.runbooks)
    templates = [user_dir / "templates"]
    if getattr(args, "templates", None):
        templates.append(args.templates)
    if getattr(args, "db", None):
        db = args.db
    elif getattr(args, "demo", False):
        db = demo_db_path()
    else:
        db = default_db_path()
    section = settings.get("alertmanager", {}) if isinstance(settings.get("alertmanager"), dict) else {}
    am = alertmanager_urls(getattr(args, "alertmanager", None)) or alertmanager_urls(
        section.get("urls", section.get("url"))
    )
    return DeskOptions(
        db_path=db_target(db),
        policy_path=getattr(args, "policy", None),
        runbook_dirs=tuple(runbooks),
        template_dirs=tuple(templates),
        alertmanager_url=am or None,
        demo=bool(getattr(args, "demo", False)),
        settings=settings,
    )
