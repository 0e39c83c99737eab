"""The handoff brief: what the incoming on-call engineer must know, in one plain-text message.

None of the big tools write this for you. It lists every open incident with each clock still running
(next update promised, review due, escalation level), the silences the desk holds and when they
expire, acknowledgements older than `STALE_ACK` (someone said "mine" and may have gone to bed), and
action items due within a week. Plain text, so it reads the same in an e-mail, a chat post, the
composer and `oncall-tui handoff`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .clock import format_duration, format_local, from_iso
from .deadlines import State, compute
from .desk import Desk

STALE_ACK = timedelta(hours=4)
ITEMS_AHEAD = timedelta(days=7)


def brief(desk: Desk, now: datetime, *, schedule: str = "", incoming: str = "", tz=None) -> str:  # type: ignore[no-untyped-def]
    """The brief at `now`; times in `tz` (None: the machine's zone)."""
    policy = desk.policy
    incidents = desk.incidents()
    head = "Handoff brief"
    if schedule:
        head += f" for {schedule}"
    if incoming:
        head += f" — incoming: {incoming}"
    lines = [head, f"as of {format_local(now, tz, with_date=True)}", ""]

    if not incidents:
        lines.append("Open incidents: none.")
    else:
        lines.append(f"Open incidents ({len(incidents)}):")
        for inc in incidents:
            dl = compute(inc, policy, now)
            sev = inc.severity.value if inc.severity else "P?"
            lines.append(f"- {inc.id} [{sev}] {inc.status.value}: {inc.title}")
            lines.append(f"    escalation level: {dl.escalation.tier.level}")
            for d in dl.items:
                if not d.running or d.due_at is None or d.key.startswith("escalate:"):
                    continue
                left = d.seconds_left or 0.0
                when = f"in {format_duration(left)}" if left >= 0 else f"{format_duration(left)} OVERDUE"
                lines.append(f"    {d.label}: due {format_local(d.due_at, tz, with_date=True)} ({when})")
            if dl.escalation.next_tier is not None and dl.escalation.next_at is not None:
                lines.append(
                    f"    escalates to {dl.escalation.next_tier.level} at "
                    f"{format_local(dl.escalation.next_at, tz, with_date=True)}"
                )
            review = dl.get("review")
            if review.state is State.PENDING and review.due_at is not None:
                lines.append(f"    review due {format_local(review.due_at, tz, with_date=True)}")
    lines.append("")

    silenced = [i for i in incidents if i.silence_id]
    if silenced:
        lines.append("Active silences:")
        for inc in silenced:
            event = desk.store.last_event(inc.number, ("silence_created",))
            ends = from_iso(event.details.get("ends_at")) if event else None
            until = f"until {format_local(ends, tz, with_date=True)}" if ends else "expiry unknown"
            lines.append(f"- {inc.id}: silence {inc.silence_id[:8]} {until}")
    else:
        lines.append("Active silences: none held by the desk.")
    lines.append("")

    stale = [i for i in incidents if i.acknowledged_at is not None and now - i.acknowledged_at > STALE_ACK]
    if stale:
        lines.append(f"Acknowledged more than {format_duration(STALE_ACK.total_seconds())} ago (check who has them):")
        for inc in stale:
            age = format_duration((now - inc.acknowledged_at).total_seconds())  # type: ignore[operator]
            lines.append(f"- {inc.id} by {inc.acknowledged_by or 'someone'}, {age} ago")
        lines.append("")

    today = now.astimezone(tz).date()
    due = [r for r in desk.store.undone_action_items() if r["due"] and r["due"] <= (today + ITEMS_AHEAD).isoformat()]
    if due:
        lines.append("Action items due within a week:")
        for r in due:
            late = " (OVERDUE)" if r["due"] < today.isoformat() else ""
            owner = f", {r['owner']}" if r["owner"] else ""
            lines.append(f"- INC-{r['incident']}: {r['title']} — due {r['due']}{owner}{late}")
    else:
        lines.append("Action items due within a week: none.")
    return "\n".join(lines).rstrip() + "\n"
