"""Paging fixtures (imported by the paging tests): real receivers, and a config directory with
people and schedules whose pages reach them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from paging_receivers import HttpReceiver, SmtpServer
from support import roster
from support.roster import THREE_TIERS, people_toml, schedules_toml

from oncall_tui.policy import load_policy

SCHEDULES = schedules_toml("2026-11-23")

POLICY = (
    """\
[paging]
repeat_minutes = 5
repeat_limit = 3
retry_seconds = [0.05]
send_timeout_seconds = 5
heads_up_minutes = 0

"""
    + THREE_TIERS
)


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
    """The team, each paged at `urls[handle]` (ava has a phone number too)."""
    people = people_toml(urls, phones={"ava": "+49 30 1234567"})
    return roster.write_config(directory, people=people, schedules=textwrap.dedent(schedules), policy=policy)


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
