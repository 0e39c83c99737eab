"""After the fire: `export`, `report` and `review` (schedule, complete, waive, action items)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import format_local, parse_instant
from ..model import format_id, parse_id
from ..terminal_text import printable
from ..when import parse_future

if TYPE_CHECKING:
    from ..desk import Desk  # at run time through the CLI, only when a command runs

UTC = UTC


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="an incident's post-incident review (Markdown) or its whole record (JSON)",
        description=(
            "Markdown: the review document from the template export/review.md.j2 (yours in "
            "~/.config/oncall-tui/templates/export/ wins over the shipped one), times in UTC. "
            "JSON: every field, timeline event with its hash, runbook check, action item and deadline."
        ),
    )
    p.add_argument("incident", help="INC-N")
    p.add_argument("--format", choices=("md", "json"), help="md (default) or json; -o FILE.json implies json")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "report",
        parents=[common],
        help="how the desk is doing: counts, time to acknowledge/resolve, missed deadlines",
        description=(
            "Incidents that started in the period (default: the last 30 days, UTC). Mean and p90 leave "
            "out incidents never acknowledged / not resolved yet, and count them beside. Breaches are "
            "the ones recorded on the timeline plus any the milestones show that no desk was open to record."
        ),
    )
    p.add_argument("--since", metavar="DATE", help="first day (2026-11-01) or an ISO instant")
    p.add_argument("--until", metavar="DATE", help="last day, included (2026-11-30), or an ISO instant (excluded)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "review", parents=[common], help="schedule, complete or waive a post-incident review; action items"
    )
    p.add_argument("incident", help="INC-N")
    actions = p.add_subparsers(dest="review_action", metavar="ACTION", title="actions", required=True)

    a = actions.add_parser("show", parents=[common], help="where the review stands, and its action items")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_review_show)

    a = actions.add_parser("schedule", parents=[common], help="book the review (24–48 h after resolution)")
    a.add_argument("when", help='when: "in 26h", 14:00 (the next one, your zone) or an ISO-8601 time')
    a.add_argument("--attendee", action="append", default=[], dest="attendees", help="who attends (repeatable)")
    a.set_defaults(func=cmd_review_schedule)

    a = actions.add_parser("complete", parents=[common], help="the review took place")
    a.add_argument("--notes", default="", help="a line about it for the timeline")
    a.set_defaults(func=cmd_review_complete)

    a = actions.add_parser("waive", parents=[common], help="skip the review, with a reason kept on the timeline")
    a.add_argument("reason")
    a.set_defaults(func=cmd_review_waive)

    a = actions.add_parser("add", parents=[common], help="add an action item")
    a.add_argument("title")
    a.add_argument("--owner", default="")
    a.add_argument("--due", default="", help="a date (YYYY-MM-DD), +3d or +2w")
    a.set_defaults(func=cmd_item_add)

    a = actions.add_parser("done", parents=[common], help="tick an action item")
    a.add_argument("item", type=int, help="the item's number (#N)")
    a.set_defaults(func=cmd_item_done, done=True)

    a = actions.add_parser("reopen", parents=[common], help="untick an action item")
    a.add_argument("item", type=int)
    a.set_defaults(func=cmd_item_done, done=False)


def _desk(args: argparse.Namespace) -> Desk:
    from ..cli import open_desk

    return open_desk(args)


# --- export ---------------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from .. import export_review
    from ..config import options_from_args

    desk = _desk(args)
    number = parse_id(args.incident)
    fmt = args.format or ("json" if args.output and args.output.suffix.lower() == ".json" else "md")
    if fmt == "json":
        text = json.dumps(export_review.export_document(desk, number), indent=2, ensure_ascii=False) + "\n"
    else:
        dirs = options_from_args(args).template_dirs
        text = export_review.render_markdown(desk, number, template_dirs=dirs)
    if args.output is None:  # a terminal shows text only; the file keeps the record exact
        sys.stdout.write(printable(text))
    else:
        path = export_review.write_text(args.output, text)
        print(f"wrote {path}")
    return 0


# --- report ---------------------------------------------------------------------------------------


def _bound(text: str, *, end: bool) -> datetime:
    """A day means its whole UTC day (an --until day is included); an instant means itself."""
    raw = text.strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return parse_instant(raw)
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)


def cmd_report(args: argparse.Namespace) -> int:
    from .. import metrics

    desk = _desk(args)
    now = desk.now()
    default = metrics.period_ending(now)
    until = _bound(args.until, end=True) if args.until else default.until
    since = _bound(args.since, end=False) if args.since else until - (default.until - default.since)
    if since >= until:
        raise ValueError(
            f"the period is empty: --since {args.since or since.date()} is not before "
            f"--until {args.until or until.date()}"
        )
    if until - since > timedelta(days=3660):
        raise ValueError("the period is longer than ten years; narrow --since/--until")
    report = metrics.build(desk.store, desk.policy, now, metrics.Period(since, until))
    if args.json:
        print(json.dumps(metrics.report_dict(report), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(metrics.format_report(report))
    return 0


# --- review ---------------------------------------------------------------------------------------


def cmd_review_show(args: argparse.Namespace) -> int:
    from .. import review
    from ..clock import iso

    desk = _desk(args)
    inc = desk.get(parse_id(args.incident))
    st = review.state(desk, inc)
    items = review.items(desk, inc.number)
    if args.json:
        print(
            json.dumps(
                {
                    "id": inc.id,
                    "required": review.review_required(desk, inc),
                    "scheduled_for": iso(st.scheduled_for),
                    "attendees": list(st.attendees),
                    "due_at": iso(st.due_at),
                    "done_at": iso(st.done_at),
                    "waived": st.waived,
                    "action_items": [
                        {
                            "id": i.id,
                            "title": i.title,
                            "owner": i.owner,
                            "due": i.due.isoformat() if i.due else None,
                            "done": i.done,
                        }
                        for i in items
                    ],
                },
                indent=2,
            )
        )
        return 0
    print(f"{inc.id}  {inc.title}")
    print(
        f"  required   {'yes' if review.review_required(desk, inc) else 'no'} ({inc.severity.value if inc.severity else 'no severity'})"
    )
    if st.due_at:
        print(
            f"  window     {format_local(st.window_opens, with_date=True)} – {format_local(st.due_at, with_date=True)}"
        )
    if st.scheduled_for:
        who = f" with {', '.join(st.attendees)}" if st.attendees else ""
        print(f"  scheduled  {format_local(st.scheduled_for, with_date=True)}{who}")
    if st.done_at:
        print(f"  completed  {format_local(st.done_at, with_date=True)} by {st.done_by}")
    if st.waived:
        print(f"  waived     by {st.waived_by}: {st.waived}")
    print("\naction items" if items else "\nno action items")
    for i in items:
        due = f" due {i.due.isoformat()}" if i.due else ""
        owner = f" ({i.owner})" if i.owner else ""
        print(f"  #{i.id:<4} [{'x' if i.done else ' '}] {i.title}{owner}{due}")
    return 0


def cmd_review_schedule(args: argparse.Namespace) -> int:
    from .. import review

    desk = _desk(args)
    when = parse_future(args.when, desk.now())
    result = review.schedule(desk, parse_id(args.incident), when, args.attendees)
    inc = result.incident
    print(f"{inc.id} review scheduled for {format_local(inc.review_scheduled_for, with_date=True)}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_review_complete(args: argparse.Namespace) -> int:
    from .. import review

    inc = review.complete(_desk(args), parse_id(args.incident), notes=args.notes)
    print(f"{inc.id} review completed")
    return 0


def cmd_review_waive(args: argparse.Namespace) -> int:
    from .. import review

    inc = review.waive(_desk(args), parse_id(args.incident), args.reason)
    print(f"{inc.id} review waived")
    return 0


def cmd_item_add(args: argparse.Namespace) -> int:
    from .. import review

    desk = _desk(args)
    due = review.parse_due(args.due, desk.now().astimezone().date())
    item = review.add_item(desk, parse_id(args.incident), args.title, owner=args.owner, due=due)
    print(f"action item #{item.id} added to {desk.get(item.incident).id}")
    return 0


def cmd_item_done(args: argparse.Namespace) -> int:
    from .. import review

    desk = _desk(args)
    number = parse_id(args.incident)
    current = review.item(desk, args.item)
    if current.incident != number:
        raise ValueError(f"action item #{args.item} belongs to {format_id(current.incident)}, not {format_id(number)}")
    item = review.set_done(desk, args.item, args.done)
    print(f"action item #{item.id} {'done' if item.done else 'reopened'}")
    return 0
