"""The page on the phone ([web]): the tune, its chart with the bar lit, what jazzd hears, and the
controls the keyboard lacks — served by aiohttp on a thread of its own.

aiohttp because one well-kept library gives the server, Server-Sent Events (a streamed
response), bounded requests (`client_max_size`, header limits in its C parser) and a clean
shutdown, with wheels for the Pi; the page itself is three static files, no build step.

The web thread never touches the performance: it streams the state the main thread last
published (`Stage.state`, replaced whole) and queues requests (`Stage.ask`), which the main
thread acts on as it does the keyboard's. While no page is open the main thread publishes
nothing (`Stage.watchers` is empty).

Security, for a box on a shared network: bound to localhost unless an address is configured;
on any other address every request needs the token (once in the link, then a SameSite=Strict
cookie); the Host must be this server's (no DNS rebinding); a change is a POST of JSON from
this page's own origin (no GET changes anything, no cross-site form or fetch gets through);
bodies, headers, request rates and open event streams are bounded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
import time
from importlib import resources
from pathlib import Path

from aiohttp import web

from jazzd.errors import JazzdError
from jazzd.live.stage import KINDS, Stage
from jazzd.live.turns import MODES

log = logging.getLogger(__name__)

MAX_BODY = 1024  # bytes of a request's body
MAX_STREAMS = 8  # pages open at once
RATE, BURST = 20.0, 40.0  # requests a second from one address, and the burst allowed
MAX_CLIENTS = 1024  # addresses whose rate is tracked; more forget the oldest
COOKIE = "jazzd_token"
TOKEN_BYTES = 24
FILES = {
    "/": ("index.html", "text/html"),
    "/page.js": ("page.js", "text/javascript"),
    "/page.css": ("page.css", "text/css"),
}
CSP = "default-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'"


class WebError(JazzdError):
    exit_code = 78  # a [web] setting that cannot work (EX_CONFIG)


def is_local(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def read_token(path: str) -> str:
    """The token: systemd's credential (LoadCredential=web-token, readable by the service
    alone), else the file; WebError saying how to make one when there is none."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / "web-token").is_file():
        path = str(Path(credentials) / "web-token")
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise WebError(
            f"[web] token_file {path}: {exc.strerror or exc}; a page on a network address needs a token "
            "(make one: jazzd web-token --new)"
        ) from exc
    if len(token) < 16:
        raise WebError(f"[web] token_file {path}: the token is too short (make one: jazzd web-token --new)")
    return token


def write_token(path: str) -> str:
    """A new token in `path` (readable by root alone; systemd hands it to the service)."""
    token = new_token()
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(mode=0o600)
        target.chmod(0o600)
        target.write_text(token + "\n", encoding="utf-8")
    except OSError as exc:
        raise WebError(
            f"{path}: cannot write the token ({exc.strerror or exc}; as root: sudo jazzd web-token --new)"
        ) from exc
    return token


def page_link(address: str, port: int, token: str | None) -> str:
    """The page's address as a phone opens it (a wildcard address: this machine's name)."""
    host = f"{socket.gethostname()}.local" if address in ("0.0.0.0", "::") else address
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/" + (f"?token={token}" if token else "")


def check_request(kind: str, value: object, setlist_length: int) -> str | None:
    """What is wrong with a request from the page, or None."""
    allowed = {
        "call": lambda v: isinstance(v, int) and 0 <= v < setlist_length,
        "step": lambda v: v in (-1, 1),
        "tempo": lambda v: isinstance(v, (int, float)) and 20 <= v <= 400,
        "mode": lambda v: v in MODES,
        "start_stop": lambda v: v in (0, 127),
        "panic": lambda v: v == 127,
    }
    if kind not in allowed:
        return f"unknown request {kind!r} (known: {', '.join(KINDS)})"
    if isinstance(value, bool) or not allowed[kind](value):  # JSON true is no number here
        return f"{kind}: {value!r} is not allowed"
    return None


class Page:
    """The page's server: `start` (blocks until it listens, or raises WebError), `stop`."""

    def __init__(self, stage: Stage, address: str, port: int, token: str | None):
        self.stage, self.address, self.port = stage, address, port
        self.token = token  # None: local only, no token asked
        self.local = is_local(address)
        self.loop = asyncio.new_event_loop()
        self.streams = 0
        self.refused = 0  # requests refused (token, origin, rate, size, shape)
        self._changed: asyncio.Event | None = None
        self._closing = False
        self._buckets: dict[str, tuple[float, float]] = {}  # address → (tokens, when)
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="jazzd-web", daemon=True)

    # -- the thread ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout=10)
        except OSError as exc:
            self.stop()
            raise WebError(
                f"[web] cannot listen on {self.address}:{self.port}: {exc.strerror or exc}"
            ) from exc
        log.info(
            "page on http://%s:%d/%s", self.address, self.port, "" if self.local else " (token required)"
        )

    def stop(self) -> None:
        """Close the open pages' streams and the server; never holds jazzd's exit for long."""
        self._closing = True
        if self._runner is not None:
            self.loop.call_soon_threadsafe(self._wake_streams)
            try:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(timeout=2)
            except (concurrent.futures.TimeoutError, OSError) as exc:
                log.warning("page: the server did not close cleanly (%r)", exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=2)

    async def _serve(self) -> None:
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        app.router.add_get("/", self._file)
        app.router.add_get("/page.js", self._file)
        app.router.add_get("/page.css", self._file)
        app.router.add_get("/events", self._events)
        app.router.add_post("/api/{kind}", self._request)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.address, self.port).start()

    def _notify(self) -> None:
        """Any thread (the main one publishes): wake every open stream."""
        self.loop.call_soon_threadsafe(self._wake_streams)

    def _wake_streams(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # -- who may ask ---------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        problem = self._problem(request)
        if problem is not None:
            self.refused += 1
            status, reason = problem
            log.debug("page: refused %s %s from %s: %s", request.method, request.path, request.remote, reason)
            return web.Response(status=status, text=reason + "\n")
        response = await handler(request)
        if request.query.get("token") and not self.local:  # the link's token, kept as a cookie
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict", max_age=10**8)
        return response

    def _problem(self, request: web.Request) -> tuple[int, str] | None:
        """Why a request is refused (status, reason), or None."""
        if not self._within_rate(request.remote or ""):
            return 429, "too many requests"
        if self.local and request.host.rsplit(":", 1)[0] not in ("127.0.0.1", "localhost", "[::1]"):
            return 403, "this page answers to localhost only"
        if not self.local:
            given = request.cookies.get(COOKIE) or request.query.get("token") or ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return 403, "the token is missing or wrong (jazzd doctor shows the link)"
        if request.method == "GET":
            return None
        if request.method != "POST":
            return 405, "only GET and POST"
        if request.headers.get("Origin") != f"http://{request.host}":
            return 403, "cross-site requests are refused"
        if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
            return 403, "cross-site requests are refused"
        if request.content_type != "application/json":
            return 415, "send JSON"
        return None

    def _within_rate(self, address: str) -> bool:
        now = time.monotonic()
        tokens, when = self._buckets.pop(address, (BURST, now))
        tokens = min(BURST, tokens + (now - when) * RATE)
        if len(self._buckets) >= MAX_CLIENTS:
            self._buckets.pop(next(iter(self._buckets)))
        self._buckets[address] = (tokens - 1, now)
        return tokens >= 1

    # -- what it serves ------------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.Response:
        name, kind = FILES[request.path]
        text = resources.files("jazzd.live").joinpath("page", name).read_text(encoding="utf-8")
        headers = {
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        return web.Response(text=text, content_type=kind, headers=headers)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: the state now, then each time it changes."""
        if self.streams >= MAX_STREAMS:
            return web.Response(status=503, text="too many pages open\n")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        self.streams += 1
        if self.streams == 1:
            self.stage.watchers = [self._notify]  # the main thread starts publishing
            self.stage.ask("show", None, "page")
        try:
            sent = None
            while not self._closing:
                changed = self._changed
                state = self.stage.state
                if state is not sent and state:
                    await response.write(f"data: {json.dumps(state)}\n\n".encode())
                    sent = state
                await changed.wait()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.streams -= 1
            if self.streams == 0:
                self.stage.watchers = []
        return response

    async def _request(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        try:
            value = (await request.json()).get("value")
        except (ValueError, AttributeError):
            self.refused += 1
            return web.Response(status=400, text='send {"value": ...}\n')
        problem = check_request(kind, value, len(self.stage.setlist))
        if problem is not None:
            self.refused += 1
            return web.Response(status=400, text=problem + "\n")
        self.stage.ask(kind, value, "page")
        return web.json_response({"ok": True})
