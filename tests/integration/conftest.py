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
    args: list[str] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.args or [], stdout=out, stderr=subprocess.STDOUT)
        _wait_ready(self)

    def stop(self) -> None:
        """SIGTERM, as systemd stops it: it writes its silences to disk first."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the machine is gone, nothing is written."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def status(self) -> dict:
        return self.call("GET", "/api/v2/status")

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 5.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
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

    def alerts(self, *, timeout: float = 5.0) -> list[dict]:
        return self.call("GET", "/api/v2/alerts", timeout=timeout)

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
    am = start_alertmanager(tmp_path / "am")
    try:
        yield am
    finally:
        am.stop()


@dataclass
class Cluster:
    """Two Alertmanagers gossiping on loopback, as production runs an HA pair."""

    members: list[Alertmanager]

    def wait_replicated(self, silence_id: str, timeout: float = 10.0) -> None:
        for am in self.members:
            am.wait_for(
                lambda am=am: any(s["id"] == silence_id for s in am.silences()), f"silence {silence_id}", timeout
            )


@pytest.fixture
def am_cluster(tmp_path) -> Cluster:
    ports = [free_port(), free_port()]
    members = []
    try:
        for i, port in enumerate(ports):
            peer = ports[1 - i]
            members.append(start_alertmanager(tmp_path / f"am{i + 1}", cluster=(port, peer)))
        yield Cluster(members)
    finally:
        for am in members:
            am.stop()


def start_alertmanager(root: Path, *, cluster: tuple[int, int] | None = None) -> Alertmanager:
    """One Alertmanager on a free loopback port; `cluster` = (its gossip port, its peer's)."""
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)) and not shutil.which(BINARY):
        pytest.skip(MISSING)
    root.mkdir(parents=True, exist_ok=True)
    config = root / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    args = [
        BINARY,
        f"--config.file={config}",
        f"--storage.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    if cluster is None:
        args.append("--cluster.listen-address=")  # no gossip: a lone test instance, no port 9094
    else:
        listen, peer = cluster
        args += [
            f"--cluster.listen-address=127.0.0.1:{listen}",
            f"--cluster.advertise-address=127.0.0.1:{listen}",
            f"--cluster.peer=127.0.0.1:{peer}",
            "--cluster.settle-timeout=2s",
            "--cluster.gossip-interval=50ms",
            "--cluster.pushpull-interval=2s",
        ]
    am = Alertmanager(f"http://127.0.0.1:{port}", None, root / "alertmanager.log", args)  # type: ignore[arg-type]
    am.start()
    return am


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
