"""The board's questions to the record are answered from indexes that fit them, on a desk with history.

Each test runs a store method as the desk runs it, catches the statements it sends to SQLite (with
their values bound), and asks SQLite how it plans them: a full scan of `incidents` or `events`, or a
breach dedupe planned on the `kind` index, is what made a desk with 100k closed incidents slow.
The plans are asked twice: on a fresh file, and after `PRAGMA optimize` has gathered statistics.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.store import Store


@pytest.fixture(params=["fresh", "optimized"])
def history(request, db_path, policy, clock) -> Iterator[Desk]:
    """Thirty closed incidents with breaches and ticked steps, and three open ones."""
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    for i in range(33):
        inc = desk.declare(f"incident {i}", severity="P2")
        desk.check_step(inc.number, runbook="db", version="1", step=1, text="look", checked=True)
        clock.advance(minutes=10)
        desk.record_breach(inc.number, "acknowledge", "Acknowledge", inc.started_at + timedelta(minutes=5))
        if i < 30:
            desk.edit(inc.number, "root_cause", "a bad deploy")
            desk.edit(inc.number, "resolution", "rolled back")
            for status in (Status.ACKNOWLEDGED, Status.RESOLVED, Status.CLOSED):
                desk.move(inc.number, status)
    if request.param == "optimized":
        desk.close()  # closing runs PRAGMA optimize
        conn = sqlite3.connect(db_path)
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()[0] == 1
        conn.close()
        desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    yield desk
    desk.close()


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        store.conn.set_trace_callback(None)


def plans(store: Store, call: Callable[[], Any]) -> list[str]:
    """The query plan of every SELECT `call` sends, one line per step."""
    with statements(store) as sent:
        call()
    lines = []
    for sql in sent:
        if sql.lstrip().upper().startswith("SELECT"):
            lines += [row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert lines, "the call sent no SELECT"
    return lines


def no_full_scan(lines: list[str]) -> None:
    scans = [line for line in lines if line.startswith("SCAN") and "USING" not in line]
    assert not scans, f"full table scans: {scans} in {lines}"


def test_the_open_incidents_are_read_from_their_partial_index(history):
    lines = plans(history.store, lambda: history.store.incidents())
    assert any("incidents_open" in line for line in lines), lines
    no_full_scan(lines)
    assert len(history.store.incidents()) == 3


def test_the_breach_dedupe_is_one_lookup_in_the_breach_index(history):
    store = history.store
    inc = store.incidents()[0]
    due = (inc.started_at + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    lines = plans(store, lambda: store.breach_recorded(inc.number, "acknowledge", due))
    assert any("events_breaches" in line for line in lines), lines
    assert not any("events_kind" in line for line in lines), lines
    assert store.breach_recorded(inc.number, "acknowledge", due)


def test_the_recorded_breaches_of_some_incidents_read_only_their_entries(history):
    store = history.store
    numbers = [i.number for i in store.incidents()]
    lines = plans(store, lambda: store.recorded_breaches(numbers))
    assert any("events_breaches" in line for line in lines), lines
    assert not any("events_kind" in line for line in lines), lines
    no_full_scan(lines)
    assert {n for n, _, _ in store.recorded_breaches(numbers)} == set(numbers)


def test_runbook_progress_is_read_for_the_open_incidents_only(history):
    store = history.store
    lines = plans(store, lambda: store.checked_counts())
    assert any("incidents_open" in line for line in lines), lines
    no_full_scan(lines)
    assert {n for n, _ in store.checked_counts()} == {i.number for i in store.incidents()}


def test_what_changed_since_a_sequence_is_a_range_of_the_timeline(history):
    store = history.store
    top, _ = store.changes_since(0)
    lines = plans(store, lambda: store.changes_since(top - 3))
    no_full_scan(lines)
    assert any("INTEGER PRIMARY KEY (rowid>?)" in line for line in lines), lines
