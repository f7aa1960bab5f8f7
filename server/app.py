"""The aiohttp application: pages, session API, tokens, and the /rtc signaling proxy."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from coach.config import REPO_DIR, Settings
from server import trust
from server.proxy import rtc_proxy
from server.sessions import InviteError, Session, SessionStore
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


@dataclass
class ServerConfig:
    settings: Settings
    keys: LiveKitKeys
    lan_ip: str
    livekit_http: str  # where our proxy and the coach reach livekit-server, e.g. http://127.0.0.1:7880
    allowed_names: frozenset[str] = frozenset()  # Host names we answer to (server/trust.py)


CONFIG = web.AppKey("config", ServerConfig)
STORE = web.AppKey("store", SessionStore)
HOOKS = web.AppKey("hooks", object)
HTTP = web.AppKey("http", aiohttp.ClientSession)
PASSCODE_FAILURES = web.AppKey("passcode_failures", dict)  # peer address -> times of wrong passcodes
REJOIN = web.AppKey("rejoin", dict)  # rejoin secret -> (session id, expiry)
REJOIN_TTL_S = 6 * 3600.0  # a partner who reloads the page within a session's length gets back in


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invite: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=60)
    consent: StrictBool

    @field_validator("name")
    @classmethod
    def _clean_name(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("name must not be blank")
        return v


class RejoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rejoin: str = Field(min_length=8, max_length=128)


def _is_loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


PASSCODE_TRIES = 5  # wrong passcodes per address per PASSCODE_WINDOW_S before it must wait
PASSCODE_WINDOW_S = 60.0


def _require_facilitator(request: web.Request) -> None:
    if _is_loopback(request):
        return
    passcode = request.app[CONFIG].settings.facilitator_passcode
    given = request.headers.get("X-Facilitator-Passcode", "")
    failures = request.app[PASSCODE_FAILURES]
    now, peer = time.monotonic(), request.remote or "?"
    recent = [t for t in failures.get(peer, []) if now - t < PASSCODE_WINDOW_S]
    if len(recent) >= PASSCODE_TRIES:
        raise web.HTTPTooManyRequests(
            text=json.dumps({"error": f"too many wrong passcodes from this address: wait {PASSCODE_WINDOW_S:.0f} s"}),
            content_type="application/json")
    if passcode and hmac.compare_digest(given.encode(), passcode.encode()):
        failures.pop(peer, None)
        return
    if given:
        failures[peer] = [*recent, now]
        if len(failures) > 10_000:  # bounded: the oldest addresses go first
            failures.pop(next(iter(failures)))
    raise web.HTTPForbidden(
        text=json.dumps({"error": "only the facilitator can do this: use this computer, or set COACH_FACILITATOR_PASSCODE "
                                  "and send it as X-Facilitator-Passcode"}),
        content_type="application/json",
    )


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _livekit_url_for(request: web.Request) -> str:
    """Where the caller reaches our /rtc proxy: the address it used, when that is on this machine (a page's
    connect-src 'self' allows nothing else), else the LAN address over TLS."""
    cfg = request.app[CONFIG]
    if _is_loopback(request):
        host = request.host or ""
        if host.rsplit(":", 1)[0] in _LOOPBACK_HOSTS or host.startswith("127."):
            return f"{'wss' if request.secure else 'ws'}://{host}"
        return f"ws://127.0.0.1:{cfg.settings.http_port}"
    return f"wss://{cfg.lan_ip}:{cfg.settings.https_port}"


async def _json_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text=json.dumps({"error": "send JSON (Content-Type: application/json)"}),
                                           content_type="application/json")
    raw = await request.read()  # over the size limit: 413, answered by the middleware
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}" for err in e.errors()[:5])
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid request: {problems}"}), content_type="application/json")


def _session_or_404(request: web.Request) -> Session:
    session = request.app[STORE].get(request.match_info["sid"])
    if session is None:
        raise web.HTTPNotFound(text=json.dumps({"error": "no such session"}), content_type="application/json")
    return session


def _facilitator_view(request: web.Request, session: Session, invite_code: str | None = None) -> dict:
    cfg = request.app[CONFIG]
    s = cfg.settings
    token = None if session.ended else mint(  # ended means ended: no way back into the room
        cfg.keys, room=session.room, identity=session.facilitator_identity, name="Facilitator", role="facilitator",
        ttl_s=s.token_ttl_s)
    view = {
        "session_id": session.id,
        "room": session.room,
        "livekit_url": _livekit_url_for(request),
        "facilitator": {"identity": session.facilitator_identity, "token": token},
        "coach_identity": session.coach_identity,
        "partner_identity": session.partner_identity,
        "coach_state": request.app[HOOKS].state(session),
        "ended": session.ended,
    }
    if invite_code is not None:
        view["invite_url"] = f"https://{cfg.lan_ip}:{s.https_port}/join#{invite_code}"
    return view


# ---- handlers ------------------------------------------------------------------------------------------------


async def create_session(request: web.Request) -> web.Response:
    _require_facilitator(request)
    cfg = request.app[CONFIG]
    session, code = request.app[STORE].create()
    url = cfg.livekit_http.replace("http", "ws", 1)

    def credentials() -> tuple[str, str]:
        return url, mint(cfg.keys, room=session.room, identity=session.coach_identity, name="Coach", role="coach",
                         ttl_s=cfg.settings.token_ttl_s)

    try:
        await request.app[HOOKS].session_created(session, credentials)
    except Exception:
        log.exception("the coach could not start for session %s", session.id)
    return web.json_response(_facilitator_view(request, session, code), status=201)


async def get_session(request: web.Request) -> web.Response:
    _require_facilitator(request)
    return web.json_response(_facilitator_view(request, _session_or_404(request)))


async def control_session(request: web.Request) -> web.Response:
    _require_facilitator(request)
    session = _session_or_404(request)
    action = request.match_info["action"]
    hooks = request.app[HOOKS]
    if session.ended:
        return _error(410, "this session has ended: start a new one")
    try:
        if action in ("pause", "resume"):
            await hooks.set_paused(session, action == "pause")
        else:  # end
            request.app[STORE].end(session.id)
            await hooks.session_ended(session)
            await _delete_room(request.app, session)
    except Exception:
        log.exception("%s failed for session %s", action, session.id)
        return _error(500, f"could not {action} the coach: see the server log")
    return web.json_response({"session_id": session.id, "coach_state": hooks.state(session), "ended": session.ended})


async def _delete_room(app: web.Application, session: Session) -> None:
    """Disconnects everyone (the partner too) when the facilitator ends the session."""
    from livekit import api

    cfg = app[CONFIG]
    lk = api.LiveKitAPI(url=cfg.livekit_http, api_key=cfg.keys.api_key, api_secret=cfg.keys.api_secret, session=app[HTTP])
    try:
        await lk.room.delete_room(api.DeleteRoomRequest(room=session.room))
    except Exception as e:  # the room may already be gone, or LiveKit down: the session is ended either way
        log.info("could not delete room for session %s: %s", session.id, type(e).__name__)


async def join(request: web.Request) -> web.Response:
    body = await _json_body(request, JoinRequest)
    try:
        session = request.app[STORE].redeem(body.invite, body.name, body.consent)
    except InviteError as e:
        return _error(e.status, str(e))
    rejoin = secrets.token_urlsafe(24)
    rejoins = request.app[REJOIN]
    now = time.time()
    for code in [c for c, (_, expires) in rejoins.items() if expires < now]:
        del rejoins[code]
    rejoins[rejoin] = (session.id, now + REJOIN_TTL_S)
    try:
        await request.app[HOOKS].partner_joined(session)
    except Exception:
        log.exception("the coach failed to note the partner in session %s", session.id)
    return web.json_response(_partner_view(request, session) | {"rejoin": rejoin})


async def rejoin(request: web.Request) -> web.Response:
    """A partner who reloads the page gets a fresh token for the same identity (the invite is spent)."""
    body = await _json_body(request, RejoinRequest)
    sid, expires = request.app[REJOIN].get(body.rejoin, (None, 0.0))
    session = request.app[STORE].get(sid) if sid and expires >= time.time() else None
    if session is None:
        return _error(404, "unknown rejoin code: open the invite link again or ask the facilitator for a new one")
    if session.ended:
        return _error(410, "this session has ended")
    return web.json_response(_partner_view(request, session))


def _partner_view(request: web.Request, session: Session) -> dict:
    cfg = request.app[CONFIG]
    token = mint(cfg.keys, room=session.room, identity=session.partner_identity, name=session.partner_name or "Partner",
                 role="partner", ttl_s=cfg.settings.token_ttl_s, metadata=json.dumps({"consent": True}))
    return {"identity": session.partner_identity, "token": token, "livekit_url": _livekit_url_for(request),
            "coach_identity": session.coach_identity}


async def qr_code(request: web.Request) -> web.Response:
    """The invite link as a QR code (SVG), drawn here so the page needs no outside service."""
    _require_facilitator(request)
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


def _page(name: str):
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / name)

    return handler


async def vendor_livekit(request: web.Request) -> web.StreamResponse:
    if not VENDOR_JS.is_file():
        return _error(503, "livekit-client is not installed: run scripts/install.sh (it fetches it with npm)")
    return web.FileResponse(VENDOR_JS, headers={"Content-Type": "application/javascript"})


async def proxy(request: web.Request) -> web.StreamResponse:
    return await rtc_proxy(request, request.app[CONFIG].livekit_http, request.app[HTTP])


# ---- middleware and app --------------------------------------------------------------------------------------

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@web.middleware
async def trusted_requests(request: web.Request, handler):
    """A Host we are known by, and an Origin of ours on anything that changes state (server/trust.py)."""
    if reason := trust.refusal(request, request.app[CONFIG].allowed_names):
        return _error(403 if "Origin" in reason else 421, reason)
    return await handler(request)


@web.middleware
async def json_errors(request: web.Request, handler):
    """Every API error is JSON with a reason; pages get the browser-safe headers."""
    try:
        response = await handler(request)
    except web.HTTPException as e:
        if e.content_type == "application/json" or not request.path.startswith("/api/"):
            raise
        message = {413: f"request body too large (limit {request.app[CONFIG].settings.max_body_bytes} bytes)",
                   404: "no such endpoint", 405: "method not allowed"}.get(e.status, e.reason)
        return _error(e.status, message)
    if isinstance(response, web.StreamResponse) and not response.prepared:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Pages and API answers are never stored; scripts and styles may be kept but are checked every time.
        static = request.path.startswith(("/static/", "/vendor/"))
        response.headers.setdefault("Cache-Control", "no-cache" if static else "no-store")
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
               hooks: CoachHooks | None = None, store: SessionStore | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[trusted_requests, json_errors])
    app[CONFIG] = ServerConfig(settings, keys, lan_ip, livekit_http or f"http://127.0.0.1:{settings.livekit_port}",
                               trust.allowed_names(lan_ip, settings.allowed_hosts.split(",")))
    app[STORE] = store or SessionStore(invite_ttl_s=settings.invite_ttl_s)
    app[HOOKS] = hooks or NoCoach()
    app[REJOIN] = {}
    app[PASSCODE_FAILURES] = {}

    async def http_client(app: web.Application):
        app[HTTP] = aiohttp.ClientSession()
        yield
        await app[HTTP].close()

    app.cleanup_ctx.append(http_client)
    app.router.add_get("/", _page("index.html"))
    app.router.add_get("/facilitator", _page("facilitator.html"))
    app.router.add_get("/join", _page("partner.html"))
    app.router.add_get("/vendor/livekit-client.js", vendor_livekit)
    app.router.add_static("/static/", WEB_DIR / "static")
    app.router.add_get("/api/health", health)
    app.router.add_post("/api/sessions", create_session)
    app.router.add_get("/api/sessions/{sid}", get_session)
    app.router.add_post("/api/sessions/{sid}/{action:pause|resume|end}", control_session)
    app.router.add_post("/api/join", join)
    app.router.add_post("/api/rejoin", rejoin)
    app.router.add_get("/api/qr", qr_code)
    app.router.add_route("*", "/rtc", proxy)
    app.router.add_route("*", "/rtc/{tail:.*}", proxy)
    return app
