"""The door stays shut: no module outside oncall_tui/store/ writes SQL.

import-linter keeps the drivers out (pyproject.toml); this keeps the statements out, which a driver
contract alone cannot see (SQL handed to the store through a string would pass it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import oncall_tui
from oncall_tui.store import Record, Store

PACKAGE = Path(oncall_tui.__file__).parent

# A statement, not prose: a keyword followed, somewhere in the same string, by the word SQL puts
# next. Keywords in capitals, as every statement of this code base is written (prose says "select an
# incident from the list"); engine functions in any case.
SQL = re.compile(
    r"\b(?:SELECT\b[\s\S]*\bFROM|INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(?:TABLE|INDEX|TRIGGER)|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE|(?i:json_extract|julianday)\s*\()"
)


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, joined
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            found.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.append((node.lineno, node.value))
    return found


def _outside_the_store() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "store" not in p.relative_to(PACKAGE).parts[:1])


def test_the_walk_sees_the_whole_package():
    files = _outside_the_store()
    names = {p.relative_to(PACKAGE).as_posix() for p in files}
    assert {"desk.py", "metrics.py", "verify.py", "ui/incident_source.py", "alerts/reconcile.py"} <= names
    assert not any(n.startswith("store/") for n in names)


def test_no_module_outside_the_store_writes_sql():
    offences = [
        f"{path.relative_to(PACKAGE)}:{line}: {text.strip()[:80]!r}"
        for path in _outside_the_store()
        for line, text in _string_literals(path)
        if SQL.search(text)
    ]
    assert offences == [], "SQL outside oncall_tui/store/ (add a named method to the store):\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "source",
    [
        'q = "SELECT number FROM incidents WHERE status = ?"',
        'q = f"UPDATE incidents SET {k} = ? WHERE number = ?"',
        'conn.execute("INSERT OR IGNORE INTO pages (key) VALUES (?)")',
        "x = \"json_extract(details, '$.deadline')\"",
        'conn.execute("PRAGMA synchronous = OFF")',
    ],
)
def test_the_check_catches_sql(tmp_path, source):
    module = tmp_path / "m.py"
    module.write_text(source + "\n", encoding="utf-8")
    assert any(SQL.search(text) for _, text in _string_literals(module))


@pytest.mark.parametrize(
    "source",
    [
        '"""Select the incidents from the board, then update the set of marks."""',
        'msg = "select an incident from the list"',
        'help = "delete the draft; insert a line into the message"',
    ],
)
def test_prose_is_not_sql(tmp_path, source):
    module = tmp_path / "m.py"
    module.write_text(source + "\n", encoding="utf-8")
    assert not any(SQL.search(text) for _, text in _string_literals(module))


def test_the_sqlite_backend_is_a_record(tmp_path):
    store = Store.open(tmp_path / "desk.db")
    try:
        assert isinstance(store, Record)
        assert store.location == str(tmp_path / "desk.db")
    finally:
        store.close()


def _store_attributes() -> set[tuple[str, str]]:
    """(module, attribute) of every `….store.<attribute>` / `store.<attribute>` read outside the store."""
    found = set()
    for path in _outside_the_store():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            named = (isinstance(owner, ast.Name) and owner.id == "store") or (
                isinstance(owner, ast.Attribute) and owner.attr == "store"
            )
            if named:
                found.add((path.relative_to(PACKAGE).as_posix(), node.attr))
    return found


def test_the_code_asks_the_record_only_what_the_interface_promises():
    used = _store_attributes()
    assert len(used) > 30  # the walk sees the desk, the pager, the UI…
    promised = {name for name in dir(Record) if not name.startswith("__")}
    beyond = sorted(f"{module}: store.{name}" for module, name in used if name not in promised)
    assert beyond == [], "add these to interface.Record (or stop using them):\n" + "\n".join(beyond)
