"""`verify` replays each incident's timeline and names any row that says otherwise; a dropped
append-only trigger is reported too. The chain proves the events; the replay proves the row."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from oncall_tui import review
from oncall_tui.desk import Desk
from oncall_tui.verify import verify_store


@pytest.fixture
def lived(desk: Desk, clock) -> Desk:
    """Incidents that went through every action the desk records."""
    one = desk.declare("Login failures", severity="P1", services=["identity"], impact="logins fail", channel="#inc")
    clock.advance(minutes=2)
    desk.acknowledge(one.number)
    desk.set_severity(one.number, "P0")
    desk.edit(one.number, "services", "identity, api")
    desk.assign(one.number, "bob")
    desk.record_message(one.number, template="initial", text="Initial", via="clipboard")
    clock.advance(minutes=10)
    desk.record_message(
        one.number, template="update", text="Update", via="webhook", next_update_at=clock.now() + timedelta(minutes=30)
    )
    desk.move(one.number, "investigating")
    desk.move(one.number, "mitigated")
    desk.move(one.number, "investigating")  # it came back
    desk.edit(one.number, "root_cause", "expired signing key")
    desk.edit(one.number, "resolution", "rotated the key")
    desk.move(one.number, "resolved")
    clock.advance(hours=2)
    review.schedule(desk, one.number, clock.now() + timedelta(hours=24), ["alice", "bob"])
    clock.advance(hours=25)
    review.complete(desk, one.number, notes="done")
    desk.move(one.number, "closed")

    two = desk.declare("Checkout latency")
    desk.acknowledge(two.number)
    desk.set_severity(two.number, "P1")
    desk.edit(two.number, "root_cause", "a slow query")
    desk.edit(two.number, "resolution", "an index")
    desk.move(two.number, "resolved")
    review.waive(desk, two.number, "a known issue, tracked elsewhere")
    desk.note(two.number, "all quiet")
    return desk


def test_a_desk_that_only_the_desk_wrote_replays_clean(lived: Desk, run_cli, db_path):
    report = verify_store(lived.store)
    assert report.ok, [m.message for m in report.rows]
    run = run_cli("--db", str(db_path), "verify")
    assert run.status == 0, run.out


@pytest.mark.parametrize(
    "column, value, said",
    [
        ("severity", "P3", "severity is 'P3' in the row, but the timeline says 'P0'"),
        (
            "acknowledged_at",
            None,
            "acknowledged at is empty in the row, but the timeline says '2026-11-27T03:02:00+00:00'",
        ),
        ("status", "investigating", "status is 'investigating' in the row, but the timeline says 'closed'"),
        (
            "root_cause",
            "a cosmic ray",
            "root cause is 'a cosmic ray' in the row, but the timeline says 'expired signing key'",
        ),
        ("services", '["identity"]', "services is identity in the row, but the timeline says identity, api"),
        ("review_done_at", None, "review done at is empty in the row"),
    ],
)
def test_an_incident_row_edited_alone_is_named_with_its_field(lived: Desk, db_path, run_cli, column, value, said):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(f"UPDATE incidents SET {column} = ? WHERE number = 1", [value])
    conn.close()

    report = verify_store(lived.store)
    assert not report.ok and not report.breaks  # the chain itself holds
    assert [m.incident for m in report.rows] == [1]
    assert said in report.rows[0].message

    run = run_cli("--db", str(db_path), "verify")
    assert run.status == 3
    edited = [line for line in run.out.splitlines() if line.startswith("EDITED")]
    assert len(edited) == 1 and edited[0].startswith("EDITED  INC-1: the incident row was edited outside the desk — ")
    assert said in edited[0]
    assert run.out.splitlines()[-1] == "FAILED: 1 incident row(s) disagree with their timeline (every chain holds)"


def test_dropped_append_only_triggers_are_reported(lived: Desk, db_path, run_cli):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("DROP TRIGGER events_append_only_delete")
    conn.close()
    run = run_cli("--db", str(db_path), "verify", "--json")
    assert run.status == 3
    assert '"triggers_missing": [\n    "events_append_only_delete"\n  ]' in run.out
    text = run_cli("--db", str(db_path), "verify").out
    assert "GUARD   the append-only trigger(s) events_append_only_delete were dropped" in text


def test_the_demo_desk_replays_clean(tmp_path, run_cli):
    db = tmp_path / "demo.db"
    assert run_cli("--db", str(db), "demo", "--count", "60").status == 0
    run = run_cli("--db", str(db), "verify")
    assert run.status == 0, run.out
