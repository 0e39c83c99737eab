"""What the record refuses, in words for the user: the one family every backend raises."""

from __future__ import annotations

from ..errors import DeskError


class StoreError(DeskError):
    """The database cannot be used as asked; the message is for the user, as is."""

    title = "Database"
    severity = "error"


class ReadOnlyError(StoreError):
    pass


class Locked(StoreError):
    """Another process held the write lock for longer than this desk would wait; nothing was written."""


class FileReplaced(StoreError):
    """The path no longer names the file this desk opened: it, its -wal or its -shm was deleted or
    replaced meanwhile. Writing on would go into an unlinked file and be lost, so nothing is."""


class Damaged(StoreError):
    """The stored data itself cannot be read (a damaged page, a file that is not a database):
    for `verify` a finding to report, with what the engine's own check said."""

    def __init__(self, message: str, *, findings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings or (message,)


class StoreUnreachable(StoreError):
    """The database server cannot be reached (refused, silent, or gone mid-action): nothing was
    written by the action that met it, and the desk retries by itself."""

    def __init__(self, message: str, *, since: float | None = None) -> None:
        super().__init__(message)
        self.since = since  # time.time() when this desk lost the server, for "unreachable since 03:12"


class NoWriteRights(ReadOnlyError):
    """The database role the desk logs in as may read the record but not write it."""
