"""The desk's one family of errors: what could not be done, in words for the engineer who reads it.

Everything the core refuses on purpose raises a `DeskError`: a refused action, a conflict with
another desk, a database that cannot be used, a policy, template or runbook file that is wrong,
text typed into a form that cannot be read. Its message is complete (nothing else is needed to act
on it) and safe to show as is; `title` heads the notification the board shows for it, and
`severity` says whether the engineer can fix it by doing something else ("warning") or the desk
itself has a problem ("error").

The UI turns these into notifications in one place (`OncallApp.report`); the CLI prints the message
on one line. Anything else that escapes is a bug and is reported as one.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["warning", "error"]


class DeskError(Exception):
    """An error whose message is for the user, as is."""

    title: str = "Not done"
    severity: Severity = "warning"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class InputError(DeskError, ValueError):
    """Text the user typed (a time, a filter, a field) that cannot be used; the message says what
    would be. A ValueError too, so a caller that parses text keeps catching what it always caught."""
