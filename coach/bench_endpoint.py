"""`coach bench --endpoint`: how long the endpointer waits at the end of a turn, and what a shorter wait costs.

Each clip of a corpus is one whole turn. The voice activity detector and the endpointer run over it (with silence
after it, as in a session) for each candidate `end_silence_s`; a clip heard as more than one turn was split in the
middle: by a pause the endpointer took for the end (the cost of a shorter wait), or by the length limits
(max_utterance_s at a short pause, hard_max_utterance_s without one). VAD only: no Whisper, seconds per corpus.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE, load_wav
from coach.bench import Clip, percentiles
from coach.events import SpeechEnded
from coach.vad import EndpointConfig, Endpointer, SileroVad

WAITS = (0.3, 0.4, 0.5, 0.6, 0.8)
TAIL_SILENCE_S = 2.0


def vad_track(vad: SileroVad, audio: np.ndarray) -> list[float]:
    """Speech probability of every 32 ms window of `audio` and the silence after it."""
    vad.reset()
    audio = np.concatenate([audio, np.zeros(int(TAIL_SILENCE_S * SAMPLE_RATE), dtype=np.float32)])
    return [vad(audio[i: i + CHUNK_SAMPLES]) for i in range(0, len(audio) - CHUNK_SAMPLES + 1, CHUNK_SAMPLES)]


def turns_heard(probs: list[float], config: EndpointConfig) -> list[SpeechEnded]:
    ep = Endpointer(config)
    ended: list[SpeechEnded] = []
    step = CHUNK_SAMPLES / SAMPLE_RATE
    for i, p in enumerate(probs):
        ended += [e for e in ep.update(i * step, p) if isinstance(e, SpeechEnded)]
    return ended + ep.flush()


def run_endpoint_bench(clips: list[Clip], vad: SileroVad, config: EndpointConfig = EndpointConfig(),
                       waits: tuple[float, ...] = WAITS) -> dict:
    tracks = [(c, vad_track(vad, load_wav(c.path).samples)) for c in clips]
    lengths = [len(load_wav(c.path).samples) / SAMPLE_RATE for c, _ in tracks]
    rows = []
    for wait in waits:
        cfg = replace(config, end_silence_s=wait)
        split_by_pause = split_by_length = 0
        end_waits = []
        for _, probs in tracks:
            ended = turns_heard(probs, cfg)
            inner = ended[:-1]  # every end before the last one cuts the turn in two
            split_by_length += sum(e.split for e in inner)
            split_by_pause += sum(not e.split for e in inner)
            if ended:
                end_waits.append(ended[-1].t_detected - ended[-1].t_end)
        rows.append({
            "end_silence_s": wait,
            "clips": len(tracks),
            "clips_split_by_a_pause": split_by_pause,
            "clips_split_by_length": split_by_length,
            "end_wait_ms": percentiles(1000 * w for w in end_waits),
        })
    return {"turn_s": percentiles(lengths), "max_utterance_s": config.max_utterance_s,
            "hard_max_utterance_s": config.hard_max_utterance_s, "waits": rows}


def format_endpoint_report(report: dict, corpus: str) -> str:
    t = report["turn_s"]
    lines = [f"corpus: {corpus}: {t['n']} turns, {t['p50']} s median (p95 {t['p95']} s); max_utterance_s "
             f"{report['max_utterance_s']}, hard_max_utterance_s {report['hard_max_utterance_s']}", "",
             f"{'end_silence_s':>13} {'split by a pause':>17} {'split by length':>16} {'end seen after (ms) p50':>24} {'p95':>6}"]
    for r in report["waits"]:
        lines.append(f"{r['end_silence_s']:>13} {r['clips_split_by_a_pause']:>17} {r['clips_split_by_length']:>16} "
                     f"{r['end_wait_ms']['p50']:>24} {r['end_wait_ms']['p95']:>6}")
    return "\n".join(lines)
