"""`verify` finds the first event that was edited, removed or reordered, per incident, and says so."""

from __future__ import annotations

import json

import pytest
from integrity_helpers import Tamperer

from oncall_tui.desk import Desk
from oncall_tui.store import canonical_json, event_hash
from oncall_tui.verify import quick_status, verify_store


@pytest.fixture
def history(desk: Desk, clock) -> Desk:
    """Three incidents whose events interleave in the file, as they do on a busy night."""
    one = desk.declare("Login failures", severity="P1", services=["identity"])
    two = desk.declare("Checkout latency", severity="P2")
    three = desk.declare("Disk filling on db-3")
    for minute in range(3):
        clock.advance(minutes=1)
        desk.note(one.number, f"looking at the identity logs, pass {minute}")
        desk.note(two.number, f"p99 is {400 + minute * 50} ms")
    desk.acknowledge(one.number)
    desk.edit(one.number, "assignee", "bob")
    desk.note(three.number, "cleaned /var/log")
    return desk


def _events(desk: Desk, number: int) -> list[int]:
    return [e.seq for e in desk.timeline(number)]


def _only_break(desk: Desk):
    report = verify_store(desk.store)
    assert not report.ok
    assert len(report.breaks) == 1, [b.message for b in report.breaks]
    return report.breaks[0]


def test_an_untouched_desk_holds(history: Desk):
    report = verify_store(history.store)
    assert report.ok and report.file_ok
    assert len(report.chains) == 3 and report.events == 12
    assert report.summary() == "all 3 incident chains hold (12 events)"
    heads = {c.incident: c.head_hash for c in report.chains}
    assert heads[1] == history.get(1).head_hash == history.timeline(1)[-1].hash


def test_an_edited_event_is_reported_where_it_was_edited(history: Desk, db_path):
    target = _events(history, 1)[2]
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET details = ? WHERE seq = ?", canonical_json({"text": "all fine, nothing seen"}), target)
    broken = _only_break(history)
    assert (broken.incident, broken.problem, broken.seq, broken.position) == (1, "edited", target, 3)
    assert broken.message.startswith(
        f"INC-1: event #{target} (the 3rd of its timeline) was edited after it was written"
    )


@pytest.mark.parametrize("column, value", [("actor", "mallory"), ("at", "2026-11-27T02:00:00Z"), ("kind", "note")])
def test_any_column_counts_as_content(history: Desk, db_path, column, value):
    target = _events(history, 1)[-1]  # the assignment
    with Tamperer(db_path) as t:
        t.sql(f"UPDATE events SET {column} = ? WHERE seq = ?", value, target)
    broken = _only_break(history)
    assert (broken.problem, broken.seq) == ("edited", target)


def test_an_edit_whose_hash_was_recomputed_is_still_caught_at_that_event(history: Desk, db_path):
    """The careful tamperer also rewrites the edited event's hash; the next event's link gives it away."""
    target = _events(history, 1)[1]
    with Tamperer(db_path) as t:
        row = t.row(target)
        details = canonical_json({"text": "nothing to see"})
        forged = event_hash(row["prev_hash"], 1, row["at"], row["actor"], row["kind"], details)
        t.sql("UPDATE events SET details = ?, hash = ? WHERE seq = ?", details, forged, target)
    broken = _only_break(history)
    assert (broken.problem, broken.seq, broken.position) == ("edited", target, 2)
    assert "its hash was rewritten too" in broken.message


def test_a_deleted_event_is_reported_where_the_chain_breaks(history: Desk, db_path):
    seqs = _events(history, 2)
    gone, after = seqs[2], seqs[3]
    with Tamperer(db_path) as t:
        t.sql("DELETE FROM events WHERE seq = ?", gone)
    broken = _only_break(history)
    assert (broken.incident, broken.problem, broken.seq, broken.missing) == (2, "removed", after, (gone,))
    assert broken.message == f"INC-2: event #{gone} removed before event #{after} (the 3rd of its timeline)"


def test_deleting_the_declaration_is_caught(history: Desk, db_path):
    first, second = _events(history, 3)[:2]
    with Tamperer(db_path) as t:
        t.sql("DELETE FROM events WHERE seq = ?", first)
    broken = _only_break(history)
    assert (broken.incident, broken.problem, broken.seq, broken.missing) == (3, "removed", second, (first,))


def test_two_swapped_events_are_reported_as_reordered(history: Desk, db_path):
    seqs = _events(history, 1)
    a, b = seqs[1], seqs[2]
    with Tamperer(db_path) as t:
        ra, rb = t.row(a), t.row(b)
        columns = ("at", "actor", "kind", "details", "prev_hash", "hash")
        for seq, row in ((a, rb), (b, ra)):
            t.sql(
                f"UPDATE events SET {', '.join(c + ' = ?' for c in columns)} WHERE seq = ?",
                *(row[c] for c in columns),
                seq,
            )
    broken = _only_break(history)
    assert (broken.incident, broken.problem, broken.seq, broken.position) == (1, "reordered", a, 2)
    assert f"it was written after #{b}" in broken.message


def test_removing_the_newest_event_is_caught_by_the_head_hash(history: Desk, db_path):
    seqs = _events(history, 1)
    with Tamperer(db_path) as t:
        t.sql("DELETE FROM events WHERE seq = ?", seqs[-1])
    broken = _only_break(history)
    assert (broken.incident, broken.problem, broken.seq) == (1, "newest_removed", seqs[-2])
    assert broken.message.startswith("INC-1: its newest event was removed")


def test_an_event_moved_to_another_incident_is_reported_on_both(history: Desk, db_path):
    moved = _events(history, 2)[1]
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET incident = 3 WHERE seq = ?", moved)
    report = verify_store(history.store)
    problems = {b.incident: (b.problem, b.missing) for b in report.breaks}
    assert problems[2] == ("removed", (moved,))
    assert 3 in problems


def test_a_whole_incident_removed_leaves_a_gap_that_is_reported(history: Desk, db_path):
    with Tamperer(db_path) as t:
        t.sql("DELETE FROM events WHERE incident = 2")
        t.sql("DELETE FROM incidents WHERE number = 2")
    report = verify_store(history.store)
    assert not report.breaks
    assert not report.ok
    assert len(report.vanished) == 4
    assert "removed from the file together with their incident" in report.summary()


def test_each_incident_reports_its_own_first_break(history: Desk, db_path):
    s1, s2 = _events(history, 1), _events(history, 2)
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET actor = 'mallory' WHERE seq IN (?, ?)", s1[3], s1[5])  # two edits: first one counts
        t.sql("DELETE FROM events WHERE seq = ?", s2[-1])
    report = verify_store(history.store)
    assert [(b.incident, b.problem, b.seq) for b in report.breaks] == [
        (1, "edited", s1[3]),
        (2, "newest_removed", s2[-2]),
    ]
    assert report.summary().startswith("2 of 3 incident chains are broken — INC-1: event")


def test_quick_status_sees_what_verify_sees(history: Desk, db_path):
    assert quick_status(history).ok
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET details = '{}' WHERE seq = ?", _events(history, 3)[0])
    status = quick_status(history)
    assert not status.ok and status.breaks[0].incident == 3


# --- the command, as a real process --------------------------------------------------------------


def test_verify_command_exits_zero_only_when_every_chain_holds(history: Desk, db_path, run_cli):
    history.close()
    run = run_cli("verify")
    assert run.status == 0, run.err
    assert run.out.splitlines() == ["file integrity: ok", "OK: all 3 incident chains hold (12 events)"]

    data = json.loads(run_cli("verify", "--json").out)
    assert data["ok"] is True and [c["events"] for c in data["chains"]] == [6, 4, 2]

    target = Desk.open(db_path, actor="x").timeline(2)[1].seq
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET details = ? WHERE seq = ?", canonical_json({"text": "p99 is fine"}), target)
    run = run_cli("verify")
    assert run.status == 3
    assert f"BROKEN  INC-2: event #{target} (the 2nd of its timeline) was edited after it was written" in run.out
    assert run.out.splitlines()[-1] == "FAILED: 1 of 3 incident chains are broken"
    assert "Traceback" not in run.err

    run = run_cli("verify", "--json")
    assert run.status == 3
    data = json.loads(run.out)
    assert data["ok"] is False and data["broken"][0]["seq"] == target and data["broken"][0]["problem"] == "edited"


def test_verify_command_on_a_file_that_is_not_there(run_cli, tmp_path):
    run = run_cli("verify", "--db", str(tmp_path / "nope.db"))
    assert run.status == 1
    assert run.message == f"oncall-tui: {tmp_path / 'nope.db'}: no such desk database"
    assert not (tmp_path / "nope.db").exists()


# --- the desk's warning ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_board_warns_about_a_broken_chain_for_the_whole_session(history: Desk, db_path, clock):
    from oncall_tui.config import DeskOptions
    from oncall_tui.ui.app import OncallApp
    from oncall_tui.ui.widgets.integrity_banner import IntegrityBanner

    target = _events(history, 2)[1]
    with Tamperer(db_path) as t:
        t.sql("UPDATE events SET actor = 'mallory' WHERE seq = ?", target)
    app = OncallApp(history, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # the check runs after the first frame, in a worker
        await app.workers.wait_for_complete()
        await pilot.pause()
        banner = app.query_one(IntegrityBanner)
        text = str(banner.render())
        assert text == (
            f"Timeline integrity: 1 of 3 incident chains are broken — INC-2: event #{target} was edited after "
            "it was written — run oncall-tui verify for details."
        )
        clock.advance(minutes=10)
        await pilot.press("j", "a")  # working on goes on, the warning stays
        await pilot.pause()
        assert banner.is_attached and banner.region.height >= 1


@pytest.mark.anyio
async def test_an_intact_desk_shows_no_warning(history: Desk, db_path, clock):
    from oncall_tui.config import DeskOptions
    from oncall_tui.ui.app import OncallApp

    app = OncallApp(history, DeskOptions(db_path=db_path), clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.query("#integrity-banner")
