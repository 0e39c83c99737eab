"""One test, both backends: a record target that is a desk file, or a fresh PostgreSQL database.

A backend-parametrised test asks for `record_target` (or `module_record_target` for a module-scoped
fixture) instead of building `tmp_path / "desk.db"`, and opens desks on it with `Desk.open(target)`;
child processes get it as their `--db`. It inspects the record through the store's own door
(`open_record`, `verify_store`), never with a driver, so the same assertions hold on both.

The PostgreSQL side uses the real server of tests/support/postgres.py, one fresh database per test
(or per module); it is skipped, with the reason, when PostgreSQL is not installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
)


def _postgres_server(request: pytest.FixtureRequest):  # -> support.postgres.PostgresServer
    try:
        server = request.getfixturevalue("postgres_server")  # skips when initdb/pg_ctl are missing
    except pytest.FixtureLookupError:
        pytest.skip("no PostgreSQL test harness in this tree (tests/support/postgres.py)")
    if not server.running:  # a fault test that stopped it and failed before starting it again
        server.start()
    return server


@contextlib.contextmanager
def postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    server = _postgres_server(request)
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        with contextlib.suppress(Exception):
            if not server.running:
                server.start()
            server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def record_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where this test's record lives: `tmp_path/desk.db`, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield tmp_path / "desk.db"
        return
    with postgres_database(request) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_record_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path | str]:
    """`record_target` for a module-scoped fixture (one expensive scenario read by several tests)."""
    if request.param == "sqlite":
        yield tmp_path_factory.mktemp("record") / "desk.db"
        return
    with postgres_database(request) as url:
        yield url


@pytest.fixture
def backend(record_target: Path | str) -> str:
    """The name of the backend under test: "sqlite" or "postgresql"."""
    return "sqlite" if isinstance(record_target, Path) else "postgresql"


def record_state(target: Path | str) -> dict[str, list[tuple]]:
    """Every row of the record, table by table, as stored: equal before and after means nothing was
    lost and nothing half-written (the file's bytes would say so only for SQLite)."""
    from oncall_tui.store import open_record

    record = open_record(target, readonly=True, create=False)
    try:
        with record.snapshot():
            return {t: [row for _, rows in record.table_batches(t) for row in rows] for t in record.record_tables()}
    finally:
        record.close()
