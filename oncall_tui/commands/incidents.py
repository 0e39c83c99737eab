"""declare, list, show, ack and the other one-line triage commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from ..clock import format_duration, format_local
from ..deadlines import State
from ..event_text import describe
from ..export_json import deadlines_dict, event_dict, incident_dict
from ..model import EDITABLE_FIELDS, EDITABLE_TIMES, Incident, Severity, Status, parse_id
from ..when import PAST_FORMS, parse_past
from .runbooks import resolve_symptom

if TYPE_CHECKING:
    from ..desk import Desk  # at run time through the CLI, only when a command runs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("declare", parents=[common], help="declare a new incident and print its id")
    p.add_argument("title", help='what is broken, e.g. "Login failures"')
    p.add_argument("--severity", help="P0 (critical) … P3 (low); leave out if not determined yet")
    p.add_argument("--service", action="append", default=[], dest="services", help="affected service (repeatable)")
    p.add_argument("--impact", default="", help="initial impact assessment")
    p.add_argument("--channel", default="", help="communication channel, e.g. #inc-login")
    p.add_argument("--assignee", default="", help="who is on it")
    p.add_argument("--symptom", default="", help="which runbook applies (e.g. identity-service-outage)")
    p.add_argument("--started-at", help=f"when it began (default: now): {PAST_FORMS}")
    p.add_argument("--json", action="store_true", help="print the incident as JSON instead of its id")
    p.set_defaults(func=cmd_declare)

    p = sub.add_parser("list", parents=[common], help="list open incidents, most urgent first")
    p.add_argument("--all", action="store_true", help="include closed incidents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", parents=[common], help="an incident's fields, deadlines and timeline")
    p.add_argument("incident", help="INC-N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("ack", parents=[common], help="acknowledge an incident")
    p.add_argument("incident", help="INC-N")
    p.set_defaults(func=cmd_ack)

    p = sub.add_parser("severity", parents=[common], help="set an incident's severity")
    p.add_argument("incident", help="INC-N")
    p.add_argument("severity", help="P0, P1, P2 or P3")
    p.set_defaults(func=cmd_severity)

    p = sub.add_parser("status", parents=[common], help="move an incident to a status")
    p.add_argument("incident", help="INC-N")
    p.add_argument("status", help=", ".join(s.value for s in Status))
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("edit", parents=[common], help="change a field of an incident")
    p.add_argument("incident", help="INC-N")
    p.add_argument("field", choices=(*EDITABLE_FIELDS, *EDITABLE_TIMES))
    p.add_argument("value", help=f"new value (services: comma-separated; started_at: {PAST_FORMS})")
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser("note", parents=[common], help="add a note to an incident's timeline")
    p.add_argument("incident", help="INC-N")
    p.add_argument("text")
    p.set_defaults(func=cmd_note)


def _desk(args: argparse.Namespace) -> Desk:
    from ..cli import open_desk

    return open_desk(args)


def cmd_declare(args: argparse.Namespace) -> int:
    desk = _desk(args)
    started = parse_past(args.started_at, desk.now()) if args.started_at else None
    severity = Severity.parse(args.severity) if args.severity else None
    inc = desk.declare(
        args.title,
        severity=severity,
        services=args.services,
        impact=args.impact,
        channel=args.channel,
        assignee=args.assignee,
        symptom=resolve_symptom(args, args.title, args.services),
        started_at=started,
    )
    print(json.dumps(incident_dict(inc), indent=2) if args.json else inc.id)
    return 0


def urgency_key(desk: Desk, incident: Incident, now: datetime) -> tuple[int, float, int, int]:
    """Breached clocks first, then the nearest deadline, then severity: the board's order too."""
    dl = desk.deadlines(incident, now)
    nxt = dl.next_due
    breached = nxt is not None and nxt.state is State.BREACHED
    due = nxt.due_at.timestamp() if nxt is not None and nxt.due_at else float("inf")
    sev = int(incident.severity.value[1]) if incident.severity else -1  # undetermined sorts as worst
    return (0 if breached else 1, due, sev, incident.number)


def cmd_list(args: argparse.Namespace) -> int:
    desk = _desk(args)
    now = desk.now()
    incidents = sorted(desk.incidents(include_closed=args.all), key=lambda i: urgency_key(desk, i, now))
    if args.json:
        out = []
        for inc in incidents:
            out.append({**incident_dict(inc), **deadlines_dict(desk.deadlines(inc, now))})
        print(json.dumps(out, indent=2))
        return 0
    if not incidents:
        print("No open incidents." if not args.all else "No incidents.")
        return 0
    print(f"{'ID':<8} {'SEV':<4} {'STATUS':<13} {'NEXT DEADLINE':<28} {'ESCALATION':<20} TITLE")
    for inc in incidents:
        dl = desk.deadlines(inc, now)
        nxt = dl.next_due
        clock = "—"
        if nxt is not None and nxt.seconds_left is not None:
            left = nxt.seconds_left
            clock = f"{nxt.label} " + (
                f"in {format_duration(left)}" if left >= 0 else f"OVERDUE {format_duration(left)}"
            )
        print(
            f"{inc.id:<8} {(inc.severity.value if inc.severity else '?'):<4} {inc.status.value:<13} "
            f"{clock[:28]:<28} {dl.escalation.tier.level[:20]:<20} {inc.title}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    desk = _desk(args)
    inc = desk.get(parse_id(args.incident))
    now = desk.now()
    dl = desk.deadlines(inc, now)
    events = desk.timeline(inc.number)
    if args.json:
        print(
            json.dumps(
                {**incident_dict(inc), **deadlines_dict(dl), "timeline": [event_dict(e) for e in events]}, indent=2
            )
        )
        return 0
    w = sys.stdout.write
    w(f"{inc.id}  {inc.title}\n")
    w(f"  severity   {inc.severity.value if inc.severity else 'not determined'}\n")
    w(f"  status     {inc.status.value}\n")
    w(f"  services   {', '.join(inc.services) or '—'}\n")
    w(f"  started    {format_local(inc.started_at, with_date=True)}\n")
    for name in ("assignee", "channel", "impact", "symptom", "eta", "root_cause", "resolution", "prevention"):
        value = getattr(inc, name)
        if value:
            w(f"  {name.replace('_', ' '):<10} {value}\n")
    w(f"  escalation {dl.escalation.tier.level} — call {dl.escalation.tier.contact}\n")
    w("\ndeadlines\n")
    for d in dl.items:
        if d.state is State.NOT_APPLICABLE:
            continue
        left = d.seconds_left or 0
        when = f"{format_duration(left)} left" if left >= 0 else f"{format_duration(left)} overdue"
        if d.done_at is not None:
            when = f"done {format_local(d.done_at)}" + (f", {format_duration(left)} late" if left < 0 else "")
        w(f"  {d.label:<32} {d.state.value:<9} due {format_local(d.due_at)}  {when}\n")
    w("\ntimeline\n")
    for e in events:
        w(f"  {format_local(e.at)}  {e.actor:<12} {describe(e)[0]}\n")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    inc = _desk(args).acknowledge(parse_id(args.incident))
    print(f"{inc.id} acknowledged by {inc.acknowledged_by}")
    return 0


# Like the board, a command carries what it read into the write: if another desk changed the same
# thing in between (two `severity` commands at once), the later one is told, instead of silently
# winning.


def cmd_severity(args: argparse.Namespace) -> int:
    desk = _desk(args)
    seen = desk.get(parse_id(args.incident))
    severity = Severity.parse(args.severity)
    inc = desk.set_severity(seen.number, severity, expected=seen.severity)
    print(f"{inc.id} is {severity.value}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    desk = _desk(args)
    seen = desk.get(parse_id(args.incident))
    inc = desk.move(seen.number, Status.parse(args.status), expected=seen.status)
    print(f"{inc.id} is {inc.status.value}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    desk = _desk(args)
    seen = desk.get(parse_id(args.incident))
    field = args.field
    inc = desk.edit(seen.number, field, args.value, expected=getattr(seen, field))
    if field == "started_at":
        print(f"{inc.id} started at {format_local(inc.started_at, with_date=True)}; its clocks count from then")
    else:
        print(f"{inc.id} {field} updated")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    inc = _desk(args).note(parse_id(args.incident), args.text)
    print(f"note added to {inc.id}")
    return 0
