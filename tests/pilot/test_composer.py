"""The composer on the real desk app, driven by key presses: compose, copy, post, and what that does
to the incident's clocks and timeline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyperclip
import pytest
from textual.widgets import Input, Static, TextArea

from oncall_tui.clock import parse_instant
from oncall_tui.config import DeskOptions
from oncall_tui.deadlines import State
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.screens.composer import PREVIEW_DELAY, ComposerScreen

pytestmark = pytest.mark.anyio


INITIAL = (
    "[P0] Service Issue: identity\n"
    "- Timestamp: 2026-11-27 03:00 UTC\n"
    "- Impact: No tenant can sign in\n"
    "- Status: Under Investigation\n"
    "- Assigned: alice"
)


@pytest.fixture(autouse=True)
def no_system_clipboard():
    """Like an SSH session: no system clipboard, so only OSC 52 (app.clipboard) carries the text."""
    saved = pyperclip.copy, pyperclip.paste
    pyperclip.set_clipboard("no")
    yield
    pyperclip.copy, pyperclip.paste = saved


@pytest.fixture
def p0(desk, clock):
    inc = desk.declare(
        "Login failures", severity="P0", services=["identity"], impact="No tenant can sign in", assignee="alice"
    )
    clock.advance(minutes=6)  # 03:06: nine minutes left to notify stakeholders
    return inc


def make_app(desk, clock, db_path, **options) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path, **options), clock=clock)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def footer_text(app) -> str:
    return " ".join(str(key.render()) for key in app.screen.query("FooterKey"))


async def open_composer(pilot) -> ComposerScreen:
    await pilot.press("m")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ComposerScreen)
    await rendered(pilot)
    return pilot.app.screen


async def rendered(pilot) -> None:
    """The preview renders in a thread (a user template may run for seconds): wait for it."""
    for _ in range(3):  # possibly more than once as the form mounts
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def typing_paused(pilot) -> None:
    """The preview re-renders once typing pauses (PREVIEW_DELAY), in a thread: wait for both, not
    for a fixed time that a loaded machine's event loop may not get through."""
    await pilot.pause(2 * PREVIEW_DELAY)
    await rendered(pilot)


async def send(pilot, key: str = "ctrl+o") -> None:
    await pilot.press(key)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def copy_and_record(pilot) -> None:
    """With no system clipboard a copy is not confirmed: the second ctrl+o says it was pasted."""
    await send(pilot)
    await send(pilot)


def messages(desk, number: int) -> list[dict]:
    return [e.details for e in desk.timeline(number) if e.kind == "message_sent"]


async def test_initial_alert_for_a_p0_is_copied_and_meets_the_stakeholder_deadline(desk, clock, db_path, p0):
    assert desk.deadlines(desk.get(p0.number)).get("stakeholders").state is State.PENDING
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        assert composer.template_name == "initial"  # nobody has been notified yet
        assert composer.query_one("#message-text", TextArea).text == INITIAL
        assert "Notify stakeholders: due 03:15 UTC" in text_of(app, "#deadline-hint")

        await send(pilot)

        # No system clipboard: only the terminal got it (OSC 52), which nothing confirms. It is not
        # recorded as sent, and "notify stakeholders" is not met, until the engineer says it went out.
        assert app.clipboard == INITIAL
        assert messages(desk, p0.number) == []
        assert desk.deadlines(desk.get(p0.number)).get("stakeholders").state is State.PENDING
        result = text_of(app, "#result")
        assert "Copied to the terminal (OSC 52), not confirmed: no system clipboard on this machine" in result
        assert "NOT recorded as sent: paste it into the channel, then press ctrl+o again to record it" in result

        await send(pilot)  # pasted: the second ctrl+o records it
        notify = desk.deadlines(desk.get(p0.number)).get("stakeholders")
        assert notify.state is State.MET
        assert notify.done_at == parse_instant("2026-11-27T03:06:00Z")
        assert messages(desk, p0.number) == [
            {"template": "initial", "via": "terminal (OSC 52), sent by hand", "text": INITIAL}
        ]
        assert "stakeholders notified in time" in text_of(app, "#result")
        assert "Notify stakeholders: met at 03:06 UTC" in text_of(app, "#deadline-hint")

        await send(pilot)  # copying again is not a second message
        assert len(messages(desk, p0.number)) == 1


async def test_an_update_sets_the_next_update_countdown_to_the_time_it_promises(desk, clock, db_path, p0):
    desk.record_message(p0.number, template="initial", text=INITIAL, via="clipboard")
    clock.advance(minutes=10)  # 03:16
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        assert composer.template_name == "update"
        # The ETA is the one field the desk does not know: the form starts there.
        assert app.screen.focused.id == "field-eta"
        assert "no value for ETA (eta)" in text_of(app, "#problem")
        await pilot.press(*"about 04:30 UTC", "tab", "ctrl+u", *"04:15")  # the field keeps its text: clear it
        await send(pilot)
        await send(pilot)  # no system clipboard: the second ctrl+o says it was pasted

        sent = messages(desk, p0.number)[-1]
        assert sent["template"] == "update"
        assert sent["text"] == (
            "[P0] Service Issue: identity\n"
            "- Status: Alert received; not yet acknowledged\n"
            "- ETA: about 04:30 UTC\n"
            "- Next Update: 04:15 UTC"
        )
        inc = desk.get(p0.number)
        assert inc.next_update_at == parse_instant("2026-11-27T04:15:00Z")
        countdown = desk.deadlines(inc).get("next_update")
        assert (countdown.state, countdown.due_at) == (State.PENDING, parse_instant("2026-11-27T04:15:00Z"))
        assert inc.eta == ""  # typed for this message only
        assert "next update due 04:15 UTC" in text_of(app, "#result")


async def test_switching_template_keeps_the_keys_in_the_composer(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        composer = await open_composer(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert composer.template_name != "initial"
        assert app.screen.focused is not None and app.screen.focused.id.startswith(("field-", "message-"))
        await pilot.press("f")  # typed into the form, never "move the status forward"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ComposerScreen)
        assert desk.get(p0.number).status.value == "triggered"


async def test_a_field_edit_is_for_this_message_until_saved_to_the_incident(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        impact = composer.query_one("#field-impact", Input)
        impact.focus()
        await pilot.press("ctrl+u", *"Sign-in fails for all tenants")
        await typing_paused(pilot)
        assert "- Impact: Sign-in fails for all tenants" in composer.query_one("#message-text", TextArea).text
        assert desk.get(p0.number).impact == "No tenant can sign in"
        assert impact.has_class("-edited")

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert desk.get(p0.number).impact == "Sign-in fails for all tenants"
        assert desk.timeline(p0.number)[-1].kind == "field_edited"
        assert "Impact saved to INC-1." in text_of(app, "#result")
        assert not impact.has_class("-edited")

        composer.query_one("#field-timestamp", Input).focus()
        await pilot.pause()
        assert "Save field" not in footer_text(app)  # a per-message field has nothing to save to
        composer.query_one("#field-assigned", Input).focus()
        await pilot.pause()
        assert "Save field" in footer_text(app)


async def test_the_text_edited_by_hand_is_what_is_sent(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        area = composer.query_one("#message-text", TextArea)
        assert app.screen.focused is area
        await pilot.press("enter", *"- Bridge: #inc-login")
        await pilot.pause()
        assert "edited by hand" in text_of(app, "#message-state")

        await send(pilot)
        await send(pilot)  # no system clipboard: the second ctrl+o says it was pasted
        assert app.clipboard == INITIAL + "\n- Bridge: #inc-login"
        assert messages(desk, p0.number)[-1]["text"] == INITIAL + "\n- Bridge: #inc-login"

        await pilot.press("ctrl+r")  # back to the template's text
        await rendered(pilot)
        assert area.text == INITIAL


async def test_escape_keeps_a_draft_per_incident_and_m_brings_it_back(desk, clock, db_path, p0):
    other = desk.declare("Checkout errors", severity="P2", services=["shop"], impact="Slow", assignee="bob")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        await pilot.press(*" (update)")
        composer.query_one("#field-impact", Input).focus()
        await pilot.press("end", *" since 02:50")
        await pilot.pause(0.3)
        await pilot.press("escape")  # the stray key: it closes at once, and loses nothing
        await pilot.pause()
        assert not isinstance(app.screen, ComposerScreen)
        assert messages(desk, p0.number) == []

        app.go_to(other.number)  # another incident's composer starts clean
        await pilot.pause()
        composer = await open_composer(pilot)
        assert "since 02:50" not in composer.query_one("#message-text", TextArea).text
        await pilot.press("escape")
        await pilot.pause()

        app.go_to(p0.number)
        await pilot.pause()
        composer = await open_composer(pilot)
        assert composer.query_one("#field-impact", Input).value == "No tenant can sign in since 02:50"
        assert composer.query_one("#message-text", TextArea).text.endswith("(update)")
        assert "draft from 03:06 UTC is back" in text_of(app, "#result")
        await copy_and_record(pilot)
        assert messages(desk, p0.number)[-1]["text"].endswith("(update)")
        await pilot.press("escape")  # sent: nothing left to keep
        await pilot.pause()
        composer = await open_composer(pilot)
        assert composer.restored is None


async def test_the_same_message_copied_twice_is_sent_once_even_from_a_new_composer(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_composer(pilot)
        await copy_and_record(pilot)
        await pilot.press("escape")
        await pilot.pause()
        clock.advance(seconds=6)
        await open_composer(pilot)
        while app.screen.template_name != "initial":  # it suggests the Update now: back to the Initial Alert
            await pilot.press("ctrl+t")
            await pilot.pause()
        await rendered(pilot)
        await copy_and_record(pilot)
        assert len(messages(desk, p0.number)) == 1
        assert "Already on the timeline" in text_of(app, "#result")


async def test_tab_then_typing_adds_to_a_prefilled_field(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        composer.query_one("#field-service", Input).focus()
        await pilot.press("tab", *", for everyone")  # into Timestamp, then Impact
        await pilot.press("tab", *" (EU)")
        await typing_paused(pilot)
        assert composer.query_one("#field-impact", Input).value == "No tenant can sign in (EU)"


async def test_the_severity_field_takes_a_severity_only(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        field = composer.query_one("#field-severity", Input)
        field.focus()
        await pilot.press("ctrl+u", *"urgent")
        await typing_paused(pilot)
        assert "Severity (severity): unknown severity 'urgent'" in text_of(app, "#problem")
        assert field.has_class("-missing")
        await send(pilot)
        assert messages(desk, p0.number) == []
        await pilot.press("ctrl+u", *"critical")
        await typing_paused(pilot)
        assert composer.query_one("#message-text", TextArea).text.startswith("[P0] Service Issue")


async def test_a_broken_template_shows_file_and_line_and_the_desk_keeps_working(desk, clock, db_path, p0, tmp_path):
    mine = tmp_path / "templates"
    mine.mkdir()
    broken = mine / "initial.j2"
    broken.write_text("[{{ severity }}] Service Issue: {{ service }}\n- Impact: {{ impact }\n", encoding="utf-8")
    app = make_app(desk, clock, db_path, template_dirs=(mine,))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_composer(pilot)
        problem = text_of(app, "#problem")
        assert f"{broken}:2" in problem
        assert "syntax error" in problem
        assert not app.screen.query_one("#message-text", TextArea).display

        await send(pilot)
        assert "Not sent: syntax error" in text_of(app, "#result")
        assert messages(desk, p0.number) == []
        assert app.clipboard == ""

        await pilot.press("ctrl+t")  # the shipped Update still works
        await pilot.pause()
        assert app.screen.template_name == "update"

        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("a")  # and so does the rest of the desk
        await pilot.pause()
        assert desk.get(p0.number).acknowledged_at is not None


@dataclass
class Chat:
    url: str = ""
    status: int = 200
    received: list[dict] = field(default_factory=list)


@pytest.fixture
def chat() -> Iterator[Chat]:
    state = Chat()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = b"ok" if state.status == 200 else b"invalid_token"
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/abc"
    yield state
    server.shutdown()
    server.server_close()


async def test_posting_to_the_chat_webhook(desk, clock, db_path, p0, chat):
    app = make_app(desk, clock, db_path, settings={"chat": {"webhook_url": chat.url, "timeout_seconds": 5}})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_composer(pilot)
        chat.status = 403
        await send(pilot, "ctrl+g")
        assert "refused the message: HTTP 403: invalid_token" in text_of(app, "#result")
        assert "Nothing was recorded" in text_of(app, "#result")
        assert messages(desk, p0.number) == []

        chat.status = 200
        await send(pilot, "ctrl+g")
        assert chat.received[-1] == {"text": INITIAL}
        assert "Posted to chat" in text_of(app, "#result")
        assert messages(desk, p0.number) == [{"template": "initial", "via": "webhook", "text": INITIAL}]
        assert desk.deadlines(desk.get(p0.number)).get("stakeholders").state is State.MET


async def test_posting_without_a_webhook_says_how_to_configure_one(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_composer(pilot)
        await send(pilot, "ctrl+g")
        # The section's name is shown as typed, not eaten as markup ("in the  section").
        assert "set webhook_url in the [chat] section" in text_of(app, "#result")
        assert "no restart" in text_of(app, "#result")
        assert messages(desk, p0.number) == []


async def test_a_webhook_added_while_the_desk_runs_is_used_without_a_restart(desk, clock, db_path, p0, chat):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_composer(pilot)
        config = Path.home() / ".config" / "oncall-tui" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[chat]\nwebhook_url = "{chat.url}"\n', encoding="utf-8")
        await send(pilot, "ctrl+g")
        assert [m["via"] for m in messages(desk, p0.number)] == ["webhook"]


async def test_saving_the_message_to_a_file(desk, clock, db_path, p0):
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_composer(pilot)
        await pilot.press("ctrl+l")
        await pilot.pause()
        path = Path(app.screen.query_one("#save-path", Input).value)
        assert path == Path.home() / "INC-1-initial-20261127-0306.txt"
        await pilot.press("enter")
        await pilot.pause()
        assert path.read_text(encoding="utf-8") == INITIAL + "\n"
        assert f"Saved to {path} and noted on the timeline." in text_of(app, "#result")
        saved = desk.timeline(p0.number)[-1]
        assert (saved.kind, saved.details["path"], saved.details["text"]) == ("message_saved", str(path), INITIAL)
        assert messages(desk, p0.number) == []  # a file is not the stakeholders: no clock moves
        assert desk.deadlines(desk.get(p0.number)).get("stakeholders").state is State.PENDING


async def test_resolving_offers_the_resolution_message(desk, clock, db_path, p0):
    desk.acknowledge(p0.number)
    desk.edit(p0.number, "root_cause", "JWKS cache expired")
    desk.edit(p0.number, "resolution", "Refreshed the cache")
    desk.edit(p0.number, "prevention", "Alert on cache age")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # the resolve form, already filled in
        await pilot.pause()
        assert desk.get(p0.number).resolved_at is not None
        await pilot.press("y")  # "Send the Resolution message?"
        await pilot.pause()
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        assert composer.template_name == "resolution"
        assert composer.query_one("#message-text", TextArea).text == (
            "[P0] Service Issue: identity\n"
            "- Status: Resolved\n"
            "- Root Cause: JWKS cache expired\n"
            "- Resolution: Refreshed the cache\n"
            "- Prevention: Alert on cache age"
        )


async def test_the_handoff_brief_is_a_template_with_every_running_clock(desk, clock, db_path, p0):
    desk.declare("Queue backlog", severity="P2")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        while composer.template_name != "handoff":
            await pilot.press("ctrl+t")
            await pilot.pause()
        await typing_paused(pilot)
        text = composer.query_one("#message-text", TextArea).text
        assert text.startswith("Handoff brief")
        assert "Open incidents (2):" in text and "INC-1 [P0] triggered: Login failures" in text
        assert "Notify stakeholders: due" in text and "OVERDUE" in text  # the acknowledgement is 1 minute late
        assert "INC-2 [P2] triggered: Queue backlog" in text
        assert "Action items due within a week: none." in text


# --- faults: a runaway template, a slow webhook, a lock held while posting ------------------------


async def test_a_runaway_template_never_freezes_the_desk(desk, clock, db_path, p0, tmp_path, monkeypatch):
    from oncall_tui import templates

    monkeypatch.setattr(templates, "RENDER_SECONDS", 6)
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "initial.j2").write_text(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}never", encoding="utf-8"
    )
    app = make_app(desk, clock, db_path, template_dirs=(mine,))
    async with app.run_test(size=(120, 40)) as pilot:
        loop = asyncio.get_running_loop()
        await pilot.press("m")
        # While the template runs (in a thread), the event loop still answers within a frame or so.
        waits = []
        opened = loop.time()
        while loop.time() - opened < 1.5:
            asked, answered = loop.time(), asyncio.Event()
            app.call_later(answered.set)
            await answered.wait()
            waits.append(loop.time() - asked)
            await asyncio.sleep(0.05)
        # A frozen loop would wait the whole 6 s; a free one answers within a frame or so on a quiet
        # machine, and within half a second on a loaded 2-core one (0.59 s seen with libfaketime).
        assert waits and max(waits) < 2.0, waits
        assert "Timestamp" not in app.screen.query_one("#message-text", TextArea).text  # still rendering
        await rendered(pilot)
        assert app.screen.template_name == "initial"
        assert "stopped: the template took longer than 6 s to render" in text_of(app, "#problem")
        await pilot.press("escape")  # and the desk goes on
        await pilot.pause()
        assert not isinstance(app.screen, ComposerScreen)


@pytest.fixture
def trickling_chat() -> Iterator[str]:
    """A webhook that reads the request, then answers one byte every 0.3 s, for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.wait(0.3):
                conn.sendall(b".")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    listener.close()


async def test_escape_cancels_a_post_that_hangs(desk, clock, db_path, p0, trickling_chat):
    app = make_app(desk, clock, db_path, settings={"chat": {"webhook_url": trickling_chat, "timeout_seconds": 60}})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_composer(pilot)
        await pilot.press("ctrl+g")
        await pilot.pause(0.5)
        assert "Posting to chat… (escape cancels)" in text_of(app, "#result")
        await pilot.press("escape")
        await pilot.pause()
        assert "Posting cancelled. The chat server may have received it already" in text_of(app, "#result")
        assert messages(desk, p0.number) == []
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ComposerScreen)


async def test_a_post_that_landed_while_the_lock_was_held_is_recorded_on_retry_not_posted_twice(
    desk, clock, db_path, p0, chat
):
    app = make_app(desk, clock, db_path, settings={"chat": {"webhook_url": chat.url, "timeout_seconds": 5}})
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await open_composer(pilot)
            holder.execute("BEGIN IMMEDIATE")
            await send(pilot, "ctrl+g")
            result = text_of(app, "#result")
            assert "Posted to chat" in result
            assert "it is NOT on the timeline yet: another process holds the desk file's lock" in result
            assert "Press ctrl+p again to record it: it will not be posted twice" in result
            assert "nothing was written, try again" not in result
            assert messages(desk, p0.number) == []

            holder.execute("ROLLBACK")
            await send(pilot, "ctrl+g")
            assert len(chat.received) == 1  # posted once
            assert messages(desk, p0.number) == [{"template": "initial", "via": "webhook", "text": INITIAL}]
            assert "Already posted; On INC-1's timeline" in text_of(app, "#result")
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
