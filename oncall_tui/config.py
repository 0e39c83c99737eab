"""What a desk is opened with: the CLI's options over the user's config file.

`~/.config/oncall-tui/config.toml` (all optional):

    [alertmanager]
    url = "http://127.0.0.1:9093"
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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .paths import config_dir, default_db_path, demo_db_path
from .policy import PolicyError


@dataclass(frozen=True, slots=True)
class DeskOptions:
    db_path: Path
    policy_path: Path | None = None
    runbook_dirs: tuple[Path, ...] = ()
    template_dirs: tuple[Path, ...] = ()
    alertmanager_url: str | None = None
    demo: bool = False
    settings: dict[str, Any] = field(default_factory=dict)  # the whole config.toml, by section

    def section(self, name: str) -> dict[str, Any]:
        value = self.settings.get(name, {})
        return value if isinstance(value, dict) else {}


def read_config(path: Path | None = None) -> dict[str, Any]:
    path = path or config_dir() / "config.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: {exc}") from None


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
    am = getattr(args, "alertmanager", None) or settings.get("alertmanager", {}).get("url")
    return DeskOptions(
        db_path=Path(db),
        policy_path=getattr(args, "policy", None),
        runbook_dirs=tuple(runbooks),
        template_dirs=tuple(templates),
        alertmanager_url=am,
        demo=bool(getattr(args, "demo", False)),
        settings=settings,
    )
