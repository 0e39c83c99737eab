"""Who may open the served desk, and how many at once: tokens, loopback, the session cap."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oncall_tui.web.access import Access, Sessions, Viewer, exposure_warning, is_loopback, viewers_for


def test_a_token_names_its_viewer_and_nothing_else_does():
    access = Access.generate(["alice", "bob"])
    alice, bob = access.viewers
    assert len(alice.token) >= 32 and alice.token != bob.token
    assert access.who(alice.token) == "alice"
    assert access.who(bob.token) == "bob"
    for wrong in (None, "", alice.token[:-1], alice.token + "x", alice.token.upper()):
        assert access.who(wrong) is None


def test_viewers_are_named_once():
    with pytest.raises(ValueError, match="once"):
        Access([Viewer("alice", "a" * 32), Viewer("alice", "b" * 32)])
    with pytest.raises(ValueError):
        Access([])


def test_only_this_machine_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.3.4.5") and is_loopback("::1")
    assert is_loopback("localhost")
    for host in ("0.0.0.0", "::", "192.168.1.10", "10.0.0.1"):
        assert not is_loopback(host), host


def test_a_desk_reachable_from_the_network_without_tls_is_warned_about():
    assert exposure_warning("127.0.0.1", None) is None
    assert exposure_warning("0.0.0.0", "https://desk.example") is None  # behind a TLS proxy
    for host, url in (("0.0.0.0", None), ("192.168.1.10", "http://desk.example")):
        warning = exposure_warning(host, url)
        assert warning and "without TLS" in warning and host in warning


def test_the_session_cap():
    sessions = Sessions(2)
    assert sessions.claim() and sessions.claim()
    assert sessions.full and not sessions.claim()
    sessions.release()
    assert sessions.claim()
    with pytest.raises(ValueError):
        Sessions(0)


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oncall_tui.cli", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_serve_says_what_is_wrong_before_serving(cli_env, tmp_path):
    missing = run("serve", "--db", str(tmp_path / "none.db"), "--wall", env=cli_env)
    assert missing.returncode == 1 and "no such desk database" in missing.stderr
    zero = run("serve", "--max-sessions", "0", env=cli_env)
    assert zero.returncode == 1 and "at least 1" in zero.stderr
    twice = run("serve", "--viewer", "a", "--viewer", "a", env=cli_env)
    assert twice.returncode == 1 and "once" in twice.stderr


def test_a_tokens_file_keeps_links_across_restarts_and_is_private(tmp_path):
    path = tmp_path / "serve-tokens.toml"
    first, note = viewers_for(["ava", "sam"], path)
    assert "kept in" in note and oct(path.stat().st_mode & 0o777) == "0o600"
    again, _ = viewers_for([], path)
    assert again.viewers == first.viewers  # the same links work after a restart
    more, note = viewers_for(["ava", "kim"], path)
    assert [v.name for v in more.viewers] == ["ava", "sam", "kim"] and "1 new" in note
    assert more.who(first.viewers[0].token) == "ava"
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        viewers_for([], path)
    path.write_text('ava = "short"\n')
    path.chmod(0o600)
    with pytest.raises(ValueError, match="at least 16"):
        viewers_for([], path)
