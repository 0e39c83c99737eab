"""Paging fixtures (imported by the paging tests): real receivers, and a config directory with
people and schedules whose pages reach them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from paging_receivers import HttpReceiver, SmtpServer

from oncall_tui.policy import load_policy

PEOPLE = """\
[people.ava]
name = "Ava Jones"
tz = "Europe/Berlin"
phone = "+49 30 1234567"
notify = ["{ava}"]

[people.ben]
name = "Ben Okafor"
tz = "America/New_York"
notify = ["{ben}"]

[people.chen]
name = "Chen Li"
tz = "Asia/Singapore"
notify = ["{chen}"]
"""

SCHEDULES = """\
[schedules.primary]
tz = "Europe/Berlin"
[[schedules.primary.layers]]
name = "weekly"
rotation = ["ava", "ben"]
shift = "1w"
start = 2026-11-23
handoff = "10:00"

[schedules.secondary]
tz = "America/New_York"
[[schedules.secondary.layers]]
name = "weekly"
rotation = ["ben", "chen"]
shift = "1w"
start = 2026-11-23
handoff = "09:00"
"""

POLICY = """\
[paging]
repeat_minutes = 5
repeat_limit = 3
retry_seconds = [0.05]
send_timeout_seconds = 5
heads_up_minutes = 0

[[escalation]]
after_minutes = 0
level = "Primary On-Call"
schedule = "primary"

[[escalation]]
after_minutes = 30
level = "Secondary On-Call"
schedule = "secondary"

[[escalation]]
after_minutes = 60
level = "Engineering Manager"
person = "chen"
"""


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


def write_config(directory: Path, *, urls: dict[str, str], policy: str = POLICY, schedules: str = SCHEDULES) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "people.toml").write_text(PEOPLE.format(**urls))
    (directory / "schedules.toml").write_text(textwrap.dedent(schedules))
    (directory / "policy.toml").write_text(policy)
    return directory


@pytest.fixture
def config_dir(tmp_path, monkeypatch, smtp):
    """People whose e-mail pages reach the test's SMTP server; ONCALL_TUI_CONFIG points at them."""
    directory = write_config(
        tmp_path / "config",
        urls={
            "ava": smtp.url("ava@example.com"),
            "ben": smtp.url("ben@example.com"),
            "chen": smtp.url("chen@example.com"),
        },
    )
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(directory))
    return directory


@pytest.fixture
def paging_policy(config_dir):
    return load_policy(config_dir / "policy.toml")
