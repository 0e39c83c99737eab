"""Shared fixtures: a frozen clock, the shipped policy, and a real desk file on disk.

Autouse isolation keeps the developer's own config, database and time zone out of every test.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from oncall_tui.clock import FrozenClock
from oncall_tui.desk import Desk
from oncall_tui.policy import Policy, load_policy

T0 = "2026-11-27T03:00:00Z"


@pytest.fixture
def anyio_backend() -> str:
    """The async tests (Pilot, marked `anyio`) run on asyncio, Textual's loop."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("ONCALL_TUI_DB", raising=False)
    monkeypatch.delenv("ONCALL_TUI_CONFIG", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.setenv("ONCALL_TUI_USER", "alice")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    time.tzset()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def policy() -> Policy:
    return load_policy(use_user_config=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


@pytest.fixture
def desk(db_path, policy, clock) -> Desk:
    d = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    yield d
    d.close()


@pytest.fixture
def cli_env(db_path) -> dict[str, str]:
    """Environment for running the real `oncall-tui` executable in a subprocess."""
    env = dict(os.environ)
    env["ONCALL_TUI_DB"] = str(db_path)
    return env


@pytest.fixture
def extra_deadline_kind(monkeypatch):
    """A made-up kind of deadline registered for one test: "post to the status page within 30 minutes",
    met by the Initial Alert. Every consumer of `DEADLINE_KINDS` must pick it up with no other change."""
    from datetime import timedelta

    from oncall_tui import deadlines

    def rule(kind, incident, policy, now):
        start = incident.started_at
        return deadlines._clock(
            kind, start, start + timedelta(minutes=30), incident.notified_at, now, incident.resolved_at
        )

    kind = deadlines.DeadlineKind(
        "status_page",
        "Post to the status page",
        "status",
        rule,
        done="status page posted",
        how="post it with the Initial Alert (m)",
        step="eta",
        messages=("initial",),
    )
    monkeypatch.setattr(deadlines, "DEADLINE_KINDS", (*deadlines.DEADLINE_KINDS, kind))
    return kind


# A real PostgreSQL for the team-mode tests (tests/support/postgres.py: the server per session, a
# database per test), and backend-parametrised records (tests/support/backends.py: the same test on
# a desk file and on PostgreSQL).
from support.backends import backend, module_record_target, record_target  # noqa: E402, F401
from support.postgres import desk_on_pg, pg_database, pg_url, postgres_server, private_postgres  # noqa: E402, F401
