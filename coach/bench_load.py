"""Bench under load: does the pipeline keep up with a long monologue in real time, and how does its cost grow
with the length of a turn and with the conversation so far?"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from coach.audio import SAMPLE_RATE
from coach.config import Settings, default
from coach.events import HintReady, LagWarning, SpeechEnded, Transcript
from coach.replay import fresh_cache, padded, replay_fast, replay_realtime
from coach.runtime import Models

PAUSE_S = 0.3  # between sentences of the monologue: shorter than a turn-ending silence


@dataclass(frozen=True)
class MinuteLag:
    minute: int
    transcript_lag_s: float | None  # medians over the turns that ended in that minute
    hint_lag_s: float | None


@dataclass(frozen=True)
class LagResult:
    """A real-time run over a long monologue. Lag = how long after the end of a turn its transcript (hint) is ready."""

    minutes: float
    turns: int
    transcripts: int
    hints: int
    transcript_lag_start_s: float | None  # median over the first tenth of the run
    transcript_lag_end_s: float | None  # and over the last
    hint_lag_start_s: float | None
    hint_lag_end_s: float | None
    transcript_lag_trend_s: float | None  # change over the run, by a least-squares line through every reading
    hint_lag_trend_s: float | None
    per_minute: list[MinuteLag]
    lag_warnings: int
    max_behind_s: float


@dataclass(frozen=True)
class TurnLengthCost:
    turn_s: float
    transcripts: int
    final_stt_ms: int | None
    transcript_ms: int | None
    first_text_ms: int | None
    complete_ms: int | None
    prompt_tokens: int | None
    rtf: float


@dataclass(frozen=True)
class ConversationCost:
    earlier_turns_kept: int
    prompt_tokens: int
    first_token_ms: int
    total_ms: int


@dataclass(frozen=True)
class Scaling:
    turn_length: list[TurnLengthCost]
    conversation: list[ConversationCost]


def trimmed(clip: np.ndarray, floor: float = 0.02, margin_s: float = 0.05) -> np.ndarray:
    """The clip without its leading and trailing silence, so that joined clips sound like one stream of talk."""
    loud = np.flatnonzero(np.abs(clip) > floor * max(1e-6, float(np.abs(clip).max())))
    if len(loud) == 0:
        return clip[:0]
    margin = int(margin_s * SAMPLE_RATE)
    return clip[max(0, loud[0] - margin) : loud[-1] + margin]


def monologue(clips: list[np.ndarray], seconds: float) -> np.ndarray:
    """The clips, trimmed, back to back with short pauses, repeated until `seconds` of continuous talk."""
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    clips = [c for c in (trimmed(c) for c in clips) if len(c)]
    parts, total, i = [], 0, 0
    while total < seconds * SAMPLE_RATE:
        for piece in (clips[i % len(clips)], pause):
            parts.append(piece)
            total += len(piece)
        i += 1
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def lag_run(models: Models, settings: Settings, clips: list[np.ndarray], minutes: float,
            progress: Callable[[str], None]) -> LagResult:
    """Replays `minutes` of continuous speech at the speed it was spoken. Lag = how long after the end of each
    turn its transcript (and hint) is ready; compared over the first and the last tenth of the run."""
    audio = monologue(clips, minutes * 60)
    transcripts: list[tuple[float, float]] = []
    hints: list[tuple[float, float]] = []
    warnings: list[float] = []
    turns = 0
    next_report = 60.0
    t0 = time.monotonic()
    for ev in replay_realtime(models, settings, audio):
        if isinstance(ev, SpeechEnded):
            turns += 1
        elif isinstance(ev, Transcript):
            transcripts.append((ev.t_end, ev.t_ready - ev.t_end))
        elif isinstance(ev, HintReady):
            hints.append((ev.t_speech_end, ev.speech_to_hint_s))
        elif isinstance(ev, LagWarning):
            warnings.append(ev.lag_s)
        elapsed = time.monotonic() - t0
        if elapsed >= next_report:
            next_report += 60.0
            recent = [d for _, d in transcripts[-10:]]
            progress(f"  lag run: {elapsed / 60:.0f}/{minutes:.0f} min, {turns} turns, {len(hints)} hints, "
                     f"recent transcript delay {_median(recent)} s")
    span = len(audio) / SAMPLE_RATE
    first = lambda rows: [d for t, d in rows if t < span * 0.1]  # noqa: E731
    last = lambda rows: [d for t, d in rows if t >= span * 0.9]  # noqa: E731
    return LagResult(
        minutes=minutes,
        turns=turns,
        transcripts=len(transcripts),
        hints=len(hints),
        transcript_lag_start_s=_median(first(transcripts)),
        transcript_lag_end_s=_median(last(transcripts)),
        hint_lag_start_s=_median(first(hints)),
        hint_lag_end_s=_median(last(hints)),
        # Ten readings per tenth are noisy (a hint takes 1.5 to 4 s depending on its length): the straight line
        # through every reading says better whether lag grows.
        transcript_lag_trend_s=_trend(transcripts, span),
        hint_lag_trend_s=_trend(hints, span),
        per_minute=[MinuteLag(m, _median(_in_minute(transcripts, m)), _median(_in_minute(hints, m)))
                    for m in range(int(math.ceil(span / 60)))],
        lag_warnings=len(warnings),
        max_behind_s=round(max(warnings), 2) if warnings else 0.0,
    )


def _in_minute(rows: list[tuple[float, float]], minute: int) -> list[float]:
    return [d for t, d in rows if minute * 60 <= t < (minute + 1) * 60]


def _trend(rows: list[tuple[float, float]], span: float) -> float | None:
    """Change in lag from the start to the end of the run, by a least-squares line through every reading."""
    if len(rows) < 3:
        return None
    t, d = np.array(rows).T
    slope = np.polyfit(t, d, 1)[0]
    return round(float(slope * span), 2)


def turn_length_costs(models: Models, settings: Settings, clips: list[np.ndarray],
                      lengths: tuple[float, ...] = (1, 5, 15, 30)) -> list[TurnLengthCost]:
    """One turn of each length (a 30 s turn is split at max_utterance_s, as it would be live)."""
    rows = []
    for seconds in lengths:
        fresh_cache(models)
        audio = monologue(clips, seconds)
        t0 = time.perf_counter()
        events = list(replay_fast(models, settings, padded(audio)))
        wall = time.perf_counter() - t0
        ready = [e for e in events if isinstance(e, HintReady)]
        lat = ready[-1].latencies if ready else {}
        ms = lambda key: round(lat[key] * 1000) if key in lat else None  # noqa: E731
        rows.append(TurnLengthCost(
            turn_s=seconds,
            transcripts=sum(isinstance(e, Transcript) for e in events),
            final_stt_ms=ms("stt_s"),
            transcript_ms=ms("transcript_s"),
            first_text_ms=ms("first_text_s"),
            complete_ms=ms("speech_to_hint_s"),
            prompt_tokens=ready[-1].prompt_tokens if ready else None,
            rtf=round(wall / (len(audio) / SAMPLE_RATE), 3),
        ))
    return rows


def conversation_costs(models: Models, sizes: tuple[int, ...] = (0, 10, 40)) -> list[ConversationCost]:
    """A hint written after `n` earlier turns, with the earlier ones already in the KV cache (as live)."""
    from coach.hints import HintWriter

    earlier = "A part of me worries about my family and another part of me wants to rest for a while."
    rows = []
    for n in sizes:
        writer = HintWriter(models.chat, context_tokens=getattr(models.chat, "n_ctx", default("llm_context")))
        writer.conversation.turns = [f"{earlier} ({i})" for i in range(n)]
        writer.write("I noticed a tight feeling in my chest when I think about my sister.")  # warms the cache
        result = writer.write("Now there is a younger part that feels alone and scared of being left.")
        g = result.generation
        rows.append(ConversationCost(
            earlier_turns_kept=len(writer.conversation.turns) - 1,
            prompt_tokens=g.prompt_tokens,
            first_token_ms=round((g.first_token_s or 0) * 1000),
            total_ms=round(g.total_s * 1000),
        ))
    return rows
