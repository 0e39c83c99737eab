"""The file changing or failing under the desk: deleted sidecars, a replaced file, a damaged page, a
foreign journal, a half-made schema, a read-only folder, a full disk. Each one is refused with one
line that says what happened, and nothing already recorded is lost."""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from integrity_helpers import oncall_tui_command

from oncall_tui.desk import Desk
from oncall_tui.store import APPLICATION_ID, FileReplaced


def _one_line(run) -> str:
    assert "Traceback" not in run.err + run.out, run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    return lines[0].removeprefix("oncall-tui: ")


@pytest.fixture
def open_desk(db_path, policy, clock) -> Iterator[Desk]:
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    desk.declare("Login failures", severity="P1")
    yield desk
    desk.close()


# --- the path no longer names the file the desk opened --------------------------------------------


def test_sidecars_deleted_under_an_open_desk_stop_its_writes_and_other_desks(open_desk, db_path, run_cli):
    os.unlink(f"{db_path}-wal")
    os.unlink(f"{db_path}-shm")

    with pytest.raises(FileReplaced, match=r"desk\.db-wal was deleted while this desk had it open; nothing more"):
        open_desk.note(1, "into an unlinked file")
    with pytest.raises(FileReplaced):  # the board's one-second poll says so too
        open_desk.data_version()
    # A CLI opening now would start a second -wal that the open desk deletes when it closes.
    run = run_cli("--db", str(db_path), "note", "INC-1", "lost later")
    assert run.status == 1
    assert "another desk has" in _one_line(run) and "-wal and -shm files were deleted under it" in run.err

    open_desk.close()  # closing folds what it held into the file
    after = Desk.open(db_path, policy=open_desk.policy, clock=open_desk.clock)
    assert [e.kind for e in after.timeline(1)] == ["declared"]
    after.close()


def test_a_desk_file_replaced_under_an_open_desk_is_not_written(open_desk, db_path, tmp_path, policy, clock):
    other = tmp_path / "other.db"
    Desk.open(other, policy=policy, clock=clock).close()
    os.replace(other, db_path)
    with pytest.raises(FileReplaced, match=r"desk\.db was replaced while this desk had it open"):
        open_desk.acknowledge(1)


# --- damaged or foreign content --------------------------------------------------------------------


def _damage_a_page(db: Path) -> None:
    size = db.stat().st_size
    with db.open("r+b") as fh:
        fh.seek(size - 4096)  # the last page: a leaf of the timeline's index, never read by a note
        fh.write(b"\xff" * 4096)


def test_a_damaged_page_refuses_declare_and_note(healthy_desk_file, run_cli):
    db = healthy_desk_file
    _damage_a_page(db)
    before = db.read_bytes()
    for args in (["note", "INC-1", "still looking"], ["declare", "Disk full"]):
        run = run_cli("--db", str(db), *args)
        assert run.status == 1, run.out
        assert _one_line(run).startswith(f"{db} is damaged (")
        assert "nothing was written — run `oncall-tui verify` and restore the desk from a backup" in run.err
    assert db.read_bytes() == before


@pytest.fixture
def healthy_desk_file(db_path, policy, clock) -> Path:
    desk = Desk.open(db_path, policy=policy, clock=clock, actor="alice")
    desk.declare("Login failures", severity="P1")
    for i in range(40):
        desk.note(1, f"finding {i}: " + "the identity pods restart in a loop " * 20)
    desk.close()
    return db_path


def test_a_file_with_the_desks_id_and_a_half_made_schema_is_left_untouched(db_path, run_cli):
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE incidents (number INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    run = run_cli("--db", str(db_path), "declare", "Login failures")
    assert run.status == 1
    assert _one_line(run) == (
        f"{db_path} is marked as an oncall-tui desk but its schema is incomplete (tables: incidents; schema "
        "version 0); it was left untouched — restore it from a backup or pass another --db"
    )
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["desk.db"]


def test_another_databases_hot_journal_is_not_replayed_into_the_desk(healthy_desk_file, tmp_path, run_cli):
    db = healthy_desk_file
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (zeroblob(20000))")
    conn.execute("BEGIN")
    conn.execute("UPDATE t SET x = zeroblob(30000)")
    conn.execute("PRAGMA cache_spill = 1")
    conn.execute("CREATE TABLE spill AS SELECT x FROM t")  # force pages out: the journal is hot now
    shutil.copy(f"{other}-journal", f"{db}-journal")
    conn.execute("ROLLBACK")
    conn.close()
    before = db.read_bytes()
    for args in (["list"], ["note", "INC-1", "hello"]):
        run = run_cli("--db", str(db), *args)
        assert run.status == 1, run.out
        assert _one_line(run).startswith(f"{db}-journal lies beside the desk, but the desk keeps its journal in")
    assert db.read_bytes() == before
    assert Path(f"{db}-journal").exists()


# --- a folder the user cannot write ------------------------------------------------------------------


def _as_another_user(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_desk_in_a_folder_the_user_cannot_write_opens_read_only(policy, clock, cli_env):
    """Readable file, unwritable folder, nothing beside it: SQLite cannot create the -shm that WAL
    reading needs (SQLITE_READONLY_DIRECTORY), so the desk reads it as immutable."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: no way to be a user who cannot write the folder")
    folder = Path(tempfile.mkdtemp(prefix="oncall-ro-"))  # not under pytest's 0700 tmp: another user reads it
    try:
        db = folder / "desk.db"
        desk = Desk.open(db, policy=policy, clock=clock, actor="alice")
        desk.declare("Login failures", severity="P1")
        desk.close()
        db.chmod(0o644)
        env = {**cli_env, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder / "config"), "ONCALL_TUI_DB": str(db)}
        if os.geteuid() == 0:
            folder.chmod(0o755)
            listed = _as_another_user([*oncall_tui_command(), "list"], env)
            noted = _as_another_user([*oncall_tui_command(), "note", "INC-1", "hello"], env)
        else:
            folder.chmod(0o555)
            listed = subprocess.run([*oncall_tui_command(), "list"], env=env, capture_output=True, text=True)
            noted = subprocess.run(
                [*oncall_tui_command(), "note", "INC-1", "hello"], env=env, capture_output=True, text=True
            )
        assert listed.returncode == 0, listed.stderr
        assert "Login failures" in listed.stdout
        assert noted.returncode == 1
        assert "is open read-only (the file or its folder is not writable); changes are not possible" in noted.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["desk.db"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


# --- no room ---------------------------------------------------------------------------------------------


def test_a_file_size_limit_is_named_not_a_disk_io_error(healthy_desk_file, cli_env):
    db = healthy_desk_file
    limit = db.stat().st_size + 8192

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    big = "the identity pods restart in a loop " * 500
    last = None
    for _ in range(6):  # fill the -wal up to the limit
        last = subprocess.run(
            [*oncall_tui_command(), "--db", str(db), "note", "INC-1", big],
            env=cli_env,
            capture_output=True,
            text=True,
            preexec_fn=cap,
        )
        if last.returncode:
            break
    assert last is not None and last.returncode == 1, "the limit was never reached"
    assert "Traceback" not in last.stderr
    assert f"{db}: the file size limit is reached (ulimit -f: " in last.stderr
    assert "nothing was written — free some space (or raise the limit) and try again" in last.stderr
    assert subprocess.run([*oncall_tui_command(), "--db", str(db), "verify"], env=cli_env).returncode == 0


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a small tmpfs here (needs root): no disk to fill")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_backup_onto_a_full_disk_says_so_and_leaves_nothing_behind(healthy_desk_file, small_disk, run_cli):
    (small_disk / "filler").write_bytes(b"\0" * (256 * 1024 - 40 * 1024))
    run = run_cli("--db", str(healthy_desk_file), "backup", str(small_disk / "copy.db"))
    assert run.status == 1
    line = _one_line(run)
    assert line.startswith(f"no backup was written to {small_disk / 'copy.db'}: ")
    assert "the disk is full" in line
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_a_note_onto_a_full_disk_says_the_disk_is_full(healthy_desk_file, small_disk, policy, clock, run_cli):
    db = small_disk / "desk.db"
    shutil.copy(healthy_desk_file, db)
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * max(free - 8192, 0))
    run = run_cli("--db", str(db), "note", "INC-1", "the identity pods restart in a loop " * 400)
    assert run.status == 1
    assert _one_line(run).startswith(f"{db}: the disk is full; nothing was written")
