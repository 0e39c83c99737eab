"""Which backend a `--db` names: a PostgreSQL URL, or else a SQLite file's path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StoreError

if TYPE_CHECKING:
    from .interface import Record

URL_SCHEMES = ("postgresql://", "postgres://")


def is_server_target(target: object) -> bool:
    """A `postgresql://…` URL (team mode), not a path to a desk file."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def open_record(target: Path | str, *, readonly: bool = False, create: bool = True) -> Record:
    """Open the record `target` names (a path, or a `postgresql://` URL) as the right backend."""
    if is_server_target(target):
        import importlib

        try:
            importlib.import_module("psycopg")
        except ImportError:
            raise StoreError("team mode needs the PostgreSQL driver: pip install 'oncall-tui[postgres]'") from None
        postgres = importlib.import_module(".postgres", __package__)  # the backend's module, by name: it is optional
        record: Record = postgres.PostgresStore.open(str(target), readonly=readonly, create=create)
        return record
    from .sqlite import Store

    return Store.open(target, readonly=readonly, create=create)
