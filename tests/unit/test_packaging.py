"""A plain `pip install .` (not only `-e`) carries the desk's content: the wheel holds the policy,
the runbooks and the templates under `oncall_tui/data`, and the installed package finds them there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("oncall_tui-*.whl")
    return built


def shipped(sub: str, pattern: str) -> set[str]:
    return {
        f"oncall_tui/data/{sub}/{p.relative_to(DATA / sub).as_posix()}"
        for p in (DATA / sub).glob(pattern)
        if p.is_file()
    }


def test_the_wheel_carries_the_desks_content(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "oncall_tui/data/policy.toml" in names

    runbooks = shipped("runbooks", "*.md")
    assert runbooks, "data/runbooks holds no runbooks"
    assert runbooks <= names

    templates = shipped("templates", "**/*")
    assert templates, "data/templates holds no templates"
    assert templates <= names

    assert "oncall_tui/cli.py" in names
    assert not any("__pycache__" in n or n.endswith(".db") for n in names)


def test_the_wheel_declares_the_command(wheel):
    with zipfile.ZipFile(wheel) as z:
        (entry_points,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = z.read(entry_points).decode()
    assert "oncall-tui = oncall_tui.cli:main" in text


def test_the_installed_package_finds_its_content(wheel, tmp_path):
    target = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = (
        "import oncall_tui, oncall_tui.paths as p, oncall_tui.policy as pol;"
        "print(oncall_tui.__file__); print(p.data_dir());"
        "print(pol.load_policy(use_user_config=False).escalation[1].level)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    # Run outside the repo so its checkout (and the editable install) cannot stand in for the wheel.
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    module, data_dir, level = result.stdout.splitlines()
    assert Path(module).is_relative_to(target)
    assert Path(data_dir) == target / "oncall_tui" / "data"
    assert level == "Secondary On-Call"
    assert sorted(p.name for p in (Path(data_dir) / "runbooks").glob("*.md")) == sorted(
        p.name for p in (DATA / "runbooks").glob("*.md")
    )
