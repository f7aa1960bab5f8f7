"""Same-origin proxy of LiveKit signaling under /rtc, so a browser needs only our HTTPS port plus media ports.
Forwards sub-paths (the SDKs join on /rtc/v1), the query string and the Authorization header."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSMsgType, web

log = logging.getLogger("server.proxy")

_FORWARD_HEADERS = ("Authorization", "User-Agent", "Accept", "Content-Type")


def _upstream(base_http: str, request: web.Request) -> str:
    return base_http.rstrip("/") + request.rel_url.path_qs


async def rtc_proxy(request: web.Request, upstream_http: str, client: aiohttp.ClientSession) -> web.StreamResponse:
    headers = {h: request.headers[h] for h in _FORWARD_HEADERS if h in request.headers}
    url = _upstream(upstream_http, request)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _proxy_ws(request, url.replace("http://", "ws://", 1).replace("https://", "wss://", 1), headers, client)
    try:
        async with client.request(request.method, url, headers=headers, data=await request.read(),
                                  allow_redirects=False) as resp:
            body = await resp.read()
            return web.Response(status=resp.status, body=body, content_type=resp.content_type)
    except aiohttp.ClientError as e:
        log.warning("LiveKit signaling unreachable: %s", type(e).__name__)
        return web.json_response({"error": "the LiveKit server is not reachable: is `coach serve` still running?"}, status=502)


async def _proxy_ws(request: web.Request, url: str, headers: dict, client: aiohttp.ClientSession) -> web.StreamResponse:
    try:
        upstream = await client.ws_connect(url, headers=headers, autoping=True, max_msg_size=0)
    except aiohttp.WSServerHandshakeError as e:
        # Pass LiveKit's refusal (e.g. 401 for a bad token) through, so clients report the real reason.
        return web.json_response({"error": f"LiveKit refused the connection ({e.status})"}, status=e.status)
    except aiohttp.ClientError as e:
        log.warning("LiveKit signaling unreachable: %s", type(e).__name__)
        return web.json_response({"error": "the LiveKit server is not reachable"}, status=502)
    downstream = web.WebSocketResponse(autoping=True, max_msg_size=0)
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
