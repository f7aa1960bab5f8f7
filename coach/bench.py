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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import soundfile as sf

from coach.audio import SAMPLE_RATE, load_wav
from coach.config import PipelineMode, Settings
from coach.errors import CoachError
from coach.bench_load import LagResult, Scaling, conversation_costs, lag_run, turn_length_costs
from coach.events import HintFailed, HintReady, Transcript
from coach.replay import LEAD_SILENCE_S, TAIL_SILENCE_S, fresh_cache, padded, replay_fast
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

_ABBREV = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "ok": "okay"}


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    words = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    return " ".join(_ABBREV.get(w, w) for w in words)


def clip_errors(refs: list[str], *hypotheses: list[str]) -> np.ndarray:
    """One row per clip with reference words: its word count, then the word errors of each list of hypotheses
    (nothing heard counts as every word missed)."""
    import jiwer

    rows = []
    for ref, *hyps in zip(refs, *hypotheses):
        if ref := normalize(ref):
            scored = [jiwer.process_words(ref, normalize(h) or "<empty>") for h in hyps]
            rows.append([len(ref.split())] + [o.substitutions + o.deletions + o.insertions for o in scored])
    return np.array(rows, dtype=float).reshape(len(rows), 1 + len(hypotheses))


def wer(refs: list[str], hyps: list[str]) -> float | None:
    words, errors = clip_errors(refs, hyps).T
    return float(errors.sum() / words.sum()) if len(words) else None


def wer_difference(refs: list[str], candidate: list[str], baseline: list[str], *, resamples: int = 2000) -> dict | None:
    """Candidate WER minus baseline WER, in percentage points, with a 95% interval from a paired bootstrap over
    clips: a few words' difference on a few dozen clips is often noise, and this says when it is."""
    words, cand, base = clip_errors(refs, candidate, baseline).T
    if not len(words):
        return None
    picks = np.random.default_rng(0).integers(0, len(words), size=(resamples, len(words)))
    diffs = 100 * (cand[picks].sum(1) - base[picks].sum(1)) / words[picks].sum(1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {
        "points": round(float(100 * (cand.sum() - base.sum()) / words.sum()), 2),
        "ci95": [round(float(lo), 2), round(float(hi), 2)],
        "clips_better": int((cand < base).sum()),
        "clips_worse": int((cand > base).sum()),
        "clips": len(words),
    }


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


VOICES = (("en-us", 155), ("en-gb", 165), ("en-us+f3", 140), ("en-us+m3", 175))  # espeak-ng voice, words/min


# A transcriber's note of what was not said ("[laughs]", "[crosstalk]", "[foreign language]"): a partner never says it.
_STAGE_DIRECTION = re.compile(r"\s*\[[^\]]*\]\s*")


def spoken(text: str) -> str:
    """The words a speaker said, without a transcript's notes in brackets (espeak-ng would read "[laughs]" aloud)."""
    return " ".join(_STAGE_DIRECTION.sub(" ", text).split())


def voice(utterances: list[tuple[str, str]], folder: Path, voices=VOICES[:1]) -> list[Clip]:
    """(id, text) pairs spoken by espeak-ng into `folder`, taking the voices in turn; a transcript's notes in
    brackets are not spoken, and the clip's reference is what was."""
    if shutil.which("espeak-ng") is None:
        raise CoachError("espeak-ng is needed to voice a corpus: `apt-get install espeak-ng`, or pass --corpus DIR")
    clips = []
    for i, (clip_id, text) in enumerate(utterances):
        text = spoken(text)
        name, speed = voices[i % len(voices)]
        path = folder / f"{clip_id}.wav"
        if not text:  # a line that is only a note ("[sighs]"): half a second of silence keeps the clips in step
            sf.write(str(path), np.zeros(SAMPLE_RATE // 2, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
            clips.append(Clip(clip_id, path, text))
            continue
        # the text on standard input: a line of real talk may start with "-", which espeak-ng would read as an option
        subprocess.run(["espeak-ng", "-v", name, "-s", str(speed), "-w", str(path), "--stdin"], input=text.encode(),
                       check=True, capture_output=True)
        if not path.is_file():
            raise CoachError(f"espeak-ng wrote no audio for {clip_id}: check that espeak-ng works (`espeak-ng hello`)")
        clips.append(Clip(clip_id, path, text))
    return clips


def voice_builtin(folder: Path) -> list[Clip]:
    return voice(BUILTIN_UTTERANCES, folder)


def percentiles(values: Iterable[float]) -> dict:
    v = sorted(x for x in values if x is not None)
    if not v:
        return {"p50": None, "p95": None, "n": 0}
    p95 = float(np.percentile(v, 95)) if len(v) > 1 else v[0]
    return {"p50": round(statistics.median(v), 1), "p95": round(p95, 1), "n": len(v)}


@dataclass(frozen=True)
class Spread:
    """Median and 95th percentile of the values measured (n), or None when nothing was."""

    p50: float | None
    p95: float | None
    n: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> "Spread":
        return cls(**percentiles(values))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


@dataclass
class ClipResult:
    id: str
    mode: str
    duration_s: float
    reference: str
    hypothesis: str
    plain_hypothesis: str | None
    hints: int
    hints_failed: int
    hints_truncated: int
    safety_hints: int
    rtf: float
    ms: dict[str, float] = field(default_factory=dict)  # latencies of the first hint, milliseconds
    cpu: float | None = None  # CPU seconds (every thread) per second of the clip: the share of one core a session takes


MODES = (PipelineMode.TURN, PipelineMode.STREAMING)
METRICS = {
    "endpoint_ms": "end of speech -> end of turn detected",
    "transcript_ms": "end of speech -> final transcript",
    "first_text_ms": "end of speech -> first hint text shown",
    "summary_ms": "end of speech -> whole summary shown",
    "complete_ms": "end of speech -> complete hint (speech-to-hint latency)",
    "stt_ms": "speech-to-text model time of the final pass (with commit: the uncommitted tail's)",
    "llm_first_token_ms": "hint started -> first LLM token",
    "llm_total_ms": "hint started -> hint complete",
}
_LATENCY_KEYS = {
    "endpoint_ms": "endpoint_s", "transcript_ms": "transcript_s", "first_text_ms": "first_text_s",
    "summary_ms": "summary_s", "complete_ms": "speech_to_hint_s", "stt_ms": "stt_s",
    "llm_first_token_ms": "llm_first_token_s", "llm_total_ms": "llm_total_s",
}


def run_clip(models: Models, settings: Settings, clip: Clip, mode: PipelineMode, audio: np.ndarray) -> ClipResult:
    fresh_cache(models)
    t0, c0 = time.perf_counter(), time.process_time()
    events = list(replay_fast(models, settings.model_copy(update={"mode": mode}), padded(audio)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ready = [e for e in events if isinstance(e, HintReady)]
    failed = [e for e in events if isinstance(e, HintFailed)]
    ms = {k: ready[0].latencies[v] * 1000 for k, v in _LATENCY_KEYS.items()} if ready else {}
    return ClipResult(
        id=clip.id,
        mode=mode.name,
        duration_s=len(audio) / SAMPLE_RATE,
        reference=clip.reference,
        hypothesis=" ".join(e.text for e in events if isinstance(e, Transcript)),
        plain_hypothesis=None,
        hints=len(ready),
        hints_failed=len(failed),
        hints_truncated=sum("cut off" in e.reason for e in failed),
        safety_hints=sum(e.hint.priority == "safety" for e in ready),
        rtf=wall / ((len(audio) / SAMPLE_RATE) + LEAD_SILENCE_S + TAIL_SILENCE_S),
        ms={k: round(v, 1) for k, v in ms.items()},
        cpu=round(cpu / (len(audio) / SAMPLE_RATE), 3),
    )


@dataclass(frozen=True)
class ModeSummary:
    """One mode over every clip: each metric's spread (milliseconds, keyed as METRICS), and counts."""

    latency: dict[str, Spread]
    rtf: Spread
    cpu: Spread  # CPU seconds per second of speech
    wer: float | None
    hints: int
    hints_failed: int
    hints_truncated: int
    safety_hints: int

    def to_json(self) -> dict:
        return {**{m: asdict(s) for m, s in self.latency.items()}, "rtf": asdict(self.rtf), "cpu_per_speech_s": asdict(self.cpu),
                "wer": self.wer, "hints": self.hints,
                "hints_failed": self.hints_failed, "hints_truncated": self.hints_truncated,
                "safety_hints": self.safety_hints}


def summarize(results: list[ClipResult]) -> ModeSummary:
    return ModeSummary(
        latency={m: Spread.of(r.ms.get(m) for r in results) for m in METRICS},
        rtf=Spread.of(r.rtf for r in results),
        cpu=Spread.of(r.cpu for r in results),
        wer=wer([r.reference for r in results], [r.hypothesis for r in results]),
        hints=sum(r.hints for r in results),
        hints_failed=sum(r.hints_failed for r in results),
        hints_truncated=sum(r.hints_truncated for r in results),
        safety_hints=sum(r.safety_hints for r in results),
    )


def ratios(modes: dict[str, ModeSummary], baseline: str = "turn", candidate: str = "streaming") -> dict[str, float | None]:
    """candidate median / baseline median per metric (below 1: the candidate is faster)."""
    if baseline not in modes or candidate not in modes:
        return {}
    out = {}
    for m in METRICS:
        a, b = modes[candidate].latency[m].p50, modes[baseline].latency[m].p50
        out[m] = round(a / b, 3) if a is not None and b else None
    return out


@dataclass(frozen=True)
class BenchReport:
    corpus: str
    models: dict[str, str]  # role -> model id
    clips: list[ClipResult]
    modes: dict[str, ModeSummary]  # by mode name, in the order run
    ratios: dict[str, float | None]  # streaming / turn medians, per metric
    wer: dict[str, float | None]  # per mode, and plain_whisper
    peak_rss_mb: float
    wer_streaming_minus_turn: dict | None = None  # wer_difference() of streaming against the baseline
    baseline: str = "turn"  # the mode streaming is compared with: turn, or the first other mode run
    speedup_first_text: float | None = None  # turn / streaming medians
    speedup_complete: float | None = None
    scaling: Scaling | None = None
    lag: LagResult | None = None

    def to_json(self) -> dict:
        out = {
            "corpus": self.corpus, "models": self.models, "clips": [asdict(c) for c in self.clips],
            "modes": {m: s.to_json() for m, s in self.modes.items()}, "ratios": self.ratios,
            "wer": {**self.wer, **({"streaming_minus_turn": self.wer_streaming_minus_turn} if self.speedup_keys else {})},
            "peak_rss_mb": self.peak_rss_mb, "metrics": METRICS, "baseline": self.baseline,
            "turn_s": asdict(self.turn_lengths),
        }
        if self.scaling is not None:
            out["scaling"] = asdict(self.scaling)
        if self.lag is not None:
            out["lag"] = asdict(self.lag)
        if self.speedup_keys:
            out["speedup_first_text"], out["speedup_complete"] = self.speedup_first_text, self.speedup_complete
        return out

    @property
    def turn_lengths(self) -> "Spread":
        """The clips' lengths in seconds (each clip once, whatever the number of modes)."""
        return Spread.of({c.id: c.duration_s for c in self.clips}.values())

    @property
    def speedup_keys(self) -> bool:
        """Both the baseline and streaming ran: the comparisons between them are in the report."""
        return self.baseline in self.modes and "streaming" in self.modes and self.baseline != "streaming"


def run_bench(
    settings: Settings,
    corpus: Path | None = None,
    limit: int | None = None,
    plain: bool = True,
    modes: tuple[PipelineMode, ...] = MODES,
    lag_minutes: float = 0.0,
    scaling: bool = False,
    progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> BenchReport:
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        clips = read_corpus(corpus) if corpus else voice_builtin(Path(tmp))
        clips = clips[:limit] if limit else clips
        progress("loading models ...")
        models = Models.load(settings)
        progress(f"models ready in {models.load_s:.1f} s: {models.names['stt']}, {models.names['llm']}; "
                 f"{len(clips)} clips x {len(modes)} modes ({', '.join(m.name for m in modes)}), interleaved")
        results: list[ClipResult] = []
        plain_texts: list[str] = []
        audios: list[np.ndarray] = []
        for i, clip in enumerate(clips, 1):
            audio = load_wav(clip.path).samples
            audios.append(audio)
            order = modes if i % 2 else tuple(reversed(modes))  # alternate who goes first: no warm-cache bias
            line = []
            for mode in order:
                r = run_clip(models, settings, clip, mode, audio)
                results.append(r)
                line.append(f"{mode.name} {r.ms['first_text_ms'] / 1000:.2f}/{r.ms['complete_ms'] / 1000:.2f} s" if r.ms else f"{mode.name} no hint")
            if plain:
                plain_texts.append(" ".join(s.text.strip() for s in models.transcriber.transcribe(audio)).strip())
            progress(f"[{i}/{len(clips)}] {clip.id}: {len(audio) / SAMPLE_RATE:.1f} s audio; first text/complete: {', '.join(line)}")
        scaled, lag = None, None
        if scaling:
            progress("scaling: turns of 1, 5, 15 and 30 s, and conversations of 0, 10 and 40 earlier turns ...")
            scaled = Scaling(turn_length_costs(models, settings, audios), conversation_costs(models))
        if lag_minutes > 0:
            progress(f"lag: {lag_minutes:g} minutes of continuous speech in real time ...")
            lag = lag_run(models, settings, audios, lag_minutes, progress)
    by_mode = {m.name: summarize([r for r in results if r.mode == m.name]) for m in modes}
    baseline = "turn" if "turn" in by_mode else next((m for m in by_mode if m != "streaming"), "turn")
    refs = [c.reference for c in clips]
    report = BenchReport(
        corpus=str(corpus) if corpus else "builtin",
        models=models.names,
        clips=results,
        modes=by_mode,
        ratios=ratios(by_mode, baseline),
        wer={**{m: s.wer for m, s in by_mode.items()}, "plain_whisper": wer(refs, plain_texts) if plain else None},
        peak_rss_mb=round(peak_rss_mb(), 1),
        scaling=scaled,
        lag=lag,
        baseline=baseline,
    )
    if not report.speedup_keys:
        return report
    heard = {m: [r.hypothesis for r in results if r.mode == m] for m in ("streaming", baseline)}  # in clip order
    speedup = {}
    for key, metric in (("speedup_first_text", "first_text_ms"), ("speedup_complete", "complete_ms")):
        a, b = by_mode[baseline].latency[metric].p50, by_mode["streaming"].latency[metric].p50
        speedup[key] = round(a / b, 2) if a and b else None
    return replace(report, wer_streaming_minus_turn=wer_difference(refs, heard["streaming"], heard[baseline]), **speedup)


def format_report(report: BenchReport) -> str:
    turn = report.turn_lengths
    lines = [f"corpus: {report.corpus}   models: {report.models['stt']}, {report.models['llm']}   clips "
             f"{len({c.id for c in report.clips})}, {turn.p50} s median (p95 {turn.p95} s)", ""]
    modes = list(report.modes)
    head = f"{'metric (ms)':20}" + "".join(f" {m + ' p50':>15} {m + ' p95':>15}" for m in modes)
    if report.ratios:
        head += f" {'streaming/' + report.baseline:>15}"
    lines.append(head)
    for m, meaning in METRICS.items():
        row = f"{m:20}"
        for mode in modes:
            s = report.modes[mode].latency[m]
            row += f" {s.p50 if s.p50 is not None else '-':>15} {s.p95 if s.p95 is not None else '-':>15}"
        if report.ratios:
            r = report.ratios.get(m)
            row += f" {r if r is not None else '-':>15}"
        lines.append(row + f"   {meaning}")
    lines.append("")
    for mode in modes:
        s = report.modes[mode]
        w = f"{100 * s.wer:.1f}%" if s.wer is not None else "-"
        lines.append(f"{mode:10} hints {s.hints} ({s.safety_hints} safety), failed {s.hints_failed} "
                     f"(truncated {s.hints_truncated}), WER {w}, real-time factor {s.rtf.p50}, "
                     f"CPU {s.cpu.p50} core-seconds per second of speech")
    if d := report.wer_streaming_minus_turn:
        lines.append(f"WER streaming - {report.baseline}: {_signed(d['points'])} points (95% interval {_signed(d['ci95'][0])} to "
                     f"{_signed(d['ci95'][1])}, paired bootstrap over clips; streaming better on {d['clips_better']} "
                     f"clips, worse on {d['clips_worse']}, of {d['clips']})")
    if report.wer.get("plain_whisper") is not None:
        lines.append(f"plain faster-whisper on whole clips: WER {100 * report.wer['plain_whisper']:.1f}%")
    if report.speedup_first_text:
        lines.append(f"speed-up, {report.baseline} / streaming medians: first text x{report.speedup_first_text}, "
                     f"complete hint x{report.speedup_complete}")
    lines.append(f"peak memory {report.peak_rss_mb:.0f} MB")
    if g := report.lag:
        lines.append(
            f"lag over {g.minutes:g} min of real-time speech ({g.turns} turns, {g.hints} hints, "
            f"{g.lag_warnings} lag warnings): transcript {g.transcript_lag_start_s} s in the first tenth -> "
            f"{g.transcript_lag_end_s} s in the last (trend {_signed(g.transcript_lag_trend_s)} s); hint "
            f"{g.hint_lag_start_s} -> {g.hint_lag_end_s} s (trend {_signed(g.hint_lag_trend_s)} s); per minute in the JSON"
        )
    if report.scaling is not None:
        lines.append(f"scaling: {json.dumps(asdict(report.scaling))}")
    return "\n".join(lines)


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{x:+}"


def write_json(report: BenchReport | dict, out: Path) -> None:
    """Any bench's results (the live and quality benches keep theirs as dicts)."""
    out.write_text(json.dumps(report.to_json() if isinstance(report, BenchReport) else report, indent=1))
