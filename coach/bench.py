"""`coach bench`: speech-to-hint latency and word error rate over a corpus of recordings.

A corpus is a folder with manifest.tsv holding at least the columns `file` and `reference`. Without one, a built-in
set of partner-style utterances written for this project is voiced with espeak-ng into a temporary folder.
"""

from __future__ import annotations

import csv
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from coach.audio import SAMPLE_RATE, load_wav
from coach.config import Settings
from coach.errors import CoachError
from coach.events import HintFailed, HintReady, Transcript
from coach.replay import replay_fast
from coach.runtime import Models

# Written for this project: what a partner might say in an IFS-style peer session (one is safety-relevant).
BUILTIN_UTTERANCES = [
    ("anxious_family", "There is a part of me that gets really anxious before I visit my family. It tightens my chest and tells me to stay home."),
    ("angry_sister", "I keep getting angry at my sister, and afterwards another part of me feels guilty for the rest of the day."),
    ("wall", "When I try to go inside, it feels like there is a wall, and I cannot feel anything behind it."),
    ("critic_work", "Whenever I make a mistake at work, I hear this critical voice that tells me I am not good enough."),
    ("protector_busy", "I think the part that keeps me busy all the time is afraid of what I would feel if I slowed down."),
    ("young_part", "I noticed a younger part of me that feels alone, like a child waiting for someone to come home."),
    ("numb", "Honestly I just feel numb lately, and I do not know which part of me is doing that."),
    ("compassion", "When I look at that scared part now, I actually feel some compassion for it, which surprised me."),
    ("procrastinate", "Part of me wants to finish the project, but another part keeps scrolling on my phone until midnight."),
    ("safety", "Some nights I think about ending my life, and I do not know who to tell."),
    ("relationship", "When my partner goes quiet, a part of me panics and starts trying to fix everything right away."),
    ("rest", "I want to give myself permission to rest, but a part of me says that rest is lazy and weak."),
]

LEAD_SILENCE_S = 0.3
TAIL_SILENCE_S = 1.5  # lets the endpointer see the turn end the way it would live

_ABBREV = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "ok": "okay"}


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    words = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    return " ".join(_ABBREV.get(w, w) for w in words)


def wer(refs: list[str], hyps: list[str]) -> float | None:
    pairs = [(normalize(r), normalize(h)) for r, h in zip(refs, hyps) if normalize(r)]
    if not pairs:
        return None
    import jiwer

    return float(jiwer.wer([r for r, _ in pairs], [h if h else "<empty>" for _, h in pairs]))


@dataclass
class Clip:
    id: str
    path: Path
    reference: str


def read_corpus(folder: Path) -> list[Clip]:
    manifest = folder / "manifest.tsv"
    if not manifest.is_file():
        raise CoachError(f"{folder}: no manifest.tsv (tab-separated, with columns 'file' and 'reference')")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or "file" not in rows[0] or "reference" not in rows[0]:
        raise CoachError(f"{manifest}: needs a header with the columns 'file' and 'reference'")
    return [Clip(r.get("id") or Path(r["file"]).stem, folder / r["file"], r["reference"]) for r in rows]


def voice_builtin(folder: Path) -> list[Clip]:
    if shutil.which("espeak-ng") is None:
        raise CoachError("espeak-ng is needed for the built-in corpus: `apt-get install espeak-ng`, or pass --corpus DIR")
    clips = []
    for clip_id, text in BUILTIN_UTTERANCES:
        path = folder / f"{clip_id}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "155", "-w", str(path), text], check=True, capture_output=True)
        clips.append(Clip(clip_id, path, text))
    return clips


def percentiles(values: Iterable[float]) -> dict:
    v = sorted(x for x in values if x is not None)
    if not v:
        return {"p50": None, "p95": None, "n": 0}
    p95 = float(np.percentile(v, 95)) if len(v) > 1 else v[0]
    return {"p50": round(statistics.median(v), 1), "p95": round(p95, 1), "n": len(v)}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


@dataclass
class ClipResult:
    id: str
    duration_s: float
    reference: str
    hypothesis: str
    plain_hypothesis: str | None
    hints: int
    hints_failed: int
    safety_hints: int
    rtf: float
    ms: dict[str, float] = field(default_factory=dict)  # latencies of the first hint, milliseconds


METRICS = {
    "endpoint_ms": "end of speech -> end of turn detected",
    "stt_ms": "speech-to-text model time",
    "transcript_ms": "end of speech -> final transcript",
    "llm_first_token_ms": "hint started -> first LLM text",
    "llm_total_ms": "hint started -> hint complete",
    "first_text_ms": "end of speech -> first hint text shown",
    "complete_ms": "end of speech -> complete hint (speech-to-hint latency)",
}


def run_clip(models: Models, settings: Settings, clip: Clip, plain: bool) -> ClipResult:
    audio = load_wav(clip.path).samples
    padded = np.concatenate(
        [np.zeros(int(LEAD_SILENCE_S * SAMPLE_RATE), np.float32), audio, np.zeros(int(TAIL_SILENCE_S * SAMPLE_RATE), np.float32)]
    )
    t0 = time.perf_counter()
    events = list(replay_fast(models, settings, padded))
    wall = time.perf_counter() - t0
    texts = [e.text for e in events if isinstance(e, Transcript)]
    ready = [e for e in events if isinstance(e, HintReady)]
    ms: dict[str, float] = {}
    if ready:
        lat = ready[0].latencies
        ms = {
            "endpoint_ms": lat["endpoint_s"] * 1000,
            "stt_ms": lat["stt_s"] * 1000,
            "transcript_ms": lat["transcript_s"] * 1000,
            "llm_first_token_ms": lat["llm_first_token_s"] * 1000,
            "llm_total_ms": lat["llm_total_s"] * 1000,
            "first_text_ms": lat["first_text_s"] * 1000,
            "complete_ms": lat["speech_to_hint_s"] * 1000,
        }
    plain_text = None
    if plain:
        plain_text = " ".join(s.text.strip() for s in models.transcriber.transcribe(audio)).strip()
    return ClipResult(
        id=clip.id,
        duration_s=len(audio) / SAMPLE_RATE,
        reference=clip.reference,
        hypothesis=" ".join(texts),
        plain_hypothesis=plain_text,
        hints=len(ready),
        hints_failed=sum(isinstance(e, HintFailed) for e in events),
        safety_hints=sum(e.hint.priority == "safety" for e in ready),
        rtf=wall / (len(padded) / SAMPLE_RATE),
        ms={k: round(v, 1) for k, v in ms.items()},
    )


def run_bench(
    settings: Settings,
    corpus: Path | None = None,
    limit: int | None = None,
    plain: bool = True,
    progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> dict:
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        clips = read_corpus(corpus) if corpus else voice_builtin(Path(tmp))
        clips = clips[:limit] if limit else clips
        progress(f"loading models ...")
        models = Models.load(settings)
        progress(f"models ready in {models.load_s:.1f} s: {models.names['stt']}, {models.names['llm']}; {len(clips)} clips")
        results = []
        for i, clip in enumerate(clips, 1):
            r = run_clip(models, settings, clip, plain)
            results.append(r)
            shown = f"{r.ms['complete_ms'] / 1000:.2f} s to hint" if r.ms else "no hint"
            progress(f"[{i}/{len(clips)}] {clip.id}: {r.duration_s:.1f} s audio, {shown}, RTF {r.rtf:.2f}")
    refs = [r.reference for r in results]
    summary = {m: percentiles(r.ms.get(m) for r in results) for m in METRICS}
    summary["rtf"] = percentiles(r.rtf for r in results)
    summary["rtf"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary["rtf"].items()}
    return {
        "corpus": str(corpus) if corpus else "builtin",
        "models": models.names,
        "clips": [r.__dict__ for r in results],
        "modes": {"turn": summary},
        "wer": {
            "pipeline": wer(refs, [r.hypothesis for r in results]),
            "plain_whisper": wer(refs, [r.plain_hypothesis or "" for r in results]) if plain else None,
        },
        "hints": sum(r.hints for r in results),
        "hints_failed": sum(r.hints_failed for r in results),
        "safety_hints": sum(r.safety_hints for r in results),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "metrics": METRICS,
    }


def format_report(report: dict) -> str:
    lines = [f"corpus: {report['corpus']}   models: {report['models']['stt']}, {report['models']['llm']}", ""]
    lines.append(f"{'clip':28} {'dur s':>6} {'end ms':>7} {'stt ms':>7} {'ttft ms':>8} {'llm ms':>7} {'hint ms':>8}")
    for c in report["clips"]:
        ms = c["ms"]
        cells = [ms.get(k) for k in ("endpoint_ms", "stt_ms", "llm_first_token_ms", "llm_total_ms", "complete_ms")]
        shown = " ".join(f"{v:>7.0f}" if v is not None else f"{'-':>7}" for v in cells)
        lines.append(f"{c['id'][:28]:28} {c['duration_s']:>6.1f} {shown}")
    lines += ["", f"{'metric':22} {'median':>8} {'p95':>8} {'n':>4}   meaning"]
    for mode, summary in report["modes"].items():
        for m, meaning in METRICS.items():
            s = summary[m]
            if s["n"]:
                lines.append(f"{m:22} {s['p50']:>8.0f} {s['p95']:>8.0f} {s['n']:>4}   {meaning}")
        s = summary["rtf"]
        if s["n"]:
            lines.append(f"{'real-time factor':22} {s['p50']:>8.3f} {s['p95']:>8.3f} {s['n']:>4}   processing time / audio time")
    w = report["wer"]
    if w["pipeline"] is not None:
        plain = f", plain faster-whisper on whole clips {100 * w['plain_whisper']:.1f}%" if w["plain_whisper"] is not None else ""
        lines.append(f"word error rate: pipeline {100 * w['pipeline']:.1f}%{plain}")
    lines.append(
        f"hints: {report['hints']} ({report['safety_hints']} safety), failed: {report['hints_failed']}; "
        f"peak memory {report['peak_rss_mb']:.0f} MB"
    )
    return "\n".join(lines)


def write_json(report: dict, out: Path) -> None:
    out.write_text(json.dumps(report, indent=1))
