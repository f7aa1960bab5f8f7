"""What the outside audit of 2026-12 still found (issue 22), each with a test that failed before its fix."""

import asyncio

import pytest

from server.connections import ConnectionGuard, listen, runner_options
from tests.test_security_facilitator import make_app


@pytest.fixture
async def app_and_client(aiohttp_client, tmp_path):
    app = make_app(tmp_path)
    return app, await aiohttp_client(app)


# ---- 2: a local program without the cookie cannot spend the facilitator's budget ---------------------------------

async def test_cookie_less_posts_do_not_count_against_the_facilitator(app_and_client):
    _, client = app_and_client
    for _ in range(25):  # more than the 20 a minute the facilitator may create
        resp = await client.post("/api/sessions")
        assert resp.status in (401, 403), resp.status  # refused as who they are, not counted
    await client.get("/")  # the real facilitator's page: the cookie
    resp = await client.post("/api/sessions")
    assert resp.status == 201, await resp.text()


# ---- 6: Sec-Fetch-Site, and the Origin's scheme ---------------------------------------------------------------

async def test_an_origin_with_another_scheme_is_another_origin(app_and_client):
    _, client = app_and_client
    await client.get("/")
    resp = await client.post("/api/sessions", headers={"Origin": f"https://127.0.0.1:{client.port}"})
    assert resp.status == 403 and "cross-site" in (await resp.json())["error"]
    assert (await client.post("/api/sessions", headers={"Origin": f"http://127.0.0.1:{client.port}"})).status == 201


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_a_browser_request_from_another_site_is_refused_even_without_origin(app_and_client, site):
    _, client = app_and_client
    await client.get("/")
    for method, path in (("POST", "/api/sessions"), ("GET", "/api/qr?text=x"), ("POST", "/api/join")):
        resp = await client.request(method, path, headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "cors"})
        assert resp.status == 403 and "Sec-Fetch-Site" in (await resp.json())["error"], (method, path)


async def test_an_invite_link_opened_from_another_site_still_opens_the_page(app_and_client):
    _, client = app_and_client
    headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert (await client.get("/join", headers=headers)).status == 200
    own = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    await client.get("/")
    assert (await client.post("/api/sessions", headers=own)).status == 201


# ---- 1: the LAN cannot take every connection from the facilitator and the session's partner ----------------------

async def _hold(port: int, source: str) -> asyncio.StreamWriter | None:
    """A kept-alive connection from `source`: answered once, then held open (as the audit's peers did)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        writer.close()
        return None
    return writer


async def test_lan_addresses_together_leave_room_for_the_facilitator_and_the_partner(tmp_path):
    """Real sockets through the real guard and app: four "LAN" addresses (127.0.0.2-5, treated as the LAN here) each
    try to hold 32 kept-alive connections; the facilitator (127.0.0.1) and the partner (127.0.0.6) still get in."""
    from aiohttp import web

    app = make_app(tmp_path, max_connections=128, max_connections_per_address=32)
    runner = web.AppRunner(app, **runner_options(30.0))
    await runner.setup()
    partner = "127.0.0.6"
    guard = ConnectionGuard(max_connections=128, max_per_address=32, head_timeout_s=5.0,
                            trusted=lambda address: address in ("127.0.0.1", partner))
    server = await listen(runner, guard, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    held = []
    try:
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):
            for _ in range(32):
                writer = await _hold(port, source)
                if writer is not None:
                    held.append(writer)
        assert len(held) == 128 - 32  # the LAN's share; the rest is kept for this computer and the partner
        assert guard.refused >= 32
        for source in ("127.0.0.1", partner):
            writer = await _hold(port, source)
            assert writer is not None, f"{source} was refused"
            held.append(writer)
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
        await runner.cleanup()


async def test_the_partner_s_address_is_trusted_while_the_session_lives(app_and_client):
    from server.state import PARTNER_ADDRESSES, STORE

    app, client = app_and_client
    await client.get("/")
    created = await (await client.post("/api/sessions")).json()
    invite = created["invite_url"].split("#", 1)[1]
    resp = await client.post("/api/join", json={"invite": invite, "name": "Sam", "consent": True})
    assert resp.status == 200, await resp.text()
    assert app[PARTNER_ADDRESSES] == {created["session_id"]: "127.0.0.1"}
    assert (await client.post(f"/api/sessions/{created['session_id']}/end")).status == 200
    assert app[PARTNER_ADDRESSES] == {} and not app[STORE].live()
