"""Every bad value in policy.toml, config.toml or the environment is one line naming the file (or
variable), the key, the value and what is allowed, before the board takes the terminal; values the
desk used to accept silently but wrongly are refused the same way."""

from __future__ import annotations

import re

import pytest

from oncall_tui.desk import Desk

POLICY_CASES = [
    (
        "[deadlines]\nacknowledge_minutes = inf\n",
        r"\[deadlines\] acknowledge_minutes = inf: must be a number from 0 to 10,080 \(minutes, up to a week\)",
    ),
    (
        "[deadlines]\nacknowledge_minutes = 1e13\n",
        r"\[deadlines\] acknowledge_minutes = 1e\+13: must be a number from 0 to 10,080 .+",
    ),
    ("deadlines = 5\n", r"deadlines = 5: must be a table \(a \[section\] of keys\)"),
    ("[alerts]\npoll_seconds = 0\n", r"\[alerts\] poll_seconds = 0: must be a number from 1 to 3,600 \(seconds\)"),
    ("[alerts]\npoll_seconds = -3\n", r"\[alerts\] poll_seconds = -3: must be a number from 1 to 3,600 \(seconds\)"),
    (
        "[review]\ndue_hours = -4\n",
        r"\[review\] due_hours = -4: must be a number from 0 to 8,784 \(hours, up to a year\)",
    ),
    ("[review]\ndue_hours = 12\n", r"\[review\] due_hours = 12: must not be before window_opens_hours"),
    (
        "[deadlines]\nwarn_fraction = 7\n",
        r"\[deadlines\] warn_fraction = 7: must be a number from 0 to 0.9 \(the share of a deadline left\)",
    ),
    (
        "[alerts]\ntimeout_seconds = -1\n",
        r"\[alerts\] timeout_seconds = -1: must be a number above 0 and up to 300 \(seconds\)",
    ),
    ('[alerts]\nsilence_on_ack = "yes"\n', r"\[alerts\] silence_on_ack = 'yes': must be true or false"),
    ("[updates]\nP7 = 30\n", r"\[updates\] P7 = 'P7': must be one of P0, P1, P2 or P3"),
    (
        '[alerts.severity_map]\npage = "urgent"\n',
        r"\[alerts.severity_map\] page = 'urgent': must be one of P0, P1, P2 or P3",
    ),
    ('[[escalation]]\nafter_minutes = 0\nlevel = ""\n', r"\[escalation #1\] level = '': must name the level, .+"),
]


@pytest.fixture
def desk_file(db_path, policy, clock):
    Desk.open(db_path, policy=policy, clock=clock).close()
    return db_path


def _one_line(run) -> str:
    assert "Traceback" not in run.err + run.out, run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    return lines[0].removeprefix("oncall-tui: ")


@pytest.mark.parametrize("where", ["user", "--policy"])
@pytest.mark.parametrize("text, message", POLICY_CASES, ids=[c[0].strip().replace("\n", " ") for c in POLICY_CASES])
@pytest.mark.parametrize("command", [["list"], []], ids=["list", "board"])
def test_a_bad_policy_value_is_named_in_its_file(text, message, where, command, desk_file, tmp_path, run_cli):
    config = tmp_path / "config"
    config.mkdir()
    policy = config / "policy.toml"
    policy.write_text(text)
    args = ["--db", str(desk_file), *command]
    if where == "--policy":
        args += ["--policy", str(policy)]
    run = run_cli(*args, env={"ONCALL_TUI_CONFIG": str(config)})
    assert run.status == 1
    assert re.fullmatch(re.escape(str(policy)) + ": " + message, _one_line(run)), run.err


CONFIG_CASES = [
    (
        'alertmanager = "http://127.0.0.1:9093"\n',
        r"alertmanager = 'http://127.0.0.1:9093': must be a table \(a \[section\] of keys\)",
    ),
    ("[alertmanager]\nurl = 5\n", r"\[alertmanager\] url = 5: must be a string \(in quotes, e.g. \"…\"\)"),
    (
        '[alertmanager]\nurl = "127.0.0.1:9093"\n',
        r"\[alertmanager\] url = '127.0.0.1:9093': must be an http:// or https:// URL",
    ),
    (
        "[chat]\ntimeout_seconds = 1e9\n",
        r"\[chat\] timeout_seconds = 1e\+09: must be a number above 0 and up to 120 \(seconds\)",
    ),
    (
        "[chat]\ntimeout_seconds = -1\n",
        r"\[chat\] timeout_seconds = -1: must be a number above 0 and up to 120 \(seconds\)",
    ),
]


@pytest.mark.parametrize("text, message", CONFIG_CASES, ids=[c[0].strip() for c in CONFIG_CASES])
@pytest.mark.parametrize("command", [["compose", "INC-1"], []], ids=["compose", "board"])
def test_a_bad_config_value_is_named_in_its_file(text, message, command, desk_file, tmp_path, run_cli, policy, clock):
    Desk.open(desk_file, policy=policy, clock=clock).declare("Login failures", severity="P1", impact="no logins")
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(text)
    run = run_cli("--db", str(desk_file), *command, env={"ONCALL_TUI_CONFIG": str(config)})
    assert run.status == 1
    assert re.fullmatch(re.escape(str(config / "config.toml")) + ": " + message, _one_line(run)), run.err


@pytest.mark.parametrize("name", ["config.toml", "policy.toml"])
def test_a_settings_file_that_is_not_utf8_is_named(name, desk_file, tmp_path, run_cli):
    config = tmp_path / "config"
    config.mkdir()
    (config / name).write_bytes(b"# r\xe9glages\n[chat]\n")
    run = run_cli("--db", str(desk_file), env={"ONCALL_TUI_CONFIG": str(config)})  # the board reads both
    assert run.status == 1
    assert _one_line(run) == f"{config / name}: is not UTF-8 text (byte 0xe9 on line 1); save it as UTF-8"


@pytest.mark.parametrize("value", ["²", "five", "-3", "9999999999"])
def test_a_bad_busy_timeout_variable_is_named(value, desk_file, run_cli):
    run = run_cli("--db", str(desk_file), "list", env={"ONCALL_TUI_BUSY_TIMEOUT_MS": value})
    assert run.status == 1
    assert _one_line(run) == (
        f"$ONCALL_TUI_BUSY_TIMEOUT_MS = {value!r}: must be a whole number from 0 to 600,000 (milliseconds), or unset"
    )


def test_an_ascii_only_output_escapes_what_it_cannot_print(desk_file, run_cli):
    assert run_cli("--db", str(desk_file), "declare", "Connexion échouée — 東京").status == 0
    listed = run_cli("--db", str(desk_file), "list", env={"PYTHONIOENCODING": "ascii"})
    assert listed.status == 0, listed.err
    assert "Connexion \\xe9chou\\xe9e \\u2014 \\u6771\\u4eac" in listed.out
    refused = run_cli("--db", str(desk_file), "note", "INC-1", "", env={"PYTHONIOENCODING": "ascii"})
    assert refused.status == 1 and "Traceback" not in refused.err
