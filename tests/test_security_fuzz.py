"""Fuzzed: schemathesis reads the OpenAPI description the server publishes (GET /api/openapi.json) and generates
requests for every operation, valid and invalid; each is sent five ways against a real server on loopback: as the
facilitator, without the facilitator's cookie, with a wrong passcode, with a hostile Host, and with a hostile
Origin. Over 5,000 requests: no 5xx, every answer JSON (or the QR code's SVG) as described, and nothing accepted
that should have been refused."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest

from coach.config import Settings
from coach.serve_process import free_port
from server import openapi
from server.app import create_app
from server.limits import SlidingWindow
from server.rooms import MemoryRooms
from server.state import RateLimits
from tests.test_server_api import KEYS

schemathesis = pytest.importorskip("schemathesis", reason="pip install -e '.[test]' (schemathesis)")
requests = pytest.importorskip("requests")
from hypothesis import HealthCheck, settings  # noqa: E402  (hypothesis comes with schemathesis)

pytestmark = pytest.mark.slow

PORT = free_port()
EXAMPLES = 260  # per operation; five requests each
SENT: Counter = Counter()  # requests by way sent
ANSWERS: Counter = Counter()  # (way sent, status class) -> count
HOSTILE_HOSTS = ["evil.example", f"evil.example:{PORT}", f"127.0.0.1.evil.example:{PORT}", "localhost.evil",
                 f"192.168.1.21:{PORT}", "0.0.0.0", "[::2]", f"127.0.0.2:{PORT}", "10.0.0.1", "evil.example@127.0.0.1",
                 "coach.lan", f"xn--e1afmkfd.example:{PORT}", "127.1", "2130706433"]
HOSTILE_ORIGINS = ["http://evil.example", f"http://evil.example:{PORT}", "null", f"http://127.0.0.1:{PORT + 1}",
                   "http://127.0.0.1", f"https://127.0.0.1:{PORT}x", "file://", f"http://localhost:{PORT}",
                   f"http://127.0.0.1:{PORT}.evil.example", "chrome-extension://abc", f"ws://127.0.0.1:{PORT}",
                   f"http://[::1]:{PORT}"]
FACILITATOR_OPS = {("POST", "/api/sessions"), ("GET", "/api/sessions/{sid}"), ("POST", "/api/sessions/{sid}/{action}"),
                   ("GET", "/api/qr")}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from aiohttp import web

    # Limits a fuzzer does not trip over (they have their own tests): what is fuzzed here is what gets through.
    roomy = RateLimits(*(SlidingWindow(10**6, 60.0) for _ in range(3)), passcode=SlidingWindow(10**6, 60.0))
    app = create_app(Settings(state_dir=tmp_path_factory.mktemp("state"), http_port=PORT, max_sessions=100_000,
                              facilitator_passcode="the right passcode, long enough"),
                     keys=KEYS, lan_ip="192.168.1.20", livekit_http="http://127.0.0.1:1", rooms=MemoryRooms(),
                     limits=roomy)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", PORT).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fuzz-server", daemon=True)
    thread.start()
    assert started.wait(10)
    origin = f"http://127.0.0.1:{PORT}"
    http = requests.Session()
    http.get(origin + "/", timeout=5)  # the facilitator's page: the cookie
    cookie = dict(http.cookies)
    assert list(cookie) == [f"nbp-facilitator-{PORT}"]
    assert http.get(origin + "/api/openapi.json", timeout=5).json() == PUBLISHED
    started_at = time.monotonic()
    live = SimpleNamespace(origin=origin, cookie=cookie, http=requests.Session(), app=app)
    live.real = fresh_session(live)
    yield live
    print(f"\nfuzz: {sum(SENT.values())} requests in {time.monotonic() - started_at:.1f} s: "
          f"{ {f'{k} {c}': n for (k, c), n in sorted(ANSWERS.items())} }")
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


# The description the server publishes, built by the same code that serves it (the fixture checks they are one):
# schemathesis' lazy from_fixture loader does not work with pytest 9 ("no attribute '_nodeid'").
PUBLISHED = openapi.build(f"nbp-facilitator-{PORT}")
schema = schemathesis.openapi.from_dict(PUBLISHED)


def header(response, name: str) -> str:
    """schemathesis' Response keeps headers lower-cased, each a list."""
    return (response.headers.get(name.lower()) or [""])[0]


def send(live, case, kind: str, *, host: str | None = None, origin: str | None = None, cookie: bool = True,
         passcode: str | None = None):
    headers = {"Host": host or f"127.0.0.1:{PORT}"}
    if origin:
        headers["Origin"] = origin
    if passcode:
        headers["X-Facilitator-Passcode"] = passcode
    if cookie:  # as a header: case.call(cookies=...) merges them into the case itself, for every later call
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in live.cookie.items())
    response = case.call(base_url=live.origin, session=live.http, headers=headers, timeout=10,
                         allow_redirects=False)
    SENT[kind] += 1
    ANSWERS[kind, f"{response.status_code // 100}xx"] += 1
    where = f"{case.method} {case.formatted_path} ({kind}): {response.status_code} {response.text[:200]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        assert header(response, "Content-Type").startswith("application/json"), where
        assert response.json()["error"], where
        assert header(response, "Content-Security-Policy") and header(response, "Permissions-Policy"), where
    return response, where


def fresh_session(live) -> dict:
    """A real session, as the facilitator starts one, and its partner's rejoin code."""
    cookie = "; ".join(f"{k}={v}" for k, v in live.cookie.items())
    session = live.http.post(live.origin + "/api/sessions", headers={"Cookie": cookie}, timeout=5).json()
    invite = session["invite_url"].split("#", 1)[1]
    joined = live.http.post(live.origin + "/api/join", json={"invite": invite, "name": "Sam", "consent": True},
                            timeout=5).json()
    return {"sid": session["session_id"], "rejoin": joined["rejoin"]}


def with_real_values(live, case, pick) -> None:
    """Half the time, a real session id, an unspent invite or the partner's current rejoin code in place of the
    generated one: a refusal only means something where the same request with good headers would get in."""
    if not pick([True, False]):
        return
    if "sid" in (case.path_parameters or {}):
        case.path_parameters["sid"] = live.real["sid"]
    if isinstance(case.body, dict) and "invite" in case.body:
        session = live.http.post(live.origin + "/api/sessions", timeout=5,
                                 headers={"Cookie": "; ".join(f"{k}={v}" for k, v in live.cookie.items())}).json()
        case.body["invite"] = session["invite_url"].split("#", 1)[1]
    if isinstance(case.body, dict) and "rejoin" in case.body:
        case.body["rejoin"] = live.real["rejoin"]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_are_answered_and_refused_as_they_should(case, live):
    facilitator_only = (case.method.upper(), case.path) in FACILITATOR_OPS
    pick = random.Random(repr((case.method, case.formatted_path, case.query, case.body))).choice
    if live.http.get(f"{live.origin}/api/sessions/{live.real['sid']}", timeout=5,
                     headers={"Cookie": "; ".join(f"{k}={v}" for k, v in live.cookie.items())}).json()["ended"]:
        live.real = fresh_session(live)  # a generated "end" ended it
    with_real_values(live, case, pick)

    # The hostile ones first, while the real values are still good.
    response, where = send(live, case, "hostile Host", host=pick(HOSTILE_HOSTS))
    assert response.status_code == 421, where

    response, where = send(live, case, "hostile Origin", origin=pick(HOSTILE_ORIGINS))
    assert response.status_code == 403, where

    # Refused: 403, or an earlier refusal (a generated path that names no route is 404, a bad method 405).
    wrong = pick(["x", "the right passcode", "THE RIGHT PASSCODE, LONG ENOUGH"])
    response, where = send(live, case, "wrong passcode", cookie=False, passcode=wrong)
    if facilitator_only:
        assert 400 <= response.status_code < 500, where
    remember_rejoin(live, case, response)

    response, where = send(live, case, "no cookie", cookie=False)
    if facilitator_only:
        assert 400 <= response.status_code < 500, where
    remember_rejoin(live, case, response)

    ours = f"http://127.0.0.1:{PORT}"
    response, where = send(live, case, "facilitator", origin=ours if case.method.upper() == "POST" else None)
    if response.status_code < 300:
        case.validate_response(response, excluded_checks=_unjudgeable())
    remember_rejoin(live, case, response)


def remember_rejoin(live, case, response) -> None:
    """A rejoin that got in spent the code: the answer's code is the partner's current one."""
    if case.path == "/api/rejoin" and response.status_code == 200 and case.body.get("rejoin") == live.real["rejoin"]:
        live.real["rejoin"] = response.json()["rejoin"]


def _unjudgeable():
    """Checks that would judge our deliberate answers as faults: a generated body we accept (say, any rejoin code
    that parses) is judged by status, not by a second request."""
    from schemathesis import checks

    names = ("positive_data_acceptance", "negative_data_rejection", "missing_required_header", "ignored_auth",
             "use_after_free", "ensure_resource_availability")
    return [getattr(checks, name) for name in names if hasattr(checks, name)]


def test_enough_requests_were_sent():
    """Runs after the fuzz test above (same module, in order)."""
    if not SENT:
        pytest.skip("the fuzz test did not run")
    assert sum(SENT.values()) >= 5000, dict(SENT)
    assert ANSWERS["facilitator", "2xx"] >= 200, dict(ANSWERS)  # the way in works, so the refusals mean something
    assert not any(ANSWERS[kind, "2xx"] for kind in ("hostile Host", "hostile Origin"))
