"""The startup check walks only what is new since the last start, and still catches what a desk must
not open quietly over: an edited new event, a moved head, a damaged file."""

from __future__ import annotations

import pytest
from integrity_helpers import Tamperer

from oncall_tui import startup_check
from oncall_tui.desk import Desk
from oncall_tui.startup_check import check_since_last
from oncall_tui.store import Store, canonical_json, event_hash
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


def test_an_event_appended_outside_the_desk_with_the_head_left_alone_is_caught(history: Desk, db_path):
    """A well-hashed event added by hand, the incident row untouched: the head no longer ends the chain."""
    check_since_last(history.store)
    with Tamperer(db_path) as t:
        last = t.row(t.seqs(2)[-1])
        details = canonical_json({"text": "all fine, nothing to see"})
        digest = event_hash(last["hash"], 2, last["at"], "mallory", "note_added", details)
        t.sql(
            "INSERT INTO events (incident, at, actor, kind, details, prev_hash, hash) VALUES (2, ?, ?, ?, ?, ?, ?)",
            last["at"],
            "mallory",
            "note_added",
            details,
            last["hash"],
            digest,
        )
    found = check_since_last(history.store)
    assert found.problem is not None and found.problem.startswith("1 of 2 incident chains are broken — INC-2")


@pytest.fixture
def many(desk: Desk, clock) -> Desk:
    for i in range(12):
        clock.advance(minutes=1)
        desk.note(desk.declare(f"Incident {i}").number, "looked at it")
    return desk


def test_a_long_first_walk_stopped_midway_resumes_where_it_stopped(many: Desk, clock, monkeypatch):
    """A desk closed during its first check (years of history, seconds of walking) keeps what was
    walked: the next start walks the rest, and what was written meanwhile."""
    monkeypatch.setattr(startup_check, "SAVE_EVERY", 2)
    monkeypatch.setattr(startup_check, "SLICE_SECONDS", 0.0)  # every incident a slice: stop after 5
    monkeypatch.setattr(startup_check, "REST_SECONDS", 0.0)
    asked = iter(range(100))
    assert check_since_last(many.store, should_stop=lambda: next(asked) >= 5) is None
    assert many.store.walk_in_progress() is not None and many.store.verified_through() == 0

    clock.advance(minutes=1)
    many.note(1, "written while the desk was closed")  # an incident the stopped walk got through
    many.note(12, "and one it did not")
    resumed = check_since_last(many.store)
    assert resumed.problem is None and resumed.incidents == 12
    assert 2 + 2 * 6 <= resumed.events < 2 + 2 * 12  # 12 incidents of 2 events: the rest, not all
    assert many.store.walk_in_progress() is None
    assert check_since_last(many.store).events == 0


def test_a_resumed_walk_still_finds_what_was_edited_in_what_it_had_not_walked(many: Desk, db_path, monkeypatch):
    monkeypatch.setattr(startup_check, "SAVE_EVERY", 2)
    monkeypatch.setattr(startup_check, "SLICE_SECONDS", 0.0)
    monkeypatch.setattr(startup_check, "REST_SECONDS", 0.0)
    asked = iter(range(100))
    assert check_since_last(many.store, should_stop=lambda: next(asked) >= 5) is None
    target = many.timeline(11)[-1].seq
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET details = ? WHERE seq = ?", canonical_json({"text": "nothing"}), target)
    for _ in range(2):
        found = check_since_last(many.store)
        assert found.problem == (
            f"1 of 12 incident chains are broken — INC-11: event #{target} was edited after it was written"
        )
