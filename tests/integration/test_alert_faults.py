"""Alertmanager misbehaving — failing, slow, answering garbage — against a fake server on 127.0.0.1.

Each fault must show as a clear error, write nothing, back the poller off, and lose nothing: once the
server answers again, everything that fired meanwhile arrives, with its original start time.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pilot_helpers import board_text, until

from oncall_tui.alerts.client import AlertmanagerClient, AlertSourceError, auth_from_settings
from oncall_tui.alerts.intake import Intake
from oncall_tui.alerts.poller import Poller, State
from oncall_tui.clock import iso
from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk

pytestmark = pytest.mark.anyio

STARTED = datetime(2026, 11, 27, 2, 40, tzinfo=UTC)  # before the desk's frozen 03:00
TIMEOUT = 0.5


def alert_json(name="IdentityServiceDown", fp="aaaa000000000001", starts=STARTED, **labels) -> dict:
    return {
        "fingerprint": fp,
        "startsAt": iso(starts),
        "endsAt": iso(starts + timedelta(hours=1)),
        "updatedAt": iso(starts),
        "annotations": {"summary": f"{name} firing"},
        "receivers": [{"name": "pager"}],
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "labels": {"alertname": name, "severity": "critical", **labels},
    }


class FakeAlertmanager:
    """A tiny HTTP server that answers the API v2 paths the desk uses, or misbehaves on request."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.hang_seconds = TIMEOUT * 6
        self.alerts: list[dict] = []
        self.silences: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fake.handle(self, "GET")

            def do_POST(self) -> None:
                fake.handle(self, "POST")

            def do_DELETE(self) -> None:
                fake.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True  # a hanging handler must not hold up the test's end
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        self.requests.append((method, h.path, dict(h.headers)))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        mode = self.mode
        if mode == "hang":
            time.sleep(self.hang_seconds)
            return
        if mode == "drop":
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "500":
            return self.send(h, 500, b"internal error: storage unavailable\n", "text/plain")
        if mode == "html":
            page = b"<!DOCTYPE html><html><head><title>Sign in - Corp SSO</title></head><body>...</body></html>"
            return self.send(h, 200, page, "text/html")
        if mode == "html502":
            return self.send(h, 502, b"<html><head><title>502 Bad Gateway</title></head></html>", "text/html")
        if mode == "truncated":
            return self.send(h, 200, json.dumps(self.alerts or [alert_json()]).encode()[:-7])
        if mode == "wrong-shape":
            return self.send(h, 200, b'{"status":"success","data":{"alerts":[]}}')
        if mode in ("huge", "huge-chunked"):
            return self.send_huge(h, chunked=mode == "huge-chunked")
        if mode == "trickle":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "1000")
            h.end_headers()
            for _ in range(40):  # a byte every 0.1 s: each read is quick, the whole never arrives
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.1)
            return
        self.api(h, method, body)

    def api(self, h, method: str, body: bytes) -> None:
        path = h.path.split("?")[0]
        if method == "GET" and path == "/api/v2/alerts":
            return self.send(h, 200, json.dumps(self.alerts).encode())
        if method == "GET" and path == "/api/v2/silences":
            return self.send(h, 200, json.dumps(list(self.silences.values())).encode())
        if method == "POST" and path == "/api/v2/silences":
            sid = str(uuid.uuid4())
            self.silences[sid] = {**json.loads(body), "id": sid, "status": {"state": "active"}}
            return self.send(h, 200, json.dumps({"silenceID": sid}).encode())
        if method == "DELETE" and path.startswith("/api/v2/silence/"):
            sid = path.rsplit("/", 1)[1]
            if sid not in self.silences:
                return self.send(h, 500, b'"silence not found"')
            self.silences[sid]["status"] = {"state": "expired"}
            return self.send(h, 200, b"")
        self.send(h, 404, b"404 page not found\n", "text/plain")

    def send(self, h, status: int, body: bytes, ctype: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_huge(self, h, *, chunked: bool) -> None:
        one = json.dumps(alert_json()).encode()
        body = b"[" + b",".join([one] * (10 * 1024 * 1024 // len(one) + 1)) + b"]"  # a valid 10 MB list
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding" if chunked else "Content-Length", "chunked" if chunked else str(len(body)))
        h.end_headers()
        try:
            for at in range(0, len(body), 1 << 20):
                part = body[at : at + (1 << 20)]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the desk hung up once it had seen enough: that is the point


@pytest.fixture
def fake():
    server = FakeAlertmanager()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def alert_reads(fake: FakeAlertmanager) -> int:
    return sum(1 for method, path, _ in fake.requests if method == "GET" and path.startswith("/api/v2/alerts"))


def event_count(desk: Desk) -> int:
    return desk.store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


async def pull(desk: Desk, url: str, *, timeout: float = TIMEOUT):
    async with AlertmanagerClient(url, timeout=timeout) as client:
        return await Intake(desk, client).pull()


@pytest.mark.parametrize(
    "mode, says",
    [
        ("500", "HTTP 500: internal error: storage unavailable"),
        ("html", "the answer is an HTML page, not JSON"),
        ("html502", "HTTP 502: 502 Bad Gateway"),
        ("truncated", "the JSON ends early"),
        ("wrong-shape", "expected a JSON list of alerts, got an object (keys: status, data)"),
        ("hang", f"no answer within {TIMEOUT:g}s"),
        ("trickle", f"no answer within {TIMEOUT:g}s"),
        ("drop", "the server broke the connection"),
    ],
)
async def test_a_fault_is_a_clear_error_and_writes_nothing(fake, desk, mode, says):
    fake.alerts = [alert_json()]
    fake.mode = mode
    before = event_count(desk)

    timeout = TIMEOUT
    started = time.monotonic()
    with pytest.raises(AlertSourceError) as err:
        await pull(desk, fake.url, timeout=timeout)
    took = time.monotonic() - started

    assert says in str(err.value)
    assert took < timeout + 2  # never stuck longer than the timeout
    assert desk.incidents() == [] and event_count(desk) == before


@pytest.mark.parametrize("mode", ["huge", "huge-chunked"])
async def test_a_reply_over_the_limit_is_a_loud_warning_not_blindness(fake, desk, mode):
    """10 MB of alerts against a 4 MiB limit: the alerts before the cut are imported, the poll says
    loudly that it saw only part, and nothing is flagged "stopped" on the strength of a partial view."""
    fake.mode = mode
    async with AlertmanagerClient(fake.url, timeout=60 * TIMEOUT, max_bytes=4 * 1024 * 1024) as client:
        result = await Intake(desk, client).pull()
    assert [i.fingerprint for i in desk.incidents()] == ["aaaa000000000001"]
    (problem,) = result.problems
    assert "over 4 MiB: only the first" in problem and "max_reply_mib" in problem
    fake.mode = "ok"
    fake.alerts = [alert_json("Other", fp=f"bbbb{i:012x}") for i in range(200)]  # the first alert is gone
    async with AlertmanagerClient(fake.url, timeout=TIMEOUT, max_bytes=20_000) as client:
        result = await Intake(desk, client).pull()
    assert result.problems and 0 < len(desk.incidents()) - 1 < 200
    assert desk.get(1).alert_state != "resolved"  # absent from a partial view is not "stopped"


async def test_connection_refused(desk):
    with pytest.raises(AlertSourceError, match="^connection refused$"):
        await pull(desk, closed_port_url())


async def test_outage_backs_off_and_loses_nothing(fake, desk, clock):
    """Down for a while with an alert firing and an acknowledgement made meanwhile: on recovery the
    alert arrives with its original start, and the acknowledgement gets its silence."""
    poller = Poller(desk.policy.alerts.poll_seconds)
    desk.declare("Typed while Alertmanager was down")
    fake.alerts = [alert_json()]
    fake.mode = "500"
    waits = []
    for _ in range(5):
        assert poller.due(clock.now())
        poller.started(clock.now())
        try:
            await pull(desk, fake.url)
        except AlertSourceError as exc:
            health = poller.failed(clock.now(), str(exc))
        waits.append(poller.seconds_until_due(clock.now()))
        assert not poller.due(clock.now())
        assert health.describe(clock.now()).startswith("AM down: HTTP 500: internal error")
        clock.advance(seconds=waits[-1])
    assert waits == [10, 20, 40, 60, 60]  # doubling from twice the 5 s interval, capped at a minute
    assert [i.title for i in desk.incidents()] == ["Typed while Alertmanager was down"]  # the desk kept working

    fake.mode = "ok"
    poller.started(clock.now())
    result = await pull(desk, fake.url)
    health = poller.succeeded(clock.now(), alerts=result.alerts)

    assert health.state is State.OK and health.describe(clock.now()) == "AM ok 0s"
    assert poller.seconds_until_due(clock.now()) == 5
    alert_born = desk.find_by_fingerprint("aaaa000000000001")
    assert alert_born is not None and alert_born.started_at == STARTED

    fake.mode = "500"
    desk.acknowledge(alert_born.number)  # acknowledged while Alertmanager is down again
    with pytest.raises(AlertSourceError):
        await pull(desk, fake.url)
    assert desk.get(alert_born.number).silence_id == ""
    fake.mode = "ok"
    result = await pull(desk, fake.url)
    assert [c.kind for c in result.changes] == ["silence_created"]
    (silence,) = fake.silences.values()
    assert silence["id"] == desk.get(alert_born.number).silence_id
    assert alert_born.id in silence["comment"]


async def test_a_silence_alertmanager_refuses_is_a_problem_not_a_failed_poll(fake, desk):
    fake.alerts = [alert_json()]
    await pull(desk, fake.url)
    desk.acknowledge(1)
    original = fake.api

    def refuse_silences(h, method, body):
        if method == "POST":
            return fake.send(h, 400, b'{"code":400,"message":"start time must be before end time"}')
        return original(h, method, body)

    fake.api = refuse_silences
    result = await pull(desk, fake.url)

    assert result.changes == ()
    assert result.problems == ("INC-1: could not silence its alert: HTTP 400: start time must be before end time",)
    fake.api = original
    assert [c.kind for c in (await pull(desk, fake.url)).changes] == ["silence_created"]  # the next poll retries


async def test_bearer_token_comes_from_the_named_environment_variable(fake, desk, monkeypatch):
    monkeypatch.setenv("AM_TOKEN", "s3cret")
    auth = auth_from_settings({"bearer_token_env": "AM_TOKEN"})
    async with AlertmanagerClient(fake.url, timeout=TIMEOUT, auth=auth) as client:
        await client.alerts()
    assert fake.requests[-1][2]["Authorization"] == "Bearer s3cret"


async def test_basic_auth_comes_from_the_named_environment_variables(fake, monkeypatch):
    monkeypatch.setenv("AM_USER", "desk")
    monkeypatch.setenv("AM_PASSWORD", "pw")
    auth = auth_from_settings({"basic_user_env": "AM_USER", "basic_password_env": "AM_PASSWORD"})
    async with AlertmanagerClient(fake.url, timeout=TIMEOUT, auth=auth) as client:
        await client.alerts()
    assert fake.requests[-1][2]["Authorization"] == "Basic ZGVzazpwdw=="


def test_a_missing_credential_variable_is_named(monkeypatch):
    monkeypatch.delenv("AM_TOKEN", raising=False)
    with pytest.raises(AlertSourceError, match=r"bearer_token_env names \$AM_TOKEN, which is not set"):
        auth_from_settings({"bearer_token_env": "AM_TOKEN"})


@pytest.mark.parametrize(
    "given, base",
    [
        ("127.0.0.1:9093", "http://127.0.0.1:9093"),
        ("http://am.example:9093/", "http://am.example:9093"),
        ("http://am.example:9093/#/alerts", "http://am.example:9093"),
        ("https://am.example/alertmanager/api/v2/alerts", "https://am.example/alertmanager"),
    ],
)
def test_urls_as_people_paste_them(given, base):
    from oncall_tui.alerts.client import normalize_url

    assert normalize_url(given) == base


def test_a_url_that_is_not_http_is_refused():
    from oncall_tui.alerts.client import normalize_url

    with pytest.raises(AlertSourceError, match="not an http"):
        normalize_url("ftp://am.example")


# --- the board while Alertmanager misbehaves ------------------------------------------------------


async def test_the_desk_stays_usable_while_alertmanager_hangs(fake, desk, db_path, clock):
    from oncall_tui.ui.app import OncallApp
    from oncall_tui.ui.widgets.alert_source import AlertSource

    timeout = 2.5
    desk.policy = replace(desk.policy, alerts=replace(desk.policy.alerts, timeout_seconds=timeout))
    desk.declare("Login failures")
    fake.alerts = [alert_json()]
    fake.mode = "500"  # the first poll fails at once, however long the app takes to start
    fake.hang_seconds = 3 * timeout
    app = OncallApp(desk, DeskOptions(db_path=db_path, alertmanager_url=fake.url), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        source = app.query_one(AlertSource)
        await until(pilot, lambda: source.poller.health.state is State.DOWN, "the first failure")
        # The indicator is always whole (it was cut to "AM down:" until a resize); the reason is one key away.
        assert source.describe() == "AM down (retry in 10s)"
        await pilot.pause()
        assert source.render().plain == "AM down (retry in 10s)" and source.content_size.width == len(source.describe())
        assert "HTTP 500: internal error: storage unavailable" in str(source.tooltip)

        # The hanging poll starts now, on the test's tick, not somewhere in a loaded machine's
        # start-up: the keys below come well inside its timeout.
        fake.mode = "hang"
        clock.advance(seconds=10)
        app.tick()
        await until(pilot, lambda: alert_reads(fake) == 2, "the second poll reach Alertmanager")

        app.board_screen.selected = 1
        await pilot.press("a")  # while the poll hangs: acted on at once, not after it
        assert desk.get(1).acknowledged_at is not None
        assert source.poller.health.in_flight  # the poll is still waiting

        await until(pilot, lambda: not source.poller.health.in_flight, "the poll time out")
        assert source.poller.health.state is State.DOWN
        assert source.describe() == "AM down (retry in 20s)"
        assert "(2 failed polls in a row)" in str(source.tooltip)
        await pilot.press("A")
        assert any(f"no answer within {timeout:g}s" in n.message for n in app._notifications)

        fake.mode = "ok"
        clock.advance(seconds=20)
        app.tick()
        await until(pilot, lambda: source.poller.health.state is State.OK, "the recovery")
        await until(pilot, lambda: "IdentityServiceDown fir" in board_text(app), "the alert on the board")
        assert desk.find_by_fingerprint("aaaa000000000001").started_at == STARTED


async def test_garbage_from_alertmanager_never_reaches_the_board(fake, desk, db_path, clock):
    from oncall_tui.ui.app import OncallApp
    from oncall_tui.ui.widgets.alert_source import AlertSource

    fake.mode = "html"
    app = OncallApp(desk, DeskOptions(db_path=db_path, alertmanager_url=fake.url), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        source = app.query_one(AlertSource)
        await until(pilot, lambda: source.poller.health.state is State.DOWN, "the failed poll")
        assert source.describe() == "AM down (retry in 10s)"  # the error is in the tooltip, and behind A
        assert "the answer is an HTML page" in str(source.tooltip)
        assert desk.incidents() == []
        await pilot.press("d")  # the desk's own keys still work
        await pilot.press("escape")
