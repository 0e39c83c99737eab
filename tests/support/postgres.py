"""A real PostgreSQL 15 for the tests: `initdb` and `pg_ctl` in a temporary folder, on a free
loopback port, with its unix socket beside its data.

One server per test session (per xdist worker), one fresh database per test, cloned from a template
(`CREATE DATABASE … TEMPLATE`), so a test costs a clone, not a server. The server runs as an
unprivileged user: PostgreSQL refuses to run as root, and CI runs as root, so then initdb, pg_ctl
and the server run as the `postgres` system user (through `runuser`) in a folder that user owns.
Desks connect over TCP with a password, as a team's desks would; the fixtures themselves use the
unix socket as the superuser (trust, local only).

Skipped, with the reason, only when the binaries are not installed.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DESK_ROLE = "desk"
DESK_PASSWORD = "desk-" + secrets.token_hex(6)
TEMPLATE = "desk_template"
SEARCH = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: Debian keeps them off PATH, under /usr/lib/postgresql/N/bin."""
    for folder in SEARCH:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder; `start`, `stop` (the server going away under
    the desks, for the fault tests), `start` again, and `destroy` at the end."""

    def __init__(self, binaries: Path) -> None:
        self.bin = binaries
        self.root = Path(tempfile.mkdtemp(prefix="oncall-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
        self.sockets.mkdir()
        if self._user is not None:
            for p in (self.root, self.sockets):
                os.chown(p, self._user.pw_uid, self._user.pw_gid)
        self._databases = itertools.count(1)
        self.running = False

    # --- the server ---------------------------------------------------------------------------------

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._user is not None else []
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        done = subprocess.run(
            [*prefix, str(self.bin / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=self.root,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr or done.stdout}\n{log}")
        return done

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            # A test server: no fsync (the tests kill clients and the server, never this machine, so the
            # OS still holds what was written); commits still reach the WAL before they return, so a
            # server stopped with `-m immediate` keeps every committed action, as a real one does.
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                "fsync = off\nfull_page_writes = off\n"
                "max_connections = 200\nshared_buffers = 32MB\n"
                "log_min_messages = warning\nlog_statement = 'none'\n"
            )

    def start(self) -> None:
        for attempt in range(3):
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
                break
            except RuntimeError:
                if attempt == 2 or "in use" not in self.log.read_text(errors="replace"):
                    raise
                self.port = free_port()  # another worker took the port meanwhile
                text = (self.data / "postgresql.conf").read_text()
                (self.data / "postgresql.conf").write_text(text + f"\nport = {self.port}\n")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate`: as if it crashed; `fast`: what a restart for an upgrade does)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def destroy(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # --- databases and roles -----------------------------------------------------------------------

    def admin(self, dbname: str = "postgres"):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(
            host=str(self.sockets), port=self.port, user="postgres", dbname=dbname, autocommit=True, connect_timeout=10
        )

    def sql(self, statement: str, *params: object, dbname: str = "postgres") -> list[tuple]:
        with self.admin(dbname) as conn:
            cur = conn.execute(statement, params or None)
            return cur.fetchall() if cur.description else []

    def url(self, dbname: str, *, user: str = DESK_ROLE, password: str | None = DESK_PASSWORD) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def prepare(self) -> None:
        """The role desks log in as, and the empty template every test's database is cloned from."""
        self.sql(f"CREATE ROLE {DESK_ROLE} LOGIN CREATEDB PASSWORD '{DESK_PASSWORD}'")
        self.sql(f"CREATE DATABASE {TEMPLATE} OWNER {DESK_ROLE} TEMPLATE template0 ENCODING 'UTF8'")

    def create_database(self, *, template: str = TEMPLATE, owner: str = DESK_ROLE) -> str:
        name = f"t{os.getpid()}_{next(self._databases)}"
        self.sql(f"CREATE DATABASE {name} OWNER {owner} TEMPLATE {template} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        if self.running:
            self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def create_role(self, name: str, password: str, *, grants: str = "") -> None:
        self.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")


def start_server() -> PostgresServer:
    binaries = bin_dir()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl; apt-get install postgresql)")
    server = PostgresServer(binaries)
    atexit.register(server.destroy)  # a session ended by ^C leaves no server behind either
    try:
        server.init()
        server.start()
        server.prepare()
    except BaseException:
        server.destroy()
        raise
    return server


def wait_until_accepting(server: PostgresServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.sql("SELECT 1")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# --- fixtures (registered in tests/conftest.py) ------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (one per xdist worker)."""
    server = start_server()
    yield server
    server.destroy()


@pytest.fixture
def pg_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; its name."""
    if not postgres_server.running:  # a test that stopped the server and failed before starting it
        postgres_server.start()
    name = postgres_server.create_database()
    yield name
    with contextlib.suppress(Exception):
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_database(name)


@pytest.fixture
def pg_url(postgres_server: PostgresServer, pg_database: str) -> str:
    """`postgresql://desk:…@127.0.0.1:PORT/DB` of a fresh, empty database: pass it as `--db`, to
    `ONCALL_TUI_DB` or to `open_record`. Backend-parametrised suites can reuse it as their target."""
    return postgres_server.url(pg_database)


@pytest.fixture
def desk_on_pg(pg_url: str, policy, clock):  # -> Desk
    """A desk (actor alice, the frozen clock) on a fresh PostgreSQL database."""
    from oncall_tui.desk import Desk

    desk = Desk.open(pg_url, policy=policy, clock=clock, actor="alice")
    yield desk
    desk.close()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PostgresServer]:
    """A server of the module's own, for tests that stop and start it under the desks."""
    server = start_server()
    yield server
    server.destroy()
