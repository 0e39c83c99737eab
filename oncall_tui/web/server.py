"""The desk in a browser: textual-serve's server with a door, a cap and no internet.

textual-serve runs one app process per browser tab and relays its terminal over a websocket. As
shipped, anyone who reaches the port gets a desk that writes as whoever started the server, and the
page asks a font service on the internet. Here:

- every request needs a viewer's token (their link sets it as a cookie, then drops it from the
  address bar); the session's desk runs with that viewer's name as its actor;
- the websocket must come from the page's own origin (no other site can drive a desk);
- at most `max_sessions` desk processes run; the next tab gets a page saying so;
- the page is ours: fonts and scripts come from this server only.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import web
from aiohttp.typedefs import Handler
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from .access import Access, Sessions

log = logging.getLogger("oncall-tui.serve")


def cookie_name(port: int) -> str:
    """Browsers keep cookies per host, not per port: two desks served on one machine must not
    overwrite each other's token."""
    return f"oncall_tui_token_{port}"


TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(textual_serve.__file__).parent / "static"
# Query parameters textual-serve's script acts on: `ping` makes the page fetch any URL it names.
UNSAFE_PARAMS = frozenset({"ping", "delay"})


class ViewerSession(AppService):
    """One desk process, running as the viewer whose token opened it."""

    def __init__(self, *args: Any, actor: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment["ONCALL_TUI_USER"] = self.actor
        return environment


class DeskServer(Server):
    def __init__(
        self,
        argv: list[str],
        *,
        host: str,
        port: int,
        access: Access,
        max_sessions: int,
        title: str,
        public_url: str | None = None,
    ) -> None:
        super().__init__(
            shlex.join(argv), host=host, port=port, title=title, public_url=public_url, templates_path=TEMPLATES
        )
        self.statics_path = STATIC
        self.access = access
        self.sessions = Sessions(max_sessions)
        self.explicit_public_url = public_url
        self.cookie = cookie_name(port)
        self.started = asyncio.Event()

    # --- the web application --------------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._door])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.desk_session, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        return app

    @web.middleware
    async def _door(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every page but the package's static files needs a viewer's token."""
        if request.path.startswith("/static/"):
            return await handler(request)
        token = request.query.get("token")
        if token is not None and request.path == "/":
            if self.access.who(token) is None:
                return self._notice(request, 401, "This link is not valid", _NO_ACCESS)
            # Keep the token out of the address bar, history and screenshots from here on.
            response = web.HTTPSeeOther(self._clean_url(request))
            response.set_cookie(self.cookie, token, httponly=True, samesite="Strict", secure=request.secure, path="/")
            return response
        actor = self.access.who(request.cookies.get(self.cookie))
        if actor is None:
            return self._notice(request, 401, "This desk needs its link", _NO_ACCESS)
        request["actor"] = actor
        return await handler(request)

    def _clean_url(self, request: web.Request) -> str:
        kept = {k: v for k, v in request.query.items() if k not in UNSAFE_PARAMS and k != "token"}
        return "/" + (f"?{urlencode(kept)}" if kept else "")

    def _notice(self, request: web.Request, status: int, heading: str, text: str) -> web.Response:
        response = aiohttp_jinja2.render_template(
            "notice.html", request, {"title": self.title, "heading": heading, "text": text}, status=status
        )
        if status == 503:
            response.headers["Retry-After"] = "30"
        return response

    # --- the page -------------------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if UNSAFE_PARAMS & set(request.query):
            raise web.HTTPSeeOther(self._clean_url(request))
        if self.sessions.full:
            return self._full(request)
        base = self._base_url(request)
        scheme = "wss" if base.startswith("https") else "ws"
        context = {
            "title": self.title,
            "font_size": max(8, min(64, to_int(request.query.get("fontsize", "16"), 16))),
            "static_url": "/static/",
            "websocket_url": f"{scheme}://{urlsplit(base).netloc}/ws",
        }
        response = aiohttp_jinja2.render_template("desk.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'"
        )
        return response

    def _base_url(self, request: web.Request) -> str:
        if self.explicit_public_url:
            return self.explicit_public_url
        return f"{request.scheme}://{request.host}"

    def _full(self, request: web.Request) -> web.Response:
        n = self.sessions.limit
        text = (
            f"All {n} desk session{'s are' if n != 1 else ' is'} in use, and each browser tab runs a desk of "
            "its own. Close another tab of this desk and reload this one, or ask whoever runs "
            "`oncall-tui serve` to raise --max-sessions."
        )
        return self._notice(request, 503, "The desk is full", text)

    # --- the terminal's websocket ---------------------------------------------------------------

    async def desk_session(self, request: web.Request) -> web.StreamResponse:
        """One tab's desk: refused from another site or beyond the cap, else run as the viewer."""
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != urlsplit(self._base_url(request)).netloc:
            return web.Response(status=403, text="cross-origin desk sessions are refused")
        if not self.sessions.claim():
            return self._full(request)
        actor: str = request["actor"]
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        session: ViewerSession | None = None
        try:
            await websocket.prepare(request)
            session = ViewerSession(
                self.command,
                actor=actor,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            log.info("session opened for %s (%d of %d)", actor, self.sessions.open, self.sessions.limit)
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:  # one viewer's broken session must not stop the server
            log.exception("session for %s failed", actor)
        finally:
            if session is not None:
                await session.stop()
            self.sessions.release()
            log.info("session closed for %s (%d open)", actor, self.sessions.open)
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        self.started.set()


_NO_ACCESS = (
    "Open the desk with the link `oncall-tui serve` printed when it started (it carries your token), "
    "or ask whoever runs it for yours."
)
