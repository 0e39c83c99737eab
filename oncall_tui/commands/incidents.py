"""declare, list, show, ack and the other one-line triage commands."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING

from ..clock import format_duration, format_local
from ..deadlines import Deadlines, State, Urgency, urgency
from ..event_text import describe
from ..export_json import deadlines_dict, event_dict, incident_dict, incident_json
from ..fired_before import fired_before
from ..model import EDITABLE_FIELDS, EDITABLE_TIMES, Incident, Status, parse_id
from ..suggestion import suggest_for
from ..tenants import format_tenants
from ..when import PAST_FORMS, parse_past
from .runbooks import resolve_symptom

if TYPE_CHECKING:
    from ..desk import Desk  # at run time through the CLI, only when a command runs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("declare", parents=[common], help="declare a new incident and print its id")
    p.add_argument("title", help='what is broken, e.g. "Login failures"')
    p.add_argument("--severity", help="P0 (critical) … P3 (low), or its name (high); leave out if not determined yet")
    p.add_argument("--service", action="append", default=[], dest="services", help="affected service (repeatable)")
    p.add_argument("--impact", default="", help="initial impact assessment")
    p.add_argument(
        "--tenants", default="", help="tenants affected: names (acme,globex), a count (40) or both (40: acme,globex)"
    )
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

    p = sub.add_parser(
        "severity", parents=[common], help="set an incident's severity (without one: what the runbook suggests)"
    )
    p.add_argument("incident", help="INC-N")
    p.add_argument("severity", nargs="?", help="P0, P1, P2 or P3, or a name: critical, high, medium, low")
    p.set_defaults(func=cmd_severity)

    p = sub.add_parser("role", parents=[common], help="give an incident role (commander, comms, scribe…) to someone")
    p.add_argument("incident", help="INC-N")
    p.add_argument("role", help="a role id or name from the policy's [[role]] list, e.g. commander")
    p.add_argument("person", nargs="?", default=None, help='who takes it ("" or --clear to leave it unheld)')
    p.add_argument("--clear", action="store_true", help="nobody holds the role any more")
    p.set_defaults(func=cmd_role)

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
    severity = desk.policy.parse_severity(args.severity) if args.severity else None
    inc = desk.declare(
        args.title,
        severity=severity,
        services=args.services,
        impact=args.impact,
        channel=args.channel,
        assignee=args.assignee,
        tenants=args.tenants,
        symptom=resolve_symptom(args, args.title, args.services),
        started_at=started,
    )
    print(json.dumps(incident_dict(inc), indent=2) if args.json else inc.id)
    return 0


def _by_urgency(desk: Desk, now: datetime, *, closed_too: bool) -> Iterator[tuple[Incident, Deadlines]]:
    """The incidents in the board's order (`deadlines.urgency`), each with its deadlines (computed
    once), streamed: the not-closed ones sorted in memory (a night's worth), then the closed ones in
    the order the record reads them — a closed incident has no running clock, so its place is by
    severity, then number — never all of history at once."""

    def timed(incidents: Iterator[Incident]) -> Iterator[tuple[Urgency, Incident, Deadlines]]:
        for incident in incidents:
            dl = desk.deadlines(incident, now)
            due = nxt.due_at if (nxt := dl.next_due) is not None else None
            yield urgency(incident, nxt, due.timestamp() if due is not None else None), incident, dl

    current = sorted(timed(desk.store.stream_incidents(closed=False)), key=itemgetter(0))
    if closed_too:
        closed = timed(desk.store.stream_incidents(closed=True, by_severity=True))
        return ((incident, dl) for _, incident, dl in itertools.chain(current, closed))
    return ((incident, dl) for _, incident, dl in current)


def cmd_list(args: argparse.Namespace) -> int:
    desk = _desk(args)
    now = desk.now()
    if args.json:
        # As json.dumps(list, indent=2) writes it, one incident at a time (100k closed: bounded memory).
        out = sys.stdout
        first = True
        for inc, dl in _by_urgency(desk, now, closed_too=args.all):
            item = incident_json(inc, dl, "\n  ")
            out.write(("[\n  " if first else ",\n  ") + item)
            first = False
        out.write("[]\n" if first else "\n]\n")
        return 0
    incidents = list(_by_urgency(desk, now, closed_too=args.all))
    if not incidents:
        print("No open incidents." if not args.all else "No incidents.")
        return 0
    rows = []
    for inc, dl in incidents:
        nxt = dl.next_due
        clock = "—"
        if nxt is not None and nxt.seconds_left is not None:
            left = nxt.seconds_left
            clock = f"{nxt.label} " + (
                f"in {format_duration(left)}" if left >= 0 else f"OVERDUE {format_duration(left)}"
            )
        sev = inc.severity.value if inc.severity else "?"
        rows.append((inc.id, sev, inc.status.value, clock, dl.escalation.tier.level, inc.title))
    # Columns as wide as what they hold: a deadline cut to "in 11m51" or "OVERDUE" says nothing.
    header = ("ID", "SEV", "STATUS", "NEXT DEADLINE", "ESCALATION", "TITLE")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        print("  ".join(f"{v:<{w}}" for v, w in zip(row, widths)) + "  " + row[-1])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    desk = _desk(args)
    inc = desk.get(parse_id(args.incident))
    now = desk.now()
    dl = desk.deadlines(inc, now)
    events = desk.timeline(inc.number)
    from ..alerts.describe import alert_facts, fact_lines

    facts = alert_facts(desk.store, inc)
    if args.json:
        extra = {"alert": facts} if facts is not None else {}
        print(
            json.dumps(
                {**incident_dict(inc), **extra, **deadlines_dict(dl), "timeline": [event_dict(e) for e in events]},
                indent=2,
            )
        )
        return 0
    w = sys.stdout.write
    w(f"{inc.id}  {inc.title}\n")
    w(f"  severity   {inc.severity.value if inc.severity else 'not determined'}\n")
    if (hint := suggest_for(desk.policy, inc)) is not None and hint.severity != inc.severity:
        w(f"  suggested  {hint.severity.value}: {hint.line()}\n")
    w(f"  status     {inc.status.value}\n")
    w(f"  services   {', '.join(inc.services) or '—'}\n")
    w(f"  tenants    {format_tenants(inc.tenants, inc.tenant_count) or 'not recorded'}\n")
    for role in desk.policy.roles:
        w(f"  {role.name:<10} {inc.roles.get(role.id) or '—'}\n")
    w(f"  started    {format_local(inc.started_at, with_date=True)}\n")
    for name in ("assignee", "channel", "impact", "symptom", "eta", "root_cause", "resolution", "prevention"):
        value = getattr(inc, name)
        if value:
            w(f"  {name.replace('_', ' '):<10} {value}\n")
    w(f"  escalation {dl.escalation.tier.level} — call {dl.escalation.tier.contact}\n")
    for label, line in fact_lines(facts) if facts is not None else ():
        w(f"  {label:<10} {line}\n")
    w("\ndeadlines\n")
    for d in dl.items:
        if d.state is State.NOT_APPLICABLE:
            continue
        left = d.seconds_left or 0
        when = f"{format_duration(left)} left" if left >= 0 else f"{format_duration(left)} overdue"
        if d.done_at is not None:
            when = f"done {format_local(d.done_at)}" + (f", {format_duration(left)} late" if left < 0 else "")
        w(f"  {d.label:<32} {d.state.value:<9} due {format_local(d.due_at)}  {when}\n")
    if (past := fired_before(desk.store, inc)) is not None and past.count:
        w(
            f"\nfired before: {past.count} earlier incident{'s' if past.count != 1 else ''} from {past.alertname or 'this alert'}\n"
        )
        for p in past.fixes():
            fix = p.incident
            w(
                f"  {fix.id} {format_local(fix.started_at, with_date=True)}: {fix.root_cause or '?'} — {fix.resolution or '?'}\n"
            )
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
    if args.severity is None:
        hint = suggest_for(desk.policy, seen)
        current = seen.severity.value if seen.severity else "not determined"
        if hint is None:
            print(f"{seen.id} is {current}; no criterion of the runbook matches its title, impact or tenants")
        else:
            print(f"{seen.id} is {current}; the runbook suggests {hint.severity.value}: {hint.line()}")
            print(f"confirm with: oncall-tui severity {seen.id} {hint.severity.value}")
        return 0
    severity = desk.policy.parse_severity(args.severity)
    inc = desk.set_severity(seen.number, severity, expected=seen.severity)
    print(f"{inc.id} is {severity.value}")
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    desk = _desk(args)
    if args.person is None and not args.clear:
        raise ValueError(f"whom does the {args.role} role go to? (or --clear to leave it unheld)")
    seen = desk.get(parse_id(args.incident))
    role = desk.policy.role(args.role)
    inc = desk.set_role(seen.number, role.id, "" if args.clear else args.person, expected=seen.roles.get(role.id, ""))
    who = inc.roles.get(role.id)
    print(f"{inc.id} {role.name.lower()}: {who}" if who else f"{inc.id} has no {role.name.lower()} now")
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
