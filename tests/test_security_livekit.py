"""Ended means ended, against a real livekit-server run from our rendered livekit.yaml (no models needed): a valid
token for a room we did not make joins nothing; ending a session closes its room and a token for it joins nothing
after; when livekit-server restarts empty, the rooms of live sessions are made again, and only those."""

import signal
import socket

import pytest

from coach import livekit_server as lk
from coach.config import Settings
from coach.serve_process import free_port
from server import lifecycle
from server.app import ROOMS, create_app
from server.tokens import LiveKitKeys, mint
from tests.live_serve import needs_livekit

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path):
    return Settings(state_dir=tmp_path, lan_ip="127.0.0.1", http_port=free_port(), livekit_port=free_port(),
                    livekit_tcp_port=free_port(), livekit_udp_port=free_port(socket.SOCK_DGRAM))


@pytest.fixture
def livekit(settings):
    needs_livekit()
    keys = lk.ensure_keys(settings.state_dir)
    holder = {"proc": lk.LiveKitProcess(lk.find_binary(), lk.render_config(settings, "127.0.0.1"),
                                        settings.state_dir / "livekit.log")}
    holder["proc"].wait_ready(settings.livekit_port)
    holder["keys"] = LiveKitKeys(keys.api_key, keys.api_secret)
    yield holder
    holder["proc"].stop()


@pytest.fixture
async def client(aiohttp_client, settings, livekit):
    app = create_app(settings, keys=livekit["keys"], lan_ip="127.0.0.1")  # the real RoomService
    c = await aiohttp_client(app)
    await c.get("/")
    return c


async def joins(settings, keys, room: str) -> bool:
    from livekit import rtc

    r = rtc.Room()
    token = mint(keys, room=room, identity="someone", name="Someone", role="facilitator", ttl_s=60)
    try:
        await r.connect(f"ws://127.0.0.1:{settings.livekit_port}", token)
    except Exception:
        return False
    await r.disconnect()
    return True


async def test_only_rooms_we_made_can_be_joined_and_ended_ones_are_gone(client, settings, livekit):
    keys = livekit["keys"]
    assert not await joins(settings, keys, "nbp-never-made"), "livekit-server made a room by itself"
    session = await (await client.post("/api/sessions")).json()
    assert await joins(settings, keys, session["room"])
    assert session["room"] in await client.app[ROOMS].occupants()
    assert (await client.post(f"/api/sessions/{session['session_id']}/end")).status == 200
    assert session["room"] not in await client.app[ROOMS].occupants()
    assert not await joins(settings, keys, session["room"]), "an ended session's room can still be joined"


async def test_after_a_restart_the_rooms_of_live_sessions_are_made_again(client, settings, livekit):
    live = await (await client.post("/api/sessions")).json()
    ended = await (await client.post("/api/sessions")).json()
    await client.post(f"/api/sessions/{ended['session_id']}/end")
    proc = livekit["proc"]
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait()
    livekit["proc"] = proc.restarted()
    livekit["proc"].wait_ready(settings.livekit_port)
    assert await client.app[ROOMS].occupants() == {}  # it came back empty
    assert await lifecycle.restore_rooms(client.app) == 1
    assert set(await client.app[ROOMS].occupants()) == {live["room"]}
    assert await joins(settings, livekit["keys"], live["room"])
    assert not await joins(settings, livekit["keys"], ended["room"])


# ---- the audit of 2026-12 (issue 22) ------------------------------------------------------------------------------

def _listening_tcp(pid: int) -> list[str]:
    """The local addresses of the TCP sockets this process listens on (ss, from iproute2)."""
    import subprocess

    out = subprocess.run(["ss", "-H", "-ltnp"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines() if f"pid={pid}," in line]


def test_by_default_livekit_listens_on_tcp_only_on_loopback(tmp_path):
    """TCP 7881 listened on every interface; media over TCP is now off unless asked for."""
    import shutil

    needs_livekit()
    if shutil.which("ss") is None:
        pytest.skip("ss (Debian's iproute2) is needed to list livekit-server's sockets: apt-get install iproute2")
    settings = Settings(state_dir=tmp_path, lan_ip="127.0.0.1", http_port=free_port(), livekit_port=free_port(),
                        livekit_udp_port=free_port(socket.SOCK_DGRAM))
    lk.ensure_keys(settings.state_dir)
    proc = lk.LiveKitProcess(lk.find_binary(), lk.render_config(settings, "127.0.0.1"), tmp_path / "livekit.log")
    try:
        proc.wait_ready(settings.livekit_port)
        listening = _listening_tcp(proc.proc.pid)
        assert listening, "ss saw no listening socket of livekit-server"
        assert all(a.startswith(("127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:")) for a in listening), listening
    finally:
        proc.stop()


async def test_a_forged_token_s_name_never_reaches_livekit_s_log(settings, livekit):
    """livekit-server writes a rejected token whole at warn level; a JWT carries the participant's name."""
    from livekit import rtc

    from server.tokens import LiveKitKeys

    forged = LiveKitKeys(livekit["keys"].api_key, "not-the-secret-" + "x" * 32)
    token = mint(forged, room="r", identity="mallory", name="Partner Realname Zq", role="partner", ttl_s=60)
    r = rtc.Room()
    with pytest.raises(Exception):
        await r.connect(f"ws://127.0.0.1:{settings.livekit_port}", token)
    await r.disconnect()
    livekit["proc"].stop()  # its last lines written
    log = (settings.state_dir / "livekit.log").read_bytes()
    assert b"Realname" not in log and token.encode() not in log and token.split(".")[1].encode() not in log
