"""Which requests may speak to us: a Host we are known by, and when a browser says where a request comes from
(Origin), our own origin exactly.

"From this computer" is decided by the socket's peer address, and a page the facilitator happens to have open can
reach 127.0.0.1 too: by DNS rebinding (evil.example resolving to 127.0.0.1, Host "evil.example") or by posting a
form across sites (or from another web app on this computer, on another port). Checking Host shuts out the first
(Ollama's CVE-2024-28224 was this hole), checking Origin the others. Clients that are not browsers send no Origin
and cannot be driven by a web page, so they pass that check (server/facilitator.py decides who they may be).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from aiohttp import web

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(request: web.Request) -> bool:
    """The peer is on this computer (decided by the socket, never by a header)."""
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    """'127.0.0.1:8080' -> '127.0.0.1', '[::1]:8080' -> '::1', lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_names(lan_ip: str, extra: list[str]) -> frozenset[str]:
    return frozenset([*LOOPBACK_NAMES, lan_ip.lower(), *(n.strip().lower() for n in extra if n.strip())])


def _port(host: str, secure: bool) -> int | None:
    """The port in a Host header ('127.0.0.1:8080', '[::1]:8443'), or the scheme's default."""
    tail = host.rsplit("]", 1)[-1] if host.startswith("[") else (host if host.count(":") == 1 else "")
    if ":" not in tail:
        return 443 if secure else 80
    try:
        return int(tail.rsplit(":", 1)[1])
    except ValueError:
        return None


def _ours(origin: str, request: web.Request, names: frozenset[str]) -> bool:
    """The Origin is the very origin the request was sent to: one of our names and the same port. Another port of
    this computer (any local web app) is another origin, though browsers count it as the same site."""
    parts = urlsplit(origin)
    try:
        origin_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    name = (parts.hostname or "").lower()
    scheme = "https" if request.secure else "http"  # https://127.0.0.1:8080 is not the origin of http://127.0.0.1:8080
    return (parts.scheme == scheme and name in names and name == host_name(request.host or "")
            and origin_port == _port(request.host or "", request.secure))


def refusal(request: web.Request, names: frozenset[str]) -> str | None:
    """Why this request is refused, or None."""
    name = host_name(request.host or "")
    if name not in names:
        return (f"unknown Host {name!r}: this server answers only to this computer's own addresses; to reach it by "
                "another name, add it to COACH_ALLOWED_HOSTS")
    # Browsers send Origin with every cross-origin request (reads through fetch included) and with same-origin ones
    # that change state; our own pages' plain reads carry none.
    origin = request.headers.get("Origin")
    if origin is not None and not _ours(origin, request, names):
        return f"cross-site request refused (Origin {origin!r}): use the coach's own pages"
    # Defence in depth where Origin is absent: a browser says where any request comes from. Only a page opened from
    # elsewhere (an invite link in a chat) may come from another site; reads and writes come from our own pages.
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    if site in ("cross-site", "same-site"):
        navigation = request.method in ("GET", "HEAD") and request.headers.get("Sec-Fetch-Mode", "").lower() == "navigate"
        if not navigation:
            return f"cross-site request refused (Sec-Fetch-Site {site}): use the coach's own pages"
    return None
