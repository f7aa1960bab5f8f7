"""The session API through aiohttp's test client: tokens, invites, facilitator-only routes, bad requests."""

import time

import jwt
import pytest

import server.trust as trust_module
from coach.config import Settings
from server.app import create_app
from server.rooms import MemoryRooms
from server.sessions import SessionStore
from server.tokens import LiveKitKeys

KEYS = LiveKitKeys("NBPTESTKEY", "s" * 43)


class Clock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self):
        return self.t


class RecordingHooks:
    def __init__(self):
        self.calls = []

    async def session_created(self, session, credentials):
        self.calls.append(("created", session.id, *credentials()))

    async def partner_joined(self, session):
        self.calls.append(("joined", session.id))

    async def set_paused(self, session, paused):
        self.calls.append(("paused", session.id, paused))

    async def session_ended(self, session):
        self.calls.append(("ended", session.id))

    def state(self, session):
        return "waiting"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def hooks():
    return RecordingHooks()


async def as_facilitator(client):
    """The facilitator opens our page first: it hands this client's cookie jar the per-launch facilitator cookie."""
    assert (await client.get("/")).status == 200
    return client


@pytest.fixture
async def client(aiohttp_client, clock, hooks, tmp_path):
    settings = Settings(state_dir=tmp_path, invite_ttl_s=600, token_ttl_s=900)
    app = create_app(settings, keys=KEYS, lan_ip="192.168.1.20", livekit_http="http://127.0.0.1:1",
                     hooks=hooks, store=SessionStore(invite_ttl_s=600, clock=clock), rooms=MemoryRooms())
    return await as_facilitator(await aiohttp_client(app))


def decode(token):
    return jwt.decode(token, KEYS.api_secret, algorithms=["HS256"], options={"verify_aud": False})


def invite_code(body):
    return body["invite_url"].split("#", 1)[1]


async def create(client):
    resp = await client.post("/api/sessions")
    assert resp.status == 201
    return await resp.json()


async def test_create_session_returns_contract_and_facilitator_token(client, hooks):
    body = await create(client)
    assert set(body) >= {"session_id", "room", "livekit_url", "facilitator", "invite_url"}
    assert body["livekit_url"] == f"ws://127.0.0.1:{client.port}"  # caller on loopback: the address it used
    assert body["invite_url"].startswith("https://192.168.1.20:8443/join#")
    claims = decode(body["facilitator"]["token"])
    assert claims["sub"] == body["facilitator"]["identity"]
    assert claims["iss"] == KEYS.api_key
    video = claims["video"]
    assert video["room"] == body["room"] and video["roomJoin"] is True
    assert video["canPublish"] is True and video["canSubscribe"] is True
    assert 0 < claims["exp"] - time.time() <= 900 + 5
    # the coach got its own token: kind agent, no media publishing, may send text
    created = [c for c in hooks.calls if c[0] == "created"]
    coach = decode(created[0][3])  # (created, session id, url, token)
    assert coach["kind"] == "agent" and coach["video"]["room"] == body["room"]
    assert coach["video"].get("canPublish") is False and coach["video"]["canPublishData"] is True
    assert coach["video"]["canUpdateOwnMetadata"] is True  # its coach_state attribute
    assert not claims["video"].get("canUpdateOwnMetadata")  # people may not rename themselves
    assert coach["sub"] != claims["sub"]


async def test_partner_join_grants_media_but_no_data(client, hooks):
    body = await create(client)
    resp = await client.post("/api/join", json={"invite": invite_code(body), "name": " Sam  ", "consent": True})
    assert resp.status == 200
    joined = await resp.json()
    claims = decode(joined["token"])
    assert claims["sub"] == joined["identity"] != body["facilitator"]["identity"]
    assert claims["name"] == "Sam"
    video = claims["video"]
    assert video["room"] == body["room"]
    assert video["canPublish"] is True and video["canSubscribe"] is True
    assert video["canPublishData"] is False
    assert sorted(video["canPublishSources"]) == ["camera", "microphone"]
    assert claims["exp"] - time.time() <= 900 + 5
    assert joined["livekit_url"].startswith("ws://127.0.0.1")
    assert ("joined", body["session_id"]) in hooks.calls


async def test_invite_is_single_use(client):
    body = await create(client)
    payload = {"invite": invite_code(body), "name": "Sam", "consent": True}
    assert (await client.post("/api/join", json=payload)).status == 200
    again = await client.post("/api/join", json=payload)
    assert again.status == 409
    assert "already been used" in (await again.json())["error"]


async def test_expired_invite(client, clock):
    body = await create(client)
    clock.t += 601
    resp = await client.post("/api/join", json={"invite": invite_code(body), "name": "Sam", "consent": True})
    assert resp.status == 410
    assert "expired" in (await resp.json())["error"]


async def test_forged_invite(client):
    await create(client)
    resp = await client.post("/api/join", json={"invite": "A" * 32, "name": "Sam", "consent": True})
    assert resp.status == 404
    assert "unknown invite" in (await resp.json())["error"]


@pytest.mark.parametrize("consent", [False, "true", 1, None])
async def test_consent_must_be_true(client, consent):
    body = await create(client)
    resp = await client.post("/api/join", json={"invite": invite_code(body), "name": "Sam", "consent": consent})
    assert resp.status == 400
    assert "consent" in (await resp.json())["error"]
    # the invite was not spent by the refused attempt
    ok = await client.post("/api/join", json={"invite": invite_code(body), "name": "Sam", "consent": True})
    assert ok.status == 200


@pytest.mark.parametrize("raw,ctype", [(b"{not json", "application/json"), (b'{"invite": 5}', "application/json"),
                                       (b'{"invite":"abcdefgh","name":"","consent":true}', "application/json"),
                                       (b'{"invite":"abcdefgh","name":"x","consent":true,"admin":1}', "application/json"),
                                       (b"invite=x", "application/x-www-form-urlencoded")])
async def test_malformed_bodies(client, raw, ctype):
    resp = await client.post("/api/join", data=raw, headers={"Content-Type": ctype})
    assert resp.status in (400, 415)
    assert (await resp.json())["error"]


async def test_oversized_body(client):
    resp = await client.post("/api/join", data=b'{"invite":"' + b"a" * 10_000 + b'"}',
                             headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert "too large" in (await resp.json())["error"]


async def test_non_loopback_cannot_act_as_facilitator(client, monkeypatch):
    body = await create(client)
    monkeypatch.setattr(trust_module, "is_loopback", lambda request: False)
    for method, path in [("POST", "/api/sessions"), ("GET", f"/api/sessions/{body['session_id']}"),
                         ("POST", f"/api/sessions/{body['session_id']}/end"), ("GET", "/api/qr?text=x")]:
        resp = await client.request(method, path)
        assert resp.status == 403, path
        assert "facilitator" in (await resp.json())["error"]
    # a partner on the LAN gets a wss:// URL on the LAN address
    resp = await client.post("/api/join", json={"invite": invite_code(body), "name": "Sam", "consent": True})
    assert (await resp.json())["livekit_url"] == "wss://192.168.1.20:8443"


async def test_passcode_lets_a_remote_facilitator_in(aiohttp_client, tmp_path, monkeypatch):
    settings = Settings(state_dir=tmp_path, facilitator_passcode="correct horse battery staple")
    client = await aiohttp_client(create_app(settings, keys=KEYS, lan_ip="192.168.1.20", rooms=MemoryRooms()))
    monkeypatch.setattr(trust_module, "is_loopback", lambda request: False)
    assert (await client.post("/api/sessions", headers={"X-Facilitator-Passcode": "wrong"})).status == 403
    ok = await client.post("/api/sessions", headers={"X-Facilitator-Passcode": "correct horse battery staple"})
    assert ok.status == 201
    assert (await ok.json())["livekit_url"] == "wss://192.168.1.20:8443"


async def test_passcode_guessing_is_throttled_and_short_passcodes_refused(aiohttp_client, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="at least 12 characters"):
        Settings(state_dir=tmp_path, facilitator_passcode="1234")
    settings = Settings(state_dir=tmp_path, facilitator_passcode="correct horse battery staple")
    client = await aiohttp_client(create_app(settings, keys=KEYS, lan_ip="192.168.1.20", rooms=MemoryRooms()))
    monkeypatch.setattr(trust_module, "is_loopback", lambda request: False)
    statuses = [(await client.post("/api/sessions", headers={"X-Facilitator-Passcode": f"guess{i:04d}"})).status
                for i in range(8)]
    assert statuses[:5] == [403] * 5 and statuses[5:] == [429] * 3
    blocked = await client.post("/api/sessions", headers={"X-Facilitator-Passcode": "correct horse battery staple"})
    assert blocked.status == 429 and "wait" in (await blocked.json())["error"]  # even the right one, for a while


async def test_an_ended_session_hands_out_no_token(client):
    body = await create(client)
    sid = body["session_id"]
    await client.post(f"/api/sessions/{sid}/end")
    view = await (await client.get(f"/api/sessions/{sid}")).json()
    assert view["ended"] is True and view["facilitator"]["token"] is None


async def test_pause_resume_end(client, hooks):
    body = await create(client)
    sid = body["session_id"]
    assert (await client.post(f"/api/sessions/{sid}/pause")).status == 200
    assert (await client.post(f"/api/sessions/{sid}/resume")).status == 200
    ended = await client.post(f"/api/sessions/{sid}/end")
    assert (await ended.json())["ended"] is True
    assert [c[0] for c in hooks.calls] == ["created", "paused", "paused", "ended"]
    resp = await client.post("/api/join", json={"invite": invite_code(body), "name": "Sam", "consent": True})
    assert resp.status == 410


async def test_reload_gets_fresh_tokens(client):
    body = await create(client)
    again = await client.get(f"/api/sessions/{body['session_id']}")
    assert again.status == 200
    info = await again.json()
    assert "invite_url" not in info  # the invite code is shown once, never stored in clear
    assert decode(info["facilitator"]["token"])["sub"] == body["facilitator"]["identity"]
    joined = await (await client.post("/api/join", json={"invite": invite_code(body), "name": "Sam", "consent": True})).json()
    rejoined = await client.post("/api/rejoin", json={"rejoin": joined["rejoin"]})
    assert rejoined.status == 200
    again = await rejoined.json()
    assert decode(again["token"])["sub"] == joined["identity"]
    assert again["rejoin"] != joined["rejoin"]  # rotated: see test_rejoin_codes_rotate_on_every_use
    assert (await client.post("/api/rejoin", json={"rejoin": "x" * 20})).status == 404


async def test_unknown_session_and_endpoint(client):
    assert (await client.get("/api/sessions/nope")).status == 404
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404 and (await resp.json())["error"]


@pytest.mark.parametrize("path", ["/rtc/%2e%2e/twirp/livekit.RoomService/ListRooms", "/rtc/%2e%2e/%2e%2e/metrics",
                                  "/rtc/v1%3Fx", "/rtc/twirp/livekit.RoomService/ListRooms", "/rtc/../metrics",
                                  "/rtc/v1/../../metrics"])
async def test_rtc_proxy_forwards_only_livekits_client_paths(client, path):
    resp = await client.get(path)
    assert resp.status == 404, path  # never forwarded (the upstream is down here: forwarding would give 502)


async def test_rtc_proxy_reports_livekit_down(client):
    resp = await client.get("/rtc/v1/validate?access_token=x")
    assert resp.status == 502
    assert "LiveKit" in (await resp.json())["error"]


async def test_pages_carry_a_strict_csp(client):
    resp = await client.get("/api/health")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "http" not in csp.replace("'self'", "")  # no outside origin anywhere


async def test_livekit_url_follows_the_loopback_address_used(client):
    resp = await client.post("/api/sessions", headers={"Host": "localhost:9999"})
    assert (await resp.json())["livekit_url"] == "ws://localhost:9999"
    resp = await client.post("/api/sessions", headers={"Host": "evil.example:80"})
    assert resp.status == 421  # not a name of ours: refused (a rebinding page), see test_a_rebinding_host_is_refused


async def test_controls_on_an_ended_session_are_gone(client):
    body = await create(client)
    sid = body["session_id"]
    assert (await client.post(f"/api/sessions/{sid}/end")).status == 200
    for action in ("pause", "resume", "end"):
        resp = await client.post(f"/api/sessions/{sid}/{action}")
        assert resp.status == 410 and "ended" in (await resp.json())["error"]


async def test_static_files_are_revalidated_not_stored(client):
    resp = await client.get("/static/style.css")
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-cache"
    assert (await client.get("/api/health")).headers["Cache-Control"] == "no-store"


# ---- a page the facilitator has open cannot borrow their authority (DNS rebinding, cross-site forms) ----------------


async def test_a_rebinding_host_is_refused_everywhere(client):
    for method, path in (("POST", "/api/sessions"), ("GET", "/"), ("GET", "/api/health")):
        r = await client.request(method, path, headers={"Host": "evil.example:8080"})
        assert r.status == 421, (method, path)
        assert "unknown Host 'evil.example'" in (await r.json())["error"]


async def test_cross_site_posts_are_refused_and_our_own_pages_pass(client):
    r = await client.post("/api/sessions", headers={"Origin": "http://evil.example:8080"})
    assert r.status == 403 and "cross-site" in (await r.json())["error"]
    created = await client.post("/api/sessions", headers={"Origin": f"http://127.0.0.1:{client.port}"})
    assert created.status == 201
    sid = (await created.json())["session_id"]
    for origin in ("http://evil.example", "null", "file://"):
        r = await client.post(f"/api/sessions/{sid}/end", data="x", headers={"Origin": origin,
                                                                             "Content-Type": "text/plain"})
        assert r.status == 403, origin
    assert (await client.post("/api/sessions")).status == 201  # no Origin: not a browser, not a web page


async def test_a_configured_name_is_allowed(aiohttp_client, tmp_path):
    from coach.config import Settings
    from server.app import create_app
    from server.tokens import LiveKitKeys

    app = create_app(Settings(state_dir=tmp_path, allowed_hosts="coach.lan, other.lan"),
                     keys=LiveKitKeys("K", "s" * 43), lan_ip="192.168.1.20")
    c = await aiohttp_client(app)
    assert (await c.get("/api/health", headers={"Host": "coach.lan:8443"})).status == 200
    assert (await c.get("/api/health", headers={"Host": "192.168.1.20:8443"})).status == 200
    assert (await c.get("/api/health", headers={"Host": "coach.lan.evil.example"})).status == 421
