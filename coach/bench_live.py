"""`coach bench --live`: speech-to-hint latency as the facilitator gets it in a real session.

A real `coach serve` (real livekit-server, real coach) runs as a user starts it; a partner client (the LiveKit
Python SDK) publishes the corpus's clips as its microphone, in real time, with a pause after each; the facilitator
(the SDK, or with --browser the real facilitator page in Chromium) receives the hints. End of speech is known from
the clip itself (its last loud sample), so nothing is taken from the coach's own clock. The same clips are then
replayed in real time without LiveKit, in the same run, on the same models: the difference is the live path's cost.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from coach.audio import SAMPLE_RATE, load_wav
from coach.bench import Clip, percentiles, read_corpus, voice_builtin
from coach.config import Settings
from coach.errors import CoachError

PAUSE_S = 4.0  # after each clip: the partner waits, as people do, and the hint has time to land
MATCH_S = 1.5  # a hint answers the clip whose known end of speech is this close to the coach's own estimate
WAIT_AFTER_S = 20.0
DELIVERY_KEYS = ("queued_ms", "transit_ms", "drawing_ms")
CHROMIUM = Path("/usr/bin/chromium")


def speech_end_s(samples: np.ndarray, floor: float = 0.02) -> float:
    """Where the clip's speech ends: its last sample above `floor` of its peak."""
    loud = np.flatnonzero(np.abs(samples) > floor * max(1e-6, float(np.abs(samples).max())))
    return (loud[-1] + 1) / SAMPLE_RATE if len(loud) else 0.0


@dataclass
class Arrival:
    """One hint as the facilitator got it (wall clock, seconds since the epoch)."""

    first_at: float
    final_at: float | None = None
    speech_end_at: float | None = None  # the coach's own estimate, used only to tell which clip a hint answers
    coach: dict = field(default_factory=dict)  # the hint's latencies on the coach's own clock (its payload's)
    sent_at: float | None = None  # when the coach sent the complete hint (its text stream's own timestamp)
    received_at: float | None = None  # when the facilitator had all of it

    def delivery(self) -> dict:
        """Where the time went after the coach finished the hint: waiting to be sent, on the way, being drawn."""
        ready = self.coach.get("speech_to_hint_s")
        ready_at = self.speech_end_at + ready if self.speech_end_at and ready is not None else None
        gap = lambda a, b: round((b - a) * 1000, 1) if a is not None and b is not None else None  # noqa: E731
        return {"queued_ms": gap(ready_at, self.sent_at), "transit_ms": gap(self.sent_at, self.received_at),
                "drawing_ms": gap(self.received_at, self.final_at)}


@dataclass
class Timeline:
    ends: list[float] = field(default_factory=list)  # each clip's known end of speech, wall clock
    hints: dict[str, Arrival] = field(default_factory=dict)

    def per_clip(self) -> list[dict]:
        """For each clip: its hint's first text and completion, in seconds after its end of speech (None if none)."""
        finals = [(a.speech_end_at, a.first_at, a.final_at, a.coach | a.delivery()) for a in self.hints.values()
                  if a.final_at and a.speech_end_at]
        return match_clips(self.ends, finals)


def match_clips(ends: list[float], hints: list[tuple[float, float, float, dict]]) -> list[dict]:
    """Each clip's hint: the one whose own estimate of the end of speech is nearest the clip's known end (within
    MATCH_S). `hints`: (estimated end, first text, complete, the coach's own latencies), on the same clock as `ends`.
    The coach's own figures (from its voice activity end of speech, on its clock) tell a coach slowed down by the
    machine's load apart from a slow delivery."""
    rows = []
    for end in ends:
        best = min((h for h in hints if abs(h[0] - end) <= MATCH_S), key=lambda h: abs(h[0] - end), default=None)
        coach = best[3] if best else {}
        rows.append({"first_text_s": round(best[1] - end, 3) if best else None,
                     "complete_s": round(best[2] - end, 3) if best else None,
                     "coach_first_text_s": coach.get("first_text_s"), "coach_complete_s": coach.get("speech_to_hint_s"),
                     # how late the coach heard the end of speech: the audio's way in, and its voice activity
                     "heard_end_ms": round((best[0] - end) * 1000, 1) if best else None,
                     "coach_stages_s": {k: v for k, v in coach.items() if k not in DELIVERY_KEYS}}
                    | {k: coach.get(k) for k in DELIVERY_KEYS})
    return rows


def _load_clips(corpus: Path | None, limit: int | None, folder: Path) -> list[tuple[str, np.ndarray]]:
    clips: list[Clip] = read_corpus(corpus) if corpus else voice_builtin(folder)
    return [(c.id, load_wav(c.path).samples) for c in clips[:limit]]


def session_audio(clips: list[np.ndarray]) -> tuple[np.ndarray, list[float]]:
    """The clips with a pause after each, as one stream, and each clip's end of speech on that stream's clock."""
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    parts, ends, t = [np.zeros(SAMPLE_RATE // 2, np.float32)], [], 0.5
    for samples in clips:
        ends.append(t + speech_end_s(samples))
        parts += [samples, pause]
        t += len(samples) / SAMPLE_RATE + PAUSE_S
    return np.concatenate(parts), ends


# ---- the live run --------------------------------------------------------------------------------------------


async def speak_into(room, audio: np.ndarray, on_sent: Callable[[float, float], None] | None = None,
                     settle_s: float = 1.5):
    """Publishes `audio` (16 kHz float32) as `room`'s microphone, paced like a real one (20 ms frames, a short
    queue: what is captured goes out at once). `on_sent(seconds sent, seconds still queued)` after each frame.
    Returns the track's publication."""
    from livekit import rtc

    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=50)
    track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
    publication = await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    await asyncio.sleep(settle_s)  # the coach subscribes
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    step = SAMPLE_RATE // 50  # 20 ms, an Opus packet's worth: a real partner's device does this work, not ours
    for i in range(0, len(pcm) - step + 1, step):
        await source.capture_frame(rtc.AudioFrame(pcm[i:i + step].tobytes(), SAMPLE_RATE, 1, step))
        if on_sent:
            on_sent((i + step) / SAMPLE_RATE, source.queued_duration)
    return publication


async def _publish(room, audio: np.ndarray, ends: list[float], timeline: Timeline,
                   progress: Callable[[str], None]) -> None:
    """The partner speaks; each clip's end of speech is noted on the wall clock as it goes out."""
    def noted(sent: float, queued: float) -> None:
        while len(timeline.ends) < len(ends) and sent >= ends[len(timeline.ends)]:
            timeline.ends.append(time.time() + queued - (sent - ends[len(timeline.ends)]))
            progress(f"  live: clip {len(timeline.ends)}/{len(ends)} spoken")

    await speak_into(room, audio, noted)


def _sdk_facilitator(timeline: Timeline):
    from livekit import rtc

    room = rtc.Room()

    def on_hint(reader, identity):
        async def read():
            at = time.time()
            payload = json.loads(await reader.read_all())
            hid = str(payload.get("id"))
            if str(hid).startswith("alert-") or payload.get("withdrawn"):
                return
            arrival = timeline.hints.setdefault(hid, Arrival(first_at=at))
            if not payload.get("partial") and arrival.final_at is None:
                arrival.final_at = arrival.received_at = time.time()
                arrival.sent_at = reader.info.timestamp / 1000
                arrival.speech_end_at = payload.get("speech_end_at")
                arrival.coach = payload.get("latencies") or {}
        asyncio.ensure_future(read())

    room.register_text_stream_handler("coach.hint", on_hint)
    return room


async def _run_live(serve, audio: np.ndarray, ends: list[float], browser: bool,
                    progress: Callable[[str], None]) -> Timeline:
    from livekit import rtc

    timeline = Timeline()
    session = serve.api("POST", "/api/sessions")
    invite = session["invite_url"].split("#", 1)[1]
    partner_view = serve.api("POST", "/api/join", {"invite": invite, "name": "Bench partner", "consent": True})
    page = pw = None
    if browser:
        from playwright.async_api import async_playwright

        pw = await async_playwright().start()
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
        page = await chromium.new_page()
        await page.goto(f"{serve.http}/facilitator#sid={session['session_id']}")
        await page.wait_for_function("() => window.nbpFacilitator?.room()?.state === 'connected'", timeout=30_000)
        facilitator = None
    else:
        facilitator = _sdk_facilitator(timeline)
        await facilitator.connect(session["livekit_url"], session["facilitator"]["token"])
    partner = rtc.Room()
    # Only a microphone: a real partner's device decodes the facilitator's video, not the coach's computer.
    await partner.connect(partner_view["livekit_url"], partner_view["token"], rtc.RoomOptions(auto_subscribe=False))
    try:
        await _publish(partner, audio, ends, timeline, progress)
        deadline = time.monotonic() + WAIT_AFTER_S
        while time.monotonic() < deadline:
            if page is not None:
                _read_page(await page.evaluate("() => window.nbpFacilitator.timeline"), timeline)
            if sum(r["complete_s"] is not None for r in timeline.per_clip()) == len(ends):
                break
            await asyncio.sleep(0.5)
    finally:
        await partner.disconnect()
        if facilitator is not None:
            await facilitator.disconnect()
        if pw is not None:
            await pw.stop()
    return timeline


def _read_page(entries: list[dict], timeline: Timeline) -> None:
    """The page's own record of when each card appeared (ms since the epoch, this computer's clock)."""
    for e in entries:
        if str(e.get("id", "")).startswith("alert-"):
            continue
        seconds = lambda key: (e.get(key) or 0) / 1000 or None  # noqa: E731
        timeline.hints[str(e["id"])] = Arrival(
            first_at=e["first_at"] / 1000, final_at=seconds("final_at"), speech_end_at=seconds("speech_end_at"),
            coach=e.get("latencies") or {}, sent_at=seconds("sent_at"), received_at=seconds("received_at"))


# ---- the same clips without LiveKit ------------------------------------------------------------------------------


def _run_replay(settings: Settings, audio: np.ndarray, ends: list[float]) -> list[dict]:
    """Real-time replay in this process: same models, same threads, no network, no browser."""
    from coach.events import HintFirstText, HintReady
    from coach.replay import replay_realtime
    from coach.runtime import Models

    models = Models.load(settings)
    first: dict[int, float] = {}
    ready: list[tuple[float, float, float, dict]] = []  # (coach's speech end, first text, complete, latencies)
    for ev in replay_realtime(models, settings, audio):
        if isinstance(ev, HintFirstText):
            first[ev.hint_id] = ev.t
        elif isinstance(ev, HintReady):
            ready.append((ev.t_speech_end, first.get(ev.hint_id, ev.t_ready), ev.t_ready, ev.latencies))
    return match_clips(ends, ready)


# ---- the run and its report ------------------------------------------------------------------------------------


def _summary(rows: list[dict]) -> dict:
    out = {k: percentiles(r[k] * 1000 if r.get(k) is not None else None for r in rows)
           for k in ("first_text_s", "complete_s", "coach_first_text_s", "coach_complete_s")}
    out |= {k: percentiles(r.get(k) for r in rows) for k in ("heard_end_ms", *DELIVERY_KEYS)}
    out["missed"] = sum(r["complete_s"] is None for r in rows)
    return out


def run_live_bench(settings: Settings, corpus: Path | None = None, *, limit: int | None = None, browser: bool = False,
                   progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> dict:
    from coach import livekit_server as lk
    from coach.serve_process import ServeProcess

    if lk.find_binary() is None:
        raise CoachError("--live needs livekit-server: put it on PATH or set LIVEKIT_SERVER_BIN")
    if browser and not CHROMIUM.exists():
        raise CoachError(f"--browser needs Chromium at {CHROMIUM}: apt-get install chromium")
    if browser:
        try:
            import playwright  # noqa: F401
        except ImportError:
            raise CoachError("--browser needs playwright: .venv/bin/pip install -e '.[test]'") from None
    work = Path(tempfile.mkdtemp(prefix="coach-bench-live-"))
    try:
        clips = _load_clips(corpus, limit, work)
        if not clips:
            raise CoachError("no clips to play")
        audio, ends = session_audio([s for _, s in clips])
        progress(f"{len(clips)} clips, {len(audio) / SAMPLE_RATE:.0f} s of partner audio; starting coach serve ...")
        serve = ServeProcess(work, COACH_MODELS_DIR=str(settings.models_dir))
        try:
            serve.ready()
            progress("live: the partner speaks (real time) ...")
            timeline = asyncio.run(_run_live(serve, audio, ends, browser, progress))
        finally:
            serve.stop()
        live_rows = timeline.per_clip()
        progress("replay: the same clips in real time without LiveKit ...")
        replay_rows = _run_replay(settings, audio, ends)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the voiced clips and serve's private state
    where = "browser" if browser else "sdk"
    report = {
        "kind": "live",
        "facilitator": where,
        "clips": [cid for cid, _ in clips],
        "replay": _summary(replay_rows),
        "live": _summary(live_rows),
        "rows": [{"clip": cid, "replay": r, "live": lv} for (cid, _), r, lv in zip(clips, replay_rows, live_rows)],
    }
    report["overhead_ms"] = {
        k: _diff(report["live"][k]["p50"], report["replay"][k]["p50"]) for k in ("first_text_s", "complete_s")}
    report["overhead_per_clip_ms"] = {
        k: _median_diff(live_rows, replay_rows, k) for k in ("first_text_s", "complete_s")}
    return report


def _diff(a, b):
    return None if a is None or b is None else round(a - b, 1)


def _median_diff(live: list[dict], replay: list[dict], key: str):
    d = [(lv[key] - r[key]) * 1000 for lv, r in zip(live, replay) if lv[key] is not None and r[key] is not None]
    return round(statistics.median(d), 1) if d else None


def format_live_report(report: dict) -> str:
    where = "facilitator page in Chromium" if report["facilitator"] == "browser" else "facilitator SDK client"
    lines = [f"live latency ({len(report['clips'])} clips; measured at the {where}; end of speech known from the clip)",
             "", f"{'':28}{'p50':>9}{'p95':>9}{'missed':>8}"]
    for name in ("replay", "live"):
        s = report[name]
        for key, label in (("first_text_s", "first hint text"), ("complete_s", "complete hint")):
            p = s[key]
            fmt = lambda v: f"{v / 1000:8.2f}s" if v is not None else "       -"  # noqa: E731
            lines.append(f"{name + ': ' + label:28}{fmt(p['p50'])}{fmt(p['p95'])}{s['missed']:>8}")
        for key, label in (("coach_first_text_s", "  coach's clock: first"), ("coach_complete_s", "  coach's clock: complete")):
            p = s.get(key) or {}
            if p.get("p50") is not None:
                lines.append(f"{label:28}{fmt(p['p50'])}{fmt(p['p95'])}")
    ms = lambda p: f"{p['p50']:.0f} / {p['p95']:.0f} ms" if p and p.get("p50") is not None else "-"  # noqa: E731
    live, replay = report["live"], report["replay"]
    lines += ["", f"end of speech heard by the coach after the clip's end, p50 / p95: live {ms(live.get('heard_end_ms'))},"
                  f" replay {ms(replay.get('heard_end_ms'))}",
              "the complete hint after the coach finished it, p50 / p95: "
              + ", ".join(f"{k.removesuffix('_ms')} {ms(live.get(k))}" for k in DELIVERY_KEYS)]
    o, pc = report["overhead_ms"], report["overhead_per_clip_ms"]
    lines += ["", f"live path cost over the replay, p50: first text {o['first_text_s']} ms, complete {o['complete_s']} ms"
                  f" (median of per-clip differences: {pc['first_text_s']} / {pc['complete_s']} ms)",
              "targets on 2 cores: cost <= 150 ms at p50; end of speech -> first hint text on screen <= 1.2 s at p50"]
    return "\n".join(lines)


def write_live_chart(report: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.6))
    labels, p50, p95 = [], [], []
    for name in ("replay", "live"):
        for key, label in (("first_text_s", "first text"), ("complete_s", "complete")):
            labels.append(f"{name}\n{label}")
            p50.append((report[name][key]["p50"] or 0) / 1000)
            p95.append((report[name][key]["p95"] or 0) / 1000)
    x = np.arange(len(labels))
    ax.bar(x - 0.2, p50, 0.4, label="p50", color="#5b8db8")
    ax.bar(x + 0.2, p95, 0.4, label="p95", color="#e0a458")
    ax.set_xticks(x, labels)
    ax.set_ylabel("seconds after end of speech")
    ax.set_title(f"Live ({report['facilitator']}) vs real-time replay, same clips, same run")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
