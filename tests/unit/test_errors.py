"""One error family: everything the desk refuses says why in the user's words, under a title.

The UI turns these into notifications in one place, so it must never need to catch a database
driver's error or a bare ValueError: the store translates the first at its door, and the parsers a
form uses raise InputError (still a ValueError, for the CLI).
"""

from __future__ import annotations

import ast
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from oncall_tui.alerts.client import AlertSourceError
from oncall_tui.alerts.parse import AlertPayloadError
from oncall_tui.clock import parse_instant
from oncall_tui.desk import Conflict, NotFound
from oncall_tui.errors import DeskError, InputError
from oncall_tui.export_review import ExportProblem
from oncall_tui.lifecycle import ActionRefused
from oncall_tui.model import Severity, Status, parse_id
from oncall_tui.policy import PolicyError
from oncall_tui.review import parse_due
from oncall_tui.runbooks import RunbookError
from oncall_tui.store import FileReplaced, ReadOnlyError, StoreError
from oncall_tui.templates import TemplateProblem, parse_when

UI = Path(__file__).resolve().parents[2] / "oncall_tui" / "ui"
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "title", "severity"),
    [
        (ActionRefused, "Not done", "warning"),
        (Conflict, "Changed by another desk", "warning"),
        (NotFound, "Not done", "warning"),
        (StoreError, "Database", "error"),
        (ReadOnlyError, "Database", "error"),
        (FileReplaced, "Database", "error"),
        (PolicyError, "Settings", "error"),
        (TemplateProblem, "Template", "warning"),
        (RunbookError, "Runbooks", "warning"),
        (ExportProblem, "Export failed", "error"),
        (AlertSourceError, "Alertmanager", "warning"),
        (AlertPayloadError, "Alertmanager", "warning"),
        (InputError, "Not done", "warning"),
    ],
)
def test_every_refusal_of_the_core_is_a_desk_error_with_a_title(error, title, severity):
    exc = error("what went wrong, and what to do")
    assert isinstance(exc, DeskError)
    assert (exc.title, exc.severity) == (title, severity)
    assert str(exc) == "what went wrong, and what to do"


def test_a_title_can_be_given_where_the_error_is_raised():
    assert ActionRefused("no", title="Not now").title == "Not now"
    assert ActionRefused("no").title == "Not done"  # the class's own is untouched


@pytest.mark.parametrize(
    "parse",
    [
        lambda: parse_instant("yesterday-ish"),
        lambda: Severity.parse("P7"),
        lambda: Status.parse("sleeping"),
        lambda: parse_id("INC-x"),
        lambda: parse_when("whenever", NOW),
        lambda: parse_when("2026-11-27T02:00:00Z", NOW),  # the next update, in the past
        lambda: parse_due("someday", date(2026, 11, 27)),
    ],
)
def test_what_a_form_parses_is_refused_with_an_input_error_that_is_still_a_value_error(parse):
    with pytest.raises(InputError) as refused:
        parse()
    assert isinstance(refused.value, ValueError)
    assert str(refused.value)


def test_the_board_filter_and_the_start_time_refuse_with_input_errors():
    from oncall_tui.ui.filtering import BoardFilter
    from oncall_tui.when import parse_past

    with pytest.raises(InputError, match="unknown filter"):
        BoardFilter.parse("colour:red")
    with pytest.raises(InputError, match="in the future"):
        parse_past("+5m", NOW)
    # An unbalanced quote is read literally, not refused.
    assert BoardFilter.parse("it's down").text == "it's down"
    assert BoardFilter.parse('svc:"api gateway"').services == ("api gateway",)


def test_no_database_error_leaves_the_store(desk):
    desk.declare("Login failures")
    store = desk.store
    with pytest.raises(StoreError), store.write() as conn:  # a write that breaks a constraint
        conn.execute("INSERT INTO incidents (number) VALUES (1)")
    with pytest.raises(StoreError), store.reading() as conn:  # a read made with the connection
        conn.execute("SELECT no_such_column FROM incidents")
    assert desk.get(1).title == "Login failures"  # nothing was lost
    store.conn.close()
    with pytest.raises(StoreError):
        desk.data_version()
    with pytest.raises(StoreError):
        desk.checked_counts()


def _caught(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"<bare except>"}
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {ast.unparse(node) for node in nodes}


def test_the_ui_never_catches_driver_errors_or_bare_value_errors():
    """The UI's adapters handle DeskError (and its subclasses); a sqlite3 error or a ValueError that
    reached them would mean a refusal the core did not put in the user's words."""
    offences = []
    for path in sorted(UI.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler):
                for name in _caught(node):
                    if name == "ValueError" or name.startswith("sqlite3."):
                        offences.append(f"{path.relative_to(UI)}:{node.lineno}: except {name}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(n == "sqlite3" for n in names):
                    offences.append(f"{path.relative_to(UI)}:{node.lineno}: import sqlite3")
    assert offences == []


def test_sqlite3_errors_are_what_the_store_speaks_about_not_what_it_raises():
    # The translation keeps the words a person can act on.
    from oncall_tui.store import describe_db_error

    text = describe_db_error(Path("desk.db"), sqlite3.OperationalError("database is locked"))
    assert "locked by another process" in text
