"""`coach serve` as a user runs it, against its real livekit-server child: stopping, being killed, livekit-server
dying mid-session, a facilitator reload, and two sessions at once. Each prints its measured figure (-s to see)."""

import asyncio
import json
import signal
import time

import numpy as np
import pytest

from coach.audio import SAMPLE_RATE, load_wav
from tests.conftest import DATA
from tests.live_serve import Serve, alive, needs_livekit, port_free

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture
def serve(tmp_path):
    needs_livekit()
    s = Serve(tmp_path).ready()
    yield s
    s.stop(signal.SIGKILL)


def test_ctrl_c_stops_everything_and_frees_every_port_within_5_s(serve):
    lk_pid = serve.livekit_pid()
    serve.api("POST", "/api/sessions")  # a coach in a room, as in use
    time.sleep(2)
    took = serve.stop(signal.SIGINT)
    for _ in range(10):
        if not alive(lk_pid):
            break
        time.sleep(0.1)
    print(f"\nCtrl-C: coach serve exited in {took:.2f} s")
    assert serve.proc.returncode == 0, serve.output()[-2000:]
    assert took <= 5.0
    assert not alive(lk_pid), "livekit-server outlived coach serve"
    for name, port in serve.ports.items():
        kind = 2 if name.endswith("UDP_PORT") else 1
        assert port_free(port, kind, "0.0.0.0"), f"{name} {port} still in use after Ctrl-C"


def test_ctrl_c_with_five_live_sessions_stays_within_4_s(tmp_path):
    """An audit's Ctrl-C with 5 live sessions took 17 s and printed an "FFI Panic" line: stopping is bounded now,
    whatever the sessions are doing, and leaves without the LiveKit SDK's exit hook."""
    needs_livekit()
    serve = Serve(tmp_path, COACH_MAX_SESSIONS="5").ready()
    lk_pid = serve.livekit_pid()
    for _ in range(5):
        serve.api("POST", "/api/sessions")
    time.sleep(1)  # the coaches still connecting
    took = serve.stop(signal.SIGINT)
    print(f"\nCtrl-C with 5 sessions: coach serve exited in {took:.2f} s")
    assert serve.proc.returncode == 0, serve.output()[-2000:]
    assert took <= 4.0
    assert "panic" not in serve.output().lower(), serve.output()[-2000:]
    for _ in range(20):
        if not alive(lk_pid):
            break
        time.sleep(0.1)
    assert not alive(lk_pid), "livekit-server outlived coach serve"


def test_kill_9_of_coach_serve_takes_livekit_server_down_too(serve):
    lk_pid = serve.livekit_pid()
    serve.proc.kill()
    serve.proc.wait()
    for _ in range(30):
        if not alive(lk_pid):
            break
        time.sleep(0.1)
    assert not alive(lk_pid), "livekit-server kept running after coach serve was killed"


def test_started_again_right_after_ctrl_c(tmp_path):
    needs_livekit()
    first = Serve(tmp_path).ready()
    first.api("POST", "/api/sessions")
    first.stop(signal.SIGINT)
    again = Serve(tmp_path, **{k: str(v) for k, v in first.ports.items()})
    try:
        again.ready()  # the same ports, at once: no "port in use" from connections in TIME_WAIT
    finally:
        again.stop(signal.SIGKILL)


# ---- a session with real clients (the Python SDK as facilitator and partner) ----------------------------------------


class Clients:
    """A facilitator and a partner in the session's room, as the browsers would be, through our /rtc proxy."""

    def __init__(self, serve: Serve):
        self.serve = serve
        self.got: list[tuple[float, str, dict]] = []
        self.partner_got: list = []

    async def start(self):
        from livekit import rtc

        s = self.serve
        self.session = s.api("POST", "/api/sessions")
        invite = self.session["invite_url"].split("#", 1)[1]
        self.partner_view = s.api("POST", "/api/join", {"invite": invite, "name": "Sam", "consent": True})
        self.facilitator = await self.join_facilitator()
        self.partner = rtc.Room()
        for topic in ("coach.hint", "coach.transcript", "coach.history"):
            self.partner.register_text_stream_handler(topic, lambda r, i: self.partner_got.append(i))
        await self.partner.connect(self.partner_view["livekit_url"], self.partner_view["token"])
        return self

    async def join_facilitator(self):
        from livekit import rtc

        view = self.serve.api("GET", f"/api/sessions/{self.session['session_id']}")  # a fresh token, as a reload gets
        room = rtc.Room()
        for topic in ("coach.hint", "coach.transcript", "coach.history"):
            def handler(reader, identity, topic=topic):
                async def read():
                    self.got.append((time.monotonic(), topic, json.loads(await reader.read_all())))
                asyncio.create_task(read())
            room.register_text_stream_handler(topic, handler)
        await room.connect(view["livekit_url"], view["facilitator"]["token"])
        return room

    def rejoin(self) -> dict:
        """As the partner's page rejoins: each code works once, so the new one in the answer is kept for the next."""
        rejoined = self.serve.api("POST", "/api/rejoin", {"rejoin": self.partner_view["rejoin"]})
        self.partner_view["rejoin"] = rejoined["rejoin"]
        return rejoined

    def hints(self, since: float = 0.0) -> list[dict]:
        return [p for t, topic, p in self.got if topic == "coach.hint" and t >= since and not p.get("partial")
                and not p.get("withdrawn")]

    def lines(self, since: float = 0.0) -> list[dict]:
        return [p for t, topic, p in self.got if topic == "coach.transcript" and t >= since]

    async def speak(self, samples: np.ndarray, room=None, trailing_silence_s: float = 2.0):
        from coach.bench_live import speak_into

        tail = np.zeros(int(SAMPLE_RATE * trailing_silence_s), np.float32)
        return await speak_into(room or self.partner, np.concatenate([samples, tail]), settle_s=1.0)

    async def wait(self, check, timeout: float = 90.0) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if check():
                return time.monotonic() - t0
            await asyncio.sleep(0.2)
        kinds = [(topic, "partial" if p.get("partial") else "withdrawn" if p.get("withdrawn") else p.get("id"))
                 for _, topic, p in self.got]
        raise AssertionError(f"timed out; got {kinds}; coach serve said:\n{self.serve.output()[-1500:]}")

    async def close(self):
        for room in (self.partner, self.facilitator):
            try:
                await room.disconnect()
            except Exception:
                pass


def clip(seconds: float | None = None) -> np.ndarray:
    samples = load_wav(DATA / "partner_parts.wav").samples
    return samples if seconds is None else samples[: int(seconds * SAMPLE_RATE)]


async def test_a_reloaded_facilitator_gets_every_line_and_hint_again(serve):
    c = await Clients(serve).start()
    try:
        await c.speak(clip(40.0))
        await c.wait(lambda: c.hints() and c.lines(), 150)
        await asyncio.sleep(3.0)  # whatever is still being written lands
        lines = {p["turn_id"]: p["text"] for p in c.lines()}
        hints = {h["id"] for h in c.hints()}
        await c.facilitator.disconnect()  # the page reloads
        reload_at = time.monotonic()
        c.facilitator = await c.join_facilitator()
        await c.wait(lambda: any(topic == "coach.history" and t >= reload_at for t, topic, _ in c.got), 20)
        history = [p for t, topic, p in c.got if topic == "coach.history"][-1]
        again_lines = {p["turn_id"]: p["text"] for p in history["transcript"]}
        again_hints = {h["id"] for h in history["hints"]}
        print(f"\nreload: {len(lines)} lines and {len(hints)} hints before; history gave back "
              f"{len(set(lines) & set(again_lines))} lines and {len(hints & again_hints)} hints")
        assert set(lines) <= set(again_lines) and hints <= again_hints, "lost on reload"
        assert c.partner_got == [], "the partner must receive nothing from the coach"
    finally:
        await c.close()


async def test_partner_closing_the_tab_mid_sentence_is_transcribed_and_heard_again_after_rejoin(serve):
    from livekit import rtc

    c = await Clients(serve).start()
    try:
        samples = clip()
        # mid-sentence: cut inside speech (the loudest second after 5 s), no pause after it
        energy = np.convolve(samples ** 2, np.ones(1600), "same")
        cut = int(5 * SAMPLE_RATE) + int(np.argmax(energy[5 * SAMPLE_RATE: 9 * SAMPLE_RATE]))
        await c.speak(samples[:cut], trailing_silence_s=0.0)
        left_at = time.monotonic()
        await c.partner.disconnect()  # the tab closes
        waited = await c.wait(lambda: c.lines(since=left_at), 60)  # the words cut off by leaving
        print(f"\npartner left mid-sentence: their last words transcribed {waited:.1f} s after leaving")
        rejoined = c.rejoin()
        c.partner = rtc.Room()
        await c.partner.connect(rejoined["livekit_url"], rejoined["token"])
        back_at = time.monotonic()
        await c.speak(samples[cut: cut + 15 * SAMPLE_RATE])
        await c.wait(lambda: c.lines(since=back_at), 60)
        assert left_at < back_at
    finally:
        await c.close()


async def test_livekit_server_killed_mid_session_comes_back_and_hints_resume(serve):
    c = await Clients(serve).start()
    try:
        await c.speak(clip(12.0))
        await c.wait(lambda: c.lines())
        lk_pid = serve.livekit_pid()
        before = len(serve.output())
        killed_at = time.monotonic()
        import os

        os.kill(lk_pid, signal.SIGKILL)
        serve.wait_for("livekit-server stopped", 10, after=before)
        serve.wait_for("running again", 30, after=before)
        server_back = time.monotonic() - killed_at
        await c.close()  # the pages join again (with fresh tokens: the session view and the rejoin)
        c.facilitator = await c.join_facilitator()
        coach = c.session["coach_identity"]
        for _ in range(200):  # the coach joins again by itself
            if coach in c.facilitator.remote_participants:
                break
            await asyncio.sleep(0.1)
        coach_back = time.monotonic() - killed_at
        assert coach in c.facilitator.remote_participants, f"the coach did not come back: {serve.output()[-1500:]}"
        from livekit import rtc

        rejoined = c.rejoin()
        c.partner = rtc.Room()
        await c.partner.connect(rejoined["livekit_url"], rejoined["token"])
        resumed_at = time.monotonic()
        await c.speak(clip(30.0))
        await c.wait(lambda: c.hints(since=resumed_at))
        print(f"\nlivekit-server SIGKILL: server back in {server_back:.1f} s, coach back in the room {coach_back:.1f} s, "
              f"first hint after recovery {time.monotonic() - resumed_at:.1f} s after the partner started speaking")
        assert coach_back <= 20.0
    finally:
        await c.close()


async def test_two_sessions_at_once_both_get_hints(serve):
    a, b = await Clients(serve).start(), await Clients(serve).start()
    try:
        await asyncio.gather(a.speak(clip(30.0)), b.speak(clip(30.0)))
        await a.wait(lambda: a.hints(), 120)
        await b.wait(lambda: b.hints(), 120)
        assert a.partner_got == [] and b.partner_got == []
    finally:
        await a.close()
        await b.close()


def test_a_session_longer_than_the_token_lifetime_drops_nobody(tmp_path):
    """Tokens live 20 s here: everyone stays in past that, and after LiveKit drops everyone (killed), the coach
    and the clients get back in with freshly minted tokens."""
    import os

    needs_livekit()
    serve = Serve(tmp_path, COACH_TOKEN_TTL_S="20").ready()

    async def run():
        c = await Clients(serve).start()
        try:
            await asyncio.sleep(30)  # past every token's expiry
            coach = c.session["coach_identity"]
            assert c.facilitator.isconnected() and c.partner.isconnected()
            assert coach in c.facilitator.remote_participants, "the coach was dropped when its token expired"
            spoke_at = time.monotonic()
            await c.speak(clip(12.0))
            await c.wait(lambda: c.lines(since=spoke_at), 60)
            # LiveKit restarts: the old tokens are long expired, so rejoining needs fresh ones
            os.kill(serve.livekit_pid(), signal.SIGKILL)
            serve.wait_for("running again", 30)
            await c.close()
            c.facilitator = await c.join_facilitator()
            for _ in range(200):
                if coach in c.facilitator.remote_participants:
                    break
                await asyncio.sleep(0.1)
            assert coach in c.facilitator.remote_participants, "the coach did not get back in with a fresh token"
        finally:
            await c.close()

    try:
        asyncio.run(run())
    finally:
        serve.stop(signal.SIGKILL)
