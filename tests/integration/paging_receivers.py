"""Real receivers on 127.0.0.1 for pages: an SMTP server (aiosmtpd) and an HTTP server that stands
in for ntfy, JSON webhooks and chat, each able to fail the way real ones do."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    to: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def body(self) -> str:
        msg = self.message
        if msg.is_multipart():
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    return part.get_payload(decode=True).decode("utf-8", "replace")
            part = next(p for p in msg.walk() if not p.is_multipart())
            return part.get_payload(decode=True).decode("utf-8", "replace")
        return msg.get_payload(decode=True).decode("utf-8", "replace")


class SmtpServer:
    """aiosmtpd on a free port; `mails` fills as messages arrive."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.mails: list[Mail] = []
        self._lock = threading.Lock()
        server = self

        class Handler:
            async def handle_DATA(self, _server, _session, envelope):
                with server._lock:
                    server.mails.append(Mail(list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
                return "250 OK queued"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?to={to}&from=pager@oncall.test&mode=insecure"

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.mails if address in m.to]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{address} received {len(self.to(address))} mails, expected {count}")

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Hit:
    path: str
    body: dict
    at: float


@dataclass
class HttpReceiver:
    """An HTTP server for ntfy/JSON pages. `mode`: 'ok', '500', or 'slow' (answers after `delay`)."""

    mode: str = "ok"
    delay: float = 5.0
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                receiver.hits.append(Hit(self.path, body, time.monotonic()))
                code = 500 if receiver.mode == "500" else 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error":"boom"}' if code == 500 else b"{}")
                except OSError:  # the sender gave up waiting (the slow mode's point)
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ntfy(self, topic: str) -> str:
        return f"ntfy://127.0.0.1:{self.port}/{topic}"

    def json_url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def tls_url(self, path: str = "hook") -> str:
        """HTTPS to a plain-HTTP server: the TLS handshake fails, as with a broken certificate."""
        return f"jsons://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def refused_url() -> str:
    return f"json://127.0.0.1:{free_port()}/nobody-listens"
