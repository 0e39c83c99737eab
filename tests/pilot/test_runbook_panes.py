"""Runbook and Process panes by real key presses: ticks land on the timeline, the board shows progress."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest
from key_bursts import burst
from waits import until

from oncall_tui.config import DeskOptions
from oncall_tui.paths import config_dir, data_dir
from oncall_tui.ui.app import OncallApp
from oncall_tui.ui.screens.runbook_library import RunbookLibraryScreen
from oncall_tui.ui.widgets.runbook_pane import ProcessPane, RunbookChooser, RunbookPane, StepList

pytestmark = pytest.mark.anyio

IDENTITY = "identity-service-outage"


def make_app(desk, clock, db_path, **options) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path, **options), clock=clock)


def lines(widget) -> list[str]:
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


def head(pane) -> str:
    return str(pane.query_one("Static").render())


def board_text(app) -> list[str]:
    return lines(app.board_screen.board)


async def open_tab(app, pilot, tab: str) -> None:
    """Cycle the detail tabs with `]` until `tab` is open, then jump into it with `2`."""
    for _ in range(8):
        if app.query_one("#detail-tabs").active == tab:
            break
        await pilot.press("right_square_bracket")
    assert app.query_one("#detail-tabs").active == tab
    await pilot.press("2")
    await pilot.pause()


def step_events(desk, number: int):
    return [e for e in desk.timeline(number) if e.kind == "runbook_step"]


async def test_ticking_steps_by_key_writes_who_when_which_step_and_version(desk, clock, db_path):
    inc = desk.declare("Login failures", services=["identity"], symptom=IDENTITY)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(app, pilot, "tab-runbook")
        pane = app.query_one(RunbookPane)
        steps = pane.query_one(StepList)
        assert steps.has_focus
        assert "Identity Service Outage  v1  0/5 done" in head(pane)
        text = "\n".join(lines(steps))
        assert "Users unable to authenticate" in text and "JWKS cache failure" in text
        assert "[ ]  1. Check database connectivity" in text

        await pilot.press("space")  # step 1
        clock.advance(minutes=2)
        await pilot.press("down", "down", "space")  # step 3
        clock.advance(minutes=1)
        await pilot.press("space")  # step 3 again: unticked
        await pilot.pause()

        events = step_events(desk, inc.number)
        assert [(e.actor, e.details["step"], e.details["checked"]) for e in events] == [
            ("alice", 1, True),
            ("alice", 3, True),
            ("alice", 3, False),
        ]
        assert [e.at.strftime("%H:%M") for e in events] == ["03:00", "03:02", "03:03"]
        assert all(e.details["runbook"] == IDENTITY and e.details["version"] == "1" for e in events)
        assert events[1].details["text"] == "Check Redis connectivity"
        assert desk.checked_steps(inc.number, IDENTITY) == {1}

        assert "1/5 done" in head(pane)
        assert "[x]  1. Check database connectivity" in "\n".join(lines(steps))
        assert "1/5" in board_text(app)[1]  # the board's RUNBOOK column


async def test_ticking_a_suggested_runbook_adopts_it(desk, clock, db_path):
    inc = desk.declare("Login failures", services=["identity"])  # no symptom chosen
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(app, pilot, "tab-runbook")
        pane = app.query_one(RunbookPane)
        assert "suggested by service identity" in head(pane)
        await pilot.press("enter")  # Enter ticks too
        await pilot.pause()
        assert desk.get(inc.number).symptom == IDENTITY
        kinds = [(e.kind, e.details.get("field")) for e in desk.timeline(inc.number)][-2:]
        assert kinds == [("field_edited", "symptom"), ("runbook_step", None)]
        assert "runbook for INC-1" in head(pane)


async def test_choose_a_runbook_from_the_searchable_list(desk, clock, db_path):
    inc = desk.declare("Printer on fire")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(app, pilot, "tab-runbook")
        pane = app.query_one(RunbookPane)
        assert "No runbook matches INC-1" in head(pane)

        await pilot.press("r")
        assert isinstance(app.screen, RunbookChooser)
        await pilot.press(*"slow query", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, RunbookChooser)
        assert desk.get(inc.number).symptom == "database-performance-issues"
        last = desk.timeline(inc.number)[-1]
        assert (last.kind, last.details["to"]) == ("field_edited", "database-performance-issues")
        assert "Database Performance Issues" in head(pane)

        await pilot.press("r", "escape")  # cancelling changes nothing
        assert desk.get(inc.number).symptom == "database-performance-issues"


async def test_process_steps_tick_themselves_after_acknowledge(desk, clock, db_path):
    inc = desk.declare("Login failures", services=["identity"])
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(app, pilot, "tab-process")
        pane = app.query_one(ProcessPane)
        steps = pane.query_one(StepList)
        assert "Phase 1 of 5: Detection and Notification" in head(pane)
        assert "[ ]  3. Engineer acknowledges within 5 minutes" in "\n".join(lines(steps))

        # Not acknowledged yet: a tick by hand would contradict the record and its clocks.
        steps.focus()
        steps.select_step(3)
        await pilot.press("space")
        await pilot.pause()
        assert step_events(desk, inc.number) == []
        assert "[ ]  3. Engineer acknowledges within 5 minutes" in "\n".join(lines(steps))

        clock.advance(minutes=3)
        await pilot.press("1", "a")  # to the board, acknowledge
        await pilot.pause()
        text = "\n".join(lines(steps))
        assert "[✓]  3. Engineer acknowledges within 5 minutes" in text
        assert "by alice at 03:03" in text
        assert "[✓]  1. Monitoring system detects issue" in text

        # A step the desk ticked is not ticked again by hand.
        await pilot.press("2")
        steps.select_step(3)
        await pilot.press("space")
        assert step_events(desk, inc.number) == []

        # A step only a person knows: ticked by hand, recorded against the process runbook.
        steps.select_step(4)
        await pilot.press("space")
        await pilot.pause()
        [event] = step_events(desk, inc.number)
        assert event.details == {
            "runbook": "process",
            "version": "1",
            "step": 4,
            "checked": True,
            "text": "If unable to respond, escalate to next tier",
            # Numbered as the list shows it, so the timeline reads "Detection and Notification, step 4".
            "section": "Detection and Notification",
            "ordinal": 4,
        }
        assert "[x]  4. If unable to respond, escalate to next tier" in "\n".join(lines(steps))

        await pilot.press("1", "s", "1")  # severity P1: detection is done
        await pilot.pause()
        assert "Phase 2 of 5: Initial Response" in head(pane)


async def test_panes_do_no_work_while_their_tab_is_hidden(desk, clock, db_path):
    desk.declare("Login failures", services=["identity"])
    desk.declare("Slow API", services=["postgres"])
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("down", "up", "down")
        assert not app.query(RunbookPane) and not app.query(ProcessPane)  # not even built until opened
        await open_tab(app, pilot, "tab-runbook")
        pane = app.query_one(RunbookPane)
        assert pane.incident.number == app.board_screen.selected
        await open_tab(app, pilot, "tab-clocks")
        await pilot.press("1", "up")  # back on the board, another incident
        assert pane.incident.number != app.board_screen.selected  # hidden again: it waits
        await open_tab(app, pilot, "tab-runbook")
        assert pane.incident.number == app.board_screen.selected


NEW_RUNBOOK = """+++
id = "queue-backlog"
title = "Message Queue Backlog"
version = "1"

[match]
services = ["rabbitmq"]
+++

## Symptoms
- Jobs finish minutes late

## Steps
1. Check consumer count
2. Scale consumers
"""


async def test_user_runbooks_are_matched_and_broken_files_named(desk, clock, db_path, tmp_path):
    mine = tmp_path / "runbooks"
    mine.mkdir()
    (mine / "queue-backlog.md").write_text(NEW_RUNBOOK)
    (mine / "broken.md").write_text("## Steps\n1. no front matter\n")
    desk.declare("Jobs late", services=["rabbitmq"])
    app = make_app(desk, clock, db_path, runbook_dirs=(mine,))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        warnings = [n.message for n in app._notifications]
        assert any("broken.md" in w and "runbook library" in w for w in warnings)

        await open_tab(app, pilot, "tab-runbook")
        assert "Message Queue Backlog" in head(app.query_one(RunbookPane))

        await pilot.press("b")
        assert isinstance(app.screen, RunbookLibraryScreen)
        hits = "\n".join(lines(app.screen.query_one("#runbook-hits")))
        assert "Message Queue Backlog" in hits
        problems = "\n".join(lines(app.screen.query_one("#library-problems")))
        assert "broken.md: no front matter" in problems


def write_editor(path: Path) -> Path:
    """A real $EDITOR for tests: it edits the file it is given the way a person would."""
    path.write_text(
        "#!/bin/sh\n"
        'sed -i -e \'s/^version = "1"/version = "2"/\' '
        "-e 's/^3. Check Redis connectivity$/3. Check Redis connectivity (redis-cli ping)/' \"$1\"\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


async def test_editing_a_shipped_runbook_edits_a_copy_and_reloads(desk, clock, db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", str(write_editor(tmp_path / "editor.sh")))
    # The headless test driver cannot hand the terminal over; everything else here is real.
    monkeypatch.setattr(OncallApp, "suspend", lambda self: contextlib.nullcontext())
    shipped = data_dir() / "runbooks" / f"{IDENTITY}.md"
    before = shipped.read_text()
    inc = desk.declare("Login failures", services=["identity"], symptom=IDENTITY)
    user_dir = config_dir() / "runbooks"
    app = make_app(desk, clock, db_path, runbook_dirs=(user_dir,))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(app, pilot, "tab-runbook")
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, RunbookLibraryScreen)
        assert screen.shown.id == IDENTITY  # opened on the selected incident's runbook
        await pilot.press("e")
        await pilot.pause()

        copy = user_dir / f"{IDENTITY}.md"
        assert shipped.read_text() == before
        assert 'version = "2"' in copy.read_text()
        assert app.runbooks.get(IDENTITY).path == copy
        assert screen.shown.version == "2"

        await pilot.press("escape")
        pane = app.query_one(RunbookPane)
        assert "v2" in head(pane)
        assert "Check Redis connectivity (redis-cli ping)" in "\n".join(lines(pane.query_one(StepList)))
        pane.query_one(StepList).select_step(3)
        pane.query_one(StepList).focus()
        await pilot.press("space")
        assert step_events(desk, inc.number)[-1].details["version"] == "2"


async def test_an_editor_that_cannot_start_is_a_message(desk, clock, db_path, monkeypatch):
    monkeypatch.setenv("EDITOR", "/nonexistent/editor")
    monkeypatch.setattr(OncallApp, "suspend", lambda self: contextlib.nullcontext())
    app = make_app(desk, clock, db_path, runbook_dirs=(config_dir() / "runbooks",))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b", "e")
        await until(pilot, lambda: any("Could not start" in n.message for n in app._notifications), "the message")
        assert isinstance(app.screen, RunbookLibraryScreen)
        assert os.path.exists(config_dir() / "runbooks" / "process.md")  # the copy was made first


async def test_the_detail_tabs_open_by_click_and_by_arrow_keys_on_the_tab_strip(desk, clock, db_path):
    from oncall_tui.ui.widgets.tabs import TabStrip

    desk.declare("Login failures", services=["identity"], symptom=IDENTITY)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        tabs = app.query_one("#detail-tabs")
        strip = app.query_one(TabStrip)
        assert str(strip.render()).split() == ["Clocks", "Timeline", "Runbook", "Process"]
        # " Clocks  Timeline  Runbook  Process", after one cell of padding: a name's first and last
        # letters open it, the cells around it do not.
        await pilot.click(TabStrip, offset=(1 + 8 + 7, 0))  # the last "e" of Timeline
        assert tabs.active == "tab-timeline"
        await pilot.click(TabStrip, offset=(1 + 17, 0))  # the gap before Runbook
        assert tabs.active == "tab-timeline"
        await pilot.click(TabStrip, offset=(1 + 18, 0))  # its "R"
        assert tabs.active == "tab-runbook"
        assert "Identity Service Outage" in head(app.query_one(RunbookPane))  # built when first opened
        strip.focus()
        await pilot.press("right")
        assert tabs.active == "tab-process" and app.query_one(ProcessPane).display
        await pilot.press("right", "left", "left", "left")
        assert tabs.active == "tab-timeline"
        assert "Declared" in str(app.query_one("#timeline-text").render())


async def test_tabs_opened_in_a_burst_of_keys_show_their_content(desk, clock, db_path):
    desk.declare("Login failures", services=["identity"], symptom=IDENTITY)
    desk.declare("Slow API", services=["postgres"])
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await burst(pilot, "right_square_bracket", "right_square_bracket")  # Timeline, then Runbook
        assert app.query_one("#detail-tabs").active == "tab-runbook"
        pane = app.query_one(RunbookPane)
        assert pane.incident is not None and pane.incident.number == app.board_screen.selected
        assert head(pane).strip()

        await burst(pilot, "right_square_bracket", "down")  # Process opens as the selection moves
        process = app.query_one(ProcessPane)
        assert process.incident is not None and process.incident.number == app.board_screen.selected


async def test_the_focus_follows_into_the_next_tab_when_its_tab_was_focused(desk, clock, db_path):
    desk.declare("Login failures", services=["identity"], symptom=IDENTITY)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(app, pilot, "tab-runbook")
        assert app.query_one(RunbookPane).query_one(StepList).has_focus
        await pilot.press("right_square_bracket")
        assert app.query_one("#detail-tabs").active == "tab-process"
        assert app.focused is not None and app.query_one(ProcessPane) in app.focused.ancestors_with_self
        await pilot.press("down")  # the keys still go somewhere visible: the process checklist
        assert app.focused is not None and app.focused.display


async def test_the_clocks_catch_up_when_their_tab_opens_again(desk, clock, db_path):
    """Hidden clocks do no work each second, and show the right time the moment they are back."""
    desk.declare("Login failures", severity="P3")
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        clocks = app.query_one("#clock-list")
        assert "5m00s left" in clocks.render().plain
        await pilot.press("right_square_bracket")  # Timeline: the clocks are hidden
        for _ in range(3):
            clock.advance(minutes=1)
            app.tick()
            await pilot.pause()
        assert "5m00s left" in clocks.render().plain  # not recomputed behind the Timeline
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert "2m00s left" in clocks.render().plain


@pytest.mark.parametrize(
    "editor, said",
    [
        (
            'vim "',
            "$EDITOR = 'vim \"' is not a command the desk can run (No closing quotation); fix it, e.g. EDITOR=vim",
        ),
        ("   ", "$EDITOR is blank; set it to your editor, e.g. EDITOR=vim"),
    ],
    ids=["unclosed-quote", "blank"],
)
async def test_an_editor_variable_that_is_not_a_command_is_a_message(desk, clock, db_path, monkeypatch, editor, said):
    monkeypatch.setenv("EDITOR", editor)
    monkeypatch.setattr(OncallApp, "suspend", lambda self: contextlib.nullcontext())
    app = make_app(desk, clock, db_path, runbook_dirs=(config_dir() / "runbooks",))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b", "e")
        await pilot.pause()
        assert any(n.message == said for n in app._notifications), [n.message for n in app._notifications]
        assert isinstance(app.screen, RunbookLibraryScreen)  # the desk keeps running
