"""The startup check walks only what is new since the last start, and still catches what a desk must
not open quietly over: an edited new event, a moved head, a damaged file."""

from __future__ import annotations

import pytest
from integrity_helpers import Tamperer

from oncall_tui.desk import Desk
from oncall_tui.startup_check import check_since_last
from oncall_tui.store import Store, canonical_json
from oncall_tui.verify import verify_store


@pytest.fixture
def history(desk: Desk, clock) -> Desk:
    one = desk.declare("Login failures", severity="P1")
    two = desk.declare("Checkout latency", severity="P2")
    for minute in range(3):
        clock.advance(minutes=1)
        desk.note(one.number, f"pass {minute}")
        desk.note(two.number, f"p99 {400 + minute} ms")
    return desk


def test_the_first_start_walks_everything_and_the_next_only_what_is_new(history: Desk, clock):
    first = check_since_last(history.store)
    assert first.problem is None and (first.incidents, first.events) == (2, 8)

    again = check_since_last(history.store)
    assert again.problem is None and again.events == 0  # nothing new: nothing walked

    clock.advance(minutes=1)
    history.acknowledge(1)
    three = history.declare("Disk filling")
    after = check_since_last(history.store)
    assert after.problem is None and (after.incidents, after.events) == (3, 2)
    assert three.number == 3


def test_an_edited_new_event_is_caught_and_stays_caught(history: Desk, db_path):
    check_since_last(history.store)
    history.note(2, "rolled back")
    target = history.timeline(2)[-1].seq
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET details = ? WHERE seq = ?", canonical_json({"text": "nothing"}), target)
    for _ in range(2):  # a broken check remembers nothing: the next start says it again
        found = check_since_last(history.store)
        assert found.problem == (
            f"1 of 2 incident chains are broken — INC-2: event #{target} was edited after it was written"
        )


def test_an_event_removed_from_the_newest_end_is_caught_by_its_head(history: Desk, db_path):
    check_since_last(history.store)
    with Tamperer(db_path) as t:
        last = t.seqs(1)[-1]
        t.sql("UPDATE incidents SET head_hash = (SELECT hash FROM events WHERE seq = ?) WHERE number = 1", last - 2)
    found = check_since_last(history.store)
    assert found.problem is not None and found.problem.startswith("1 of 2 incident chains are broken — INC-1")


def test_what_was_verified_before_is_left_to_verify(history: Desk, db_path):
    """The price of a fast start: an edit behind the remembered point is for `verify` to find."""
    check_since_last(history.store)
    target = history.timeline(1)[1].seq
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET actor = 'mallory' WHERE seq = ?", target)
    assert check_since_last(history.store).problem is None
    assert not verify_store(history.store).ok


def test_a_read_only_desk_is_checked_and_nothing_is_written(history: Desk, db_path):
    reader = Store.open(db_path, readonly=True)
    try:
        found = check_since_last(reader)
        assert found.problem is None and found.events == 8
        assert check_since_last(reader).events == 8  # it could remember nothing
    finally:
        reader.close()
