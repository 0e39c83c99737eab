"""Who is on call, the schedules as a calendar, overrides, paging by hand, the handoff brief and
the headless agent: `oncall`, `schedule`, `override`, `escalate`, `handoff`, `agent`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from ..clock import format_local, iso, parse_instant
from ..model import parse_id

if TYPE_CHECKING:
    from .. import overrides
    from ..desk import Desk
    from ..roster import RosterSource
    from ..schedules import Override, Roster


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("oncall", parents=[common], help="who holds each escalation level now, and who is next")
    p.add_argument("--days", type=int, default=14, help="how far ahead to list shifts (default 14)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_oncall)

    p = sub.add_parser("schedule", parents=[common], help="the on-call schedules: shifts ahead, or a calendar feed")
    ssub = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    q = ssub.add_parser("ics", parents=[common], help="export the shifts as an iCalendar feed (.ics)")
    q.add_argument("--schedule", action="append", default=[], help="only this schedule (repeatable)")
    q.add_argument("--days", type=int, default=60, help="how far ahead (default 60)")
    q.add_argument("-o", "--output", help="write to this file instead of stdout")
    q.set_defaults(func=cmd_schedule_ics)
    q = ssub.add_parser("show", parents=[common], help="shifts ahead, per schedule")
    q.add_argument("--schedule", action="append", default=[])
    q.add_argument("--days", type=int, default=14)
    q.set_defaults(func=cmd_schedule_show)

    p = sub.add_parser(
        "override", parents=[common], help="take the pager, cover for someone, swap shifts; list, history, cancel"
    )
    osub = p.add_subparsers(dest="override_command", metavar="ACTION", required=True)
    q = osub.add_parser("add", parents=[common], help="PERSON holds SCHEDULE for a while")
    q.add_argument("schedule")
    q.add_argument("person")
    q.add_argument("--hours", type=float, help="for this many hours")
    q.add_argument("--from", dest="starts", help="start: now, +2h, 22:00 or ISO-8601 (default now)")
    q.add_argument("--until", help="end, instead of --hours: +8h (after --from), 06:00 or ISO-8601")
    q.add_argument("--covering", default="", help="whom they cover")
    q.add_argument("--reason", default="")
    q.set_defaults(func=cmd_override_add)
    q = osub.add_parser("take", parents=[common], help="take SCHEDULE's pager yourself ($ONCALL_TUI_USER's handle)")
    q.add_argument("schedule")
    q.add_argument("--hours", type=float, default=4.0)
    q.add_argument("--as", dest="person", help="your handle in people.toml (default: $ONCALL_TUI_USER)")
    q.add_argument("--reason", default="")
    q.set_defaults(func=cmd_override_take)
    q = osub.add_parser(
        "swap",
        parents=[common],
        help="PERSON_A takes PERSON_B's shift of SCHEDULE and B takes A's (cancelled together)",
    )
    q.add_argument("schedule")
    q.add_argument("first", metavar="PERSON_A")
    q.add_argument("second", metavar="PERSON_B")
    q.add_argument("--first-at", help="A's shift holding this time (default: A's current or next shift)")
    q.add_argument("--second-at", help="B's shift holding this time (default: B's current or next shift)")
    q.add_argument("--reason", default="")
    q.set_defaults(func=cmd_override_swap)
    q = osub.add_parser("history", parents=[common], help="every override made, swapped, cancelled: who and when")
    q.add_argument("--json", action="store_true")
    q.add_argument("--limit", type=int, default=None, help="only the newest N entries")
    q.set_defaults(func=cmd_override_history)
    q = osub.add_parser("list", parents=[common], help="live overrides (--all: every one ever, with who cancelled)")
    q.add_argument("--all", action="store_true")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_override_list)
    q = osub.add_parser("cancel", parents=[common], help="reverse an override (both halves of a swap)")
    q.add_argument("id", type=int)
    q.set_defaults(func=cmd_override_cancel)

    p = sub.add_parser("escalate", parents=[common], help="page a level or a person about an incident now")
    p.add_argument("incident", help="INC-N")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--level", type=int, help="escalation level, 1 = the first (default: the level reached now)")
    g.add_argument("--person", help="a handle from people.toml")
    p.add_argument("--note", default="", help="said in the page")
    p.set_defaults(func=cmd_escalate)

    p = sub.add_parser("handoff", parents=[common], help="print the handoff brief for the incoming on-call")
    p.add_argument("--schedule", default="")
    p.set_defaults(func=cmd_handoff)

    p = sub.add_parser("agent", parents=[common], help="run the clocks, alert intake and paging headless")
    p.add_argument("--alertmanager", metavar="URL", help="Prometheus Alertmanager to pull alerts from")
    p.set_defaults(func=cmd_agent)


def _desk(args: argparse.Namespace) -> Desk:
    from ..cli import open_desk

    return open_desk(args)


def _roster(desk: Desk) -> tuple[RosterSource, Roster]:
    from ..roster import RosterSource

    source = RosterSource(desk.policy)
    roster = source.get()
    if source.problem:
        print(f"oncall-tui: {source.problem}", file=sys.stderr)
    return source, roster


def _not_configured(source: RosterSource) -> str:
    return (
        f"No one can be paged: there is no people.toml in {source.directory}.\n"
        "Add people.toml and schedules.toml there, and name a schedule or person for each level of the\n"
        "escalation matrix in policy.toml (README, 'Paging')."
    )


def _when(moment: datetime | None, tz: tzinfo | None = None) -> str:
    return format_local(moment, tz, with_date=True) if moment else "—"


def watching(desk: Desk, now: datetime) -> dict[str, int]:
    """Who is watching the clocks: agents and desks with a fresh heartbeat."""
    stale = timedelta(seconds=desk.policy.paging.watcher_stale_seconds)
    rows = [w for w in desk.store.watcher_rows() if now - parse_instant(w["seen_at"]) <= stale]
    agents = [w for w in rows if w["kind"] == "agent"]
    pagers = [w for w in rows if w["pages"]]
    return {"agents": len(agents), "desks": len(rows) - len(agents), "paging": len(pagers)}


def cmd_oncall(args: argparse.Namespace) -> int:
    from ..notify.pager import live_overrides
    from ..roster import holdings

    desk = _desk(args)
    source, roster = _roster(desk)
    now = desk.now()
    if not roster.configured:
        if args.json:
            print(json.dumps({"configured": False, "why": _not_configured(source)}, indent=2))
        else:
            print(_not_configured(source))
        return 0
    overrides = live_overrides(desk.store, now)
    levels = holdings(roster, desk.policy, now, overrides)
    end = now + timedelta(days=args.days)
    shifts = {name: roster.shifts(name, now, end, overrides) for name in roster.schedules}
    watch = watching(desk, now)
    if args.json:
        out = {
            "configured": True,
            "at": iso(now),
            "levels": [
                {
                    "level": h.level,
                    "target": h.target,
                    "person": h.person,
                    "name": roster.people[h.person].name if h.person else None,
                    "until": iso(h.until),
                    "next": h.next_person,
                    "next_at": iso(h.next_at),
                    **({"why_nobody": h.why_nobody} if h.why_nobody else {}),
                }
                for h in levels
            ],
            "schedules": {
                name: {
                    "tz": roster.schedules[name].tz,
                    "shifts": [
                        {
                            "person": s.person,
                            "starts_at": iso(s.starts_at),
                            "ends_at": iso(s.ends_at),
                            **({"override": s.override.id} if s.override else {}),
                        }
                        for s in found
                    ],
                }
                for name, found in shifts.items()
            },
            "watching": watch,
            **({"problem": source.problem} if source.problem else {}),
        }
        print(json.dumps(out, indent=2))
        return 0
    w = sys.stdout.write
    w(f"On call at {_when(now)}\n")
    for h in levels:
        if h.person:
            person = roster.people[h.person]
            until = ""
            if h.until:
                sched_tz = roster.schedules[h.target.split(" ", 1)[1]].zone if h.target.startswith("schedule") else None
                until = f" until {_when(h.until)}" + (f" ({_when(h.until, sched_tz)})" if sched_tz else "")
            nxt = f"; then {roster.people[h.next_person].name}" if h.next_person else ""
            w(f"  {h.level:<22} {person.name:<18}{until}{nxt}\n")
        else:
            w(f"  {h.level:<22} nobody — {h.why_nobody}\n")
    for name, found in shifts.items():
        sched = roster.schedules[name]
        w(f"\n{name} ({sched.tz}), next {args.days} days\n")
        for s in found:
            who = roster.people[s.person].name if s.person else "(nobody)"
            mark = f"  [override #{s.override.id}]" if s.override else ""
            w(f"  {_when(s.starts_at, sched.zone)} → {_when(s.ends_at, sched.zone)}  {who}{mark}\n")
    if watch["agents"]:
        w(f"\nAgent alive ({watch['agents']}); {watch['desks']} desk(s) open.\n")
    elif watch["paging"]:
        w(f"\nNo agent running; {watch['paging']} desk(s) page while open.\n")
    else:
        w("\nNOBODY WILL BE PAGED: no agent and no desk is watching the clocks (run `oncall-tui agent`).\n")
    return 0


def _selected(roster: Roster, names: list[str]) -> list[str]:
    for name in names:
        if name not in roster.schedules:
            raise ValueError(f"no schedule {name!r} ({', '.join(sorted(roster.schedules)) or 'none defined'})")
    return names or list(roster.schedules)


def cmd_schedule_show(args: argparse.Namespace) -> int:
    args.json = False
    return cmd_oncall(args)


def cmd_schedule_ics(args: argparse.Namespace) -> int:
    from icalendar import Calendar, Event

    from ..notify.pager import live_overrides

    desk = _desk(args)
    source, roster = _roster(desk)
    if not roster.configured:
        print(_not_configured(source), file=sys.stderr)
        return 1
    now = desk.now()
    overrides = live_overrides(desk.store, now)
    cal = Calendar()
    cal.add("prodid", "-//oncall-tui//on-call schedules//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "On call")
    for name in _selected(roster, args.schedule):
        for s in roster.shifts(name, now, now + timedelta(days=args.days), overrides):
            if s.person is None:
                continue
            person = roster.people[s.person]
            ev = Event()
            ev.add("uid", f"{name}-{iso(s.starts_at)}-{s.person}@oncall-tui")
            ev.add("summary", f"On call: {person.name} ({name})")
            ev.add("dtstart", s.starts_at)
            ev.add("dtend", s.ends_at)
            ev.add("dtstamp", now)
            desc = f"{person.name} holds {name}."
            if person.phone:
                desc += f" Phone: {person.phone}."
            if s.override:
                desc += f" Override #{s.override.id} by {s.override.created_by}."
            ev.add("description", desc)
            cal.add_component(ev)
    data = cal.to_ical()
    if args.output:
        with open(args.output, "wb") as fh:
            fh.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _override_line(o: Override) -> str:
    state = f"  CANCELLED by {o.cancelled_by} {_when(o.cancelled_at)}" if o.cancelled_at else ""
    cover = f" covering {o.covering}" if o.covering else ""
    why = f" — {o.reason}" if o.reason else ""
    return (
        f"#{o.id:<4} {o.schedule:<12} {o.person:<10}{cover} {_when(o.starts_at)} → {_when(o.ends_at)}"
        f"  by {o.created_by} at {_when(o.created_at)}{why}{state}"
    )


def _printed(desk: Desk, roster: Roster, plan: overrides.Plan, made: list[Override]) -> None:
    from .. import overrides

    for o in made:
        print(_override_line(o))
    for line in overrides.describe(plan, roster, desk.policy):
        print(f"  {line}")


def cmd_override_add(args: argparse.Namespace) -> int:
    from .. import overrides
    from ..when import parse_at

    desk = _desk(args)
    _, roster = _roster(desk)
    now = desk.now()
    zone = roster.schedules[args.schedule].zone if args.schedule in roster.schedules else None
    starts = parse_at(args.starts, now, zone) if args.starts else None
    plan = overrides.plan_add(
        desk,
        roster,
        args.schedule,
        args.person,
        starts_at=starts,
        ends_at=parse_at(args.until, now, zone, base=starts) if args.until else None,
        hours=args.hours,
        covering=args.covering,
        reason=args.reason,
    )
    _printed(desk, roster, plan, overrides.commit(desk, plan))
    return 0


def cmd_override_swap(args: argparse.Namespace) -> int:
    from .. import overrides
    from ..when import parse_at

    desk = _desk(args)
    _, roster = _roster(desk)
    now = desk.now()
    zone = roster.schedules[args.schedule].zone if args.schedule in roster.schedules else None
    plan = overrides.plan_swap(
        desk,
        roster,
        args.schedule,
        args.first,
        args.second,
        first_at=parse_at(args.first_at, now, zone) if args.first_at else None,
        second_at=parse_at(args.second_at, now, zone) if args.second_at else None,
        reason=args.reason,
    )
    _printed(desk, roster, plan, overrides.commit(desk, plan))
    return 0


def cmd_override_history(args: argparse.Namespace) -> int:
    from .. import overrides

    desk = _desk(args)
    _, roster = _roster(desk)
    entries = overrides.history(desk, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "at": iso(e.at),
                        "actor": e.actor,
                        "action": e.action,
                        "override": _override_json(e.override),
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return 0
    if not entries:
        print("No overrides yet.")
    for e in entries:
        print(f"{_when(e.at)}  {e.actor:<10} {overrides.entry_text(e, roster)}")
    return 0


def cmd_override_take(args: argparse.Namespace) -> int:
    from ..paths import current_actor

    args.person = args.person or current_actor()
    args.starts, args.until, args.covering = None, None, ""
    return cmd_override_add(args)


def cmd_override_list(args: argparse.Namespace) -> int:
    from .. import overrides

    found = overrides.listed(_desk(args), include_past=args.all)
    if args.json:
        print(json.dumps([_override_json(o) for o in found], indent=2))
        return 0
    if not found:
        print("No overrides." if args.all else "No live overrides.")
    for o in found:
        print(_override_line(o))
    return 0


def _override_json(o: Override) -> dict[str, object]:
    return {
        "id": o.id,
        "kind": o.kind,
        "schedule": o.schedule,
        "person": o.person,
        "starts_at": iso(o.starts_at),
        "ends_at": iso(o.ends_at),
        "covering": o.covering,
        "reason": o.reason,
        "swap_of": o.swap_of,
        "created_by": o.created_by,
        "created_at": iso(o.created_at),
        "cancelled_at": iso(o.cancelled_at),
        "cancelled_by": o.cancelled_by,
    }


def cmd_override_cancel(args: argparse.Namespace) -> int:
    from .. import overrides

    desk = _desk(args)
    _, roster = _roster(desk)
    plan = overrides.plan_cancel(desk, roster, args.id)
    for o in overrides.cancel(desk, args.id):
        print(f"override #{o.id} cancelled: {o.schedule} goes back to its rotation")
    for line in overrides.describe(plan, roster, desk.policy):
        print(f"  {line}")
    return 0


def cmd_escalate(args: argparse.Namespace) -> int:
    from ..notify.pager import Pager
    from ..roster import RosterSource

    desk = _desk(args)
    pager = Pager(desk, RosterSource(desk.policy), kind="cli")
    try:
        level = args.level - 1 if args.level is not None else None
        outcome = pager.page_now(parse_id(args.incident), level=level, person=args.person, note=args.note)
    finally:
        pager.close()
    print(f"{outcome.key}: {outcome.person or 'nobody'} — {outcome.state}: {outcome.summary}")
    return 0 if outcome.state == "delivered" else 1


def cmd_handoff(args: argparse.Namespace) -> int:
    from ..handoff import brief

    desk = _desk(args)
    sys.stdout.write(brief(desk, desk.now(), schedule=args.schedule))
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from ..agent import run_agent
    from ..config import options_from_args

    desk = _desk(args)
    return run_agent(desk, options_from_args(args), desk.clock)
