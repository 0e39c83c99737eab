"""PostgreSQL's own faults, each one clear line and nothing lost: a refused connection, a server
that stops answering, a wrong password, a role that may not write, the server stopped mid-action."""

from __future__ import annotations

import time

import psycopg
import pytest
from support.postgres import DESK_PASSWORD, free_port
from support.tcp_proxy import TcpProxy

from oncall_tui.desk import Desk
from oncall_tui.store import NoWriteRights, StoreError, StoreUnreachable
from oncall_tui.verify import verify_store

pytestmark = pytest.mark.postgres


def _one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    assert DESK_PASSWORD not in message  # the URL is shown without its password
    return message


def test_connection_refused(policy, monkeypatch):
    monkeypatch.setenv("ONCALL_TUI_PG_CONNECT_TIMEOUT", "60")  # so that waiting it out cannot pass for "at once"
    url = f"postgresql://desk:{DESK_PASSWORD}@127.0.0.1:{free_port()}/oncall"
    started = time.monotonic()
    with pytest.raises(StoreUnreachable) as caught:
        Desk.open(url, policy=policy)
    assert time.monotonic() - started < 10  # refused at once, not after the connect timeout
    message = _one_line(caught.value)
    assert message.startswith("database unreachable (postgresql://desk@127.0.0.1:")
    assert "connection refused" in message


def test_a_server_that_never_answers_times_out(postgres_server, pg_database, monkeypatch, policy):
    monkeypatch.setenv("ONCALL_TUI_PG_CONNECT_TIMEOUT", "2")
    proxy = TcpProxy(postgres_server.port, mode="blackhole")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnreachable) as caught:
            Desk.open(proxy.url(postgres_server.url(pg_database)), policy=policy)
        assert 1.5 < time.monotonic() - started < 6
        assert "no answer in time" in _one_line(caught.value)
    finally:
        proxy.close()


def test_a_network_cut_mid_session_times_out_then_recovers(postgres_server, pg_database, monkeypatch, policy, clock):
    """The cable is cut after the desk opened: the action is refused within the deadline (not left
    hanging), nothing was written, and once the network is back the desk works again by itself."""
    monkeypatch.setenv("ONCALL_TUI_PG_TIMEOUT_MS", "800")
    proxy = TcpProxy(postgres_server.port)
    try:
        desk = Desk.open(proxy.url(postgres_server.url(pg_database)), policy=policy, clock=clock, actor="alice")
        inc = desk.declare("Login failures")
        proxy.mode = "blackhole"
        started = time.monotonic()
        with pytest.raises(StoreUnreachable) as caught:
            desk.note(inc.number, "this one is not recorded")
        assert time.monotonic() - started < 4
        message = _one_line(caught.value)
        assert message.startswith("not recorded: database unreachable (") and "no answer within" in message
        proxy.mode = "forward"
        desk.note(inc.number, "this one is")  # a new connection, made by itself
        assert [e.details.get("text") for e in desk.timeline(inc.number)] == [None, "this one is"]
        desk.close()
    finally:
        proxy.close()


def test_a_wrong_password(postgres_server, pg_database, policy):
    url = postgres_server.url(pg_database, password="not-the-password")
    with pytest.raises(StoreError) as caught:
        Desk.open(url, policy=policy)
    message = _one_line(caught.value)
    assert "not-the-password" not in message
    assert message == (
        f"postgresql://desk@127.0.0.1:{postgres_server.port}/{pg_database}: the password was refused for this user; "
        "check the password in the URL (or ~/.pgpass)"
    )


def test_no_such_database(postgres_server, policy):
    with pytest.raises(StoreError) as caught:
        Desk.open(postgres_server.url("no_such_desk"), policy=policy)
    assert "no such database on the server" in _one_line(caught.value)


def test_a_role_without_write_rights_reads_and_is_refused_every_write(
    postgres_server, pg_database, pg_url, policy, clock
):
    owner = Desk.open(pg_url, policy=policy, clock=clock, actor="alice")
    inc = owner.declare("Checkout latency", severity="P2")
    owner.close()
    with postgres_server.admin(pg_database) as conn:
        conn.execute("DROP ROLE IF EXISTS viewer")
        conn.execute("CREATE ROLE viewer LOGIN PASSWORD 'viewer-pw'")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO viewer")
    try:
        desk = Desk.open(
            postgres_server.url(pg_database, user="viewer", password="viewer-pw"), policy=policy, clock=clock
        )
        try:
            assert desk.get(inc.number).title == "Checkout latency"
            for action in (lambda: desk.acknowledge(inc.number), lambda: desk.declare("Another")):
                with pytest.raises(NoWriteRights) as caught:
                    action()
                message = _one_line(caught.value)
                assert message.startswith("not recorded: the database role viewer may not do this (permission denied")
                assert message.endswith("grant it the desk's rights (README, Team mode)")
            assert [e.kind for e in desk.timeline(inc.number)] == ["declared"]
            assert len(desk.incidents()) == 1
        finally:
            desk.close()
    finally:
        with postgres_server.admin(pg_database) as conn:
            conn.execute("DROP OWNED BY viewer")
            conn.execute("DROP ROLE viewer")


def test_a_role_that_may_not_create_the_schema(postgres_server, policy):
    name = postgres_server.create_database(owner="postgres")
    with postgres_server.admin(name) as conn:
        conn.execute("DROP ROLE IF EXISTS guest")
        conn.execute("CREATE ROLE guest LOGIN PASSWORD 'guest-pw'")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    try:
        with pytest.raises(StoreError) as caught:
            Desk.open(postgres_server.url(name, user="guest", password="guest-pw"), policy=policy)
        assert "needs its schema created" in _one_line(caught.value)
        assert "open it once as the database's owner" in str(caught.value)
    finally:
        postgres_server.drop_database(name)
        postgres_server.sql("DROP ROLE guest")


def test_the_server_stopped_mid_action_leaves_nothing_half_written(private_postgres, policy, clock):
    server = private_postgres
    name = server.create_database()
    desk = Desk.open(server.url(name), policy=policy, clock=clock, actor="alice")
    inc = desk.declare("Login failures", severity="P1")

    def decide(incident, now):
        server.stop("immediate")  # between the read and the write, as a crash would
        return {"assignee": "alice"}, {"field": "assignee", "from": "", "to": "alice"}

    try:
        with pytest.raises(StoreUnreachable) as caught:
            desk.act(inc.number, "assigned", decide)
        message = _one_line(caught.value)
        assert message.startswith("not recorded: database unreachable (")
        with pytest.raises(StoreUnreachable) as again:
            desk.note(inc.number, "while it is down")
        assert _one_line(again.value).startswith("not recorded: database unreachable")
    finally:
        server.start()
    deadline = time.monotonic() + 10
    while True:  # the desk reconnects by itself
        try:
            desk.note(inc.number, "back")
            break
        except StoreUnreachable:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    fresh = Desk.open(server.url(name), policy=policy, clock=clock)
    try:
        assert fresh.get(inc.number).assignee == ""
        assert [e.kind for e in fresh.timeline(inc.number)] == ["declared", "note"]
        assert verify_store(fresh.store).ok
    finally:
        fresh.close()
        desk.close()


def test_a_commit_whose_answer_was_lost_is_looked_up(private_postgres, policy, clock, monkeypatch):
    """The server stops after it committed and before the desk read the answer: the desk asks the
    server, once it is back, whether the transaction committed, and says the truth."""
    from oncall_tui.store import postgres

    server = private_postgres
    name = server.create_database()
    desk = Desk.open(server.url(name), policy=policy, clock=clock, actor="alice")
    inc = desk.declare("Login failures")
    real = postgres.PostgresStore._execute

    def execute(self, sql, params=None):
        cursor = real(self, sql, params)
        if sql == "COMMIT":
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return cursor

    monkeypatch.setattr(postgres.PostgresStore, "_execute", execute)
    desk.note(inc.number, "recorded although the answer was lost")
    monkeypatch.undo()
    assert [e.kind for e in desk.timeline(inc.number)] == ["declared", "note"]
    desk.close()


def test_a_statement_running_on_a_workers_connection_is_cancelled_from_another_thread(pg_url):
    """As on SQLite: the desk closing stops a worker's statement rather than waiting for its end
    (the cancel request is a round trip of its own, sent off the caller's thread)."""
    from support.interrupting import interrupt_a_running_statement

    from oncall_tui.store.postgres import PostgresStore

    raised, took = interrupt_a_running_statement(
        lambda: PostgresStore.open(pg_url), lambda store: store.conn.execute("SELECT pg_sleep(30)"), psycopg.Error
    )
    assert took < 5
    assert [type(exc) for exc in raised] == [psycopg.errors.QueryCanceled]
