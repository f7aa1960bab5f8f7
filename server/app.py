"""The aiohttp application: pages, session API, tokens, and the /rtc signaling proxy.

Who may do what: server/trust.py (Host and Origin), server/facilitator.py (the facilitator's cookie or passcode),
per-address rate limits (server/limits.py), at most `max_sessions` live, idle ones ended (server/lifecycle.py).
Every answer, errors included, carries server/headers.py's security headers; every error is JSON that says why."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Callable, Protocol

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ValidationError

from coach.config import REPO_DIR, Settings
from server import facilitator, lifecycle, openapi, trust
from server.headers import security_headers
from server.limits import SlidingWindow, retry_after
from server.proxy import rtc_proxy
from server.rooms import LiveKitRooms, Rooms, RoomsUnavailable
from server.schemas import (ControlResult, FacilitatorCredentials, FacilitatorView, JoinRequest, PartnerView,
                            RejoinRequest)
from server.sessions import InviteError, Session, SessionStore
from server.state import (CONFIG, FACILITATOR_SECRET, HOOKS, HTTP, LIMITS, PARTNER_ADDRESSES, ROOMS, STORE,  # noqa: F401
                          RateLimits, ServerConfig)
from server.tokens import LiveKitKeys, mint

log = logging.getLogger("server.app")

WEB_DIR = REPO_DIR / "web"
VENDOR_JS = WEB_DIR / "node_modules" / "livekit-client" / "dist" / "livekit-client.umd.js"


class CoachHooks(Protocol):
    """What the server asks of the coach. Implemented by coach.room; a fake in tests."""

    async def session_created(self, session: Session, credentials: Callable[[], tuple[str, str]]) -> None:
        """`credentials()` gives the LiveKit url and a freshly minted coach token, each time the coach (re)joins."""

    async def partner_joined(self, session: Session) -> None: ...

    async def set_paused(self, session: Session, paused: bool) -> None: ...

    async def session_ended(self, session: Session) -> None: ...

    def state(self, session: Session) -> str: ...


def _error(status: int, message: str, headers: dict | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


class _JSONError(web.HTTPError):
    """An error answer of any 4xx/5xx status, raised from deep in a handler (the middleware sends it as it is)."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        self.status_code = status  # aiohttp reads the status from here
        super().__init__(text=json.dumps({"error": message}), content_type="application/json", headers=headers)


def _limit(request: web.Request, window: SlidingWindow, what: str) -> None:
    """Counts one `what` for the caller's address; past the limit, a 429 saying when to try again."""
    wait = window.take(request.remote or "?")
    if wait:
        raise _JSONError(429, f"too many {what} from this address: try again in {retry_after(wait)} s",
                         {"Retry-After": retry_after(wait)})


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _livekit_url_for(request: web.Request) -> str:
    """Where the caller reaches our /rtc proxy: the address it used, when that is on this machine (a page's
    connect-src 'self' allows nothing else), else the LAN address over TLS."""
    cfg = request.app[CONFIG]
    if trust.is_loopback(request):
        host = request.host or ""
        if host.rsplit(":", 1)[0] in _LOOPBACK_HOSTS or host.startswith("127."):
            return f"{'wss' if request.secure else 'ws'}://{host}"
        return f"ws://127.0.0.1:{cfg.settings.http_port}"
    return f"wss://{cfg.lan_ip}:{cfg.settings.https_port}"


async def _json_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_type != "application/json":
        raise _JSONError(415, "send JSON (Content-Type: application/json)")
    timeout = request.app[CONFIG].settings.http_timeout_s
    try:
        raw = await asyncio.wait_for(request.read(), timeout)  # over the size limit: 413, from the middleware
    except asyncio.TimeoutError:  # a body trickled in a byte at a time holds a connection like slow headers
        raise _JSONError(408, f"the request body did not arrive within {timeout:g} s")
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}" for err in e.errors()[:5])
        raise _JSONError(400, f"invalid request: {problems}")


def _session_or_404(request: web.Request) -> Session:
    session = request.app[STORE].get(request.match_info["sid"])
    if session is None:
        raise _JSONError(404, "no such session: it may have ended a while ago; start a new one")
    return session


def _facilitator_view(request: web.Request, session: Session, invite_code: str | None = None) -> dict:
    cfg = request.app[CONFIG]
    s = cfg.settings
    token = None if session.ended else mint(  # ended means ended: no way back into the room
        cfg.keys, room=session.room, identity=session.facilitator_identity, name="Facilitator", role="facilitator",
        ttl_s=s.token_ttl_s)
    view = FacilitatorView(
        session_id=session.id, room=session.room, livekit_url=_livekit_url_for(request),
        facilitator=FacilitatorCredentials(identity=session.facilitator_identity, token=token),
        coach_identity=session.coach_identity, partner_identity=session.partner_identity,
        coach_state=request.app[HOOKS].state(session), ended=session.ended,
        invite_url=f"https://{cfg.lan_ip}:{s.https_port}/join#{invite_code}" if invite_code else None,
    ).model_dump()
    if invite_code is None:
        del view["invite_url"]  # shown once, at creation: it is never stored in clear
    return view


def _partner_view(request: web.Request, session: Session, rejoin_code: str) -> dict:
    cfg = request.app[CONFIG]
    token = mint(cfg.keys, room=session.room, identity=session.partner_identity, name=session.partner_name or "Partner",
                 role="partner", ttl_s=cfg.settings.token_ttl_s, metadata=json.dumps({"consent": True}))
    return PartnerView(identity=session.partner_identity, token=token, livekit_url=_livekit_url_for(request),
                       coach_identity=session.coach_identity, rejoin=rejoin_code).model_dump()


# ---- handlers ------------------------------------------------------------------------------------------------


async def create_session(request: web.Request) -> web.Response:
    app = request.app
    facilitator.require(request)  # who is asking first: a caller without the cookie never spends the facilitator's budget
    _limit(request, app[LIMITS].create, "new sessions")
    cfg, store = app[CONFIG], app[STORE]
    live = len(store.live())
    if live >= cfg.settings.max_sessions:  # each holds a coach: memory and CPU are what bound them
        return _error(429, f"{live} sessions are running, the most at once: end one first (or raise "
                           "COACH_MAX_SESSIONS)")
    session, code = store.create()
    try:
        await app[ROOMS].create(session.room)  # rooms are made only here (livekit.yaml: room.auto_create off)
    except RoomsUnavailable as e:
        store.discard(session.id)
        log.warning("no room for a new session: %s", e)
        return _error(503, "the LiveKit server is not reachable, so no session can start: check that `coach serve` "
                           "is still running, then try again")
    url = cfg.livekit_http.replace("http", "ws", 1)

    def credentials() -> tuple[str, str]:
        return url, mint(cfg.keys, room=session.room, identity=session.coach_identity, name="Coach", role="coach",
                         ttl_s=cfg.settings.token_ttl_s)

    try:
        await app[HOOKS].session_created(session, credentials)
    except Exception:
        log.exception("the coach could not start for session %s", session.id)
    return web.json_response(_facilitator_view(request, session, code), status=201)


async def get_session(request: web.Request) -> web.Response:
    facilitator.require(request)
    session = _session_or_404(request)
    if not session.ended:
        request.app[STORE].touch(session)  # a facilitator page (re)loading: the session is in use
    return web.json_response(_facilitator_view(request, session))


async def control_session(request: web.Request) -> web.Response:
    facilitator.require(request)
    session = _session_or_404(request)
    action = request.match_info["action"]
    hooks = request.app[HOOKS]
    if session.ended:
        return _error(410, "this session has ended: start a new one")
    request.app[STORE].touch(session)
    try:
        if action in ("pause", "resume"):
            await hooks.set_paused(session, action == "pause")
        else:  # end
            await lifecycle.end_session(request.app, session)
    except Exception:
        log.exception("%s failed for session %s", action, session.id)
        return _error(500, f"could not {action} the coach: see the server log")
    return web.json_response(ControlResult(session_id=session.id, coach_state=hooks.state(session),
                                           ended=session.ended).model_dump())


async def join(request: web.Request) -> web.Response:
    _limit(request, request.app[LIMITS].join, "joins")
    body = await _json_body(request, JoinRequest)
    try:
        session, rejoin_code = request.app[STORE].redeem(body.invite, body.name, body.consent)
    except InviteError as e:
        return _error(e.status, str(e))
    request.app[PARTNER_ADDRESSES][session.id] = request.remote
    try:
        await request.app[HOOKS].partner_joined(session)
    except Exception:
        log.exception("the coach failed to note the partner in session %s", session.id)
    return web.json_response(_partner_view(request, session, rejoin_code))


async def rejoin(request: web.Request) -> web.Response:
    """A partner who reloads the page gets a fresh token for the same identity (the invite is spent), and a new
    rejoin code: the one just used is dead, so a copied code is good for one use at most."""
    _limit(request, request.app[LIMITS].rejoin, "rejoins")
    body = await _json_body(request, RejoinRequest)
    try:
        session, new_code = request.app[STORE].rejoin(body.rejoin)
    except InviteError as e:
        return _error(e.status, str(e))
    request.app[PARTNER_ADDRESSES][session.id] = request.remote  # a partner back from another address
    return web.json_response(_partner_view(request, session, new_code))


async def qr_code(request: web.Request) -> web.Response:
    """The invite link as a QR code (SVG), drawn here so the page needs no outside service."""
    facilitator.require(request)
    text = request.query.get("text", "")
    if not text or len(text) > 512:
        return _error(400, "give the text to encode as ?text=... (at most 512 characters)")
    import io

    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="svg", scale=6, border=2, dark="#1b2a3a")
    return web.Response(body=buf.getvalue(), content_type="image/svg+xml")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi.build(facilitator.cookie_name(request.app)))


def _page(name: str, *, facilitator_page: bool = False):
    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(WEB_DIR / name)
        if facilitator_page:
            facilitator.hand_out(request, response)
        return response

    return handler


STATIC_DIR = (WEB_DIR / "static").resolve()


async def static_file(request: web.Request) -> web.StreamResponse:
    """Our scripts and styles. Not aiohttp's add_static: it finds a missing file only while sending, too late for
    a JSON 404 with our headers."""
    try:
        path = (STATIC_DIR / request.match_info["name"]).resolve()
        found = path.is_relative_to(STATIC_DIR) and path.is_file()
    except (OSError, ValueError):  # a name no file can have (a NUL byte, too long)
        found = False
    if not found:
        raise _JSONError(404, "no such file")
    return web.FileResponse(path)


async def vendor_livekit(request: web.Request) -> web.StreamResponse:
    if not VENDOR_JS.is_file():
        return _error(503, "livekit-client is not installed: run scripts/install.sh (it fetches it with npm)")
    return web.FileResponse(VENDOR_JS, headers={"Content-Type": "application/javascript"})


async def proxy(request: web.Request) -> web.StreamResponse:
    return await rtc_proxy(request, request.app[CONFIG].livekit_http, request.app[HTTP])


# ---- middleware and app --------------------------------------------------------------------------------------


@web.middleware
async def trusted_requests(request: web.Request, handler):
    """A Host we are known by, and an Origin of ours on anything that changes state (server/trust.py)."""
    if reason := trust.refusal(request, request.app[CONFIG].allowed_names):
        return _error(403 if reason.startswith("cross-site") else 421, reason)
    return await handler(request)


_REASONS = {404: "no such page or endpoint: check the address (the API is described at /api/openapi.json)",
            405: "method not allowed here (the API is described at /api/openapi.json)"}


@web.middleware
async def secure_responses(request: web.Request, handler):
    """Outermost: every error is JSON with a reason, and every answer (errors, refusals, pages) carries the same
    security headers."""
    try:
        response = await handler(request)
    except web.HTTPException as e:
        if e.status < 400:  # a redirect: passes as it is, with our headers
            e.headers.update({k: v for k, v in security_headers(request.path).items() if k not in e.headers})
            raise
        if e.content_type == "application/json":
            text = e.text
        elif e.status == 413:
            text = json.dumps({"error": f"request body too large (limit {request.app[CONFIG].settings.max_body_bytes} "
                                        "bytes)"})
        else:
            text = json.dumps({"error": _REASONS.get(e.status, (e.reason or "error").lower())})
        keep = {k: v for k, v in e.headers.items() if k.lower() not in ("content-type", "content-length")}
        response = web.Response(status=e.status, text=text, content_type="application/json", headers=keep)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.rel_url.path)
        response = _error(500, "internal error: see the coach's log")
    if isinstance(response, web.StreamResponse) and not response.prepared:
        for name, value in security_headers(request.path, response.status).items():
            response.headers.setdefault(name, value)
    return response


class NoCoach:
    """Hooks for a server without a coach (tests of the API alone, or a coach that failed to load)."""

    async def session_created(self, session, credentials):
        pass

    async def partner_joined(self, session):
        pass

    async def set_paused(self, session, paused):
        pass

    async def session_ended(self, session):
        pass

    def state(self, session) -> str:
        return "offline"


def create_app(settings: Settings, *, keys: LiveKitKeys, lan_ip: str, livekit_http: str | None = None,
               hooks: CoachHooks | None = None, store: SessionStore | None = None, rooms: Rooms | None = None,
               limits: RateLimits | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[secure_responses, trusted_requests])
    app[CONFIG] = ServerConfig(settings, keys, lan_ip, livekit_http or f"http://127.0.0.1:{settings.livekit_port}",
                               trust.allowed_names(lan_ip, settings.allowed_hosts.split(",")))
    app[STORE] = store or SessionStore(invite_ttl_s=settings.invite_ttl_s)
    app[HOOKS] = hooks or NoCoach()
    # LiveKit closes an emptied room itself only well after we would have ended its session (a backstop).
    backstop_s = int(settings.session_idle_s + 2 * lifecycle.SWEEP_EVERY_S)
    app[ROOMS] = rooms or LiveKitRooms(app[CONFIG].livekit_http, keys, lambda: app[HTTP], empty_timeout_s=backstop_s,
                                       departure_timeout_s=backstop_s)
    app[LIMITS] = limits or RateLimits.default()
    app[PARTNER_ADDRESSES] = {}
    app[FACILITATOR_SECRET] = facilitator.new_secret()

    async def http_client(app: web.Application):
        app[HTTP] = aiohttp.ClientSession()
        yield
        await app[HTTP].close()

    app.cleanup_ctx.append(http_client)
    app.cleanup_ctx.append(lifecycle.expiry)  # after the client it uses: stopped before it
    app.router.add_get("/", _page("index.html", facilitator_page=True))
    app.router.add_get("/facilitator", _page("facilitator.html", facilitator_page=True))
    app.router.add_get("/join", _page("partner.html"))
    app.router.add_get("/vendor/livekit-client.js", vendor_livekit)
    app.router.add_get("/static/{name:.+}", static_file)
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_post("/api/sessions", create_session)
    app.router.add_get("/api/sessions/{sid}", get_session)
    app.router.add_post("/api/sessions/{sid}/{action:pause|resume|end}", control_session)
    app.router.add_post("/api/join", join)
    app.router.add_post("/api/rejoin", rejoin)
    app.router.add_get("/api/qr", qr_code)
    app.router.add_route("*", "/rtc", proxy)
    app.router.add_route("*", "/rtc/{tail:.*}", proxy)
    return app
