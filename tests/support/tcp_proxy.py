"""A TCP forwarder on 127.0.0.1 between the desk and its server, to cut the network in tests.

`forward` passes bytes both ways; `blackhole` keeps every connection open and passes nothing (a
cut cable, a firewall dropping packets: the desk's bytes are accepted and no answer ever comes);
`close()` stops listening, so new connections are refused.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_port: int, *, mode: str = "forward") -> None:
        self.target = ("127.0.0.1", target_port)
        self.mode = mode
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stopping = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, server_url: str) -> str:
        return server_url.replace(f":{self.target[1]}/", f":{self.port}/")

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ)
        self._listener.settimeout(0)
        while not self._stopping.is_set():
            for key, _ in sel.select(timeout=0.05):
                sock = key.fileobj
                if sock is self._listener:
                    with contextlib.suppress(OSError):
                        client, _ = self._listener.accept()
                        client.setblocking(True)
                        try:
                            upstream = socket.create_connection(self.target, timeout=5)
                        except OSError:
                            client.close()
                            continue
                        upstream.settimeout(None)
                        with self._lock:
                            self._pairs.append((client, upstream))
                        sel.register(client, selectors.EVENT_READ, upstream)
                        sel.register(upstream, selectors.EVENT_READ, client)
                    continue
                peer = key.data
                try:
                    data = sock.recv(65536)  # type: ignore[union-attr]
                except OSError:
                    data = b""
                if not data:
                    for s in (sock, peer):
                        with contextlib.suppress(Exception):
                            sel.unregister(s)
                        with contextlib.suppress(OSError):
                            s.close()  # type: ignore[union-attr]
                    continue
                if self.mode == "forward":
                    with contextlib.suppress(OSError):
                        peer.sendall(data)
                # blackhole: read and drop, so the sender's kernel sees its bytes taken
        sel.close()

    def close(self) -> None:
        """Stop listening (new connections are refused) and drop every connection."""
        self._stopping.set()
        self._thread.join(timeout=2)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for pair in self._pairs:
                for s in pair:
                    with contextlib.suppress(OSError):
                        s.close()
