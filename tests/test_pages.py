"""The three pages in a real Chromium, served by the real app: CSP, same-origin requests, consent, hints, controls.

LiveKit is deliberately unreachable (127.0.0.1:1), so the pages must report a failed video connection in plain words
and keep working; hints and transcript lines are driven through the pages' test hooks (window.nbpFacilitator,
window.nbpPartner), which the LiveKit text-stream handlers call too.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from coach.config import Settings
from server.app import STORE, VENDOR_JS, create_app
from server.limits import SlidingWindow
from server.rooms import MemoryRooms
from server.state import RateLimits
from server.tokens import LiveKitKeys

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
KEYS = LiveKitKeys("NBPTESTKEY", "s" * 43)
TIMEOUT_MS = 20_000  # LiveKit's connection attempt (with its retry) must have failed by then


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):  # CI installs everything: a missing piece is a failure there, not a skip
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    _unavailable("playwright is not installed: pip install -e '.[test]'")
if not CHROMIUM.exists():
    _unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
if not VENDOR_JS.is_file():
    _unavailable("livekit-client is not installed: npm ci --prefix web")

pytestmark = pytest.mark.slow


class PausableHooks:
    """Coach hooks without a coach: remembers pause/resume so the page shows what the server answers."""

    def __init__(self):
        self.paused: dict[str, bool] = {}

    async def session_created(self, session, credentials):
        pass

    async def partner_joined(self, session):
        pass

    async def set_paused(self, session, paused):
        self.paused[session.id] = paused

    async def session_ended(self, session):
        pass

    def state(self, session):
        return "paused" if self.paused.get(session.id) else "waiting"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from aiohttp import web

    port = _free_port()  # the app's livekit_url for loopback callers names its own HTTP port: make it this one
    hooks = PausableHooks()
    # LiveKit is down, but rooms are "made" in memory, so sessions start; many pages start one and leave it running
    app = create_app(Settings(state_dir=tmp_path_factory.mktemp("state"), http_port=port, max_sessions=1000), keys=KEYS,
                     lan_ip="127.0.0.1", livekit_http="http://127.0.0.1:1", hooks=hooks, rooms=MemoryRooms(),
                     limits=RateLimits(*(SlidingWindow(1000, 60.0) for _ in range(4))))
    runner = web.AppRunner(app)
    loop = asyncio.new_event_loop()
    started, failure = threading.Event(), []

    def serve():
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        except Exception as e:
            failure.append(e)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="pages-server", daemon=True)
    thread.start()
    assert started.wait(10), "the app did not start"
    if failure:
        raise failure[0]
    # The tests' own API calls, as the facilitator's page makes them: with the cookie that opening the page gives.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    opener.open(f"http://127.0.0.1:{port}/", timeout=10).close()
    yield SimpleNamespace(origin=f"http://127.0.0.1:{port}", app=app, hooks=hooks, opener=opener)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, server):
    """Pages in fresh browser contexts (separate sessionStorage, like separate devices), each with a PageLog."""
    contexts = []

    def make():
        context = browser.new_context(base_url=server.origin, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        return page, PageLog(page)

    yield make
    for context in contexts:
        context.close()


class PageLog:
    """What a page did: console errors, CSP violations, uncaught errors, every request and websocket, dialogs."""

    def __init__(self, page: Page):
        self.console_errors: list[str] = []
        self.csp: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("websocket", lambda ws: self.requests.append(ws.url))
        page.on("dialog", self._dialog)
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e =>"
            " console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )
        self.accept_dialogs = True

    def _console(self, msg) -> None:
        if "Content Security Policy" in msg.text:
            self.csp.append(msg.text)
        elif msg.type == "error":
            self.console_errors.append((msg.text, msg.location.get("url", "")))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept() if self.accept_dialogs else dialog.dismiss()

    def unexpected_errors(self) -> list[str]:
        """Console errors other than LiveKit's failed connection through our /rtc proxy (LiveKit is down): the
        browser's "WebSocket connection to ws://.../rtc/v1 failed" and the 502 of /rtc/v1/validate."""
        return [text for text, url in self.console_errors
                if not (urlsplit(url).path.startswith("/rtc/") or re.search(r"\bwss?://[^/\s]+/rtc/", text))]


def api(server, path: str, body: dict | None = None, method: str = "POST") -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.origin + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    with server.opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def new_session(server) -> dict:
    body = api(server, "/api/sessions")
    body["invite"] = body["invite_url"].split("#", 1)[1]
    return body


def assert_same_origin(log: PageLog, origin: str) -> None:
    own = urlsplit(origin)
    ws_scheme = {"http": "ws", "https": "wss"}[own.scheme]
    assert log.requests, "the page made no requests at all?"
    for url in log.requests:
        parts = urlsplit(url)
        assert parts.netloc == own.netloc and parts.scheme in (own.scheme, ws_scheme), f"request off our origin: {url}"


def join(page: Page, name: str = "Robin") -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Join the session").click()


# ---- 1. every page: no CSP violations, no stray errors, nothing but our own origin -----------------------------


def _home(page, server):
    page.goto("/")
    page.get_by_role("button", name="Start a session").click()
    expect(page.locator("#qr")).to_have_js_property("complete", True)


def _facilitator(page, server):
    page.goto(f"/facilitator#sid={new_session(server)['session_id']}")
    expect(page.locator("#connection-message")).to_contain_text("Could not connect to the video server")


def _partner(page, server):
    page.goto(f"/join#{new_session(server)['invite']}")
    join(page)
    expect(page.locator("#call-message")).to_contain_text("Could not connect to the video server")


@pytest.mark.parametrize("visit", [_home, _facilitator, _partner], ids=["home", "facilitator", "partner"])
def test_page_is_self_contained_and_error_free(new_page, server, visit):
    page, log = new_page()
    visit(page, server)
    page.wait_for_timeout(300)  # let late console messages arrive
    assert log.csp == []
    assert log.page_errors == []
    assert log.unexpected_errors() == []
    assert_same_origin(log, server.origin)
    assert page.locator("style, [style]").count() == 0, "inline styles are refused by our CSP"


def test_video_connection_goes_through_our_rtc_proxy(new_page, server):
    page, log = new_page()
    _facilitator(page, server)
    assert any(urlsplit(u).path.startswith("/rtc") for u in log.requests), log.requests
    expect(page.get_by_role("button", name="Try again")).to_be_visible()


def test_pages_use_livekit_api_that_exists(new_page, server):
    """The handlers cannot run without a livekit-server here: at least every name they use must exist."""
    page, _ = new_page()
    page.goto(f"/facilitator#sid={new_session(server)['session_id']}")
    missing = page.evaluate("""() => {
        const L = window.LivekitClient, missing = [];
        const need = (ok, name) => { if (!ok) missing.push(name); };
        for (const e of ['TrackSubscribed', 'TrackUnsubscribed', 'ParticipantConnected', 'ParticipantDisconnected',
                         'ParticipantAttributesChanged', 'LocalTrackPublished', 'AudioPlaybackStatusChanged',
                         'Reconnecting', 'Reconnected', 'Disconnected']) need(L.RoomEvent[e], 'RoomEvent.' + e);
        const room = new L.Room({adaptiveStream: true, dynacast: true});
        for (const m of ['connect', 'disconnect', 'registerTextStreamHandler', 'startAudio'])
            need(typeof room[m] === 'function', 'Room.' + m);
        need(typeof room.canPlaybackAudio === 'boolean', 'Room.canPlaybackAudio');
        need(room.remoteParticipants instanceof Map, 'Room.remoteParticipants');
        need(typeof room.localParticipant.enableCameraAndMicrophone === 'function', 'enableCameraAndMicrophone');
        need(L.Track.Kind.Video === 'video' && L.Track.Kind.Audio === 'audio', 'Track.Kind');
        need(L.Track.Source.Camera === 'camera', 'Track.Source.Camera');
        need(L.DisconnectReason.ROOM_DELETED !== undefined, 'DisconnectReason.ROOM_DELETED');
        return missing;
    }""")
    assert missing == []


def test_partner_page_sends_no_data_into_the_room():
    """A partner token may publish camera and microphone only: the page must not even try to send data."""
    sources = (VENDOR_JS.parents[3] / "static" / name for name in ("partner.js", "common.js"))
    for source in sources:
        code = source.read_text()
        for call in ("publishData", "sendText", "streamText", "sendFile", "streamBytes", "sendChatMessage",
                     "setAttributes", "setMetadata", "setName", "performRpc", "registerRpcMethod"):
            assert call not in code, f"{source.name} calls {call}"


# ---- 2. home ----------------------------------------------------------------------------------------------------


def test_home_starts_a_session_with_invite_link_and_qr(new_page, server):
    page, _ = new_page()
    page.goto("/")
    expect(page.locator("#session-card")).to_be_hidden()
    with page.expect_response("**/api/sessions") as created:
        page.get_by_role("button", name="Start a session").click()
    assert created.value.status == 201
    session = created.value.json()
    invite = page.get_by_label("Invite link")
    expect(invite).to_have_value(re.compile(r"^https://127\.0\.0\.1:\d+/join#[\w-]{8,}$"))
    assert invite.input_value() == session["invite_url"]
    qr = page.locator("#qr")
    expect(qr).to_have_js_property("complete", True)
    assert qr.evaluate("img => img.naturalWidth") > 0
    expect(page.get_by_role("link", name="Open the session")).to_have_attribute(
        "href", f"/facilitator#sid={session['session_id']}")
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_contain_text(re.compile("copied|selected"))


def test_home_shows_the_servers_refusal(new_page, server):
    page, _ = new_page()
    message = "only the facilitator can do this: use this computer"
    page.route("**/api/sessions", lambda route: route.fulfill(status=403, json={"error": message}))
    page.goto("/")
    page.get_by_role("button", name="Start a session").click()
    expect(page.get_by_role("alert")).to_contain_text("Only the facilitator can do this: use this computer")
    expect(page.locator("#session-card")).to_be_hidden()


# ---- 3. partner: consent, join, rejoin, spent and forged invites ---------------------------------------------


def test_partner_joins_only_after_consent_and_rejoins_on_reload(new_page, server):
    session = new_session(server)
    page, log = new_page()
    page.goto(f"/join#{session['invite']}")
    expect(page.get_by_text("will transcribe what you say, locally")).to_be_visible()
    join_button = page.get_by_role("button", name="Join the session")
    expect(join_button).to_be_disabled()
    page.get_by_label("Your name").fill("Robin")
    expect(join_button).to_be_disabled()  # a name is not consent
    page.get_by_label("Your name").press("Enter")  # nor is submitting the form some other way
    page.wait_for_timeout(300)
    assert not any(u.endswith("/api/join") for u in log.requests)
    assert server.app[STORE].get(session["session_id"]).partner_identity is None

    page.get_by_role("checkbox").check()
    expect(join_button).to_be_enabled()
    with page.expect_response("**/api/join") as joined:
        join_button.click()
    assert joined.value.status == 200
    assert joined.value.request.post_data_json == {"invite": session["invite"], "name": "Robin", "consent": True}
    expect(page.locator("#consent-card")).to_be_hidden()
    expect(page.locator("#call")).to_be_visible()
    expect(page.locator("#coach-indicator")).to_have_text("Coach not listening")
    expect(page.get_by_role("button", name="Leave")).to_be_visible()
    stored = server.app[STORE].get(session["session_id"])
    assert stored.partner_name == "Robin" and stored.consented_at is not None
    assert session["invite"] not in page.url  # the spent invite leaves the address bar

    with page.expect_response("**/api/rejoin") as rejoined:
        page.reload()
    assert rejoined.value.status == 200
    expect(page.locator("#call")).to_be_visible()
    expect(page.locator("#consent-card")).to_be_hidden()


def test_partner_sees_used_and_forged_invites_in_plain_words(new_page, server):
    session = new_session(server)
    first, _ = new_page()
    first.goto(f"/join#{session['invite']}")
    join(first)
    expect(first.locator("#call")).to_be_visible()

    second, _ = new_page()  # another device with the same link
    second.goto(f"/join#{session['invite']}")
    with second.expect_response("**/api/join") as refused:
        join(second)
    assert refused.value.status == 409
    expect(second.get_by_role("heading", name="This invite has already been used")).to_be_visible()
    expect(second.locator("#consent-card")).to_be_hidden()
    expect(second.locator("#call")).to_be_hidden()

    forged, _ = new_page()
    forged.goto("/join#" + "x" * 32)
    with forged.expect_response("**/api/join") as refused:
        join(forged)
    assert refused.value.status == 404
    expect(forged.get_by_role("heading", name="This invite link is not valid")).to_be_visible()

    broken, _ = new_page()
    broken.goto("/join#<b>")
    expect(broken.get_by_role("heading", name="This invite link is not valid")).to_be_visible()
    broken.goto("/join")
    broken.reload()
    expect(broken.get_by_role("heading", name="This link is incomplete")).to_be_visible()


def test_partner_coach_indicator_follows_coach_state(new_page, server):
    session = new_session(server)
    page, _ = new_page()
    page.goto(f"/join#{session['invite']}")
    join(page)
    expect(page.locator("#call")).to_be_visible()  # in the call: the page set its own first state ("offline")
    indicator = page.locator("#coach-indicator")
    for state, label in [("listening", "Coach is listening"), ("thinking", "Coach is listening"),
                         ("paused", "Coach paused"), ("waiting", "Coach not listening"),
                         ("offline", "Coach not listening")]:
        page.evaluate("s => window.nbpPartner.setCoachState(s)", state)
        expect(indicator).to_have_text(label)


# ---- 4. facilitator: hints and transcript ---------------------------------------------------------------------


def hint(**fields) -> dict:
    base = {"id": "h1", "summary": "A part of you feels tired of trying.", "suggestion": "Invite curiosity toward it.",
            "follow_ups": ["How do you feel toward that part?", "What does it want you to know?"],
            "reminder": "You are a peer, not a therapist.", "priority": "normal", "turn_ids": [1],
            "latencies": {"speech_to_hint_s": 2.14, "first_text_s": 0.9}, "partial": False}
    return base | fields


@pytest.fixture
def facilitator(new_page, server):
    page, log = new_page()
    page.goto(f"/facilitator#sid={new_session(server)['session_id']}")
    page.wait_for_function("() => window.nbpFacilitator !== undefined")
    return page, log


def render(page: Page, kind: str, payload: dict) -> None:
    page.evaluate("([kind, p]) => window.nbpFacilitator[kind](p)", [kind, payload])


def test_hint_shows_every_part(facilitator):
    page, _ = facilitator
    render(page, "renderHint", hint())
    card = page.locator(".hint").first
    for part in ["A part of you feels tired of trying.", "Invite curiosity toward it.",
                 "How do you feel toward that part?", "What does it want you to know?",
                 "You are a peer, not a therapist.", "2.1 s"]:
        expect(card).to_contain_text(part)
    expect(page.locator(".hint-reminder")).to_have_text("You are a peer, not a therapist.")


def test_safety_hint_is_on_top_and_unmissable(facilitator):
    page, _ = facilitator
    render(page, "renderHint", hint())
    render(page, "renderHint", hint(id="h2", priority="safety", summary="They said they want to hurt themselves.",
                                    suggestion="Stay with them and ask if they are safe right now.", reminder=None))
    top = page.locator(".hint").first
    expect(top).to_have_attribute("data-hint-id", "h2")
    expect(top).to_have_class(re.compile(r"\bsafety\b"))
    normal_bg = page.locator('.hint[data-hint-id="h1"]').evaluate("n => getComputedStyle(n).backgroundColor")
    assert top.evaluate("n => getComputedStyle(n).backgroundColor") != normal_bg
    banner = page.get_by_role("alert").filter(has_text="They said they want to hurt themselves.")
    expect(banner).to_be_visible()
    expect(top.locator(".hint-reminder")).to_have_count(0)


def test_an_urgent_alert_and_a_check_in_look_and_read_differently(facilitator):
    from coach.alerts import alert_words
    from coach.hints import Hint

    page, _ = facilitator

    def alert(hint_id: str, level: str, heard: str) -> dict:
        words = alert_words(level, "suicidal_ideation")
        fields = Hint(summary=words.summary, suggestion=words.suggestion, follow_ups=list(words.follow_ups),
                      priority="safety", alert=level, heard=heard).model_dump()
        return hint(id=hint_id, reminder=None) | fields

    render(page, "renderHint", alert("c1", "check_in", "I won't be around to see any of it"))
    check_in = page.locator('.hint[data-hint-id="c1"]')
    expect(check_in).to_have_class(re.compile(r"\bcheck-in\b"))
    expect(check_in.locator(".hint-badge")).to_have_text(re.compile("check in", re.I))
    expect(check_in.locator(".hint-heard q")).to_have_text("I won't be around to see any of it")  # what raised it
    expect(check_in).not_to_contain_text("safe right now")  # never the crisis question out of the blue
    banner = page.locator("#safety-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("role", "status")  # a gentle notice, not an alarm

    render(page, "renderHint", alert("u1", "urgent", "I have been planning how I would do it"))
    urgent = page.locator('.hint[data-hint-id="u1"]')
    expect(urgent).to_have_class(re.compile(r"\bsafety\b"))
    expect(urgent).not_to_have_class(re.compile(r"\bcheck-in\b"))
    expect(urgent).to_contain_text("Are you safe right now?")
    style = "n => [getComputedStyle(n).backgroundColor, getComputedStyle(n).borderLeftColor]"
    assert urgent.evaluate(style) != check_in.evaluate(style)  # they look different, not only read differently
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).not_to_have_class(re.compile(r"\bcheck-in\b"))
    banner_bg = banner.evaluate("n => getComputedStyle(n).backgroundColor")

    render(page, "renderHint", alert("c2", "check_in", "I keep giving my things away"))  # a later check-in
    expect(banner).to_have_attribute("role", "alert")  # does not soften the urgent alert still on screen
    assert banner.evaluate("n => getComputedStyle(n).backgroundColor") == banner_bg


def test_partial_hints_update_one_card(facilitator):
    page, _ = facilitator
    render(page, "renderHint", hint(id="h7", partial=True, summary="Part of you is", suggestion=None, follow_ups=None,
                                    reminder=None, latencies={}))
    expect(page.locator(".hint.is-partial")).to_contain_text("Part of you is")
    render(page, "renderHint", {"id": "h7", "partial": True, "summary": "Part of you is scared.",
                                "suggestion": "Ask what it fears."})
    render(page, "renderHint", hint(id="h7", summary="Part of you is scared of failing.",
                                    suggestion="Ask what it fears would happen."))
    render(page, "renderHint", {"id": "h7", "partial": True, "summary": "stale partial"})  # late: ignored
    cards = page.locator('.hint[data-hint-id="h7"]')
    expect(cards).to_have_count(1)
    expect(page.locator(".hint")).to_have_count(1)
    expect(cards).not_to_have_class(re.compile("is-partial"))
    expect(cards.locator(".hint-summary")).to_have_text("Part of you is scared of failing.")
    expect(cards).to_contain_text("Ask what it fears would happen.")
    expect(cards).to_contain_text("What does it want you to know?")


def test_withdrawn_hint_is_taken_down(facilitator):
    page, _ = facilitator
    render(page, "renderHint", hint(id="ok"))
    render(page, "renderHint", {"id": "w", "partial": True, "summary": "Half a", "priority": "safety"})
    expect(page.locator('.hint[data-hint-id="w"]')).to_contain_text("Half a")
    expect(page.locator('.hint[data-hint-id="w"]')).not_to_have_class(re.compile(r"\bsafety\b"))  # a draft decides nothing
    expect(page.locator("#safety-banner")).to_be_hidden()
    render(page, "renderHint", {"id": "w", "partial": False, "withdrawn": True})
    render(page, "renderHint", {"id": "w", "partial": True, "summary": "Half a thought"})  # late: stays down
    expect(page.locator('.hint[data-hint-id="w"]')).to_have_count(0)
    expect(page.locator(".hint")).to_have_count(1)


def test_network_text_is_never_html(facilitator):
    page, log = facilitator
    evil = "<img src=x onerror=alert(1)>"
    render(page, "renderHint", hint(id="x1", summary=evil, suggestion=evil, follow_ups=[evil, evil], reminder=evil))
    render(page, "renderTranscript", {"turn_id": 9, "text": evil, "t_start": 1.0, "t_end": 2.0})
    expect(page.locator(".hint-summary")).to_have_text(evil)
    expect(page.locator(".transcript-line")).to_contain_text(evil)
    assert page.locator("#hints img, #transcript img, #safety-banner img").count() == 0
    page.wait_for_timeout(200)
    assert log.dialogs == []


def test_transcript_lines_appear_in_order(facilitator):
    page, _ = facilitator
    render(page, "renderTranscript", {"turn_id": 1, "text": "There's a part of me that wants to quit.",
                                      "t_start": 65.2, "t_end": 68.0})
    render(page, "renderTranscript", {"turn_id": 2, "text": "And another part that's angry about it.",
                                      "t_start": 70.0, "t_end": 73.5})
    render(page, "renderTranscript", {"turn_id": 2, "text": "And another part that's furious about it.",
                                      "t_start": 70.0, "t_end": 73.9})  # same turn: replaced
    lines = page.locator(".transcript-line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("1:05")
    expect(lines.nth(0)).to_contain_text("There's a part of me that wants to quit.")
    expect(lines.nth(1)).to_contain_text("furious")


def test_history_after_a_reload_shows_everything_once(facilitator):
    page, _ = facilitator
    render(page, "renderTranscript", {"turn_id": 1, "text": "My inner critic was loud.", "t_start": 1.0, "t_end": 3.0})
    history = {
        "transcript": [{"turn_id": i, "text": f"Line {i} of the session.", "t_start": i * 5.0, "t_end": i * 5.0 + 3}
                       for i in (1, 2, 3)],
        "hints": [hint(id=7), hint(id=8, summary="A part of you wants rest.")],
        "parts": {"turn_id": 3, "parts": [{"id": "p1", "name": "my inner critic", "role": "manager",
                                          "latest": "It was loud.", "last_turn": 1, "mentions": 1}]},
    }
    render(page, "renderHistory", history)
    render(page, "renderHistory", history)  # sent again (a second reconnect): nothing doubles
    expect(page.locator(".transcript-line")).to_have_count(3)
    expect(page.locator(".transcript-line").nth(0)).to_contain_text("Line 1 of the session.")
    expect(page.locator(".hint")).to_have_count(2)
    expect(page.locator(".hint").first).to_contain_text("A part of you wants rest.")  # newest on top
    expect(page.locator(".part-name")).to_have_text(["my inner critic"])


def test_the_page_says_when_the_coach_is_behind(facilitator):
    page, _ = facilitator
    behind = page.locator("#behind-message")
    expect(behind).to_be_hidden()
    page.evaluate("() => window.nbpFacilitator.setCoachBehind('12')")
    expect(behind).to_be_visible()
    expect(behind).to_contain_text("12 s")
    page.evaluate("() => window.nbpFacilitator.setCoachBehind('')")
    expect(behind).to_be_hidden()


def test_only_the_coach_participant_is_heard(facilitator):
    page, _ = facilitator
    send = """async ([topic, identity, payload]) => {
        const reader = {readAll: async () => JSON.stringify(payload)};
        await window.nbpFacilitator.streamHandlers[topic](reader, {identity});
    }"""
    coach = page.evaluate("() => fetch('/api/sessions/' + new URLSearchParams(location.hash.slice(1)).get('sid'))"
                          ".then(r => r.json()).then(s => s.coach_identity)")
    page.evaluate(send, ["coach.hint", "partner-someone", hint(id="forged", summary="Forged hint")])
    page.evaluate(send, ["coach.transcript", "partner-someone", {"turn_id": 1, "text": "Forged line", "t_start": 0}])
    page.evaluate(send, ["coach.hint", coach, hint(id="real", summary="Real hint")])
    page.evaluate(send, ["coach.transcript", coach, {"turn_id": 1, "text": "Real line", "t_start": 0}])
    expect(page.locator(".hint")).to_have_count(1)
    expect(page.locator(".hint")).to_contain_text("Real hint")
    expect(page.locator(".transcript-line")).to_have_text(re.compile("Real line$"))


def test_coach_state_indicator(facilitator):
    page, _ = facilitator
    state = page.locator("#coach-state")
    expect(state).to_have_text("Coach waiting for your partner")  # what GET /api/sessions/{sid} said
    for value, label in [("listening", "Coach listening"), ("thinking", "Coach thinking…"),
                         ("paused", "Coach paused"), ("offline", "Coach offline")]:
        page.evaluate("s => window.nbpFacilitator.setCoachState(s)", value)
        expect(state).to_have_text(label)


# ---- 4b. facilitator: parts map and session notes ---------------------------------------------------------------


def parts_payload(turn_id: int = 3, **first) -> dict:
    critic = {"id": 1, "name": "my inner critic", "role": "manager", "role_label": "guess: manager",
              "role_confidence": "medium", "role_cues": ["critic", "should"], "first_turn": 1, "last_turn": 3,
              "latest": "It says I should have finished by now.", "mentions": 2}
    girl = {"id": 2, "name": "the little girl inside", "role": "exile", "role_label": "guess: exile",
            "role_confidence": "low", "role_cues": ["little", "alone"], "first_turn": 2, "last_turn": 2,
            "latest": "The little girl inside feels alone.", "mentions": 1}
    return {"turn_id": turn_id, "parts": [critic | first, girl]}


def test_parts_map_shows_each_part_with_its_role_as_a_guess(facilitator):
    page, _ = facilitator
    panel = page.get_by_role("region", name=re.compile("Parts map"))
    expect(panel).to_contain_text("Parts your partner speaks of appear here")
    render(page, "renderTranscript", {"turn_id": 3, "text": "It says I should have finished by now.",
                                      "t_start": 125.0, "t_end": 128.0})
    render(page, "renderParts", parts_payload())
    parts = page.locator("#parts .part")
    expect(parts).to_have_count(2)
    critic = parts.nth(0)
    expect(critic.locator(".part-name")).to_have_text("my inner critic")
    expect(critic.locator(".part-role")).to_have_text("guess: manager")
    expect(critic.locator(".part-latest")).to_have_text("It says I should have finished by now.")
    expect(critic).to_contain_text("mentioned 2×")
    expect(critic).to_contain_text("last at 2:05")
    expect(critic).to_have_class(re.compile(r"\bis-recent\b"))  # spoken of in the latest turn
    expect(parts.nth(1)).not_to_have_class(re.compile(r"\bis-recent\b"))
    expect(parts.nth(1).locator(".part-role")).to_have_text("guess: exile")
    assert "guess" in critic.locator(".part-role").get_attribute("title")
    expect(panel.locator(".empty")).to_be_hidden()

    # every update replaces the whole list
    render(page, "renderParts", {"turn_id": 4, "parts": [
        {"id": 1, "name": "my inner critic", "role": "unclear", "latest": "It went quiet.", "last_turn": 4},
        {"id": 3, "name": "the part that wants to hide", "role": "made-up", "latest": "Part of me wants to hide."},
    ]})
    expect(parts).to_have_count(2)
    expect(parts.nth(0).locator(".part-role")).to_have_text("guess: not yet clear")
    expect(parts.nth(0).locator(".part-latest")).to_have_text("It went quiet.")
    expect(parts.nth(1).locator(".part-name")).to_have_text("the part that wants to hide")
    expect(parts.nth(1).locator(".part-role")).to_have_text("guess: not yet clear")  # an unknown role is no role
    render(page, "renderParts", {"turn_id": 5, "parts": []})
    expect(parts).to_have_count(0)
    expect(panel.locator(".empty")).to_be_visible()


def test_parts_map_is_heard_from_the_coach_only(facilitator):
    page, _ = facilitator
    send = """async ([identity, payload]) => {
        const reader = {readAll: async () => JSON.stringify(payload)};
        await window.nbpFacilitator.streamHandlers['coach.parts'](reader, {identity});
    }"""
    coach = page.evaluate("() => fetch('/api/sessions/' + new URLSearchParams(location.hash.slice(1)).get('sid'))"
                          ".then(r => r.json()).then(s => s.coach_identity)")
    page.evaluate(send, ["partner-someone", parts_payload(name="forged part")])
    expect(page.locator("#parts .part")).to_have_count(0)
    page.evaluate(send, [coach, parts_payload()])
    expect(page.locator("#parts .part")).to_have_count(2)


def test_parts_text_is_never_html(facilitator):
    page, log = facilitator
    evil = "<img src=x onerror=alert(1)>"
    render(page, "renderParts", {"turn_id": 1, "parts": [
        {"id": evil, "name": evil, "role": "manager\" onclick=\"alert(1)", "role_cues": [evil], "latest": evil,
         "last_turn": 1, "mentions": 1}]})
    part = page.locator("#parts .part")
    expect(part.locator(".part-name")).to_have_text(evil)
    expect(part.locator(".part-latest")).to_have_text(evil)
    expect(part.locator(".part-role")).to_have_text("guess: not yet clear")
    assert part.locator(".part-role").get_attribute("class") == "part-role role-unclear"
    assert page.locator("#parts img, #parts [onclick]").count() == 0
    page.wait_for_timeout(200)
    assert log.dialogs == []


def _session_for_notes(page):
    render(page, "renderTranscript", {"turn_id": 1, "text": "My inner critic was loud all week.",
                                      "t_start": 65.0, "t_end": 68.0})
    render(page, "renderTranscript", {"turn_id": 2, "text": "The little girl inside feels alone.",
                                      "t_start": 70.0, "t_end": 73.0})
    render(page, "renderHint", hint(id="h1", summary="A critic part has been loud all week.", turn_ids=[1]))
    render(page, "renderHint", {"id": "h2", "partial": True, "summary": "Half-written hint"})  # never finished
    render(page, "renderHint", {"id": "h3", "partial": True, "summary": "Withdrawn hint"})
    render(page, "renderHint", {"id": "h3", "partial": False, "withdrawn": True})
    render(page, "renderParts", parts_payload(turn_id=2))


def _download(page, button_name: str) -> tuple[str, str]:
    with page.expect_download() as info:
        page.get_by_role("button", name=button_name).click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8")


def test_session_notes_download_as_markdown_and_json(facilitator):
    page, log = facilitator
    notes_bar = page.locator(".notes-bar")
    expect(notes_bar.get_by_text("Notes are built in this browser; nothing is saved on the server.")).to_be_visible()
    expect(notes_bar.get_by_role("button", name="Download notes as Markdown")).to_be_visible()
    _session_for_notes(page)
    requests_before = len(log.requests)

    name, markdown = _download(page, "Download notes as Markdown")
    assert re.fullmatch(r"session-notes-\d{4}-\d\d-\d\d-\d{4}\.md", name)
    assert markdown.startswith("# Session notes\n")
    assert "nothing was saved on the server" in markdown
    assert "- 1:05 My inner critic was loud all week." in markdown
    assert "- 1:10 The little girl inside feels alone." in markdown
    assert "Summary: A critic part has been loud all week." in markdown
    assert "You could ask: How do you feel toward that part?" in markdown
    assert "Half-written" not in markdown, markdown  # only hints shown in full
    assert "Withdrawn" not in markdown, markdown
    assert "**my inner critic**: guess: manager" in markdown
    assert "**the little girl inside**: guess: exile" in markdown
    assert "Latest: It says I should have finished by now." in markdown

    name, text = _download(page, "Download notes as JSON")
    assert name.endswith(".json")
    notes = json.loads(text)
    assert notes["kind"] == "nobadparts-session-notes"
    assert notes["session_id"] == page.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('sid')")
    assert [(line["turn_id"], line["text"]) for line in notes["transcript"]] == [
        (1, "My inner critic was loud all week."), (2, "The little girl inside feels alone.")]
    assert [h["summary"] for h in notes["hints"]] == ["A critic part has been loud all week."]
    assert notes["hints"][0]["follow_ups"] == ["How do you feel toward that part?", "What does it want you to know?"]
    assert [(p["name"], p["role"]) for p in notes["parts"]] == [("my inner critic", "manager"),
                                                                ("the little girl inside", "exile")]
    assert len(log.requests) == requests_before, "building the notes must not touch the network"


def test_session_notes_keep_partner_text_out_of_markup(facilitator):
    page, _ = facilitator
    evil = "<img src=x onerror=alert(1)> [link](http://example.com) *bold*"
    render(page, "renderTranscript", {"turn_id": 1, "text": evil, "t_start": 1.0, "t_end": 2.0})
    _, markdown = _download(page, "Download notes as Markdown")
    assert not re.search(r"(?<!\\)[<\[*]", markdown.split("## Transcript", 1)[1].split("## Hints")[0]), markdown
    assert r"\<img src=x onerror=alert(1)\> \[link\](http://example.com) \*bold\*" in markdown
    _, text = _download(page, "Download notes as JSON")
    assert json.loads(text)["transcript"][0]["text"] == evil  # JSON keeps the words exactly


def test_ending_the_session_clears_the_parts_map_and_keeps_the_notes_downloadable(facilitator):
    page, _ = facilitator
    _session_for_notes(page)
    expect(page.locator("#parts .part")).to_have_count(2)
    page.get_by_role("button", name="End session").click()  # the confirm dialog is accepted
    expect(page.get_by_role("heading", name="The session has ended")).to_be_visible()
    assert page.locator("#parts .part").count() == 0
    expect(page.locator("#ended").get_by_text("Notes are built in this browser; nothing is saved on the server.")
           ).to_be_visible()
    _, markdown = _download(page, "Download notes as Markdown")
    assert "**my inner critic**: guess: manager" in markdown and "My inner critic was loud all week." in markdown
    page.reload()  # nothing survives the page: no notes to offer
    expect(page.get_by_role("heading", name="The session has ended")).to_be_visible()
    expect(page.locator("#ended-notes")).to_be_hidden()


# ---- 5. facilitator controls ----------------------------------------------------------------------------------


def test_pause_and_resume_call_the_api(facilitator, server):
    page, _ = facilitator
    sid = page.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('sid')")
    with page.expect_response(f"**/api/sessions/{sid}/pause") as paused:
        page.get_by_role("button", name="Pause coach").click()
    assert paused.value.json()["coach_state"] == "paused"
    expect(page.locator("#coach-state")).to_have_text("Coach paused")
    assert server.hooks.paused[sid] is True
    with page.expect_response(f"**/api/sessions/{sid}/resume"):
        page.get_by_role("button", name="Resume coach").click()
    expect(page.locator("#coach-state")).to_have_text("Coach waiting for your partner")
    assert server.hooks.paused[sid] is False


def test_end_session_asks_first(facilitator, server):
    page, log = facilitator
    sid = page.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('sid')")
    log.accept_dialogs = False
    page.get_by_role("button", name="End session").click()
    page.wait_for_timeout(300)
    assert len(log.dialogs) == 1 and not server.app[STORE].get(sid).ended
    log.accept_dialogs = True
    with page.expect_response(f"**/api/sessions/{sid}/end"):
        page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("heading", name="The session has ended")).to_be_visible()
    assert server.app[STORE].get(sid).ended
    page.reload()  # an ended session stays ended
    expect(page.get_by_role("heading", name="The session has ended")).to_be_visible()
