"""Fixtures for the integrity tests."""

from __future__ import annotations

import subprocess

import pytest
from integrity_helpers import Run, oncall_tui_command


@pytest.fixture
def run_cli(cli_env):
    """Run `oncall-tui ARGS…` in a subprocess with the test's isolated environment."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> Run:
        proc = subprocess.run(
            [*oncall_tui_command(), *args],
            env={**cli_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
