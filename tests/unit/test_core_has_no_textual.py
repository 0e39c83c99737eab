"""Nothing outside `oncall_tui.ui` imports Textual: the CLI, scripts and the alert intake must start
fast and work where Textual cannot (a cron job, a bot). Each module is imported alone in a fresh
interpreter, so one module cannot hide another's import; modules are discovered from the package's
files, so a new module is covered the day it is added."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import oncall_tui

UI_PACKAGE = "oncall_tui.ui"


def core_modules() -> list[str]:
    """Every module under oncall_tui except the ui package, found on disk without importing any."""
    found = ["oncall_tui"]

    def walk(path: Path, prefix: str) -> None:
        for info in pkgutil.iter_modules([str(path)]):
            name = f"{prefix}.{info.name}"
            if name == UI_PACKAGE or name.startswith(UI_PACKAGE + "."):
                continue
            found.append(name)
            if info.ispkg:
                walk(path / info.name, name)

    walk(Path(oncall_tui.__file__).parent, "oncall_tui")
    return sorted(found)


MODULES = core_modules()

PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
leaked = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(" ".join(leaked))
"""


def test_discovery_finds_the_core():
    assert {
        "oncall_tui.model",
        "oncall_tui.deadlines",
        "oncall_tui.desk",
        "oncall_tui.cli",
        "oncall_tui.commands.incidents",
    } <= set(MODULES)
    assert not any(m.startswith(UI_PACKAGE) for m in MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_does_not_import_textual(module):
    result = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imports Textual: {result.stdout.strip()}"


def test_the_cli_parser_does_not_import_textual():
    # Building the parser imports every command module; `--help` must not pay for Textual either.
    code = PROBE.replace(
        "importlib.import_module(sys.argv[1])", "from oncall_tui.cli import build_parser; build_parser()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
