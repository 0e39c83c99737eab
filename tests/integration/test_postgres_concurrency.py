"""Many desks on one PostgreSQL record at the same moment: the per-incident hash chain stays one
chain, no incident number is taken twice, and every loser is told who got there first and when."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from oncall_tui.clock import FrozenClock
from oncall_tui.desk import Conflict, Desk
from oncall_tui.store import Locked

pytestmark = pytest.mark.postgres


def _desks(url, policy, clock, actors):
    return [Desk.open(url, policy=policy, clock=clock, actor=a) for a in actors]


def _race(functions):
    """Run each function in its own thread, released together; their results or exceptions."""
    gate = threading.Barrier(len(functions))
    results: list[object] = [None] * len(functions)

    def run(i, fn):
        gate.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # the outcome under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_one_acknowledgement_wins_and_the_others_are_told_by_whom(pg_url, policy):
    clock = FrozenClock("2026-11-27T03:00:00Z")
    desks = _desks(pg_url, policy, clock, ["alice", "bob", "carol", "dave"])
    try:
        inc = desks[0].declare("Login failures", severity="P1")
        clock.advance(timedelta(minutes=2))
        results = _race([lambda d=d: d.acknowledge(inc.number) for d in desks])
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1 and len(losers) == 3
        who = winners[0].acknowledged_by
        for loss in losers:
            assert isinstance(loss, Conflict)
            assert str(loss) == f"INC-1 was already acknowledged by {who} just now"
        assert [e.kind for e in desks[0].timeline(inc.number)] == ["declared", "acknowledged"]
    finally:
        for d in desks:
            d.close()


def test_a_compare_and_set_loser_is_told_who_changed_it_and_when(pg_url, policy):
    clock = FrozenClock("2026-11-27T03:00:00Z")
    alice, bob = _desks(pg_url, policy, clock, ["alice", "bob"])
    try:
        inc = alice.declare("Checkout latency", severity="P3")
        seen_by_bob = bob.get(inc.number).severity
        alice.set_severity(inc.number, "P1", expected=seen_by_bob)
        clock.advance(timedelta(minutes=4))
        with pytest.raises(Conflict) as caught:
            bob.set_severity(inc.number, "P2", expected=seen_by_bob)
        assert str(caught.value) == "INC-1's severity was changed by alice 4m00s ago; look again before retrying"
        assert bob.get(inc.number).severity.value == "P1"
    finally:
        alice.close()
        bob.close()


def test_declaring_at_once_from_many_desks_takes_every_number_once(pg_url, policy):
    clock = FrozenClock("2026-11-27T03:00:00Z")
    desks = _desks(pg_url, policy, clock, [f"desk{i}" for i in range(6)])
    try:
        results = _race([lambda d=d: [d.declare(f"{d.actor} #{k}").number for k in range(15)] for d in desks])
        numbers = sorted(n for r in results for n in r)  # an exception here would not be a list
        assert numbers == list(range(1, 91))
        chains_ok = True
        for number in numbers:
            events = desks[0].timeline(number)
            chains_ok &= [e.prev_hash for e in events] == [""]
        assert chains_ok
    finally:
        for d in desks:
            d.close()


def test_notes_from_many_desks_make_one_unbroken_chain(pg_url, policy):
    clock = FrozenClock("2026-11-27T03:00:00Z")
    desks = _desks(pg_url, policy, clock, [f"desk{i}" for i in range(5)])
    try:
        inc = desks[0].declare("Disk filling")
        results = _race([lambda d=d: [d.note(inc.number, f"{d.actor} {k}") for k in range(20)] for d in desks])
        assert all(isinstance(r, list) for r in results), results
        events = desks[0].timeline(inc.number)
        assert len(events) == 101
        for before, after in zip(events, events[1:]):
            assert after.prev_hash == before.hash  # one chain, never two events on the same head
        assert desks[0].store.incident_row(inc.number)["head_hash"] == events[-1].hash
    finally:
        for d in desks:
            d.close()


def test_a_page_is_claimed_once_however_many_desks_try(pg_url, policy, clock):
    desks = _desks(pg_url, policy, clock, [f"agent{i}" for i in range(5)])
    try:
        desks[0].declare("Login failures")

        def claim(desk):
            with desk.store.write():
                return desk.store.claim_page(
                    {
                        "key": "INC-1/level-1/round-0",
                        "incident": 1,
                        "level": 1,
                        "reason": "unacknowledged",
                        "state": "sending",
                        "claimer": desk.actor,
                        "claimed_at": "2026-11-27T03:00:00Z",
                        "message": {"text": "INC-1"},
                    }
                )

        results = _race([lambda d=d: claim(d) for d in desks])
        assert sorted(results) == [False] * 4 + [True]
        assert len(desks[0].store.page_rows()) == 1
    finally:
        for d in desks:
            d.close()


def test_a_desk_that_waits_too_long_for_the_lock_is_told_so(pg_url, policy, clock, monkeypatch):
    monkeypatch.setenv("ONCALL_TUI_BUSY_TIMEOUT_MS", "300")
    alice, bob = _desks(pg_url, policy, clock, ["alice", "bob"])
    try:
        inc = alice.declare("Login failures")
        with alice.store.write(), pytest.raises(Locked) as caught:
            bob.note(inc.number, "blocked")
        assert "another desk held the record's write lock for more than 0.3 s; nothing was written" in str(caught.value)
        bob.note(inc.number, "now it goes")
        assert [e.kind for e in bob.timeline(inc.number)] == ["declared", "note"]
    finally:
        alice.close()
        bob.close()
