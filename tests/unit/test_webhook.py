"""Posting to a chat webhook, against a real HTTP server on 127.0.0.1 started by the test."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from oncall_tui.webhook import post_message, redact, webhook_settings


@dataclass
class ChatServer:
    """An incoming-webhook endpoint: records what it receives, answers as told."""

    url: str = ""
    status: int = 200
    body: str = "ok"
    delay: float = 0.0
    received: list[dict] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    state = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.received.append(json.loads(self.rfile.read(length)))
            state.content_types.append(self.headers.get("Content-Type", ""))
            if state.delay:
                time.sleep(state.delay)
            payload = state.body.encode()
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as a timeout should

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/SECRET-TOKEN"
    yield state
    server.shutdown()
    server.server_close()


MESSAGE = "[P0] Service Issue: identity\n- Status: Under Investigation\n- ETA: unknown\n- Next Update: 03:40 UTC"


def test_success_posts_the_text_as_slack_json(chat):
    result = asyncio.run(post_message(chat.url, MESSAGE, timeout=5))
    assert result.ok
    assert result.status_code == 200
    assert chat.received == [{"text": MESSAGE}]
    assert chat.content_types[0].startswith("application/json")
    port = chat.url.split(":")[2].split("/")[0]
    assert result.summary == f"posted to chat (http://127.0.0.1:{port}, HTTP 200)"


def test_server_error_shows_status_and_an_excerpt_of_the_body(chat):
    chat.status, chat.body = 500, "internal error: channel archived\n" + "x" * 500
    result = asyncio.run(post_message(chat.url, MESSAGE, timeout=5))
    assert not result.ok
    assert result.status_code == 500
    assert "refused the message: HTTP 500: internal error: channel archived x" in result.summary
    assert result.summary.endswith("…")
    assert len(result.summary) < 300
    assert chat.received == [{"text": MESSAGE}]


def test_a_slow_server_is_a_timeout_with_the_limit_named(chat):
    chat.delay = 30.0  # far beyond any loaded machine's slack: waiting for it cannot pass as giving up
    started = time.monotonic()
    result = asyncio.run(post_message(chat.url, MESSAGE, timeout=0.3))
    assert time.monotonic() - started < 10  # gave up at the timeout, did not wait for the server
    assert not result.ok
    assert result.status_code is None
    assert "did not answer within 0.3 s; it may have been posted — look in the channel before posting again" in (
        result.summary
    )


def test_a_server_answering_one_byte_a_second_is_cut_at_the_total_deadline():
    """httpx's timeout is per read: each byte arriving in time would reset it, forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        while not stop.wait(0.3):
            try:
                conn.sendall(b"o")
            except OSError:
                break
        conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        result = asyncio.run(post_message(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", MESSAGE, timeout=1))
        took = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    # A per-read timeout alone would wait out all 1000 bytes (300 s); the deadline is 1 s, and a
    # loaded machine adds its slack on top.
    assert took < 10, took
    assert not result.ok and "did not answer within 1 s" in result.summary


def test_nobody_listening_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    result = asyncio.run(post_message(f"http://127.0.0.1:{port}/hooks/x", MESSAGE, timeout=2))
    assert not result.ok
    assert result.summary.startswith(f"cannot reach the chat webhook at http://127.0.0.1:{port}")


@pytest.mark.parametrize("url", ["chat.example/hooks/x", "ftp://chat.example/hooks/x"])
def test_a_malformed_url_is_explained(url):
    result = asyncio.run(post_message(url, MESSAGE, timeout=1))
    assert not result.ok
    assert "webhook_url" in result.summary


def test_results_never_show_the_secret_part_of_the_url(chat):
    chat.status = 403
    for result in (
        asyncio.run(post_message(chat.url, MESSAGE, timeout=5)),
        asyncio.run(post_message("http://127.0.0.1:1/hooks/SECRET-TOKEN", MESSAGE, timeout=1)),
    ):
        assert "SECRET-TOKEN" not in result.summary
    assert redact("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com"


def test_settings_come_from_the_chat_section():
    assert webhook_settings({}) == (None, 10.0)
    assert webhook_settings({"webhook_url": "  "}) == (None, 10.0)
    assert webhook_settings({"webhook_url": "https://chat/x", "timeout_seconds": 3}) == ("https://chat/x", 3.0)
    assert webhook_settings({"webhook_url": "https://chat/x", "timeout_seconds": "soon"}) == ("https://chat/x", 10.0)


def test_compose_post_from_the_command_line_records_the_message(chat, desk, db_path, clock, capsys):
    from oncall_tui import cli
    from oncall_tui.paths import config_dir

    # Declared from the command line too, on the desk's frozen clock.
    assert (
        cli.main(
            [
                "declare",
                "Login failures",
                "--db",
                str(db_path),
                "--severity",
                "P1",
                "--service",
                "identity",
                "--impact",
                "Slow sign-in",
                "--assignee",
                "bob",
            ],
            clock=clock,
        )
        == 0
    )
    capsys.readouterr()
    inc = desk.get(1)
    config_dir().mkdir(parents=True)
    (config_dir() / "config.toml").write_text(f'[chat]\nwebhook_url = "{chat.url}"\ntimeout_seconds = 5\n')

    status = cli.main(["compose", inc.id, "--db", str(db_path), "--template", "initial", "--post"], clock=clock)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert chat.received == [{"text": out.rstrip("\n")}]
    assert "posted to chat" in err and "Initial Alert recorded on INC-1's timeline" in err
    assert desk.deadlines(desk.get(inc.number)).get("stakeholders").state.value == "met"

    chat.status, chat.body = 500, "boom"
    status = cli.main(["compose", inc.id, "--db", str(db_path), "--template", "initial", "--post"], clock=clock)
    out, err = capsys.readouterr()
    assert status == 1
    assert "refused the message: HTTP 500: boom" in err
    assert len([e for e in desk.timeline(inc.number) if e.kind == "message_sent"]) == 1


def test_compose_post_that_lands_while_the_lock_is_held_says_so_and_how_to_record(chat, db_path, capsys, monkeypatch):
    """The post went out; the timeline write then met another process's lock. The user must not be
    told "nothing was written, try again": a retry would post twice."""
    import sqlite3

    from oncall_tui import cli
    from oncall_tui.desk import Desk
    from oncall_tui.paths import config_dir

    monkeypatch.setenv("ONCALL_TUI_BUSY_TIMEOUT_MS", "200")
    assert (
        cli.main(
            [
                "declare",
                "Login failures",
                "--db",
                str(db_path),
                "--severity",
                "P1",
                "--impact",
                "x",
                "--service",
                "identity",
                "--assignee",
                "bob",
            ]
        )
        == 0
    )
    config_dir().mkdir(parents=True)
    (config_dir() / "config.toml").write_text(f'[chat]\nwebhook_url = "{chat.url}"\ntimeout_seconds = 5\n')
    capsys.readouterr()

    holder = sqlite3.connect(db_path, isolation_level=None)
    original = cli.open_desk

    def open_then_lock(args, **kwargs):  # the lock is taken after the command read the incident
        desk = original(args, **kwargs)
        holder.execute("BEGIN IMMEDIATE")
        return desk

    monkeypatch.setattr(cli, "open_desk", open_then_lock)
    try:
        status = cli.main(["compose", "INC-1", "--db", str(db_path), "--template", "initial", "--post"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert status == 1
    assert len(chat.received) == 1
    assert (
        "posted, but NOT recorded on INC-1's timeline: another process held the desk file's lock — do not post it "
        "again; record it with: oncall-tui compose INC-1 -t initial --mark-sent"
    ) in err
    assert "try again" not in err

    monkeypatch.setattr(cli, "open_desk", original)
    assert cli.main(["compose", "INC-1", "--db", str(db_path), "--template", "initial", "--mark-sent"]) == 0
    assert len(chat.received) == 1
    desk = Desk.open(db_path, readonly=True)
    sent = [e.details for e in desk.timeline(1) if e.kind == "message_sent"]
    desk.close()
    assert [(m["template"], m["via"]) for m in sent] == [("initial", "by hand")]


def test_compose_copy_without_a_clipboard_records_nothing_and_says_how(db_path, capsys):
    import pyperclip

    from oncall_tui import cli

    assert (
        cli.main(
            [
                "declare",
                "Login failures",
                "--db",
                str(db_path),
                "--severity",
                "P1",
                "--impact",
                "x",
                "--service",
                "identity",
                "--assignee",
                "bob",
            ]
        )
        == 0
    )
    capsys.readouterr()
    saved = pyperclip.copy, pyperclip.paste
    pyperclip.set_clipboard("no")
    try:
        status = cli.main(["compose", "INC-1", "--db", str(db_path), "--template", "initial", "--copy"])
    finally:
        pyperclip.copy, pyperclip.paste = saved
    err = capsys.readouterr().err
    assert status == 1
    assert "was NOT recorded as sent — once it is in the channel, record it with: oncall-tui compose INC-1" in err
