"""The web server's own limits, below the application: a cap on open connections (in all, and per address), and a
deadline for a new connection's request headers (slowloris: many sockets each sending a header line now and then
would otherwise hold the server's connections for as long as they like).

aiohttp has no header timeout of its own (its keep-alive timer covers the wait between requests, and only recent
versions start it when a connection opens), so `ConnectionGuard` wraps aiohttp's protocol factory: it counts
connections, refuses beyond the caps with a 429/503 JSON answer, and closes a connection whose first request head
(up to the blank line) has not arrived within `head_timeout_s`. It also makes aiohttp's own low-level errors (a
malformed request, 400) JSON with our security headers. `listen` starts a listening socket with it."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import ssl
from collections import Counter
from http import HTTPStatus
from typing import Callable

from aiohttp import web

from server.headers import security_headers

log = logging.getLogger("server.connections")

_END_OF_HEAD = b"\r\n\r\n"


def raw_response(status: int, message: str, extra: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 answer as bytes, for a connection we are about to close before aiohttp has seen it."""
    body = json.dumps({"error": message}).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body)),
               "Connection": "close", **security_headers("/", status), **(extra or {})}
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


def is_loopback_address(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class ConnectionGuard:
    """`trusted(address)`: this computer (the facilitator) and the session's partner. The other addresses together
    may hold at most `max_connections - reserved` connections, so the LAN can never lock the facilitator or the
    partner out (an audit's four LAN peers holding 32 each took all 128 before). `reserved` defaults to one address's
    share."""

    def __init__(self, *, max_connections: int, max_per_address: int, head_timeout_s: float,
                 reserved: int | None = None, trusted: Callable[[str], bool] = is_loopback_address):
        self.max_connections, self.max_per_address = max_connections, max_per_address
        self.reserved = min(max_per_address if reserved is None else reserved, max_connections - 1)
        self.head_timeout_s = head_timeout_s
        self.trusted = trusted
        self.open = 0
        self.untrusted_open = 0
        self.by_address: Counter[str] = Counter()
        self._trusted_at: dict[str, bool] = {}  # per open address: as judged when its first connection came
        self.refused = 0
        self.timed_out = 0

    def factory(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Guarded(self, inner)

    def admit(self, address: str) -> bytes | None:
        """None when the connection may stay (and it is counted), else the answer to close it with."""
        if self.by_address[address] >= self.max_per_address:
            self.refused += 1
            return raw_response(429, f"too many connections from this address (at most {self.max_per_address}): "
                                     "close some, then try again", {"Retry-After": "5"})
        if self.open >= self.max_connections:
            self.refused += 1
            return raw_response(503, "the coach's web server is at its connection limit: try again in a moment",
                                {"Retry-After": "5"})
        trusted = self._trusted_at.get(address)
        if trusted is None:
            trusted = bool(self.trusted(address))
        if not trusted and self.untrusted_open >= self.max_connections - self.reserved:
            self.refused += 1
            return raw_response(503, "the network's share of the coach's connections is in use: try again in a moment",
                                {"Retry-After": "5"})
        self.open += 1
        self.untrusted_open += not trusted
        self.by_address[address] += 1
        self._trusted_at[address] = trusted
        return None

    def release(self, address: str) -> None:
        self.open -= 1
        self.untrusted_open -= not self._trusted_at.get(address, True)
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]
            self._trusted_at.pop(address, None)


class _Guarded(asyncio.Protocol):
    """Stands between the transport and aiohttp's RequestHandler, passing everything through."""

    def __init__(self, guard: ConnectionGuard, inner: Callable[[], asyncio.Protocol]):
        self._guard, self._make_inner = guard, inner
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._address = "?"
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""  # the last bytes seen, so a blank line split across two reads is still found

    def connection_made(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        self._address = peer[0] if peer else "?"
        refusal = self._guard.admit(self._address)
        if refusal is not None:
            transport.write(refusal)
            transport.close()
            return
        self._transport = transport
        self._inner = self._make_inner()
        if isinstance(self._inner, web.RequestHandler):
            _answer_low_level_errors_as_json(self._inner)
        self._deadline = asyncio.get_running_loop().call_later(self._guard.head_timeout_s, self._too_slow)
        self._inner.connection_made(transport)

    def _too_slow(self) -> None:
        self._deadline = None
        self._guard.timed_out += 1
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(raw_response(408, f"no complete request within {self._guard.head_timeout_s:g} s"))
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._deadline is not None:
            seen = self._tail + data
            if _END_OF_HEAD in seen:
                self._deadline.cancel()
                self._deadline = None
                self._tail = b""
            else:
                self._tail = seen[-3:]
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._inner is not None:
            self._guard.release(self._address)
            inner, self._inner, self._transport = self._inner, None, None
            inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class _JSONErrorHandler(web.RequestHandler):
    """aiohttp's RequestHandler, except that the errors it answers by itself (a request it cannot parse, a
    handler's crash) are JSON with our security headers, not bare text."""

    __slots__ = ()  # no state of its own: an existing handler can become one (see below)

    def handle_error(self, request, status: int = 500, exc=None, message=None):
        plain = super().handle_error(request, status, exc, message)  # logs, and refuses once output was sent
        text = ("internal error: see the coach's log" if plain.status >= 500
                else f"{HTTPStatus(plain.status).phrase.lower()}: the request could not be read")
        answer = web.json_response({"error": text}, status=plain.status,
                                   headers=security_headers(request.path, plain.status))
        answer.force_close()
        return answer


def _answer_low_level_errors_as_json(handler: web.RequestHandler) -> None:
    # aiohttp's Server makes plain RequestHandlers and offers no way to choose the class; the subclass adds no
    # state, so the handler just made can change class. Should a future aiohttp refuse, errors stay aiohttp's own.
    try:
        handler.__class__ = _JSONErrorHandler
    except TypeError:
        log.debug("aiohttp's low-level errors stay plain text")


def runner_options(timeout_s: float) -> dict:
    """What `web.AppRunner` gets beside the guard: no access log (it would hold invite codes and session ids); an idle
    kept-alive connection closed after `timeout_s`, which also cuts off a slow second request's headers; and after
    answering without reading a whole body (a refusal, a 408), at most 1 s of reading what is left instead of 10."""
    return {"access_log": None, "keepalive_timeout": timeout_s, "lingering_time": 1.0}


async def listen(runner: web.AppRunner, guard: ConnectionGuard, host: str, port: int,
                 ssl_context: ssl.SSLContext | None = None) -> asyncio.AbstractServer:
    """A listening socket served by `runner`'s app behind `guard`. Close it (server.close()) before runner.cleanup().
    A TLS handshake gets the same deadline as the headers."""
    assert runner.server is not None, "runner.setup() first"
    loop = asyncio.get_running_loop()
    return await loop.create_server(guard.factory(runner.server), host, port, ssl=ssl_context, reuse_address=True,
                                    ssl_handshake_timeout=guard.head_timeout_s if ssl_context else None)
