"""What one browser tab of `oncall-tui serve` costs: memory and idle CPU of its desk process.

Each tab runs a desk process of its own, so the session cap (`--max-sessions`) is this figure times
what the machine can spare. Measured against a bare Textual app served by textual-serve in the same
run (the floor any served Textual app pays), with sessions opened over the same websocket a
browser uses:

    .venv/bin/python tests/benchmarks/bench_serve.py [--sessions 3] [--idle 10] [--wall]

Memory is the resident set of the desk process (the shell textual-serve starts it with included);
CPU is the user+system time it spends over `--idle` seconds with nobody typing: the one clock tick,
the countdowns it repaints, and the terminal output relayed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp

BARE_APP = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static(id="t")

        def on_mount(self):
            self.set_interval(1, lambda: self.query_one(Static).update(str(__import__("time").time())))

    Bare().run()
    """
)
BARE_SERVER = textwrap.dedent(
    """
    import sys
    from textual_serve.server import Server
    Server(sys.argv[1], host="127.0.0.1", port=int(sys.argv[2])).serve()
    """
)
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """`pid`'s descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rss_kib(pid: int) -> int:
    m = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) if m else 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def open_sessions(url: str, cookie: str | None, count: int) -> tuple[list, aiohttp.ClientSession]:
    port = int(url.rsplit(":", 1)[1])
    http = aiohttp.ClientSession(cookies={f"oncall_tui_token_{port}": cookie} if cookie else None)
    sockets = []
    for _ in range(count):
        ws = await http.ws_connect(f"{url}/ws?width=160&height=48", origin=url, max_msg_size=0)
        sockets.append(ws)

        async def drain(ws=ws) -> None:
            async for _message in ws:
                pass

        asyncio.get_running_loop().create_task(drain())
    return sockets, http


async def measure(server: subprocess.Popen, url: str, cookie: str | None, sessions: int, idle: float) -> dict:
    sockets, http = await open_sessions(url, cookie, sessions)
    await asyncio.sleep(6)  # every desk up, its first frame painted and its startup work done
    pids = tree(server.pid)
    start = {p: cpu_seconds(p) for p in pids}
    await asyncio.sleep(idle)
    cpu = sum(cpu_seconds(p) - start[p] for p in pids if Path(f"/proc/{p}").exists())
    rss = sum(rss_kib(p) for p in pids if Path(f"/proc/{p}").exists())
    for ws in sockets:
        await ws.close()
    await http.close()
    return {"rss_mib": rss / 1024 / sessions, "cpu_pct": 100 * cpu / idle / sessions, "processes": len(pids)}


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--wall", action="store_true", help="measure the wall instead of the desk")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    env = {**os.environ, "XDG_DATA_HOME": str(work), "XDG_CONFIG_HOME": str(work), "PYTHONUNBUFFERED": "1"}

    (work / "bare.py").write_text(BARE_APP)
    port = free_port()
    bare = start([sys.executable, "-c", BARE_SERVER, f"{sys.executable} {work / 'bare.py'}", str(port)], env)
    try:
        wait_listening(port)
        floor = asyncio.run(measure(bare, f"http://127.0.0.1:{port}", None, args.sessions, args.idle))
    finally:
        stop(bare)

    db = work / "demo.db"
    subprocess.run([sys.executable, "-m", "oncall_tui.cli", "demo", "--db", str(db)], check=True, env=env)
    port = free_port()
    argv = [sys.executable, "-m", "oncall_tui.cli", "serve", "--db", str(db), "--port", str(port)]
    argv += ["--max-sessions", str(args.sessions)] + (["--wall"] if args.wall else [])
    desk = start(argv, env)
    try:
        assert desk.stdout is not None
        token = None
        for line in desk.stdout:
            if m := re.search(r"token=(\S+)", line):
                token = m.group(1)
                break
        wait_listening(port)
        ours = asyncio.run(measure(desk, f"http://127.0.0.1:{port}", token, args.sessions, args.idle))
    finally:
        stop(desk)

    what = "wall" if args.wall else "desk"
    print(f"per session, {args.sessions} sessions, {args.idle:.0f} s idle:")
    print(f"  bare Textual app  {floor['rss_mib']:6.1f} MiB  {floor['cpu_pct']:5.2f}% CPU")
    print(f"  oncall-tui {what:<5}  {ours['rss_mib']:6.1f} MiB  {ours['cpu_pct']:5.2f}% CPU")
    print(
        f"  ratio             {ours['rss_mib'] / floor['rss_mib']:6.2f}x      "
        f"{ours['cpu_pct'] / max(floor['cpu_pct'], 1e-9):5.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
