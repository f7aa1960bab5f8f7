"""Which requests may speak to us: a Host we are known by, and for anything that changes state, an Origin of ours.

"From this computer" is decided by the socket's peer address, and a page the facilitator happens to have open can
reach 127.0.0.1 too: by DNS rebinding (evil.example resolving to 127.0.0.1, Host "evil.example") or by posting a
form across sites. Checking Host shuts out the first (Ollama's CVE-2024-28224 was this hole), checking Origin the
second. Clients that are not browsers send no Origin and cannot be driven by a web page, so they pass that check.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from aiohttp import web

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


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


def refusal(request: web.Request, names: frozenset[str]) -> str | None:
    """Why this request is refused, or None."""
    name = host_name(request.host or "")
    if name not in names:
        return (f"unknown Host {name!r}: this server answers only to this computer's own addresses; to reach it by "
                "another name, add it to COACH_ALLOWED_HOSTS")
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    origin = request.headers.get("Origin")
    if origin is None or (request.method in SAFE_METHODS and not websocket):
        return None
    parts = urlsplit(origin)
    if origin == "null" or parts.scheme not in ("http", "https") or (parts.hostname or "") not in names:
        return f"cross-site request refused (Origin {origin!r}): use the coach's own pages"
    return None
