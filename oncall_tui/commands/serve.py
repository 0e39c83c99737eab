"""`oncall-tui serve`: the desk, or the wall, in a browser (one desk process per tab)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_MAX_SESSIONS = 8
DEFAULT_PORT = 8000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="the desk (or --wall) in a browser, on 127.0.0.1 unless told otherwise",
        description=(
            "Serve the desk to browsers: each tab runs a desk of its own, as the viewer whose link "
            "opened it (their name goes on the timeline). Every link carries a token printed at start; "
            "a request without one is refused. Binding anything but 127.0.0.1 exposes the desk to the "
            "network: put it behind a TLS proxy and pass --public-url https://…"
        ),
    )
    p.add_argument("--host", default=None, help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help=f"port (default: {DEFAULT_PORT})")
    p.add_argument("--wall", action="store_true", help="serve the read-only wall-board instead of the desk")
    p.add_argument(
        "--viewer",
        action="append",
        metavar="NAME",
        default=[],
        help="someone who may open the desk, under this name; repeat for each (default: you)",
    )
    p.add_argument(
        "--max-sessions",
        type=int,
        default=None,
        metavar="N",
        help=f"at most this many tabs at once, each a desk process (default: {DEFAULT_MAX_SESSIONS})",
    )
    p.add_argument(
        "--tokens",
        type=Path,
        metavar="FILE",
        help="keep the viewers' tokens in this file, so their links outlive a restart (created 0600)",
    )
    p.add_argument("--public-url", metavar="URL", help="the address browsers use, when behind a proxy")
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help="serve a fresh demo desk")
    p.add_argument("--alertmanager", metavar="URL", default=argparse.SUPPRESS, help="Alertmanager to pull from")
    p.add_argument("--runbooks", metavar="DIR", default=argparse.SUPPRESS, help="your own runbooks")
    p.add_argument("--templates", metavar="DIR", default=argparse.SUPPRESS, help="your own message templates")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..cli import CliError
    from ..config import options_from_args
    from ..desk import Desk
    from ..paths import current_actor
    from ..policy import load_policy

    try:
        from ..web.access import exposure_warning, viewers_for
        from ..web.server import DeskServer
    except ImportError as exc:
        raise CliError(f"`oncall-tui serve` needs textual-serve ({exc}): pip install 'oncall-tui[serve]'") from None

    options = options_from_args(args)
    settings = options.section("serve")
    host = args.host or settings.get("host") or "127.0.0.1"
    port = args.port if args.port is not None else int(settings.get("port", DEFAULT_PORT))
    max_sessions = args.max_sessions if args.max_sessions is not None else settings.get("max_sessions")
    max_sessions = DEFAULT_MAX_SESSIONS if max_sessions is None else int(max_sessions)
    if max_sessions < 1:
        raise CliError("--max-sessions must be at least 1")
    tokens_file = args.tokens or (Path(settings["tokens"]).expanduser() if settings.get("tokens") else None)
    names = args.viewer or ([] if tokens_file and tokens_file.exists() else None)
    if names is None:
        names = ["wall"] if args.wall else [current_actor()]
    try:
        access, tokens_note = viewers_for(names, tokens_file)
    except ValueError as exc:
        raise CliError(str(exc)) from None

    if options.demo and not getattr(args, "db", None):
        from ..demo import seed_demo
        from ..paths import fresh_demo_file

        fresh_demo_file(Path(options.db_path))
        desk = Desk.open(options.db_path, policy=load_policy(options.policy_path), clock=args.clock)
        seed_demo(desk)
        desk.close()
    # Fail here, in one line, rather than in every tab: the file must open (read-only for the wall).
    Desk.open(options.db_path, policy=load_policy(options.policy_path), clock=args.clock, readonly=args.wall).close()

    # Each tab runs this. With --db named, --demo only marks the desk DEMO: it neither wipes nor reseeds it.
    argv = [sys.executable, "-m", "oncall_tui.cli", "--db", str(options.db_path)]
    if isinstance(options.db_path, str):
        # A server's URL may hold a password: the tabs inherit it from the environment, where the
        # process list does not show it.
        os.environ["ONCALL_TUI_DB"] = options.db_path
        argv = argv[:3]
    if options.demo:
        argv.append("--demo")
    if options.policy_path:
        argv += ["--policy", str(options.policy_path)]
    for url in options.alertmanager_urls:  # every one of an HA cluster
        argv += ["--alertmanager", url]
    for flag, value in (
        ("--runbooks", getattr(args, "runbooks", None)),
        ("--templates", getattr(args, "templates", None)),
    ):
        if value:
            argv += [flag, str(value)]
    if args.wall:
        argv.append("--wall")

    what = "wall-board" if args.wall else "desk"
    server = DeskServer(
        argv,
        host=host,
        port=port,
        access=access,
        max_sessions=max_sessions,
        title=f"oncall-tui {what}",
        public_url=args.public_url,
    )
    base = (args.public_url or f"http://{_url_host(host)}:{port}").rstrip("/")
    if warning := exposure_warning(host, args.public_url):
        print(f"oncall-tui: {warning}", file=sys.stderr)
    from ..paths import shown_target

    print(
        f"Serving the {what} of {shown_target(options.db_path)} on {host}:{port}, at most {max_sessions} tabs at once."
    )
    print("Each link below opens it as that person; anyone with a link can act under that name:")
    if tokens_note:
        print(f"({tokens_note})")
    for viewer in access.viewers:
        print(f"  {viewer.name}: {base}/?token={viewer.token}")
    print("Press Ctrl+C to stop.", flush=True)
    server.serve()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
