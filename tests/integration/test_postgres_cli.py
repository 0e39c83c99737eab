"""The command line in team mode: `--db postgresql://…` and $ONCALL_TUI_DB select the server;
the whole flow, `verify`, the exports and the report say the same as on a desk file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from oncall_tui.cli import main
from oncall_tui.clock import FrozenClock

pytestmark = pytest.mark.postgres

FLOW = [
    ["declare", "Login failures", "--service", "identity", "--impact", "EU logins fail"],
    ["ack", "INC-1"],
    ["severity", "INC-1", "P1"],
    ["note", "INC-1", "JWKS cache empty since the deploy"],
    ["status", "INC-1", "investigating"],
    ["status", "INC-1", "mitigated"],
    ["edit", "INC-1", "root_cause", "the key rotation skipped the cache"],
    ["edit", "INC-1", "resolution", "restarted the cache warmer"],
    ["status", "INC-1", "resolved"],
    ["review", "INC-1", "schedule", "2026-11-28T10:00:00Z", "--attendee", "alice"],
    ["review", "INC-1", "add", "Alert on an empty JWKS cache", "--owner", "bob", "--due", "2026-12-04"],
    ["review", "INC-1", "complete", "--notes", "went well"],
]


def _run(capsys, db, argv, clock) -> str:
    status = main([*argv, "--db", str(db)], clock=clock)
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def _flow(capsys, db) -> dict[str, str]:
    clock = FrozenClock("2026-11-27T03:00:00Z")
    for argv in FLOW:
        _run(capsys, db, argv, clock)
        clock.advance(timedelta(minutes=7))
    return {
        "json": _run(capsys, db, ["export", "INC-1", "--format", "json"], clock),
        "md": _run(capsys, db, ["export", "INC-1"], clock),
        "show": _run(capsys, db, ["show", "INC-1", "--json"], clock),
        "report": _run(capsys, db, ["report", "--since", "2026-11-01", "--until", "2026-11-30", "--json"], clock),
        "verify": _run(capsys, db, ["verify"], clock),
    }


def test_the_flow_exports_and_verify_say_the_same_on_both_backends(capsys, tmp_path, pg_url):
    on_file = _flow(capsys, tmp_path / "desk.db")
    on_server = _flow(capsys, pg_url)
    for name in ("json", "md", "show", "report"):
        assert on_server[name] == on_file[name], name
    exported = json.loads(on_server["json"])
    assert [e["kind"] for e in exported["timeline"]][:3] == ["declared", "acknowledged", "severity_set"]
    assert (
        on_server["verify"]
        == on_file["verify"]
        == ("file integrity: ok\nOK: the only incident chain holds (12 events)\n")
    )


def test_oncall_tui_db_selects_the_server(pg_url, tmp_path):
    env = {**os.environ, "ONCALL_TUI_DB": pg_url, "ONCALL_TUI_USER": "carol"}
    cmd = [sys.executable, "-m", "oncall_tui.cli"]
    done = subprocess.run(
        [*cmd, "declare", "Disk filling", "--severity", "P2"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "INC-1"
    shown = subprocess.run([*cmd, "show", "INC-1", "--json"], env=env, capture_output=True, text=True)
    assert json.loads(shown.stdout)["title"] == "Disk filling"
    assert not list(tmp_path.iterdir())  # no desk file was made anywhere near


def test_an_unreachable_server_is_one_line_and_exit_status_1(tmp_path):
    from support.postgres import free_port

    url = f"postgresql://desk:secret@127.0.0.1:{free_port()}/oncall"
    done = subprocess.run(
        [sys.executable, "-m", "oncall_tui.cli", "list", "--db", url], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "secret" not in done.stderr
    assert done.stderr.startswith("oncall-tui: database unreachable (postgresql://desk@127.0.0.1:")
