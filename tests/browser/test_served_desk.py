"""The desk and the wall in a real browser: headless Chromium against a real `oncall-tui serve`.

Each test looks at what a viewer would: the page loads from this machine only, the board shows its
countdowns (the screenshot is kept in build/test-artifacts/ to be looked at), a key typed in the
browser acknowledges an incident under the viewer's name, the wall refuses every writing key, a
request without a token is refused, the session cap holds, and a viewer leaving mid-session
changes nothing for the others.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from urllib.parse import urlsplit

import aiohttp
import pytest
from cdp import ARTIFACTS, Browser
from wall_fixtures import twelve_open_three_breached

from oncall_tui.clock import SystemClock
from oncall_tui.desk import Desk
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.screens.board import BoardScreen

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.slow]

WRITING_KEYS = sorted(
    {
        b.key
        for b in (*OncallApp.BINDINGS, *BoardScreen.BINDINGS)
        if b.action not in ("help", "quit", "focus_board", "focus_detail")
    }
)
READY = "document.body.classList.contains('-first-byte')"


@pytest.fixture
def live_desk(db_path, policy):
    """A desk on the real clock: the served desk processes run on the system clock."""
    desk = Desk.open(db_path, policy=policy, clock=SystemClock(), actor="pagerbot")
    yield desk
    desk.close()


def read(db_path, policy, what):
    """`what(desk)` on a fresh read-only desk: what another desk would see in the file now."""
    desk = Desk.open(db_path, policy=policy, readonly=True)
    try:
        return what(desk)
    finally:
        desk.close()


def record(desk: Desk) -> list[tuple]:
    """Every incident's version and timeline: any write changes this."""
    return [(i.number, i.version, len(desk.timeline(i.number))) for i in desk.incidents(include_closed=True)]


def off_machine(requests: list[str]) -> list[str]:
    return [u for u in requests if urlsplit(u).scheme not in ("data", "about") and urlsplit(u).hostname != "127.0.0.1"]


async def open_desk(browser: Browser, link: str):
    page = await browser.new_page()
    started = time.monotonic()
    await page.goto(link)
    await page.wait_for(READY, timeout=30)
    return page, time.monotonic() - started


async def wait_until(check, timeout: float = 20):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if value := check():
            return value
        await asyncio.sleep(0.2)
    raise TimeoutError("the condition never held")


async def test_a_viewer_sees_the_board_and_acknowledges_from_the_browser(serve, live_desk, db_path, policy):
    inc = live_desk.declare("Login failures across all tenants", severity="P0", services=["identity"])
    served = serve(db_path, "--viewer", "carol")
    browser = await Browser(1280, 800).start()
    try:
        page, load_seconds = await open_desk(browser, served.links["carol"])
        await page.wait_for_text("Login failures", timeout=30)
        await page.wait_for_text("left", timeout=10)  # the ack countdown: "ack in 4m58s" … "left"
        await asyncio.sleep(1.5)  # a couple of ticks, so the screenshot shows the clocks moving
        shot = await page.screenshot(ARTIFACTS / "browser-desk.png")
        assert shot.stat().st_size > 10_000
        await page.focus_terminal()
        await page.press("a")
        acked = await wait_until(lambda: read(db_path, policy, lambda d: d.get(inc.number).acknowledged_by))
        assert acked == "carol"  # the viewer's name, from their token; never anonymous
        last = read(db_path, policy, lambda d: d.timeline(inc.number)[-1])
        assert (last.kind, last.actor) == ("acknowledged", "carol")
        await page.wait_for_text("INC-1 acknowledged", timeout=10)  # the desk's own toast
        await asyncio.sleep(1)  # the terminal draws what it received
        await page.screenshot(ARTIFACTS / "browser-desk-acknowledged.png")
        assert off_machine(page.requests) == [], page.requests
        assert any(u.startswith("ws://127.0.0.1") for u in page.requests)
        page_ms = await page.evaluate(
            "(() => { const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd - t.startTime; })()"
        )
        (ARTIFACTS / "browser-page-load.txt").write_text(
            f"{page_ms / 1000:.3f} s to the page loaded (HTML, script, fonts)\n"
            f"{load_seconds:.3f} s to the desk's first output in the terminal (its process started)\n"
        )
    finally:
        await browser.close()


async def test_the_wall_refuses_every_writing_key(serve, db_path, policy, clock):
    clock.set(SystemClock().now())  # the served wall runs on the system clock
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="pagerbot")
    twelve_open_three_breached(desk, clock)
    desk.close()
    before = read(db_path, policy, record)
    served = serve(db_path, "--wall")
    browser = await Browser(1600, 900).start()
    try:
        page, _ = await open_desk(browser, served.links["wall"])
        await page.wait_for_text("breached", timeout=30)
        await page.wait_for_text("OVERDUE", timeout=10)
        await asyncio.sleep(1.5)
        await page.screenshot(ARTIFACTS / "browser-wall.png")
        await page.focus_terminal()
        for key in [*WRITING_KEYS, "enter", "y"]:
            await page.press(key)
        await asyncio.sleep(2)
        assert read(db_path, policy, record) == before
        assert served.process.poll() is None and len(served.children()) == 1  # the wall is still up
        assert off_machine(page.requests) == [], page.requests
    finally:
        await browser.close()


async def test_without_the_token_nothing_is_served(serve, live_desk, db_path):
    served = serve(db_path, "--viewer", "carol")
    assert served.get("/")[0] == 401
    assert served.get("/ws")[0] == 401
    assert served.get("/?token=not-the-token")[0] == 401
    status, text = served.get("/", cookie="forged")
    assert status == 401 and "link" in text
    status, text = served.get("/", cookie=served.token("carol"))
    assert status == 200 and "textual.js" in text
    # textual-serve's script fetches whatever ?ping= names: the page drops it before loading.
    browser = await Browser().start()
    try:
        page = await browser.new_page()
        await page.goto(served.links["carol"] + "&ping=http://192.0.2.1/x")
        await page.wait_for(READY)
        assert off_machine(page.requests) == [], page.requests
    finally:
        await browser.close()


async def test_the_session_cap_holds_and_a_viewer_leaving_frees_their_place(serve, live_desk, db_path):
    live_desk.declare("Login failures", severity="P0", services=["identity"])
    served = serve(db_path, "--viewer", "carol", "--max-sessions", "1")
    browser = await Browser().start()
    try:
        first, _ = await open_desk(browser, served.links["carol"])
        await first.wait_for_text("Login failures")
        assert len(served.children()) == 1
        second = await browser.new_page()
        await second.goto(served.links["carol"])
        await second.wait_for("document.body.innerText.includes('The desk is full')")
        assert "1 desk session is in use" in await second.evaluate("document.body.innerText")
        assert len(served.children()) == 1

        # The first viewer goes away mid-session (tab closed, no goodbye): the server carries on,
        # stops that desk process and gives the place to the next viewer.
        await browser.close_page(first)
        await wait_until(lambda: not served.children())
        third, _ = await open_desk(browser, served.links["carol"])
        await third.wait_for_text("Login failures")
        assert served.process.poll() is None and len(served.children()) == 1

        # The browser dies outright (SIGKILL: no tab closing, no websocket goodbye).
        os.killpg(browser.process.pid, signal.SIGKILL)
        browser.process.wait()
        await wait_until(lambda: not served.children())
        assert served.process.poll() is None
        assert served.get("/", cookie=served.token("carol"))[0] == 200
    finally:
        await browser.close()


async def test_a_desk_session_cannot_be_opened_from_another_site(serve, live_desk, db_path):
    served = serve(db_path, "--viewer", "carol")
    cookies = {served.cookie: served.token("carol")}
    async with aiohttp.ClientSession(cookies=cookies) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(served.base + "/ws", origin="http://attacker.example")
        assert refused.value.status == 403
        ws = await http.ws_connect(served.base + "/ws?width=80&height=24", origin=served.base)
        await ws.close()
