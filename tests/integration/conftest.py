"""A real Prometheus Alertmanager on 127.0.0.1, started per test and stopped after it.

`.ci/run` installs the Debian package; without the binary these tests skip and say how to get it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from paging_fixtures import config_dir, http_receiver, paging_policy, smtp  # noqa: F401 (the paging tests' fixtures)

from oncall_tui.clock import FrozenClock, iso
from oncall_tui.desk import Desk

BINARY = os.environ.get("ONCALL_TUI_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
MISSING = "prometheus-alertmanager not installed (apt-get install prometheus-alertmanager)"
CONFIG = """\
route:
  receiver: "null"
  group_by: ["alertname"]
receivers:
  - name: "null"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Alertmanager:
    url: str
    process: subprocess.Popen
    log: Path

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
        return json.loads(raw) if raw.strip() else None

    def fire(
        self,
        labels: dict[str, str],
        *,
        annotations: dict[str, str] | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
    ) -> None:
        """POST one alert as Prometheus does (endsAt a few minutes ahead keeps it firing)."""
        now = datetime.now(UTC)
        alert = {
            "labels": labels,
            "annotations": annotations or {},
            "startsAt": iso(starts_at or now),
            "endsAt": iso(ends_at or now + timedelta(minutes=10)),
            "generatorURL": "http://prometheus.test/graph",
        }
        self.call("POST", "/api/v2/alerts", [alert])

    def resolve(self, labels: dict[str, str], starts_at: datetime) -> None:
        """What Prometheus sends when an alert stops: the same alert, endsAt in the past."""
        self.fire(labels, starts_at=starts_at, ends_at=datetime.now(UTC) - timedelta(seconds=1))

    def alerts(self) -> list[dict]:
        return self.call("GET", "/api/v2/alerts")

    def silences(self) -> list[dict]:
        return self.call("GET", "/api/v2/silences")

    def wait_for(self, check, what: str, timeout: float = 10.0):
        """Alertmanager applies silences to alerts a moment after creating them: wait, don't sleep blind."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := check():
                return result
            time.sleep(0.05)
        raise AssertionError(f"Alertmanager never showed {what} within {timeout}s")


@pytest.fixture
def alertmanager(tmp_path) -> Alertmanager:
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)) and not shutil.which(BINARY):
        pytest.skip(MISSING)
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip: a lone test instance, no port 9094
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    am = Alertmanager(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(am)
        yield am
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(am: Alertmanager, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if am.process.poll() is not None:
            pytest.fail(f"alertmanager exited with {am.process.returncode}:\n{am.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(am.url + "/-/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    pytest.fail(f"alertmanager not ready after {timeout}s:\n{am.log.read_text()[-2000:]}")


@pytest.fixture
def live_clock() -> FrozenClock:
    """Frozen, but at the real time: Alertmanager stamps alerts and silences with its own clock."""
    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def live_desk(db_path, policy, live_clock) -> Desk:
    d = Desk.open(db_path, policy=policy, clock=live_clock, actor="alice")
    yield d
    d.close()
