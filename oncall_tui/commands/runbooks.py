"""`oncall-tui runbooks`: the runbooks the desk knows, which files it had to skip, and what matches."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import options_from_args
from ..model import parse_id
from ..runbooks import PROCESS_ID, Runbook, RunbookLibrary, confident_choice


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "runbooks",
        parents=[common],
        help="list the runbooks (shipped and your own) and warn about broken files",
        description=(
            "List every runbook the desk loads: the shipped ones, then ~/.config/oncall-tui/runbooks/, "
            "then --runbooks DIR (a later file with the same id replaces an earlier one). "
            "Files that cannot be used are named on stderr and skipped."
        ),
    )
    p.add_argument(
        "--runbooks", type=Path, default=argparse.SUPPRESS, metavar="DIR", help="your own runbooks directory"
    )
    p.add_argument("--for", dest="incident", metavar="INC-N", help="show which runbooks match this incident, and why")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runbooks)


def load_library(args: argparse.Namespace, *, warn: bool = True) -> RunbookLibrary:
    library = RunbookLibrary(options_from_args(args).runbook_dirs)
    if warn:
        for problem in library.problems:
            print(f"oncall-tui: warning: {problem}", file=sys.stderr)
    return library


def resolve_symptom(args: argparse.Namespace, title: str, services: list[str]) -> str:
    """The runbook id `declare` records: the one named by --symptom (which must exist), else the
    runbook the title and services clearly point to, else none (the desk will suggest one)."""
    library = load_library(args)
    if args.symptom:
        if library.get(args.symptom) is None or args.symptom == PROCESS_ID:
            known = ", ".join(r.id for r in library.symptom_runbooks)
            raise ValueError(f"no runbook {args.symptom!r} (known: {known})")
        return str(args.symptom)
    best = confident_choice(library.suggest(title=title, services=services))
    return best.id if best else ""


def runbook_dict(rb: Runbook, library: RunbookLibrary) -> dict[str, Any]:
    return {
        "id": rb.id,
        "title": rb.title,
        "version": rb.version,
        "path": str(rb.path),
        "shipped": library.is_shipped(rb),
        "steps": rb.step_count,
        "symptoms": list(rb.symptoms),
        "causes": list(rb.causes),
        "match": {
            "services": list(rb.match.services),
            "alertnames": list(rb.match.alertnames),
            "labels": {k: list(v) for k, v in rb.match.labels.items()},
            "keywords": list(rb.match.keywords),
        },
    }


def cmd_runbooks(args: argparse.Namespace) -> int:
    library = load_library(args, warn=not args.json)
    problems = [{"path": str(p.path), "message": p.message, "skipped": p.skipped} for p in library.problems]
    if args.incident:
        return _show_match(args, library, problems)
    if args.json:
        print(json.dumps({"runbooks": [runbook_dict(r, library) for r in library], "problems": problems}, indent=2))
        return 0
    if not len(library):
        print("No runbooks.")
        return 0
    width = max(len(r.id) for r in library)
    print(f"{'ID':<{width}}  {'VERSION':<8} {'STEPS':>5}  {'TITLE':<30} FILE")
    for rb in library:
        where = "(shipped)" if library.is_shipped(rb) else str(rb.path)
        print(f"{rb.id:<{width}}  {rb.version:<8} {rb.step_count:>5}  {rb.title[:30]:<30} {where}")
    return 0


def _show_match(args: argparse.Namespace, library: RunbookLibrary, problems: list[dict[str, Any]]) -> int:
    from .incidents import _desk

    incident = _desk(args).get(parse_id(args.incident))
    found = library.match(incident)
    if args.json:
        out = {
            "incident": incident.id,
            "runbook": found.runbook.id if found.runbook else None,
            "chosen": found.chosen,
            "missing": found.missing or None,
            "suggestions": [
                {"id": s.runbook.id, "score": s.score, "reasons": list(s.reasons)} for s in found.suggestions
            ],
            "problems": problems,
        }
        print(json.dumps(out, indent=2))
        return 0
    if found.missing:
        print(f"{incident.id} names runbook {found.missing!r}, which is not loaded")
    if found.runbook is None:
        print(f"No runbook matches {incident.id}; choose one with: oncall-tui edit {incident.id} symptom <id>")
        return 0
    how = "chosen" if found.chosen else "suggested"
    print(f"{incident.id}: {found.runbook.id} ({how})")
    for s in found.suggestions:
        print(f"  {s.score:>3}  {s.runbook.id:<32} {'; '.join(s.reasons)}")
    return 0
