"""What the desk says when deadlines run out: one line per burst, however many breach at once.

A storm breaches hundreds of clocks in a minute; a toast each would bury the board (and the bell
would ring without pause). Breaches are gathered into bursts: the bell rings for the first breach
after a quiet minute, and one announcement says what the last minute held — one incident by name,
a few by number, many as a count with the key that lists them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from .breaches import Breach
from .model import format_id
from .policy import Policy

WINDOW_SECONDS = 60.0  # "in the last minute"; and a minute without a breach ends a burst
NAMED_AT_MOST = 3  # up to this many breaches are each said, or incidents named, in the announcement


@dataclass(frozen=True, slots=True)
class Announcement:
    """What the breach-news toast says about the last minute, and how many breaches that covers."""

    text: str
    count: int  # breaches in the window


class BreachNews:
    """Breaches as they are noticed (`add`), and what to say about the last minute (`announcement`).

    Times are a steady clock's seconds (`time.monotonic()`), so a wall clock being set neither
    ends a burst nor starts one.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._recent: deque[tuple[float, Breach]] = deque()
        self._per_incident: dict[int, int] = {}  # breaches in the window, per incident
        self._last_at: float | None = None

    def add(self, breaches: Iterable[Breach], at: float) -> bool:
        """Note breaches noticed at `at`; True when they start a burst (ring the bell)."""
        fresh = list(breaches)
        if not fresh:
            return False
        starts = self._last_at is None or at - self._last_at >= WINDOW_SECONDS
        self._last_at = at
        for b in fresh:
            self._recent.append((at, b))
            self._per_incident[b.number] = self._per_incident.get(b.number, 0) + 1
        self._forget(at)
        return starts

    def _forget(self, at: float) -> None:
        while self._recent and at - self._recent[0][0] >= WINDOW_SECONDS:
            _, old = self._recent.popleft()
            left = self._per_incident[old.number] - 1
            if left:
                self._per_incident[old.number] = left
            else:
                del self._per_incident[old.number]

    def announcement(self, at: float) -> Announcement | None:
        """One line for the breaches of the last minute, or None when there were none."""
        self._forget(at)
        count = len(self._recent)  # kept up as breaches come and go: a storm's thousands cost nothing here
        if not count:
            return None
        if count <= NAMED_AT_MOST:  # each one said, escalations with whom to call
            return Announcement("\n".join(self._one(b) for _, b in self._recent), count)
        if len(self._per_incident) <= NAMED_AT_MOST:
            names = ", ".join(format_id(n) for n in dict.fromkeys(b.number for _, b in self._recent))
            return Announcement(f"{count} deadlines missed: {names}", count)
        return Announcement(
            f"{count} deadlines breached in the last minute, on {len(self._per_incident)} incidents — "
            "press B to list them",
            count,
        )

    def _one(self, b: Breach) -> str:
        if b.key.startswith("escalate:"):
            tier = next((t for t in self.policy.escalation if t.key == b.key), None)
            level = tier.level if tier else b.label.removeprefix("Escalate to ")
            who = f" — call {tier.contact} now" if tier and tier.contact else ""
            return f"{b.incident_id}: escalated to {level}{who}"
        return f"{b.incident_id}: {b.label} deadline missed"
