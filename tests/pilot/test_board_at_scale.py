"""Issue 19 on the board: what the desk writes itself costs no re-read, and breach news stays one toast.

On a desk with thousands of open incidents deadlines run out every second; each breach is written
by the desk's recorder, whose commits move the record. Re-reading what the desk itself just wrote,
or replacing the news toast at each breach (a re-layout that repaints the whole board), made every
tick of a 10k board cost 80 ms.
"""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast
from waits import until

from oncall_tui.breaches import Written
from oncall_tui.config import DeskOptions
from oncall_tui.desk import Desk
from oncall_tui.model import Status
from oncall_tui.ui.app import OncallApp

pytestmark = pytest.mark.anyio


def make_app(desk, clock, db_path) -> OncallApp:
    return OncallApp(desk, DeskOptions(db_path=db_path), clock=clock)


def count_reads(desk: Desk) -> list[list[int]]:
    """The incidents the board's own connection reads again from now on, one list per read."""
    reads: list[list[int]] = []
    read = desk.store.incidents_numbered

    def counted(numbers):
        reads.append(list(numbers))
        return read(numbers)

    desk.store.incidents_numbered = counted  # type: ignore[method-assign]
    return reads


def declare_storm(desk: Desk, count: int) -> None:
    for i in range(count):
        desk.declare(f"Storm alert {i}", severity="P3")


def breaches_on(desk: Desk, number: int) -> int:
    return sum(1 for e in desk.timeline(number) if e.kind == "deadline_breached")


async def test_breaches_this_desk_writes_are_shown_as_written_not_read_again(desk, clock, db_path, policy):
    declare_storm(desk, 3)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        reads = count_reads(desk)
        clock.advance(minutes=5, seconds=1)  # three acknowledgements run out
        app.tick()
        await app.workers.wait_for_complete()  # the recorder wrote them, on its own connection
        app.tick()  # which moved the record
        await pilot.pause()
        assert [breaches_on(desk, n) for n in (1, 2, 3)] == [2, 2, 2]  # the ack, and the level it skips
        board = app.board_screen.board.model
        assert [board.get(n).incident.version for n in (1, 2, 3)] == [desk.get(n).version for n in (1, 2, 3)]
        assert reads == []  # nothing this desk wrote was read back

        # Another desk's change right after is read, and only that incident.
        other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
        other.acknowledge(2)
        other.close()
        app.tick()
        await pilot.pause()
        assert reads == [[2]]
        assert board.get(2).incident.status is Status.ACKNOWLEDGED
        assert "2 unacknowledged" in str(app.screen.query_one("#desk-status").render())


async def test_a_commit_of_this_desk_after_another_desks_is_read_with_it(desk, clock, db_path, policy):
    """When someone else wrote between what the board last read and the recorder's commit, the
    board cannot take the recorder's incidents as the whole news: it reads everything since."""
    declare_storm(desk, 2)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        reads = count_reads(desk)
        other = Desk.open(db_path, policy=policy, clock=clock, actor="bob")
        other.acknowledge(1)  # not yet seen by the board
        top = other.store.changes_since(0)[0]
        other.note(2, "looking")
        other.close()
        # As the recorder reports a commit that started after bob's acknowledgement.
        app.own_breaches_landed(Written(top, top + 1, (desk.get(2),)))
        app.tick()
        await pilot.pause()
        assert sorted(n for numbers in reads for n in numbers) == [1, 2]
        assert app.board_screen.board.model.get(1).incident.status is Status.ACKNOWLEDGED


def declare_ten_seconds_apart(desk: Desk, clock, count: int) -> None:
    for i in range(count):
        desk.declare(f"Storm alert {i}", severity="P3", started_at=clock.now())
        clock.advance(seconds=10)


async def breach_toast(app: OncallApp, pilot, clock) -> Toast:
    """The toast that says the first acknowledgements ran out."""
    await app.workers.wait_for_complete()
    app.clear_notifications()
    clock.advance(minutes=4, seconds=11)  # the first two acknowledgements run out
    app.tick()
    await until(pilot, lambda: len(app.screen.query(Toast)) == 1, "the breach toast")
    return app.screen.query_one(Toast)


async def test_breach_news_rewords_its_one_toast_in_place(desk, clock, db_path):
    declare_ten_seconds_apart(desk, clock, 6)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        first = await breach_toast(app, pilot, clock)
        assert "INC-2" in str(first.render())
        for _ in range(4):  # one more each tick: the same toast says the new count
            clock.advance(seconds=10)
            app.tick()
            await pilot.pause()
        toasts = list(app.screen.query(Toast))
        assert toasts == [first]
        assert "on 6 incidents" in str(first.render())


async def test_news_that_keeps_changing_stays_in_its_toast_for_as_long_as_it_changes(desk, clock, db_path):
    declare_ten_seconds_apart(desk, clock, 8)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        first = await breach_toast(app, pilot, clock)
        for _ in range(4):  # a storm that goes on: each change lands in a toast near its end
            first._notification.raised_at -= 12  # as if the news were twelve seconds old
            clock.advance(seconds=10)
            app.tick()
            await pilot.pause()
            assert list(app.screen.query(Toast)) == [first]  # the same toast: nothing mounted again
            assert first._notification.time_left > 10  # and its time given back (it was 3 s from its end)
        assert "on 8 incidents" in str(first.render())


async def test_a_big_desk_opens_in_order_and_looks_back_while_keys_are_answered(desk, clock, db_path, monkeypatch):
    """Its first frame has the rows in the order a full computation gives; the deadlines that ran out
    before it opened are found after it, a slice at a time, with keys answered in between, and said
    in one summary that counts them all."""
    from oncall_tui.ui.board_model import BoardModel
    from oncall_tui.ui.breaches import BreachWatcher
    from oncall_tui.ui.screens import board as board_screen

    with desk.store.bulk_fill():
        for i in range(240):
            desk.declare(f"Storm alert {i}", severity=("P0", "P1", "P2", "P3", None)[i % 5], started_at=clock.now())
            if i % 3 == 0:
                desk.acknowledge(i + 1)
            clock.advance(seconds=37)
    full = BoardModel(desk.policy)
    full.load(desk.incidents(), clock.now())
    breaches = BreachWatcher().observe(full.rows)
    monkeypatch.setattr(board_screen, "LOOK_BUDGET_SECONDS", 0.0)  # a few rows a slice: many slices,
    monkeypatch.setattr(board_screen, "LOOK_GAP_SECONDS", 0.05)  # far apart, so the look lasts a while
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        model = app.board_screen.board.model
        assert [r.incident.number for r in model.rows] == [r.incident.number for r in full.rows]
        # The status line counts them as the full computation does, and the top rows are drawn whole.
        open_count, breached, unacked = full.counts
        status = str(app.screen.query_one("#desk-status").render())
        assert f"{open_count} open" in status and f"!! {breached} breached" in status and f"{unacked} unack" in status
        lines = "\n".join(str(app.board_screen.board.render_line(y).text) for y in range(1, 10))
        assert all(f"Storm alert {r.incident.number - 1}" in lines for r in full.rows[:9])
        assert any(r.escalation is None for r in model.rows)  # still looking back…
        await pilot.press("down", "down")  # …and the keys are answered meanwhile
        assert app.board_screen.selected == full.rows[2].incident.number
        assert any(r.escalation is None for r in model.rows)
        await until(
            pilot, lambda: any("already run out" in str(t.render()) for t in app.screen.query(Toast)), "the summary"
        )
        incidents = len({b.number for b in breaches})
        assert f"{len(breaches)} deadlines had already run out on {incidents} incidents" in str(
            app.screen.query_one(Toast).render()
        )
        assert [(r.incident.number, r.escalation) for r in model.rows] == [
            (r.incident.number, r.escalation) for r in full.rows
        ]
        await app.workers.wait_for_complete()


async def test_the_first_looks_summary_takes_over_the_news_toast_in_place(desk, clock, db_path):
    """Taking the news toast back and raising the summary's would lay the screen out twice (each a
    repaint of the whole board): the summary is said in the toast already up, under its own title."""
    declare_ten_seconds_apart(desk, clock, 6)
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        first = await breach_toast(app, pilot, clock)
        app.board_screen._summarize_missed({1: 2, 3: 1})
        await pilot.pause()
        assert list(app.screen.query(Toast)) == [first]
        said = str(first.render())
        assert "Missed deadlines" in said and "3 deadlines had already run out on 2 incidents" in said
        assert first.has_class("-warning") and not first.has_class("-error")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_storm_of_breaches_is_one_toast_that_never_covers_the_boards_rows(desk, clock, db_path, size):
    """Another desk's changes show on the board's lines: sixty deadlines running out at once are
    one toast, over the ticket, never over a row (at 10k a toast per breach once stacked up over the
    board's titles and hid 6 of 20 changes from another desk)."""
    declare_storm(desk, 30)  # each one's acknowledgement and its first escalation run out together
    app = make_app(desk, clock, db_path)
    async with app.run_test(size=size, notifications=True) as pilot:
        await app.workers.wait_for_complete()
        app.clear_notifications()
        board = app.board_screen.board
        clock.advance(minutes=5, seconds=1)
        app.tick()
        said = ""
        for _ in range(5):  # the watcher takes a storm in slices: the one toast's count catches up
            # (placed once laid out: a toast just mounted has no region yet)
            await until(pilot, lambda: any(t.region for t in app.screen.query(Toast)), "the breach toast placed")
            (toast,) = app.screen.query(Toast)
            assert board.region and not toast.region.overlaps(board.region), (toast.region, board.region)
            said = str(toast.render())
            clock.advance(seconds=1)
            app.tick()
            await pilot.pause()
        assert "60 deadlines breached in the last minute, on 30 incidents — press B" in said
