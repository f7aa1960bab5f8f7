"""Bounded everything, and ended means ended: rate limits per address, a cap on live sessions, idle sessions ended
the way the facilitator ends them and then forgotten, rooms made only by us (and made again after LiveKit restarts),
rejoin codes that work once, for the partner only, no longer than the session; names without invisible tricks."""

import asyncio

import pytest

from coach import livekit_server as lk
from coach.config import Settings
from server import lifecycle
from server.app import ROOMS, STORE, create_app
from server.limits import SlidingWindow
from server.rooms import MemoryRooms
from server.schemas import clean_name
from server.sessions import SessionStore
from server.state import RateLimits
from tests.test_server_api import KEYS, Clock, RecordingHooks, invite_code


class Ordered(RecordingHooks):
    """Records the coach's calls in one list with the rooms' calls, to see which came first."""

    def __init__(self, rooms):
        super().__init__()
        self.rooms = rooms

    async def session_created(self, session, credentials):
        self.calls.append(("created", session.id, session.room in self.rooms.rooms))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def rooms():
    return MemoryRooms()


@pytest.fixture
def hooks(rooms):
    return Ordered(rooms)


def build(tmp_path, clock, hooks, rooms, limits=None, **settings):
    settings = Settings(state_dir=tmp_path, **{"session_idle_s": 600, **settings})
    return create_app(settings, keys=KEYS, lan_ip="192.168.1.20", hooks=hooks, rooms=rooms,
                      store=SessionStore(invite_ttl_s=600, clock=clock), limits=limits)


@pytest.fixture
async def client(aiohttp_client, tmp_path, clock, hooks, rooms):
    c = await aiohttp_client(build(tmp_path, clock, hooks, rooms))
    await c.get("/")
    return c


async def create(client) -> dict:
    resp = await client.post("/api/sessions")
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def join(client, body, name="Sam"):
    return await client.post("/api/join", json={"invite": invite_code(body), "name": name, "consent": True})


# ---- the sliding window -------------------------------------------------------------------------------------------


def test_sliding_window_allows_the_limit_then_says_how_long_to_wait():
    clock = Clock()
    window = SlidingWindow(3, 60.0, clock)
    for _ in range(3):  # at 0, 10 and 20 s
        assert window.take("a") == 0.0
        clock.t += 10
    assert window.take("a") == pytest.approx(30.0)  # at 30 s: the first one leaves the window at 60 s
    assert window.take("b") == 0.0  # per key
    clock.t += 20
    assert window.take("a") == pytest.approx(10.0)  # refused tries do not count
    clock.t += 10
    assert window.take("a") == 0.0  # at 60 s: the first event slid out
    assert window.take("a") == pytest.approx(10.0)  # the one at 10 s is next to go


def test_sliding_window_holds_a_bounded_number_of_addresses():
    window = SlidingWindow(1, 60.0, Clock(), max_keys=100)
    for i in range(10_000):
        window.hit(f"10.0.{i // 256}.{i % 256}")
    assert len(window) == 100


async def test_joins_rejoins_and_creations_are_rate_limited_per_address(aiohttp_client, tmp_path, clock, hooks, rooms):
    limits = RateLimits(create=SlidingWindow(3, 60.0, clock), join=SlidingWindow(2, 60.0, clock),
                        rejoin=SlidingWindow(2, 60.0, clock), passcode=SlidingWindow(5, 60.0, clock))
    c = await aiohttp_client(build(tmp_path, clock, hooks, rooms, limits=limits, max_sessions=10))
    await c.get("/")
    bodies = [await create(c) for _ in range(3)]
    refused = await c.post("/api/sessions")
    assert refused.status == 429 and refused.headers["Retry-After"] == "60"
    assert "too many new sessions" in (await refused.json())["error"]
    joined = await (await join(c, bodies[0])).json()
    assert (await c.post("/api/join", json={"invite": "A" * 32, "name": "x", "consent": True})).status == 404
    third = await join(c, bodies[1])
    assert third.status == 429 and "too many joins" in (await third.json())["error"]
    code = joined["rejoin"]
    for _ in range(2):
        r = await c.post("/api/rejoin", json={"rejoin": code})
        assert r.status == 200
        code = (await r.json())["rejoin"]
    r = await c.post("/api/rejoin", json={"rejoin": code})
    assert r.status == 429 and int(r.headers["Retry-After"]) == 60
    clock.t += 60
    assert (await c.post("/api/rejoin", json={"rejoin": code})).status == 200  # the code was not spent by the 429


# ---- at most max_sessions live --------------------------------------------------------------------------------------


async def test_a_cap_on_live_sessions(aiohttp_client, tmp_path, clock, hooks, rooms):
    c = await aiohttp_client(build(tmp_path, clock, hooks, rooms, max_sessions=2))
    await c.get("/")
    first, _ = await create(c), await create(c)
    over = await c.post("/api/sessions")
    assert over.status == 429 and "end one first" in (await over.json())["error"]
    assert len(c.app[STORE].all()) == 2  # the refused one left nothing behind
    assert (await c.post(f"/api/sessions/{first['session_id']}/end")).status == 200
    await create(c)  # an ended session frees its place


# ---- rooms made only by us ------------------------------------------------------------------------------------------


def test_livekit_makes_no_room_by_itself(tmp_path):
    yaml = pytest.importorskip("yaml")
    settings = Settings(state_dir=tmp_path)
    lk.ensure_keys(tmp_path)
    assert yaml.safe_load(lk.render_config(settings, "192.168.1.20").read_text())["room"] == {"auto_create": False}


async def test_the_room_is_made_before_the_coach_is_told_and_closed_at_the_end(client, hooks, rooms):
    body = await create(client)
    assert rooms.created == [body["room"]]
    assert hooks.calls == [("created", body["session_id"], True)]  # the room existed when the coach heard
    await client.post(f"/api/sessions/{body['session_id']}/end")
    assert rooms.deleted == [body["room"]] and body["room"] not in rooms.rooms


async def test_no_session_starts_when_livekit_cannot_make_its_room(client, hooks, rooms):
    rooms.down = True
    resp = await client.post("/api/sessions")
    assert resp.status == 503 and "LiveKit server is not reachable" in (await resp.json())["error"]
    assert client.app[STORE].all() == [] and hooks.calls == []  # no coach for a session without a room


async def test_after_livekit_restarts_the_rooms_of_live_sessions_are_made_again(client, rooms):
    live, ended = await create(client), await create(client)
    await client.post(f"/api/sessions/{ended['session_id']}/end")
    rooms.rooms.clear()  # livekit-server restarted: it has no rooms
    assert await lifecycle.restore_rooms(client.app) == 1
    assert set(rooms.rooms) == {live["room"]}
    rooms.rooms.clear()  # and the sweep makes a missing room again by itself
    await lifecycle.sweep(client.app)
    assert set(rooms.rooms) == {live["room"]}


# ---- idle sessions end, ended ones are forgotten ------------------------------------------------------------------


async def test_an_idle_session_ends_like_an_ended_one(client, clock, hooks, rooms):
    body = await create(client)
    partner = await (await join(client, body)).json()
    sid = body["session_id"]
    rooms.rooms[body["room"]] = {body["coach_identity"]}  # only the coach is left in the room
    clock.t += 599
    await lifecycle.sweep(client.app)
    assert not client.app[STORE].get(sid).ended
    clock.t += 2
    await lifecycle.sweep(client.app)
    assert client.app[STORE].get(sid).ended
    assert ("ended", sid) in hooks.calls and rooms.deleted == [body["room"]]  # the coach released, the room closed
    view = await (await client.get(f"/api/sessions/{sid}")).json()
    assert view["ended"] is True and view["facilitator"]["token"] is None
    gone = await client.post("/api/rejoin", json={"rejoin": partner["rejoin"]})
    assert gone.status == 410
    clock.t += lifecycle.KEEP_ENDED_S
    await lifecycle.sweep(client.app)
    assert client.app[STORE].get(sid) is None  # forgotten: memory stays bounded
    assert (await client.get(f"/api/sessions/{sid}")).status == 404
    assert (await client.post("/api/rejoin", json={"rejoin": partner["rejoin"]})).status == 404


async def test_people_in_the_room_keep_a_session_alive(client, clock, rooms):
    body = await create(client)
    for _ in range(5):
        rooms.rooms[body["room"]] = {body["coach_identity"], body["facilitator"]["identity"]}
        clock.t += 500
        await lifecycle.sweep(client.app)
    assert not client.app[STORE].get(body["session_id"]).ended  # 2,500 s, never 600 s alone


async def test_with_livekit_down_idle_sessions_still_end(client, clock, rooms):
    body = await create(client)
    rooms.down = True
    clock.t += 601
    await lifecycle.sweep(client.app)
    assert client.app[STORE].get(body["session_id"]).ended


def test_the_store_forgets_the_oldest_ended_sessions_beyond_a_bound():
    clock = Clock()
    store = SessionStore(clock=clock)
    for _ in range(100):
        s, _ = store.create()
        store.end(s.id)
        clock.t += 1
    store.prune(keep_ended_s=3600, max_ended=32)
    assert len(store.all()) == 32


async def test_the_sweep_runs_by_itself_while_the_app_runs(aiohttp_client, tmp_path, hooks, rooms):
    app = create_app(Settings(state_dir=tmp_path, session_idle_s=0.2), keys=KEYS, lan_ip="192.168.1.20",
                     hooks=hooks, rooms=rooms)
    c = await aiohttp_client(app)
    await c.get("/")
    body = await create(c)
    for _ in range(40):
        if app[STORE].get(body["session_id"]).ended:
            break
        await asyncio.sleep(0.05)
    assert app[STORE].get(body["session_id"]).ended and app[ROOMS].deleted == [body["room"]]


# ---- rejoin codes ---------------------------------------------------------------------------------------------------


async def test_rejoin_codes_rotate_on_every_use(client):
    body = await create(client)
    joined = await (await join(client, body)).json()
    first = await client.post("/api/rejoin", json={"rejoin": joined["rejoin"]})
    assert first.status == 200
    again = await first.json()
    assert again["identity"] == joined["identity"] and again["rejoin"] != joined["rejoin"]
    old = await client.post("/api/rejoin", json={"rejoin": joined["rejoin"]})
    assert old.status == 404 and "unknown rejoin code" in (await old.json())["error"]
    assert (await client.post("/api/rejoin", json={"rejoin": again["rejoin"]})).status == 200


async def test_a_rejoin_code_belongs_to_its_own_session_and_partner(client):
    a, b = await create(client), await create(client)
    pa = await (await join(client, a, "Sam")).json()
    pb = await (await join(client, b, "Kim")).json()
    back = await (await client.post("/api/rejoin", json={"rejoin": pa["rejoin"]})).json()
    assert back["identity"] == pa["identity"] != pb["identity"]
    store = client.app[STORE]
    assert store.get(a["session_id"]).rejoin_digest != store.get(b["session_id"]).rejoin_digest
    assert pa["rejoin"] not in str(vars(store.get(a["session_id"])))  # kept as a hash only


# ---- names ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,clean", [
    ("Sam", "Sam"),
    ("  Sam \t Lee\n", "Sam Lee"),
    ("Ｓａｍ", "Sam"),  # full-width letters fold (NFKC)
    ("Sa\u200bm\u2060", "Sam"),  # zero-width space, word joiner
    ("\u202eSam\u202c", "Sam"),  # a right-to-left override would show "maS"
    ("Sam\u2066\u2069\u200e\u200f\u061c", "Sam"),  # isolates and marks
    ("Sam\x00\x07\x1b[31m", "Sam[31m"),  # control characters, terminal escapes
    ("\ufeffSam", "Sam"),
    ("José", "José"), ("Zoë", "Zoë"), ("李小龍", "李小龍"), ("Renée O’Neil", "Renée O’Neil"),
])
def test_names_are_normalised(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u202e\u202c", " \u3164 ", "\u2800", "\x00\x01"])
async def test_a_name_of_invisible_characters_is_refused(client, name):
    body = await create(client)
    resp = await join(client, body, name)
    assert resp.status == 400 and "name" in (await resp.json())["error"]


async def test_the_partners_token_carries_the_cleaned_name(client):
    import jwt

    body = await create(client)
    joined = await (await join(client, body, "\u202eSam\u200b")).json()
    claims = jwt.decode(joined["token"], KEYS.api_secret, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["name"] == "Sam"
