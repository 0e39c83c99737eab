"""`compose`: render a status message for an incident, for scripts and chat bots."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from ..config import options_from_args
from ..message_fields import KNOWN_FIELDS
from ..model import parse_id

if TYPE_CHECKING:  # at run time only when a command runs: `--help` stays quick
    from ..desk import Desk
    from ..templates import Message


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "compose",
        parents=[common],
        help="print a status message (initial, update, resolution) for an incident",
        description=(
            "Render a communication template for an incident and print it. Fields come from the\n"
            "incident; --set overrides one for this message. A field with no value is an error that\n"
            "names it. With --copy or --post the message is also sent and recorded on the timeline:\n"
            "an Initial Alert meets the notify-stakeholders deadline, an Update sets the next-update clock."
        ),
        epilog=(
            "fields: " + ", ".join(KNOWN_FIELDS) + "\n"
            "examples:\n"
            "  oncall-tui compose INC-7 --template initial\n"
            '  oncall-tui compose INC-7 --template update --set eta="about 04:30 UTC" --set next_update="in 30m"\n'
            "  oncall-tui --templates ~/my-templates compose INC-7 --template customer-update --copy"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("incident", help="INC-N")
    p.add_argument(
        "--template",
        "-t",
        help="initial, update, resolution or one of yours (default: the one the runbook expects next)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        dest="overrides",
        help="a field's value for this message only (repeatable)",
    )
    p.add_argument("--copy", action="store_true", help="also copy it to the system clipboard and record it as sent")
    p.add_argument("--post", action="store_true", help="also post it to the [chat] webhook_url and record it as sent")
    p.add_argument(
        "--mark-sent",
        action="store_true",
        help="record it as sent by you (pasted by hand), without copying or posting it",
    )
    p.set_defaults(func=cmd_compose)


def cmd_compose(args: argparse.Namespace) -> int:
    # jinja2 and httpx only when a message is really composed.
    from ..cli import EXIT_USAGE, CliError, open_desk
    from ..desk import ActionRefused, StoreError
    from ..templates import TemplateLibrary, TemplateProblem, compose, suggest_template
    from ..webhook import post_message, webhook_settings

    options = options_from_args(args)
    library = TemplateLibrary(options.template_dirs)
    desk = open_desk(args, readonly=not (args.copy or args.post or args.mark_sent))
    try:
        incident = desk.get(parse_id(args.incident))
        name = args.template or suggest_template(incident)
        overrides = _parse_overrides(args.overrides)
        try:
            template = library.get(name)
            unknown = sorted(set(overrides) - set(template.field_names))
            if unknown:
                raise CliError(
                    f"template {name!r} has no field {', '.join(unknown)} "
                    f"(its fields: {', '.join(template.field_names)})",
                    EXIT_USAGE,
                )
            now = desk.now()
            message = compose(library, name, incident, policy=desk.policy, now=now, overrides=overrides)
        except TemplateProblem as problem:
            hint = f" (or --set {problem.fields[0]}=…)" if problem.fields and problem.line else ""
            raise CliError(f"{problem}{hint}") from None
        print(message.text)
        sys.stdout.flush()
        if args.copy:
            from ..clipboard import copy_text

            copied = copy_text(message.text)
            if not copied.confirmed:
                # As the composer: a copy nothing confirms is not recorded as sent.
                raise CliError(
                    f"not copied ({copied.detail}); the message is printed above and was NOT recorded as sent — "
                    f"once it is in the channel, record it with: oncall-tui compose {incident.id} -t {name} --mark-sent"
                )
            _record(desk, incident.number, message, "clipboard", now)
        if args.post:
            url, timeout = webhook_settings(options.section("chat"))
            if url is None:
                raise CliError("no chat webhook configured: set webhook_url in the [chat] section of config.toml")
            result = asyncio.run(post_message(url, message.text, timeout=timeout))
            if not result.ok:
                raise CliError(result.summary)
            print(f"oncall-tui: {result.summary}", file=sys.stderr)
            try:
                _record(desk, incident.number, message, "webhook", now)
            except (ActionRefused, StoreError) as exc:
                # It is in the channel: saying "nothing was written, try again" would post it twice.
                raise CliError(
                    f"posted, but NOT recorded on {incident.id}'s timeline: {_why(exc)} — do not post it again; "
                    f"record it with: oncall-tui compose {incident.id} -t {name} --mark-sent"
                ) from None
        if args.mark_sent and not (args.copy or args.post):
            _record(desk, incident.number, message, "by hand", now)
        return 0
    finally:
        desk.close()


def _why(exc: Exception) -> str:
    from ..store import Locked

    if isinstance(exc, Locked):
        return "another process held the desk file's lock"
    return str(exc)


def _parse_overrides(items: list[str]) -> dict[str, str]:
    from ..cli import EXIT_USAGE, CliError

    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--set needs FIELD=VALUE, got {item!r}", EXIT_USAGE)
        out[name.strip()] = value
    return out


def _record(desk: Desk, number: int, message: Message, via: str, now: datetime) -> None:
    from ..templates import format_when

    inc = desk.record_message(
        number, template=message.template.record_as, text=message.text, via=via, next_update_at=message.next_update_at
    )
    promised = f"; next update due {format_when(message.next_update_at, now)}" if message.next_update_at else ""
    print(f"oncall-tui: {message.template.title} recorded on {inc.id}'s timeline{promised}", file=sys.stderr)
