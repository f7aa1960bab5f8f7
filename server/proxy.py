"""Same-origin proxy of LiveKit signaling under /rtc, so a browser needs only our HTTPS port plus media ports.
Forwards only the paths LiveKit's clients use (judged on the raw, undecoded path: "/rtc/%2e%2e/twirp/..." must not
become "/twirp/..." upstream), the query string as it came, and the Authorization header."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import yarl
from aiohttp import WSMsgType, web

log = logging.getLogger("server.proxy")

_FORWARD_HEADERS = ("Authorization", "User-Agent", "Accept", "Content-Type")
# The signaling paths of livekit-client 2.x and the Python SDK: join (v0 and v1) and the reason check on failure.
ALLOWED_PATHS = frozenset({"/rtc", "/rtc/", "/rtc/v1", "/rtc/validate", "/rtc/v1/validate"})
MAX_MESSAGE_BYTES = 1 << 20  # signaling messages are SDP and small events; a 200 MB message is an attack
READ_TIMEOUT_S = 10.0  # a request body trickled in slowly must not hold the connection


def allowed_path(raw_path: str) -> str | None:
    """The raw path if it is one LiveKit's clients use, else None; percent-escapes never pass."""
    path = raw_path.split("?", 1)[0]
    return path if path in ALLOWED_PATHS else None


def _upstream(base_http: str, request: web.Request, path: str) -> str:
    query = request.raw_path.partition("?")[2]
    return base_http.rstrip("/") + path + (f"?{query}" if query else "")


async def rtc_proxy(request: web.Request, upstream_http: str, client: aiohttp.ClientSession) -> web.StreamResponse:
    path = allowed_path(request.raw_path)
    if path is None:
        return web.json_response({"error": "no such endpoint"}, status=404)
    headers = {h: request.headers[h] for h in _FORWARD_HEADERS if h in request.headers}
    url = _upstream(upstream_http, request, path)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _proxy_ws(request, url.replace("http://", "ws://", 1).replace("https://", "wss://", 1), headers, client)
    try:
        body = await asyncio.wait_for(request.read(), READ_TIMEOUT_S)
    except asyncio.TimeoutError:
        return web.json_response({"error": f"the request did not arrive within {READ_TIMEOUT_S:g} s"}, status=408)
    try:
        async with client.request(request.method, yarl.URL(url, encoded=True), headers=headers, data=body,
                                  allow_redirects=False) as resp:
            body = await resp.read()
            return web.Response(status=resp.status, body=body, content_type=resp.content_type)
    except aiohttp.ClientError as e:
        log.warning("LiveKit signaling unreachable: %s", type(e).__name__)
        return web.json_response({"error": "the LiveKit server is not reachable: is `coach serve` still running?"}, status=502)


async def _proxy_ws(request: web.Request, url: str, headers: dict, client: aiohttp.ClientSession) -> web.StreamResponse:
    try:
        upstream = await client.ws_connect(yarl.URL(url, encoded=True), headers=headers, autoping=True,
                                           max_msg_size=MAX_MESSAGE_BYTES)
    except aiohttp.WSServerHandshakeError as e:
        # Pass LiveKit's refusal (e.g. 401 for a bad token) through, so clients report the real reason.
        return web.json_response({"error": f"LiveKit refused the connection ({e.status})"}, status=e.status)
    except aiohttp.ClientError as e:
        log.warning("LiveKit signaling unreachable: %s", type(e).__name__)
        return web.json_response({"error": "the LiveKit server is not reachable"}, status=502)
    downstream = web.WebSocketResponse(autoping=True, max_msg_size=MAX_MESSAGE_BYTES)
    await downstream.prepare(request)

    async def pump(src, dst) -> None:
        async for msg in src:
            if msg.type == WSMsgType.BINARY:
                await dst.send_bytes(msg.data)
            elif msg.type == WSMsgType.TEXT:
                await dst.send_str(msg.data)
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break

    tasks = [asyncio.create_task(pump(downstream, upstream)), asyncio.create_task(pump(upstream, downstream))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await upstream.close()
        await downstream.close()
    return downstream
