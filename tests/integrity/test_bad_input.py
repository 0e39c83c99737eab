"""Bad input never crashes the desk: each case gets one clear line, a non-zero exit where it fails,
no traceback, and the file keeps everything it held before.

Every case runs the real `oncall-tui` executable in a subprocess against a real file.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.backends import record_state

from oncall_tui.desk import ActionRefused, Desk
from oncall_tui.model import EDITABLE_FIELDS
from oncall_tui.store import SCHEMA_VERSION

SEED = 8


def _desk_file(db: Path | str, clock, policy) -> None:
    """A real desk with some history: two incidents, one acknowledged, a dozen long notes."""
    desk = Desk.open(db, policy=policy, clock=clock, actor="alice")
    one = desk.declare("Login failures", severity="P1", services=["identity"])
    desk.declare("Checkout latency", severity="P2")
    desk.acknowledge(one.number)
    for i in range(12):
        desk.note(one.number, f"finding {i}: " + "the identity pods restart in a loop " * 30)
    desk.close()


def _snapshot(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


# --- preparing each bad input ------------------------------------------------------------------
# Each takes (tmp_path, db) with a healthy desk already at `db`, and returns the extra environment.


def random_bytes(tmp: Path, db: Path) -> dict:
    db.write_bytes(random.Random(SEED).randbytes(40_000))
    return {}


def garbage_in_the_middle(tmp: Path, db: Path) -> dict:
    # One whole page in the middle of the timeline: asked of SQLite, not guessed from the file's size
    # (as migrations add to the schema, the page halfway through the file can be the schema's own).
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        leaves = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf'")]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    with db.open("r+b") as fh:
        fh.seek((sorted(leaves)[len(leaves) // 2] - 1) * page_size)
        fh.write(random.Random(SEED).randbytes(page_size))
    return {}


def foreign_file(tmp: Path, db: Path) -> dict:
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    conn.execute("INSERT INTO photos (path) VALUES ('holiday.jpg')")
    conn.commit()
    conn.close()
    return {}


def newer_version(tmp: Path, db: Path) -> dict:
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    return {}


def broken_policy(tmp: Path, db: Path) -> dict:
    (tmp / "policy.toml").write_text("[deadlines]\nacknowledge_minutes = 5\nseverity_minutes = = 15\n")
    return {}


def wrong_policy_value(tmp: Path, db: Path) -> dict:
    (tmp / "policy.toml").write_text('[deadlines]\nacknowledge_minutes = "five"\n')
    return {}


def broken_user_policy(tmp: Path, db: Path) -> dict:
    config = tmp / "config"
    config.mkdir()
    (config / "policy.toml").write_text("[updates]\nP1 = 30\nP2 = 60 minutes\n")
    return {"ONCALL_TUI_CONFIG": str(config)}


def broken_config(tmp: Path, db: Path) -> dict:
    config = tmp / "config"
    config.mkdir()
    (config / "config.toml").write_text('[alertmanager]\nurl = "http://127.0.0.1:9093\n')
    return {"ONCALL_TUI_CONFIG": str(config)}


def nothing(tmp: Path, db: Path) -> dict:
    return {}


@dataclass
class Case:
    id: str
    prepare: Callable[[Path, Path], dict]
    args: list[str]
    message: str  # a regex for the one line on stderr, after "oncall-tui: "
    status: int = 1
    stdout: str | None = None  # a regex the output must match, when the command reports there


DAMAGED = r"{db} is damaged or not an SQLite database \({why}\); it was left untouched"
NOT_A_DESK = r"{db} is not an oncall-tui desk database \(it holds: photos\); it was left untouched — pass another --db"
NEWER = (
    rf"{{db}} was written by a newer oncall-tui \(schema {SCHEMA_VERSION + 1}; this version knows up to "
    rf"{SCHEMA_VERSION}\); upgrade oncall-tui — the file was left untouched"
)
POLICY_SYNTAX = r"{tmp}/policy.toml: Invalid value \(at line 3, column 20\)"

CASES = [
    Case("corrupt:list", random_bytes, ["list"], DAMAGED.format(db="{db}", why="file is not a database")),
    Case("corrupt:ack", random_bytes, ["ack", "INC-1"], DAMAGED.format(db="{db}", why="file is not a database")),
    Case("corrupt:verify", random_bytes, ["verify"], DAMAGED.format(db="{db}", why="file is not a database")),
    Case("corrupt:board", random_bytes, [], DAMAGED.format(db="{db}", why="file is not a database")),
    Case(
        "garbage-inside:verify",
        garbage_in_the_middle,
        ["verify"],
        "",
        status=3,
        stdout=r"(?s)file integrity: DAMAGED\n.*FAILED: the database file is damaged: .+\n$",
    ),
    Case("foreign:list", foreign_file, ["list"], NOT_A_DESK),
    Case("foreign:declare", foreign_file, ["declare", "Login failures"], NOT_A_DESK),
    Case("foreign:board", foreign_file, [], NOT_A_DESK),
    Case("newer:show", newer_version, ["show", "INC-1"], NEWER),
    Case("newer:note", newer_version, ["note", "INC-1", "hello"], NEWER),
    Case("newer:backup", newer_version, ["backup", "{tmp}/copy.db"], NEWER),
    Case("policy-syntax:list", broken_policy, ["list", "--policy", "{tmp}/policy.toml"], POLICY_SYNTAX),
    Case("policy-syntax:board", broken_policy, ["--policy", "{tmp}/policy.toml"], POLICY_SYNTAX),
    Case(
        "policy-value:ack",
        wrong_policy_value,
        ["ack", "INC-2", "--policy", "{tmp}/policy.toml"],
        r"{tmp}/policy.toml: \[deadlines\] acknowledge_minutes = 'five': must be a number from 0 to 10,080 "
        r"\(minutes, up to a week\)",
    ),
    Case(
        "user-policy-syntax:list",
        broken_user_policy,
        ["list"],
        r"{tmp}/config/policy.toml: .+ \(at line 3, column \d+\)",
    ),
    Case("config-syntax:board", broken_config, [], r"{tmp}/config/config.toml: .+ \(at line 2, column \d+\)"),
    Case(
        "severity:set",
        nothing,
        ["severity", "INC-1", "P7"],
        r"unknown severity 'P7': use P0 \(critical\), P1 \(high\), P2 \(medium\) or P3 \(low\)",
    ),
    Case(  # names are accepted now (high, critical): a word that is none of them is refused
        "severity:declare",
        nothing,
        ["declare", "Disk full", "--severity", "urgent"],
        r"unknown severity 'urgent': use P0 \(critical\), P1 \(high\), P2 \(medium\) or P3 \(low\)",
    ),
    Case(
        "date:words",
        nothing,
        ["declare", "Disk full", "--started-at", "yesterday"],
        r"cannot read 'yesterday' as a time: use -20m, 20m ago, 03:12 or an ISO time like 2026-11-27T03:12Z",
    ),
    Case(
        "date:impossible",
        nothing,
        ["declare", "Disk full", "--started-at", "2026-02-30T03:00:00Z"],
        r"cannot read '2026-02-30T03:00:00Z' as a time: use .+",
    ),
    Case(
        "date:future",
        nothing,
        ["declare", "Disk full", "--started-at", "2099-01-01T00:00:00Z"],
        r"2099-01-01T00:00:00Z is in the future \(\d+d\d\dh from now\)",
    ),
    Case(
        "date:year-1",
        nothing,
        ["declare", "Disk full", "--started-at", "0001-01-01T00:00:00+14:00"],
        r"'0001-01-01T00:00:00\+14:00' is out of range: no such instant in UTC",
    ),
    Case(
        "date:year-9999",
        nothing,
        ["declare", "Disk full", "--started-at", "9999-12-31T23:59:59-14:00"],
        r"'9999-12-31T23:59:59-14:00' is out of range: no such instant in UTC",
    ),
    Case(
        "date:ages-ago",
        nothing,
        ["declare", "Disk full", "--started-at", "-1000000d"],
        r"-1000000d is more than 366 days ago; check the date",
    ),
    Case(
        "review:year-1",
        nothing,
        ["review", "INC-1", "schedule", "0001-01-01 00:00+14:00"],
        r"'0001-01-01 00:00\+14:00' is out of range: no such instant in UTC",
    ),
    Case(
        "incident:huge",
        nothing,
        ["ack", "INC-99999999999999999999"],
        r"no incident INC-99999999999999999999: incident numbers go up to 9223372036854775807",
    ),
    Case("incident:unknown", nothing, ["ack", "INC-99"], r"no incident INC-99"),
    Case(
        "incident:malformed", nothing, ["show", "INC-one"], r"not an incident id: 'INC-one' \(expected INC-<number>\)"
    ),
    Case("status:unknown", nothing, ["status", "INC-1", "fixed"], r"unknown status 'fixed': use one of .+"),
    Case("backup:onto-itself", nothing, ["backup", "{db}"], r"the backup must go to another file than the desk itself"),
    Case("backup:no-folder", nothing, ["backup", "{tmp}/nowhere/copy.db"], r"{tmp}/nowhere: no such folder"),
]


@pytest.fixture
def healthy(tmp_path, clock, policy) -> Path:
    db = tmp_path / "desk.db"
    _desk_file(db, clock, policy)
    return db


def _expand(text: str, tmp: Path, db: Path, *, regex: bool) -> str:
    t, d = (re.escape(str(tmp)), re.escape(str(db))) if regex else (str(tmp), str(db))
    return text.replace("{tmp}", t).replace("{db}", d)


def _assert_one_clean_line(run, pattern: str) -> None:
    assert "Traceback" not in run.err + run.out
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("oncall-tui: ")
    assert re.fullmatch(pattern, lines[0][len("oncall-tui: ") :]), lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_clear_line_and_loses_nothing(case: Case, healthy: Path, tmp_path, run_cli):
    env = case.prepare(tmp_path, healthy)
    before = _snapshot(healthy)
    args = [_expand(a, tmp_path, healthy, regex=False) for a in case.args]
    run = run_cli("--db", str(healthy), *args, env=env, timeout=20)

    assert run.status == case.status, (run.out, run.err)
    assert "Traceback" not in run.err + run.out
    if case.message:
        _assert_one_clean_line(run, _expand(case.message, tmp_path, healthy, regex=True))
    if case.stdout:
        assert re.fullmatch(case.stdout, run.out), run.out
    assert _snapshot(healthy) == before, "the file changed"


# --- a file locked by another desk for longer than the timeout ----------------------------------


@contextmanager
def _held(db: Path, *, readers_too: bool) -> Iterator[None]:
    """Another process's transaction holding the write lock (and, in exclusive locking mode, even
    readers out), as a desk stuck mid-transaction on a hung NFS mount would."""
    conn = sqlite3.connect(db, isolation_level=None)
    if readers_too:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("SELECT count(*) FROM events").fetchone()
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@pytest.mark.parametrize(
    "args, readers_too",
    [(["ack", "INC-2"], False), (["note", "INC-1", "still looking"], False), (["list"], True), (["verify"], True)],
    ids=["ack", "note", "list-exclusive", "verify-exclusive"],
)
def test_a_file_locked_longer_than_the_timeout(args, readers_too, healthy, run_cli):
    env = {"ONCALL_TUI_BUSY_TIMEOUT_MS": "300"}
    # Read before locking: closing any descriptor of the file drops this process's POSIX locks on it.
    before = _snapshot(healthy)
    with _held(healthy, readers_too=readers_too):
        started = time.monotonic()
        run = run_cli("--db", str(healthy), *args, env=env)
        waited = time.monotonic() - started
    assert run.status == 1
    _assert_one_clean_line(
        run, re.escape(f"{healthy} is locked by another process for more than 0.3 s; nothing was written, try again")
    )
    assert waited < 5  # the configured timeout, not the default 5 s
    assert _snapshot(healthy) == before
    assert run_cli("--db", str(healthy), "verify").status == 0


def test_reading_goes_on_while_another_desk_holds_the_write_lock(healthy, run_cli):
    """WAL: a desk stuck in a write does not stop the others from showing the board."""
    with _held(healthy, readers_too=False):
        run = run_cli("--db", str(healthy), "list", env={"ONCALL_TUI_BUSY_TIMEOUT_MS": "300"})
    assert run.status == 0 and "Login failures" in run.out


# --- a read-only path ---------------------------------------------------------------------------


def _can_make_immutable(tmp: Path) -> bool:
    probe = tmp / "probe"
    probe.write_text("x")
    ok = subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["chattr", "-i", str(probe)], check=True)
    probe.unlink()
    return ok


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make `path` unwritable for real. As root, chmod stops nothing (root bypasses permission bits),
    so root tests use the immutable attribute, which stops root too; others use chmod."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@pytest.fixture
def unwritable(tmp_path):
    if os.geteuid() == 0 and (shutil.which("chattr") is None or not _can_make_immutable(tmp_path)):
        pytest.skip("running as root without the immutable attribute: nothing here can make a file read-only")


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_desk_opens_read_only_and_says_so_on_change(what, healthy, unwritable, run_cli):
    target = healthy if what == "file" else healthy.parent
    before = _snapshot(healthy)
    with _read_only(target):
        shown = run_cli("--db", str(healthy), "show", "INC-1")
        acked = run_cli("--db", str(healthy), "ack", "INC-2")
        verified = run_cli("--db", str(healthy), "verify")
    assert shown.status == 0 and "Login failures" in shown.out, shown.err
    assert verified.status == 0, verified.err
    assert acked.status == 1
    _assert_one_clean_line(
        acked,
        re.escape(f"{healthy} is open read-only (the file or its folder is not writable); changes are not possible"),
    )
    assert _snapshot(healthy) == before


# --- control characters and very long text, in every field --------------------------------------
# Every field through the Desk (the one write path the board, the CLI and the alert intake share),
# and the command line once per kind of input, to see the user's side of it.

HOSTILE = "\x1b[2J\x1b]0;owned\x07\u009b31m\u202eexe.txt\r\x08\x7f"
CLEAN = "[2J]0;owned31mexe.txt"  # what is left once nothing in it can drive the terminal
TERMINAL_CONTROLS = ("\x1b", "\x07", "\x08", "\x7f", "\r", "\u009b", "\u202e")
SHORT_FIELDS = {"title": 500, "channel": 500, "assignee": 500, "symptom": 500, "eta": 500, "services": 200}


def _limit(field_name: str) -> int:
    return SHORT_FIELDS.get(field_name, 20_000)


def _declare(desk: Desk, field_name: str, value: str):
    if field_name == "title":
        return desk.declare(value)
    if field_name == "services":
        return desk.declare("Login failures", services=[value])
    return desk.declare("Login failures", **{field_name: value})


# --- text a terminal would obey: the same on every backend -------------------------------------------


@pytest.fixture
def healthy_record(record_target, clock, policy) -> Path | str:
    """`healthy`, on each backend (a desk file, a PostgreSQL database)."""
    _desk_file(record_target, clock, policy)
    return record_target


@pytest.fixture
def history(healthy_record, clock, policy) -> Iterator[Desk]:
    desk = Desk.open(healthy_record, policy=policy, clock=clock, actor="alice")
    yield desk
    desk.close()


def _plain(value) -> str:
    return value[0] if isinstance(value, (tuple, list)) else value


@pytest.mark.parametrize("field_name", ["title", "services", "impact", "channel", "assignee", "symptom"])
def test_control_characters_are_stripped_on_declare(field_name, history: Desk):
    inc = _declare(history, field_name, f"a{HOSTILE}b")
    assert _plain(getattr(inc, field_name)) == f"a{CLEAN}b"
    payload = history.timeline(inc.number)[0].details
    assert not any(c in json.dumps(payload, ensure_ascii=False) for c in TERMINAL_CONTROLS)


@pytest.mark.parametrize("field_name", [*EDITABLE_FIELDS, "note"])
def test_control_characters_are_stripped_on_every_edit(field_name, history: Desk):
    if field_name == "note":
        history.note(1, f"a{HOSTILE}\nb")
        assert history.timeline(1)[-1].details == {"text": f"a{CLEAN}\nb"}  # a note keeps its lines
        return
    inc = history.edit(1, field_name, f"a{HOSTILE}b")
    assert _plain(getattr(inc, field_name)) == f"a{CLEAN}b"
    assert _plain(history.timeline(1)[-1].details["to"]) == f"a{CLEAN}b"


def test_an_actor_name_cannot_drive_the_terminal_either(healthy_record, clock, policy):
    desk = Desk.open(healthy_record, policy=policy, clock=clock, actor=f"mal{HOSTILE}lory")
    desk.note(1, "hello")
    assert desk.timeline(1)[-1].actor == f"mal{CLEAN}lory"
    desk.close()


@pytest.mark.parametrize(
    "field_name", [*EDITABLE_FIELDS, "note", "declare:title", "declare:impact", "declare:services"]
)
def test_very_long_text_is_refused_in_every_field(field_name, history: Desk, healthy_record):
    before = record_state(healthy_record)
    name = field_name.split(":")[-1]
    limit = 20_000 if name == "note" else _limit(name)
    with pytest.raises(
        ActionRefused, match=re.escape(f"text is too long ({limit + 1:,} characters; at most {limit:,})")
    ):
        if field_name == "note":
            history.note(1, "n" * (limit + 1))
        elif field_name.startswith("declare:"):
            _declare(history, name, "v" * (limit + 1))
        else:
            history.edit(1, name, "v" * (limit + 1))
    assert record_state(healthy_record) == before


CLI_TEXT = [
    (["declare", f"Login{HOSTILE}failures", "--impact", f"users{HOSTILE}out"], 0, None),
    (["note", "INC-1", f"a{HOSTILE}b"], 0, None),
    (["edit", "INC-1", "eta", f"soon{HOSTILE}"], 0, None),
    (["declare", "x" * 501], 1, "text is too long (501 characters; at most 500)"),
    (["note", "INC-1", "n" * 100_000], 1, "text is too long (100,000 characters; at most 20,000)"),  # a runaway paste
    (["edit", "INC-1", "root_cause", "r" * 20_001], 1, "text is too long (20,001 characters; at most 20,000)"),
]


@pytest.mark.parametrize(
    "args, status, message", CLI_TEXT, ids=["declare", "note", "edit", "long-title", "long-note", "long-edit"]
)
def test_hostile_text_on_the_command_line(args, status, message, healthy_record, run_cli):
    before = record_state(healthy_record)
    run = run_cli("--db", str(healthy_record), *args)
    assert run.status == status, run.err
    if message:
        _assert_one_clean_line(run, re.escape(message))
        assert record_state(healthy_record) == before
        return
    shown = run_cli("--db", str(healthy_record), "show", args[1] if args[0] != "declare" else "INC-3", "--json").out
    assert not any(c in shown for c in ("\\u001b", "\\u009b", "\\u202e", "\\u0007", "\\b"))
    assert CLEAN in json.loads(shown)["title" if args[0] == "declare" else "timeline"].__str__()


def test_undecodable_bytes_on_the_command_line_are_kept_visible(healthy_record, run_cli):
    run = run_cli("--db", str(healthy_record), "note", "INC-1", os.fsdecode(b"caf\xe9 latin-1"))
    assert run.status == 0, run.err
    shown = json.loads(run_cli("--db", str(healthy_record), "show", "INC-1", "--json").out)
    assert shown["timeline"][-1]["details"] == {"text": "caf\ufffd latin-1"}


# --- the board itself ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_board_survives_a_terminal_resized_to_40x10(healthy, clock, policy):
    from oncall_tui.config import DeskOptions
    from oncall_tui.ui.app import OncallApp

    desk = Desk.open(healthy, policy=policy, clock=clock, actor="bob")
    app = OncallApp(desk, DeskOptions(db_path=healthy), clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        for keys in (
            ("j",),
            ("k",),
            ("a",),
            ("question_mark", "escape"),
            ("d", "escape"),
            ("n", "escape"),
            ("right_square_bracket",),
            ("slash", "escape"),
        ):
            await pilot.press(*keys)
            await pilot.pause()
        clock.advance(minutes=30)
        await pilot.pause(1.1)  # a tick at 40x10
        assert app.is_running
        assert app.screen.size == (40, 10)
        app.save_screenshot(filename="board-40x10.svg", path=str(healthy.parent))
        assert "INC-" in (healthy.parent / "board-40x10.svg").read_text().replace("&#160;", " ")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.is_running
    assert desk.get(2).acknowledged_by in ("", "bob")
    desk.close()
