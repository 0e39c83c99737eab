"""`oncall-tui demo`: fill a database with demo incidents (for trying the desk and for benchmarks)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[common], help="fill a database with realistic demo incidents")
    p.add_argument("--count", type=int, default=0, help="add this many generated incidents too")
    p.add_argument("--days", type=float, default=0.0, help="spread the generated ones over this many days")
    p.add_argument("--open-share", type=float, default=1.0, help="fraction of generated incidents left open")
    p.add_argument(
        "--closed",
        type=int,
        default=0,
        metavar="N",
        help="add N closed incidents over the past two years (--days), with valid chains: a desk with history",
    )
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    import sys

    from ..cli import CliError, open_desk
    from ..demo import seed_bulk, seed_demo

    if not getattr(args, "db", None):
        raise CliError("demo writes into a database you name: pass --db PATH (your own desk is never filled)")
    desk = open_desk(args)
    if args.closed < 0 or args.count < 0:
        raise CliError("--closed and --count take a number of incidents, 0 or more")
    empty = desk.store.next_number() == 1
    if args.closed:
        from ..history import generate_history

        # A count rewritten in place on a terminal; a log or a pipe gets the one line at the end.
        live = sys.stderr.isatty()

        def count(done: int) -> str:
            return f"{done:,} of {args.closed:,} closed incidents"

        def progress(done: int) -> None:
            print(f"\r{count(done)}", end="", file=sys.stderr, flush=True)

        # History first, so the demo's open incidents are the newest numbers, as on a real desk.
        generate_history(
            desk.store,
            desk.policy,
            args.closed,
            now=desk.now(),
            days=args.days or 730.0,
            progress=progress if live else None,
        )
        written = f"{args.closed:,} closed incidents written"
        print(f"\r{written.ljust(len(count(args.closed)))}" if live else written, file=sys.stderr)
    if empty:
        seed_demo(desk)
    if args.count:
        seed_bulk(desk, args.count, open_share=args.open_share, span_days=args.days)
    if args.closed:
        # The desk's own startup check, run now on what was written, read back from the file: the
        # first start then walks only what comes after, not seconds of history.
        from ..startup_check import check_since_last

        found = check_since_last(desk.store, polite=False)
        if found is not None and found.problem is not None:
            raise CliError(f"what was written does not verify: {found.problem}")
        print(f"checked {found.events if found else 0:,} events: every chain holds", file=sys.stderr)
    print(f"{desk.store.next_number() - 1} incidents in {args.db}")
    return 0
