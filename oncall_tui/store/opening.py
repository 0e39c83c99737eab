"""Which backend a `--db` names: a PostgreSQL URL, or else a SQLite file's path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StoreError

if TYPE_CHECKING:
    from .interface import Record

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def open_record(target: Path | str, *, readonly: bool = False, create: bool = True) -> Record:
    """Open the record `target` names (a path, or a `postgresql://` URL) as the right backend."""
    if is_url(target):
        import importlib

        try:
            postgres = importlib.import_module(".postgres", __package__)
        except ImportError as exc:
            raise StoreError(
                f"cannot open a PostgreSQL record: {exc}; install the extra: pip install 'oncall-tui[postgres]'"
            ) from None
        record: Record = postgres.open_record(str(target), readonly=readonly, create=create)
        return record
    from .sqlite import Store

    return Store.open(target, readonly=readonly, create=create)
