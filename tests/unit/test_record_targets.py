"""What `--db` and $ONCALL_TUI_DB name: a desk file, or a PostgreSQL server (team mode), and how
either is shown — never with the password a URL may carry."""

from __future__ import annotations

from pathlib import Path

from oncall_tui.cli import build_parser
from oncall_tui.paths import db_target, default_db_path, shown_target, target_name

URL = "postgresql://desk:s3cret@db.internal:5433/oncall"


def test_a_url_stays_a_url_and_a_path_becomes_a_path(monkeypatch, tmp_path):
    assert db_target(URL) == URL  # not Path(URL), which would fold the // into one
    assert db_target("~/desk.db") == Path.home() / "desk.db"
    monkeypatch.setenv("ONCALL_TUI_DB", URL)
    assert default_db_path() == URL
    args = build_parser().parse_args(["list", "--db", "postgres://desk@db/oncall"])
    assert args.db == "postgres://desk@db/oncall"


def test_a_url_is_shown_without_its_password():
    assert shown_target(URL) == "postgresql://desk@db.internal:5433/oncall"
    assert target_name(URL) == "oncall@db.internal"
    assert shown_target(Path("/srv/desk.db")) == "/srv/desk.db"
    assert target_name(Path("/srv/desk.db")) == "desk.db"
