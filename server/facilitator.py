"""Who is the facilitator: the person at this computer who opened our page, or someone with the passcode.

"From this computer" is not enough on its own: any program here, and any web page the facilitator has open,
can reach 127.0.0.1. So opening one of our pages from loopback hands out a per-launch secret as a cookie
(HttpOnly: no script reads it; SameSite=Strict: no other site's page or form sends it), and every facilitator
request from loopback must carry it. A facilitator on another device uses the passcode instead (at least 12
characters, and a few wrong tries a minute per address)."""

from __future__ import annotations

import hmac
import json
import secrets

from aiohttp import web

from server import trust
from server.limits import retry_after
from server.state import CONFIG, FACILITATOR_SECRET, LIMITS

PASSCODE_HEADER = "X-Facilitator-Passcode"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def cookie_name(app: web.Application) -> str:
    """One name per coach (its HTTP port): cookies ignore ports, and two coaches on one machine must not share."""
    return f"nbp-facilitator-{app[CONFIG].settings.http_port}"


def hand_out(request: web.Request, response: web.StreamResponse) -> None:
    """Gives the secret to a page opened on this computer (the Host was checked before: server/trust.py)."""
    if trust.is_loopback(request):
        # Not Secure: it never leaves this computer, and one set over https would keep the http page (which a
        # browser may not let overwrite it) from ever having it.
        response.set_cookie(cookie_name(request.app), request.app[FACILITATOR_SECRET], httponly=True,
                            samesite="Strict", path="/")


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _refuse(status: int, message: str, headers: dict | None = None) -> web.HTTPException:
    cls = web.HTTPTooManyRequests if status == 429 else web.HTTPForbidden
    return cls(text=json.dumps({"error": message}), content_type="application/json", headers=headers)


def require(request: web.Request) -> None:
    """Raises a 403 (or 429 for passcode guessing) unless the request comes from the facilitator."""
    app = request.app
    if trust.is_loopback(request) and _equal(request.cookies.get(cookie_name(app), ""), app[FACILITATOR_SECRET]):
        return
    given = request.headers.get(PASSCODE_HEADER, "")
    if given:
        guesses, peer = app[LIMITS].passcode, request.remote or "?"
        wait = guesses.wait_s(peer)
        if wait:
            raise _refuse(429, f"too many wrong passcodes from this address: wait {retry_after(wait)} s",
                          {"Retry-After": retry_after(wait)})
        passcode = app[CONFIG].settings.facilitator_passcode
        if passcode and _equal(given, passcode):
            guesses.clear(peer)
            return
        guesses.hit(peer)
        raise _refuse(403, "wrong facilitator passcode: check COACH_FACILITATOR_PASSCODE on the coach's computer")
    port = app[CONFIG].settings.http_port
    raise _refuse(403, f"only the facilitator can do this: open http://127.0.0.1:{port}/ on the coach's computer "
                       f"and use that page (another site's page cannot act for it); from another device, set "
                       f"COACH_FACILITATOR_PASSCODE and send it as {PASSCODE_HEADER}")
