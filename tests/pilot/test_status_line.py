"""The top line degrades as the terminal narrows: it gives things up whole, in order (the
Alertmanager hint, the file's name, the long words, the actor, "alerts: off"…), and never cuts the
actor's name or the on-call holder mid-word — at 80x24 and 120x40, with and without paging."""

from __future__ import annotations

import pytest
from waits import until

from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio

ACTOR = "alexandra.papadopoulou"
LONG_NAME = "Alexandra Papadopoulou-Smith"


@pytest.fixture
def busy(db_path, policy, clock):
    desk = Desk.open(db_path, policy=policy, clock=clock, actor=ACTOR)
    for title in ("Login failures", "Slow API", "Export backlog"):
        desk.declare(title, severity="P1")
    clock.advance(minutes=10)  # every acknowledgement overdue
    yield desk
    desk.close()


def status(app) -> str:
    return app.board_screen.query_one("#desk-status").render().plain


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((80, 24), "oncall-tui DEMO  3 open · !! 3 breached · 3 unacked  alerts: off"),
        ((120, 40), "oncall-tui desk.db DEMO  3 open · !! 3 breached · 3 unacknowledged  alerts: off"),
        (
            (150, 40),
            "oncall-tui desk.db DEMO  3 open · !! 3 breached · 3 unacknowledged  alerts: off (--alertmanager URL)",
        ),
    ],
)
async def test_the_status_line_gives_up_whole_things_never_the_actor_mid_word(busy, db_path, clock, size, expected):
    app = OncallApp(busy, DeskOptions(db_path=db_path, demo=True), clock=clock)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        line = status(app)
        assert line.startswith(expected + " "), line
        assert "…" not in line
        if size[0] >= 120:
            assert line.rstrip().endswith(f"{ACTOR}  03:10:00 UTC")
        else:
            assert line.rstrip().endswith("  03:10:00 UTC") and ACTOR not in line


PEOPLE = f"""\
[people.alex]
name = "{LONG_NAME}"
tz = "Europe/Berlin"
notify = ["json://127.0.0.1:9/alex"]
"""

SCHEDULES = """\
[schedules.primary]
tz = "Europe/Berlin"
[[schedules.primary.layers]]
rotation = ["alex"]
shift = "1w"
start = 2026-11-23
handoff = "10:00"
"""

POLICY = """\
[[escalation]]
after_minutes = 0
level = "Primary On-Call"
schedule = "primary"
"""


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_with_paging_the_holder_is_named_whole_or_by_first_name(
    busy, db_path, clock, tmp_path, monkeypatch, size
):
    config = tmp_path / "config"
    config.mkdir()
    (config / "people.toml").write_text(PEOPLE)
    (config / "schedules.toml").write_text(SCHEDULES)
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(config))
    from oncall_tui.policy import load_policy

    (config / "policy.toml").write_text(POLICY)
    busy.policy = load_policy(config / "policy.toml")
    app = OncallApp(busy, DeskOptions(db_path=db_path, demo=True), clock=clock)
    async with app.run_test(size=size) as pilot:
        paging = app.board_screen.query_one("#paging-status")
        clock.advance(seconds=1)
        app.tick()  # the clock moved: the paging line takes its first look
        # The first look imports the paging channels (apprise: ~1 s of imports on a quiet machine,
        # over 10 s on a loaded one under libfaketime) in its thread: a wait, not a budget.
        await until(pilot, lambda: paging.view.configured, "the first look", timeout=60)
        await pilot.pause()
        said = paging.render().plain
        assert said.startswith(f"☎ {LONG_NAME} " if size[0] >= 110 else "☎ Alexandra · "), said
        assert paging.size.width >= len(said)  # shown whole: the widget is as wide as what it says
        line = status(app)
        assert "…" not in line and line.rstrip().endswith("03:10:01 UTC"), line
        assert "3 open · !! 3" in line
