"""One validating reader for the desk's TOML files (policy.toml, config.toml) and its environment.

Every value is checked where it is read, against the type and range the desk can live with, and a
bad one stops the desk before it takes the terminal with one line that names the file, the key, the
value found and what is allowed:

    ~/.config/oncall-tui/policy.toml: [alerts] poll_seconds = 0: must be a number from 1 to 3,600 (seconds)

A small schema of our own rather than a validation library: the board reads the policy before its
first frame, and importing pydantic or jsonschema would cost more than reading the files does.
Keys the desk does not know are left alone (other features read their own sections).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import DeskError

T = TypeVar("T")


class ConfigError(DeskError, ValueError):
    """A settings file or variable the desk cannot use; the message names where, what and what is allowed."""

    title = "Settings"
    severity = "error"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a table; a file that cannot be read or parsed is one ConfigError naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line N, column M)".
        raise ConfigError(f"{path}: {exc}") from None


_MISSING: Any = object()


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "…")
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else repr(value)


class Table:
    """One TOML table being read: knows its file(s) and its place, so every error says both.

    `where` tells which file a key came from when the table is a merge (the shipped policy under the
    user's): a bad value is reported in the file that holds it.
    """

    def __init__(self, raw: Any, name: str, where: Callable[[tuple[str, ...]], Path], path: tuple[str, ...] = ()):
        self.where = where
        self.path = path
        self.name = name
        if not isinstance(raw, dict):
            raise self._error(None, raw, "must be a table (a [section] of keys)")
        self.raw: dict[str, Any] = raw

    # --- errors ---

    def _label(self, key: str | None) -> str:
        parts = [*self.path, *([key] if key is not None else [])]
        if not parts:
            return ""
        head, last = parts[:-1], parts[-1]
        return f"[{'.'.join(head)}] {last}" if head else last

    def _error(self, key: str | None, value: Any, allowed: str) -> ConfigError:
        keys = (*self.path, *([key] if key is not None else []))
        label = self._label(key)
        if value is _MISSING:
            return ConfigError(f"{self.where(keys)}: {label} is missing: {allowed}")
        shown = f"{label} = {_shown(value)}" if label else _shown(value)
        return ConfigError(f"{self.where(keys)}: {shown}: {allowed}")

    # --- reading ---

    def has(self, key: str) -> bool:
        return key in self.raw

    def table(self, key: str, *, required: bool = False) -> Table:
        value = self.raw.get(key, {} if not required else None)
        return Table(value, self.name, self.where, (*self.path, key))

    def tables(self, key: str) -> list[Table]:
        """An array of tables, `[[key]]`."""
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise self._error(key, value, f"must be a list of tables ([[{key}]] sections)")
        return [Table(v, self.name, self.where, (*self.path, f"{key} #{i + 1}")) for i, v in enumerate(value)]

    def number(
        self,
        key: str,
        default: float | None,
        *,
        low: float,
        high: float,
        unit: str,
        above: bool = False,
        whole: bool = False,
    ) -> float:
        """A finite number within [low, high] (or (low, high] with `above`); `default` None: required."""
        kind = "whole number" if whole else "number"
        span = f"above {low:,g} and up to {high:,g}" if above else f"from {low:,g} to {high:,g}"
        allowed = f"must be a {kind} {span} ({unit})"
        if default is None and key not in self.raw:
            raise self._error(key, _MISSING, f"it must be {allowed.removeprefix('must be ')}")
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._error(key, value, allowed)
        if not math.isfinite(value) or value > high or value < low or (above and value <= low):
            raise self._error(key, value, allowed)
        if whole and value != int(value):
            raise self._error(key, value, allowed)
        return value

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        if required and key not in self.raw:
            raise self._error(key, _MISSING, "it must be a string")
        value = self.raw.get(key, default)
        if not isinstance(value, str):
            raise self._error(key, value, 'must be a string (in quotes, e.g. "…")')
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self._error(key, value, "must be true or false")
        return value

    def texts(self, key: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        value = self.raw.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._error(key, value, 'must be a list of strings, e.g. ["a", "b"]')
        return tuple(value)

    def choices(self, key: str, default: Sequence[str], parse: Callable[[str], T], allowed: str) -> tuple[T, ...]:
        out = []
        for item in self.texts(key, default):
            try:
                out.append(parse(item))
            except ValueError:
                raise self._error(key, item, f"each must be one of {allowed}") from None
        return tuple(out)

    def choice(self, key: str, value: Any, parse: Callable[[str], T], allowed: str) -> T:
        if not isinstance(value, str):
            raise self._error(key, value, f"must be one of {allowed}")
        try:
            return parse(value)
        except ValueError:
            raise self._error(key, value, f"must be one of {allowed}") from None

    def url(self, key: str) -> str | None:
        value = self.text(key).strip()
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise self._error(key, value, "must be an http:// or https:// URL")
        return value

    def items(self) -> list[tuple[str, Any]]:
        return list(self.raw.items())

    def fail(self, key: str | None, value: Any, allowed: str) -> ConfigError:
        return self._error(key, value, allowed)


def single_file(path: Path) -> Callable[[tuple[str, ...]], Path]:
    return lambda keys: path


def layered(
    base: tuple[Path, Mapping[str, Any]], *over: tuple[Path, Mapping[str, Any]]
) -> Callable[[tuple[str, ...]], Path]:
    """For a merge of files: the last one that sets the key (or the table holding it) is named."""

    def where(keys: tuple[str, ...]) -> Path:
        for source, raw in over[::-1]:
            if _holds(raw, keys):
                return source
        return base[0]

    return where


def _holds(raw: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    node: Any = raw
    for key in keys:
        name = key.split(" #", 1)[0]
        if not isinstance(node, Mapping) or name not in node:
            return False
        node = node[name]
        if " #" in key:  # an array-of-tables element: the user's file replaces the whole array
            return True
    return True


# --- the environment ----------------------------------------------------------------------------------


def env_whole_number(name: str, default: int, *, low: int, high: int, unit: str) -> int:
    """An integer from the environment, or the default when unset; anything else is a ConfigError."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    # isdigit() alone takes '²' and '٣' too, which int() then refuses or reads as another number.
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    raise ConfigError(f"${name} = {raw!r}: must be a whole number from {low:,} to {high:,} ({unit}), or unset")
