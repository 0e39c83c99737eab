"""Shared by the integrity tests: the real `oncall-tui` executable, and a tamperer with sqlite3."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path


def oncall_tui_command() -> list[str]:
    """The installed console script beside this interpreter, as a user runs it."""
    script = Path(sys.executable).with_name("oncall-tui")
    if script.exists():
        return [str(script)]
    found = shutil.which("oncall-tui")
    return [found] if found else [sys.executable, "-m", "oncall_tui.cli"]


@dataclass
class Run:
    status: int
    out: str
    err: str

    @property
    def message(self) -> str:
        return self.err.strip()


class Tamperer:
    """Someone with sqlite3 and write access to the file, editing the evidence behind the desk's back.

    Dropping the append-only triggers is the first thing such a person does; the hash chain is what
    still catches them.
    """

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("DROP TRIGGER IF EXISTS events_append_only_update")
        self.conn.execute("DROP TRIGGER IF EXISTS events_append_only_delete")

    def __enter__(self) -> Tamperer:
        return self

    def __exit__(self, *exc) -> None:
        self.conn.close()

    def sql(self, statement: str, *params) -> None:
        self.conn.execute(statement, params)

    def row(self, seq: int) -> dict:
        cur = self.conn.execute("SELECT * FROM events WHERE seq = ?", [seq])
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))

    def seqs(self, incident: int) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT seq FROM events WHERE incident = ? ORDER BY seq", [incident])]
