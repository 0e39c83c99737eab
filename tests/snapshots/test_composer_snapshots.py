"""How the composer looks at 80x24 and 120x40, on a frozen clock."""

from __future__ import annotations

import pyperclip
import pytest
from textual.widgets import Input, TextArea

from oncall_tui.clock import parse_instant
from oncall_tui.config import DeskOptions
from oncall_tui.ui.app import OncallApp

SMALL, LARGE = (80, 24), (120, 40)


@pytest.fixture(autouse=True)
def no_system_clipboard():
    saved = pyperclip.copy, pyperclip.paste
    pyperclip.set_clipboard("no")
    yield
    pyperclip.copy, pyperclip.paste = saved


@pytest.fixture
def app(desk, clock, db_path) -> OncallApp:
    """INC-1, a P0 acknowledged at 03:02; the clock stands at 03:06 (nine minutes left to notify)."""
    inc = desk.declare(
        "Login failures",
        severity="P0",
        services=["identity", "postgres"],
        impact="No tenant can sign in",
        started_at=parse_instant("2026-11-27T02:58:00Z"),
    )
    clock.advance(minutes=2)
    desk.acknowledge(inc.number)
    desk.move(inc.number, "investigating")
    clock.advance(minutes=4)
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


async def still_cursors(pilot) -> None:
    """A blinking cursor would make each snapshot a coin toss."""
    for widget in pilot.app.screen.query("Input, TextArea").results((Input, TextArea)):
        widget.cursor_blink = False
        if isinstance(widget, TextArea):
            # TextArea caches its lines under a key that is the same for "blink off" and "not
            # blinking": on a machine slow enough that the cursor blinked off before this point
            # (0.5 s after the focus), the line without its cursor would be drawn from the cache.
            widget.notify_style_update()
            widget.refresh()
    await pilot.pause()


async def open_composer(pilot) -> None:
    await pilot.press("m")
    await pilot.pause()
    # The preview renders in a thread (possibly more than once as the form mounts), and the first
    # empty field (else the message) takes the focus after that: wait for both.
    for _ in range(50):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        if not getattr(screen, "_rendering", False) and isinstance(screen.focused, (Input, TextArea)):
            break
    await pilot.pause()
    await still_cursors(pilot)


async def copied(pilot) -> None:
    await open_composer(pilot)
    await pilot.press("ctrl+o")
    await pilot.pause()  # the startup work queued after the first frame (breaches, runbooks)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def update_missing_eta(pilot) -> None:
    pilot.app.desk.record_message(1, template="initial", text="(sent)", via="clipboard")
    pilot.app.refresh_incidents()
    await open_composer(pilot)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "120x40"])
def test_initial_alert(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=open_composer)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "120x40"])
def test_after_copy(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=copied)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "120x40"])
def test_update_with_a_missing_field(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=update_missing_eta)
