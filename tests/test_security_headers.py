"""Every answer, pages and errors alike (404 on an unknown path, the trust checks' 421 and 403, 413, 429...), carries
the same security headers, JSON errors that say why, and a Permissions-Policy that lets only the two call pages use
the camera and microphone, for themselves."""

import pytest

import server.trust as trust_module
from coach.config import Settings
from server.app import create_app
from server.limits import SlidingWindow
from server.rooms import MemoryRooms
from server.state import RateLimits
from tests.test_server_api import KEYS

REQUIRED = {"Content-Security-Policy", "Cache-Control", "X-Content-Type-Options", "Referrer-Policy",
            "Permissions-Policy"}


def assert_secure(resp, path=""):
    missing = REQUIRED - set(resp.headers)
    assert not missing, (path, resp.status, missing)
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "geolocation=()" in resp.headers["Permissions-Policy"]


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    limits = RateLimits(create=SlidingWindow(100, 60.0), join=SlidingWindow(100, 60.0), rejoin=SlidingWindow(1, 60.0),
                        passcode=SlidingWindow(5, 60.0))
    app = create_app(Settings(state_dir=tmp_path, max_sessions=1), keys=KEYS, lan_ip="192.168.1.20",
                     livekit_http="http://127.0.0.1:1", rooms=MemoryRooms(), limits=limits)
    return await aiohttp_client(app)


async def test_every_error_is_json_with_the_security_headers(client):
    cases = [
        ("GET", "/nothing-here", {}, None, 404),
        ("GET", "/static/nothing.js", {}, None, 404),
        ("GET", "/api/nothing-here", {}, None, 404),
        ("PUT", "/api/sessions", {}, None, 405),
        ("GET", "/", {"Host": "evil.example"}, None, 421),
        ("GET", "/api/health", {"Host": "evil.example:8080"}, None, 421),
        ("POST", "/api/join", {"Origin": "http://evil.example"}, None, 403),
        ("POST", "/api/sessions", {}, None, 403),  # no facilitator cookie
        ("GET", "/api/qr?text=x", {}, None, 403),
        ("POST", "/api/join", {"Content-Type": "text/plain"}, b"x", 415),
        ("POST", "/api/join", {"Content-Type": "application/json"}, b"{", 400),
        ("POST", "/api/join", {"Content-Type": "application/json"}, b"{" + b" " * 10_000 + b"}", 413),
        ("POST", "/api/rejoin", {"Content-Type": "application/json"}, b'{"rejoin": "abcdefghij"}', 404),
        ("POST", "/api/rejoin", {"Content-Type": "application/json"}, b'{"rejoin": "abcdefghij"}', 429),
        ("GET", "/rtc/%2e%2e/metrics", {}, None, 404),
        ("GET", "/rtc/v1/validate", {}, None, 502),  # LiveKit down
    ]
    for method, path, headers, data, status in cases:
        resp = await client.request(method, path, headers=headers, data=data)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        assert_secure(resp, path)
        assert resp.headers["Cache-Control"] == "no-store", path
        assert resp.content_type == "application/json", path
        assert (await resp.json())["error"], path


async def test_refusals_of_the_facilitator_routes_carry_them_too(client, monkeypatch):
    await client.get("/")
    sid = (await (await client.post("/api/sessions")).json())["session_id"]
    over = await client.post("/api/sessions")  # max_sessions=1
    assert over.status == 429
    assert_secure(over)
    await client.post(f"/api/sessions/{sid}/end")
    gone = await client.post(f"/api/sessions/{sid}/pause")
    assert gone.status == 410
    assert_secure(gone)
    monkeypatch.setattr(trust_module, "is_loopback", lambda request: False)
    lan = await client.get(f"/api/sessions/{sid}")
    assert lan.status == 403
    assert_secure(lan)


@pytest.mark.parametrize("path,media", [("/", "()"), ("/facilitator", "(self)"), ("/join", "(self)"),
                                        ("/api/health", "()"), ("/static/style.css", "()"), ("/nothing", "()")])
async def test_only_the_call_pages_may_use_camera_and_microphone(client, path, media):
    resp = await client.get(path)
    assert_secure(resp, path)
    policy = resp.headers["Permissions-Policy"]
    assert f"camera={media}" in policy and f"microphone={media}" in policy
    for off in ("geolocation=()", "usb=()", "payment=()", "display-capture=()"):
        assert off in policy


async def test_a_crash_in_a_handler_is_a_json_500_with_the_headers(client, monkeypatch):
    import server.app as app_module

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module.openapi, "build", broken)
    resp = await client.get("/api/openapi.json")
    assert resp.status == 500 and "internal error" in (await resp.json())["error"]
    assert "boom" not in await resp.text()
    assert_secure(resp)
