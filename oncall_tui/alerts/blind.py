"""Is monitoring blind? What the board must say first, in red, when alerts cannot reach the desk.

Two ways to be blind while the desk looks calm: Alertmanager cannot be reached (no alert can
arrive), or it answers but its always-firing Watchdog alert is gone (Prometheus, or the rules that
feed Alertmanager, stopped — so no alert will fire either). Pure: the poller's health and the last
poll's answer in, one line out.
"""

from __future__ import annotations

from datetime import datetime

from ..clock import format_duration
from .poller import Health, State


def blind_reason(health: Health, watchdog_seen: bool | None, watchdog: str, now: datetime) -> str:
    """The banner's line, or "" when alerts can reach the desk.

    `watchdog_seen` is whether the last good poll held the `watchdog` alert (None: not looked for).
    """
    if health.state is State.DOWN:
        since = ""
        if health.last_ok_at is not None:
            since = f" for {format_duration(max(0.0, (now - health.last_ok_at).total_seconds()))}"
        return (
            f"MONITORING IS BLIND: Alertmanager cannot be reached{since} ({health.error}); "
            "no alert can reach this desk — check it another way."
        )
    if health.state is State.OK and watchdog and watchdog_seen is False:
        return (
            f"MONITORING IS BLIND: the always-firing {watchdog} alert is gone from Alertmanager; "
            "Prometheus or its rules may be down, so nothing will page. (No Watchdog? set "
            '[alerts] watchdog = "" in policy.toml.)'
        )
    return ""
