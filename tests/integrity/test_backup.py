"""`oncall-tui backup FILE`: a consistent, checked copy taken while a desk keeps writing."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from integrity_helpers import Tamperer

from oncall_tui.desk import Desk

CHILD = Path(__file__).with_name("crash_child.py")


def _events(db: Path) -> dict[int, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT seq, hash FROM events"))
    finally:
        conn.close()


def test_backups_taken_while_a_desk_writes_are_whole_and_verified(tmp_path, run_cli):
    db = tmp_path / "desk.db"
    writer = subprocess.Popen([sys.executable, str(CHILD), str(db), "1", "42"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().startswith('{"ready"')
        copies = []
        for n in range(3):
            copy = tmp_path / f"backup-{n}.db"
            run = run_cli("--db", str(db), "backup", str(copy))
            assert run.status == 0, run.err
            assert run.out.splitlines()[-1].startswith("OK: copy checked — file integrity ok, all ")
            copies.append(copy)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    final = _events(db)
    sizes = []
    for copy in copies:
        assert not Path(f"{copy}-wal").exists()  # one self-contained file
        verified = run_cli("--db", str(copy), "verify")
        assert verified.status == 0, verified.out
        taken = _events(copy)
        sizes.append(len(taken))
        # A snapshot of one moment: a prefix of what the desk went on to write, byte for byte.
        assert taken and all(final[seq] == digest for seq, digest in taken.items())
        assert sorted(taken) == list(range(1, len(taken) + 1))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0], sizes  # the desk really was writing meanwhile
    # Under load the writer may not commit again between the last copy and the kill.
    assert len(final) >= sizes[-1]


def test_a_backup_opens_as_a_desk(desk: Desk, db_path, tmp_path, run_cli):
    desk.declare("Login failures", severity="P1")
    copy = tmp_path / "copy.db"
    assert run_cli("backup", str(copy)).status == 0
    listed = run_cli("--db", str(copy), "list")
    assert listed.status == 0 and "Login failures" in listed.out


def test_backup_never_overwrites_unless_told(desk: Desk, tmp_path, run_cli):
    desk.declare("Login failures")
    copy = tmp_path / "copy.db"
    copy.write_text("last week's backup")
    run = run_cli("backup", str(copy))
    assert run.status == 1
    assert run.err == f"oncall-tui: {copy} already exists; pass --force to replace it\n"
    assert copy.read_text() == "last week's backup"
    assert run_cli("backup", str(copy), "--force").status == 0
    assert run_cli("--db", str(copy), "verify").status == 0
    assert not list(tmp_path.glob(".copy.db.partial-*"))


def test_a_tampered_desk_is_still_copied_but_the_backup_says_so(desk: Desk, db_path, tmp_path, run_cli):
    desk.declare("Login failures")
    desk.note(1, "restarted the identity pods")
    desk.close()
    with Tamperer(db_path) as t:
        t.sql('UPDATE events SET details = \'{"text":"nothing happened"}\' WHERE seq = 2')
    copy = tmp_path / "copy.db"
    run = run_cli("backup", str(copy))
    assert run.status == 3  # the evidence is preserved as it is, and flagged
    assert run.out.splitlines()[-1] == "FAILED: copy checked — file integrity ok, 1 of 1 incident chains are broken"
    assert copy.exists()
    assert "INC-1: event #2 (the 2nd of its timeline) was edited" in run_cli("--db", str(copy), "verify").out
