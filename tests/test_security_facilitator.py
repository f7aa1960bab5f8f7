"""Only the facilitator is the facilitator: from this computer, the per-launch cookie our page hands out (a page of
another site, a program that never opened our page, a rebinding page, a LAN peer: 403 or 421); from another device,
the passcode."""

import pytest

import server.trust as trust_module
from coach.config import Settings
from server.app import create_app
from server.rooms import MemoryRooms
from tests.test_server_api import KEYS

FACILITATOR_CALLS = [("POST", "/api/sessions"), ("GET", "/api/sessions/{sid}"), ("POST", "/api/sessions/{sid}/pause"),
                     ("POST", "/api/sessions/{sid}/end"), ("GET", "/api/qr?text=x")]


def make_app(tmp_path, **settings):
    return create_app(Settings(state_dir=tmp_path, http_port=8123, **settings), keys=KEYS, lan_ip="192.168.1.20",
                      rooms=MemoryRooms())


@pytest.fixture
async def app_and_client(aiohttp_client, tmp_path):
    app = make_app(tmp_path)
    return app, await aiohttp_client(app)


def cookie(client):
    return {c.key: c for c in client.session.cookie_jar}.get("nbp-facilitator-8123")


async def sid_of_a_session(client) -> str:
    """A session the facilitator started; the client is left without the cookie."""
    await client.get("/")
    sid = (await (await client.post("/api/sessions")).json())["session_id"]
    client.session.cookie_jar.clear()
    return sid


async def test_opening_our_page_here_hands_out_a_strict_httponly_cookie(app_and_client):
    _, client = app_and_client
    for page in ("/", "/facilitator"):
        client.session.cookie_jar.clear()
        resp = await client.get(page)
        assert resp.status == 200
        set_cookie = resp.headers["Set-Cookie"]
        assert set_cookie.startswith("nbp-facilitator-8123=")
        attributes = {a.strip().split("=")[0].lower() for a in set_cookie.split(";")[1:]}
        assert {"httponly", "path", "samesite"} <= attributes and "SameSite=Strict" in set_cookie
        assert "Path=/" in set_cookie and "max-age" not in attributes  # gone with the browser; per launch anyway
        assert len(cookie(client).value) >= 40  # 32 random bytes
    client.session.cookie_jar.clear()
    assert "Set-Cookie" not in (await client.get("/join")).headers  # the partner's page hands out nothing


async def test_without_the_cookie_every_facilitator_call_is_refused_and_says_what_to_do(app_and_client):
    _, client = app_and_client
    sid = await sid_of_a_session(client)
    for method, path in FACILITATOR_CALLS:
        resp = await client.request(method, path.format(sid=sid))
        assert resp.status == 403, path
        error = (await resp.json())["error"]
        assert "open http://127.0.0.1:8123/" in error and "X-Facilitator-Passcode" in error
    await client.get("/")  # now this client opened our page
    for method, path in FACILITATOR_CALLS:
        assert (await client.request(method, path.format(sid=sid))).status in (200, 201), path


async def test_a_wrong_or_foreign_cookie_is_refused(aiohttp_client, tmp_path):
    ours, other = make_app(tmp_path), make_app(tmp_path)  # two launches: two secrets
    client = await aiohttp_client(ours)
    await client.get("/")
    good = cookie(client).value
    other_client = await aiohttp_client(other)
    await other_client.get("/")
    foreign = cookie(other_client).value
    assert foreign != good
    client.session.cookie_jar.clear()
    for value in (foreign, good[:-1], "", good + "x"):
        resp = await client.post("/api/sessions", headers={"Cookie": f"nbp-facilitator-8123={value}"})
        assert resp.status == 403, value
    assert (await client.post("/api/sessions", headers={"Cookie": f"nbp-facilitator-8123={good}"})).status == 201


async def test_a_lan_peer_gets_no_cookie_and_cannot_use_a_stolen_one(app_and_client, monkeypatch):
    app, client = app_and_client
    await client.get("/")
    stolen = cookie(client).value
    monkeypatch.setattr(trust_module, "is_loopback", lambda request: False)
    client.session.cookie_jar.clear()
    resp = await client.get("/")
    assert resp.status == 200 and "Set-Cookie" not in resp.headers
    refused = await client.post("/api/sessions", headers={"Cookie": f"nbp-facilitator-8123={stolen}"})
    assert refused.status == 403 and "X-Facilitator-Passcode" in (await refused.json())["error"]


async def test_a_rebinding_page_gets_neither_the_cookie_nor_an_answer(app_and_client):
    _, client = app_and_client
    resp = await client.get("/", headers={"Host": "evil.example:8080"})
    assert resp.status == 421 and "Set-Cookie" not in resp.headers
    assert cookie(client) is None
    await client.get("/")  # the facilitator's own tab has the cookie; the rebinding page's requests name evil.example
    resp = await client.post("/api/sessions", headers={"Host": "evil.example:8080"})
    assert resp.status == 421


async def test_a_cross_site_request_carrying_the_cookie_is_still_refused(app_and_client):
    """SameSite=Strict keeps browsers from sending it across sites; if one did, the Origin check still refuses."""
    _, client = app_and_client
    await client.get("/")
    resp = await client.post("/api/sessions", headers={"Origin": "http://evil.example"})
    assert resp.status == 403 and "cross-site" in (await resp.json())["error"]


async def test_the_passcode_still_works_from_here_and_from_another_device(aiohttp_client, tmp_path, monkeypatch):
    app = make_app(tmp_path, facilitator_passcode="correct horse battery staple")
    client = await aiohttp_client(app)
    header = {"X-Facilitator-Passcode": "correct horse battery staple"}
    assert (await client.post("/api/sessions", headers=header)).status == 201  # here, without the page
    monkeypatch.setattr(trust_module, "is_loopback", lambda request: False)
    assert (await client.post("/api/sessions", headers=header)).status == 201
    wrong = await client.post("/api/sessions", headers={"X-Facilitator-Passcode": "correct horse battery stapl"})
    assert wrong.status == 403 and "wrong facilitator passcode" in (await wrong.json())["error"]


async def test_passcode_guessing_gets_429_with_retry_after(aiohttp_client, tmp_path, monkeypatch):
    app = make_app(tmp_path, facilitator_passcode="correct horse battery staple")
    client = await aiohttp_client(app)
    monkeypatch.setattr(trust_module, "is_loopback", lambda request: False)
    for i in range(5):
        assert (await client.post("/api/sessions", headers={"X-Facilitator-Passcode": f"guess {i}"})).status == 403
    blocked = await client.post("/api/sessions", headers={"X-Facilitator-Passcode": "guess 6"})
    assert blocked.status == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 60


async def test_another_web_app_on_this_computer_is_another_origin(app_and_client):
    """Browsers count every port of 127.0.0.1 as the same site, so SameSite=Strict lets the cookie go along with a
    request from another local web app; only our exact origin (name and port) passes."""
    _, client = app_and_client
    sid = await sid_of_a_session(client)
    await client.get("/")
    ours = f"http://127.0.0.1:{client.port}"
    for origin in (f"http://127.0.0.1:{client.port + 1}", "http://127.0.0.1", f"http://localhost:{client.port}",
                   f"http://192.168.1.20:{client.port}", f"ftp://127.0.0.1:{client.port}", "http://127.0.0.1:x"):
        for method, path in (("POST", "/api/sessions"), ("GET", f"/api/sessions/{sid}"), ("GET", "/api/qr?text=x")):
            resp = await client.request(method, path, headers={"Origin": origin})
            assert resp.status == 403, (origin, path)
    assert (await client.get(f"/api/sessions/{sid}", headers={"Origin": ours})).status == 200
    assert (await client.post("/api/sessions", headers={"Origin": ours})).status == 201
