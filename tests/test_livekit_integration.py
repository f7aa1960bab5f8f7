"""End to end against a real livekit-server (found on PATH or via LIVEKIT_SERVER_BIN): a partner publishes a
recording as its microphone, the coach in the room transcribes it, and hints reach the facilitator only.
Skips, saying why, when no livekit-server is installed (it cannot be installed on every machine)."""

import asyncio
import json
import socket

import numpy as np
import pytest

from coach import livekit_server as lk
from coach.audio import SAMPLE_RATE, load_wav
from tests.conftest import DATA

pytestmark = [pytest.mark.models, pytest.mark.slow]

BINARY = lk.find_binary()
if BINARY is None:
    pytest.skip(
        "livekit-server not found on PATH or LIVEKIT_SERVER_BIN (scripts/setup_livekit.sh installs it where a "
        "network allows): LiveKit integration tests skipped",
        allow_module_level=True,
    )


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_settings(settings, tmp_path):
    return settings.model_copy(update={
        "state_dir": tmp_path, "lan_ip": "127.0.0.1", "http_port": free_port(), "https_port": free_port(),
        "livekit_port": free_port(), "livekit_tcp_port": free_port(), "livekit_udp_port": free_port(socket.SOCK_DGRAM),
    })


@pytest.fixture
def livekit(live_settings):
    keys = lk.ensure_keys(live_settings.state_dir)
    config = lk.render_config(live_settings, "127.0.0.1")
    proc = lk.LiveKitProcess(BINARY, config, live_settings.state_dir / "livekit.log")
    try:
        proc.wait_ready(live_settings.livekit_port)
        yield keys
    finally:
        proc.stop()


class Faulty:
    """The first session's pipeline, made to fail on its first audio: injected, to show the others go on."""

    broken = 0

    def __init__(self, live):
        self._live = live

    def __getattr__(self, name):
        return getattr(self._live, name)

    def __setattr__(self, name, value):
        if name == "_live":
            object.__setattr__(self, name, value)
        else:
            setattr(self._live, name, value)

    async def feed(self, samples):
        Faulty.broken += 1
        raise RuntimeError("injected failure in one session's coach")


@pytest.fixture
def fault_first_session():
    return {"on": False}


@pytest.fixture
async def server(live_settings, livekit, models, fault_first_session):
    from aiohttp import web

    from coach.live import LiveSession
    from coach.room import CoachRoomManager
    from server.app import create_app
    from server.tokens import LiveKitKeys

    made = []

    def new_live():
        live = LiveSession(models, live_settings)
        made.append(live)
        return Faulty(live) if fault_first_session["on"] and len(made) == 1 else live

    manager = CoachRoomManager(models, live_settings, new_live=new_live)
    app = create_app(live_settings, keys=LiveKitKeys(livekit.api_key, livekit.api_secret), lan_ip="127.0.0.1",
                     hooks=manager)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", live_settings.http_port).start()
    try:
        yield f"http://127.0.0.1:{live_settings.http_port}"
    finally:
        await manager.aclose()
        await runner.cleanup()


async def publish_wav(room, samples: np.ndarray) -> None:
    from coach.bench_live import speak_into

    await speak_into(room, samples, settle_s=1.0)  # let the coach subscribe before the first word


def collect(room, topics, into):
    for topic in topics:
        def handler(reader, identity, topic=topic):
            async def read():
                into.append((topic, identity, json.loads(await reader.read_all())))
            asyncio.create_task(read())
        room.register_text_stream_handler(topic, handler)


async def test_hints_reach_the_facilitator_and_never_the_partner(server):
    import aiohttp
    from livekit import rtc

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # unsafe: an IP host
        (await http.get(f"{server}/")).release()  # the facilitator's page, which hands out the facilitator cookie
        session = await (await http.post(f"{server}/api/sessions")).json()
        invite = session["invite_url"].split("#", 1)[1]
        partner = await (await http.post(f"{server}/api/join",
                                         json={"invite": invite, "name": "Sam", "consent": True})).json()

    facilitator_got, partner_got = [], []
    facilitator, partner_room = rtc.Room(), rtc.Room()
    collect(facilitator, ["coach.hint", "coach.transcript"], facilitator_got)
    collect(partner_room, ["coach.hint", "coach.transcript"], partner_got)
    # Both join through our own /rtc proxy, as browsers do.
    await facilitator.connect(session["livekit_url"], session["facilitator"]["token"])
    await partner_room.connect(partner["livekit_url"], partner["token"])
    try:
        samples = load_wav(DATA / "partner_parts.wav").samples
        await publish_wav(partner_room, np.concatenate([samples, np.zeros(SAMPLE_RATE * 2, np.float32)]))
        final = lambda: [p for t, _, p in facilitator_got if t == "coach.hint" and not p.get("partial")]  # noqa: E731
        # A safety alert may come first (a card of its own, never streamed): wait for the model's hint.
        for _ in range(120):
            if any(not h.get("alert") for h in final()):
                break
            await asyncio.sleep(0.5)
        hints = [h for h in final() if not h.get("withdrawn") and not h.get("alert")]
        assert hints, f"no hint reached the facilitator; got {[t for t, _, _ in facilitator_got]}"
        partials = [p for t, _, p in facilitator_got if t == "coach.hint" and p.get("partial")]
        lat = hints[0].get("latencies", {})
        # a safety hint is written whole, from the reviewed text; and a reflection built from the partner's own words
        # needs no LLM, so the whole hint is ready at once (the outbox then sends it instead of its partial)
        streamed = lat.get("first_text_s") is not None and lat["first_text_s"] < lat.get("speech_to_hint_s", 0) - 0.05
        if hints[0]["priority"] == "normal" and streamed:
            assert partials and partials[0]["id"] == hints[0]["id"], "the summary was not streamed before the hint"
        assert all(p["id"] == hints[0]["id"] for p in partials[:1])
        assert all(ident == session["coach_identity"] for _, ident, _ in facilitator_got)
        hint = hints[0]
        assert {"id", "summary", "suggestion", "follow_ups", "priority", "latencies"} <= set(hint)
        assert any(topic == "coach.transcript" for topic, _, _ in facilitator_got)
        await asyncio.sleep(1.0)
        assert partner_got == [], "the partner must receive nothing from the coach"
        coach = facilitator.remote_participants.get(session["coach_identity"])
        assert coach is not None and coach.attributes.get("coach_state") in ("listening", "thinking")
        # the coach never publishes media
        assert not coach.track_publications
    finally:
        await partner_room.disconnect()
        await facilitator.disconnect()


async def test_a_failure_in_one_sessions_coach_leaves_the_other_session_working(server, fault_first_session, caplog):
    import logging

    import aiohttp
    from livekit import rtc

    fault_first_session["on"] = True
    caplog.set_level(logging.ERROR, logger="coach.tasks")
    rooms, got = [], {0: [], 1: []}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # unsafe: an IP host
        (await http.get(f"{server}/")).release()  # the facilitator's page, which hands out the facilitator cookie
        for i in range(2):
            session = await (await http.post(f"{server}/api/sessions")).json()
            invite = session["invite_url"].split("#", 1)[1]
            partner = await (await http.post(f"{server}/api/join",
                                             json={"invite": invite, "name": "Sam", "consent": True})).json()
            facilitator, partner_room = rtc.Room(), rtc.Room()
            collect(facilitator, ["coach.hint", "coach.transcript"], got[i])
            await facilitator.connect(session["livekit_url"], session["facilitator"]["token"])
            await partner_room.connect(partner["livekit_url"], partner["token"])
            rooms += [facilitator, partner_room]
    try:
        samples = load_wav(DATA / "partner_parts.wav").samples
        tail = np.zeros(SAMPLE_RATE * 2, np.float32)
        await asyncio.gather(publish_wav(rooms[1], np.concatenate([samples, tail])),
                             publish_wav(rooms[3], np.concatenate([samples, tail])))
        for _ in range(120):
            if any(t == "coach.hint" and not p.get("partial") for t, _, p in got[1]):
                break
            await asyncio.sleep(0.5)
        assert any(t == "coach.hint" and not p.get("partial") for t, _, p in got[1]), "the healthy session got no hint"
        assert Faulty.broken >= 1 and got[0] == [], "the injected failure did not happen"
        assert any("injected failure" in str(r.exc_info[1]) for r in caplog.records if r.exc_info), \
            "the failure must be logged"
    finally:
        for room in rooms:
            await room.disconnect()
