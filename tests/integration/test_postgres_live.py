"""Live across machines: a commit on one desk moves every other desk's change marker within a
second (LISTEN/NOTIFY), with no query while nothing changes, and a desk that lost the server
catches up once it is back."""

from __future__ import annotations

import statistics
import time

import pytest

from oncall_tui.desk import Desk
from oncall_tui.store import StoreUnreachable

pytestmark = pytest.mark.postgres


def _wait_for_change(desk: Desk, before: int, timeout: float = 5.0) -> float:
    started = time.perf_counter()
    while desk.data_version() == before:
        if time.perf_counter() - started > timeout:
            raise AssertionError("the other desk's change never arrived")
        time.sleep(0.001)
    return time.perf_counter() - started


def test_two_desks_see_each_others_changes_within_a_second(pg_url, policy, clock, record_property):
    alice = Desk.open(pg_url, policy=policy, clock=clock, actor="alice")
    bob = Desk.open(pg_url, policy=policy, clock=clock, actor="bob")
    try:
        inc = alice.declare("Login failures")
        seen = {alice: alice.data_version(), bob: bob.data_version()}
        latencies = []
        for i in range(20):
            writer, reader = (alice, bob) if i % 2 == 0 else (bob, alice)
            before = reader.data_version()
            started = time.perf_counter()
            writer.note(inc.number, f"note {i}")
            _wait_for_change(reader, before)
            latencies.append(time.perf_counter() - started)
        median = statistics.median(latencies)
        record_property("notify_median_ms", round(median * 1000, 2))
        print(f"\ncommit → other desk's marker: median {median * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
        assert median < 1.0 and max(latencies) < 1.0
        assert seen  # both desks had their listener running before the first note
    finally:
        alice.close()
        bob.close()


def test_a_desks_own_commit_does_not_move_its_marker(pg_url, policy, clock):
    """The desk re-reads after its own write anyway (as on SQLite); a marker moved by its own
    NOTIFY would make every action cost a second reload."""
    desk = Desk.open(pg_url, policy=policy, clock=clock)
    other = Desk.open(pg_url, policy=policy, clock=clock, actor="bob")
    try:
        before = desk.data_version()
        desk.declare("Login failures")
        other_before = other.data_version()
        desk.note(1, "mine")
        _wait_for_change(other, other_before)  # by the time the other desk heard it, this one would have
        assert desk.data_version() == before
    finally:
        desk.close()
        other.close()


def test_nothing_is_queried_while_nothing_changes(postgres_server, pg_database, pg_url, policy, clock):
    desk = Desk.open(pg_url, policy=policy, clock=clock)
    try:
        desk.declare("Login failures")
        desk.data_version()

        def statements() -> int:
            rows = postgres_server.sql(
                "SELECT COALESCE(SUM(xact_commit + xact_rollback), 0) FROM pg_stat_database WHERE datname = %s",
                pg_database,
            )
            return int(rows[0][0])

        time.sleep(0.7)  # the statistics collector's flush interval is 0.5 s
        before = statements()
        for _ in range(30):  # thirty board ticks
            desk.data_version()
            time.sleep(0.05)
        time.sleep(0.7)
        assert statements() - before <= 2  # the two statistics queries themselves
    finally:
        desk.close()


def test_the_marker_moves_for_every_kind_of_change(pg_url, policy, clock):
    """Paging, overrides and who is watching move the marker too, as they move SQLite's data_version."""
    desk = Desk.open(pg_url, policy=policy, clock=clock)
    other = Desk.open(pg_url, policy=policy, clock=clock, actor="bob")
    try:
        desk.declare("Login failures")
        before = other.data_version()
        with desk.store.write():
            desk.store.beat(
                {
                    "token": "t1",
                    "kind": "desk",
                    "host": "h",
                    "pid": 1,
                    "actor": "alice",
                    "pages": 0,
                    "started_at": "2026-11-27T03:00:00Z",
                    "seen_at": "2026-11-27T03:00:00Z",
                }
            )
        _wait_for_change(other, before)
    finally:
        desk.close()
        other.close()


def test_after_the_server_comes_back_the_desk_catches_up(private_postgres, policy, clock):
    server = private_postgres
    name = server.create_database()
    alice = Desk.open(server.url(name), policy=policy, clock=clock, actor="alice")
    bob = Desk.open(server.url(name), policy=policy, clock=clock, actor="bob")
    try:
        inc = alice.declare("Login failures")
        marker = bob.data_version()
        server.stop("fast")
        deadline = time.monotonic() + 5
        while True:
            try:
                bob.data_version()
            except StoreUnreachable as exc:
                assert "database unreachable" in str(exc) and exc.since is not None
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        server.start()
        # Alice writes while Bob's listener is still reconnecting: no NOTIFY reaches him for it.
        deadline = time.monotonic() + 10
        while True:
            try:
                alice.note(inc.number, "written while bob was away")
                break
            except StoreUnreachable:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        deadline = time.monotonic() + 10
        while True:
            try:
                if bob.data_version() != marker:
                    break
            except StoreUnreachable:
                pass
            assert time.monotonic() < deadline, "bob never came back"
            time.sleep(0.05)
        assert [e.kind for e in bob.timeline(inc.number)] == ["declared", "note"]
    finally:
        alice.close()
        bob.close()
