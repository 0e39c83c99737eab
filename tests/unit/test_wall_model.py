"""What the wall shows, without Textual: the large clocks, the pages, who to call."""

from __future__ import annotations

from wall_fixtures import twelve_open_three_breached

from oncall_tui.ui.board_model import BoardModel
from oncall_tui.ui.wall.model import clock_digits, clock_of, on_call, plan


def rows_of(desk, clock):
    model = BoardModel(desk.policy)
    model.load(desk.incidents(), clock.now())
    return model.rows


def test_countdowns_for_large_digits():
    assert clock_digits(5) == "0:05"
    assert clock_digits(-305) == "5:05"
    assert clock_digits(3725) == "1:02:05"
    assert clock_digits(120 * 3600) == "5D"


def test_every_open_incident_is_on_screen_at_every_instant_and_breaches_stay_large(desk, clock):
    twelve_open_three_breached(desk, clock)
    rows = rows_of(desk, clock)
    t0 = clock.now().timestamp()
    for width, height in ((80, 21), (200, 55), (120, 12), (60, 8)):
        seen: set[int] = set()
        large: set[int] = set()
        for step in range(0, 8 * 12, 8):
            shown = plan(rows, width, height, t0 + step, cycle=8)
            on_screen = [r.incident.number for r in (*shown.cards, *shown.lines.rows)]
            assert len(on_screen) == len(set(on_screen))
            seen |= set(on_screen)
            cards = [r.incident.number for r in shown.cards]
            large |= set(cards)
            # The breached come first; when more are breached than fit, they take turns at being large.
            assert set(cards[:3]) <= {1, 2, 3} and cards, (width, height)
        assert seen == set(range(1, 13)), (width, height)
        assert {1, 2, 3} <= large, (width, height)


def test_a_big_screen_shows_the_p0_p1_clocks_large_too(desk, clock):
    twelve_open_three_breached(desk, clock)
    shown = plan(rows_of(desk, clock), 200, 55, clock.now().timestamp())
    assert shown.columns == 3 and shown.pages == 1
    severities = [r.incident.severity.value if r.incident.severity else "P?" for r in shown.cards]
    assert severities[:3] == ["P0", "P1", "P1"]  # the breached
    assert set(severities[3:]) <= {"P0", "P1", "P?"}
    assert {r.incident.severity.value for r in shown.lines.rows} <= {"P2", "P3"}


def test_the_large_clock_says_what_is_overdue(desk, clock):
    twelve_open_three_breached(desk, clock)
    first = rows_of(desk, clock)[0]
    shown = clock_of(first, clock.now().timestamp())
    assert (shown.digits, shown.caption) == ("+37:00", "ACKNOWLEDGE OVERDUE")


def test_on_call_names_the_levels_and_the_incidents_that_reached_them(desk, clock):
    twelve_open_three_breached(desk, clock)
    ladder = {level: ids for level, _contact, ids in on_call(desk.policy, rows_of(desk, clock))}
    assert list(ladder)[:2] == ["Primary On-Call", "Secondary On-Call"]
    assert "INC-1" in ladder["Secondary On-Call"]  # its acknowledgement was missed: the next tier
    assert ladder["Engineering Manager"] == ["INC-3"]  # open 95 minutes
