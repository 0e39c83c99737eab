"""A small Chrome DevTools Protocol client: headless Chromium driven over its websocket.

No driver download and no browser download: the Debian `chromium` and aiohttp's websocket client
(already here through textual-serve). It records every network request the page makes and every
websocket frame the served desk sends, so tests can say what the page fetched and what the
terminal showed.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = os.environ.get("ONCALL_TUI_CHROMIUM", "/usr/bin/chromium")
# Screenshots and figures the browser tests leave to be looked at.
ARTIFACTS = Path(os.environ.get("ONCALL_TUI_ARTIFACTS", Path(__file__).parents[2] / "build" / "test-artifacts"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    # Nothing may leave the machine even if the page asked: every name but 127.0.0.1 fails to resolve.
    # A request the page makes is still recorded (before resolution), so the test sees it.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0",
]

KEYS = {  # key → (code, virtual key code) for the keys the tests press
    "enter": ("Enter", 13, "\r"),
    "escape": ("Escape", 27, ""),
    "slash": ("Slash", 191, "/"),
    "question_mark": ("Slash", 191, "?"),
    "left_square_bracket": ("BracketLeft", 219, "["),
    "right_square_bracket": ("BracketRight", 221, "]"),
}


def chromium_missing() -> str | None:
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    return None


@dataclass
class Page:
    session: aiohttp.ClientSession
    ws: aiohttp.ClientWebSocketResponse
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, in order
    frames: list[bytes] = field(default_factory=list)  # what the served desk sent to the terminal
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future] = field(default_factory=dict)
    _reader: asyncio.Task | None = None

    def start(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            elif method == "Network.webSocketCreated":
                self.requests.append(params["url"])
            elif method == "Network.webSocketFrameReceived":
                frame = params["response"]
                payload = frame["payloadData"]
                self.frames.append(base64.b64decode(payload) if frame["opcode"] == 2 else payload.encode())

    async def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 20) -> dict[str, Any]:
        number = next(self._ids)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self.ws.send_str(json.dumps({"id": number, "method": method, "params": params or {}}))
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def wait_for(self, expression: str, timeout: float = 30) -> float:
        """Wait until `expression` is true in the page; returns the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if await self.evaluate(expression):
                    return time.monotonic() - start
            except RuntimeError:
                pass  # the page is navigating
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{expression!r} still false after {timeout}s")

    def shown(self) -> str:
        """Everything the desk wrote to the terminal so far, escape sequences and all."""
        return b"".join(self.frames).decode("utf-8", "replace")

    async def wait_for_text(self, text: str, timeout: float = 30) -> None:
        start = time.monotonic()
        while text not in self.shown():
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{text!r} not shown after {timeout}s")
            await asyncio.sleep(0.1)

    async def focus_terminal(self) -> None:
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")

    async def press(self, key: str) -> None:
        """One key, as a person types it: keydown (with its text) and keyup."""
        if key in KEYS:
            code, vk, text = KEYS[key]
        else:
            code, vk, text = (f"Key{key.upper()}" if key.isalpha() else f"Digit{key}"), ord(key.upper()), key
        shift = 8 if key.isupper() or key == "question_mark" else 0
        name = text if len(text) == 1 else code
        down = {"type": "keyDown", "key": name, "code": code, "windowsVirtualKeyCode": vk, "modifiers": shift}
        if text:
            down["text"] = text
        await self.send("Input.dispatchKeyEvent", down)
        await self.send(
            "Input.dispatchKeyEvent",
            {"type": "keyUp", "key": name, "code": code, "windowsVirtualKeyCode": vk, "modifiers": shift},
        )

    async def screenshot(self, path: Path) -> Path:
        result = await self.send("Page.captureScreenshot", {"format": "png"})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(result["data"]))
        return path

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.ws.close()


class Browser:
    """One headless Chromium with a fresh profile, stopped (with its profile removed) on close."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="oncall-chromium-"))
        self.size = (width, height)
        self.process: subprocess.Popen | None = None
        self.http: aiohttp.ClientSession | None = None
        self.port = 0

    async def start(self) -> Browser:
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={self.size[0]},{self.size[1]}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not marker.exists() or not marker.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            await asyncio.sleep(0.05)
        self.port = int(marker.read_text().split()[0])
        self.http = aiohttp.ClientSession()
        return self

    async def new_page(self) -> Page:
        assert self.http is not None
        async with self.http.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as response:
            target = await response.json()
        ws = await self.http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(self.http, ws)
        page.target_id = target["id"]  # type: ignore[attr-defined]
        page.start()
        await page.send("Network.enable")
        await page.send("Page.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.size[0], "height": self.size[1], "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    async def close_page(self, page: Page) -> None:
        assert self.http is not None
        await page.close()
        async with self.http.get(f"http://127.0.0.1:{self.port}/json/close/{page.target_id}") as response:  # type: ignore[attr-defined]
            await response.read()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
