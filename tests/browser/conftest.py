"""A real `oncall-tui serve` on 127.0.0.1 and a real headless Chromium, per test.

`.ci/run` installs the Debian `chromium`; without it these tests skip and say how to get it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cdp import chromium_missing

from oncall_tui.web.server import cookie_name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    process: subprocess.Popen
    base: str
    links: dict[str, str]  # viewer → their link with its token
    output: list[str]

    def get(self, path: str = "/", cookie: str | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path)
        if cookie:
            request.add_header("Cookie", f"{self.cookie}={cookie}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    @property
    def cookie(self) -> str:
        return cookie_name(urlsplit(self.base).port or 80)

    def token(self, viewer: str) -> str:
        return self.links[viewer].split("token=", 1)[1]

    def children(self) -> list[int]:
        """The desk processes this server runs now (each tab's)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                found.append(int(entry.name))
        return found


@pytest.fixture
def serve(tmp_path):
    if reason := chromium_missing():
        pytest.skip(reason)
    started: list[Served] = []

    def start(db: Path, *args: str) -> Served:
        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "oncall_tui.cli", "serve", "--db", str(db), "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # its desk processes are in its group, stopped with it
        )
        output: list[str] = []
        links: dict[str, str] = {}
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if m := re.match(r"\s+(\S+): (http://\S+)", line):
                links[m.group(1)] = m.group(2)
            if line.startswith("Press Ctrl+C"):
                break
        # Keep reading what it logs: a full pipe would stop the server.
        threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
        served = Served(process, f"http://127.0.0.1:{port}", links, output)
        started.append(served)
        assert links, "".join(output)
        while time.monotonic() < deadline:  # listening?
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            os.killpg(served.process.pid, signal.SIGTERM)
            try:
                served.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(served.process.pid, signal.SIGKILL)
                served.process.wait()
