"""The chain, as a synchronous core on the audio clock: audio chunks in, typed events out.

VAD and endpointing run inline (well under a millisecond per 32 ms window); speech to text and the LLM run as
jobs on their own workers. The same core serves live sessions (ThreadWorker) and fast replays (SimWorker).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE, AudioChunk
from coach.errors import ModelOutputError
from coach.events import (
    Event,
    HintFailed,
    HintFirstText,
    HintReady,
    HintStarted,
    LagWarning,
    SpeechEnded,
    Transcript,
    TranscriptDropped,
)
from coach.hints import HintResult, HintWriter, PendingTurns
from coach.stt import GuardConfig, SttResult, Transcriber, run_stt
from coach.vad import EndpointConfig, Endpointer, SpeechProbability
from coach.workers import Update, Worker

log = logging.getLogger("coach.pipeline")

LAG_WARN_S = 1.0
LAG_WARN_EVERY_S = 10.0


@dataclass(frozen=True)
class PipelineConfig:
    endpoint: EndpointConfig = EndpointConfig()
    guards: GuardConfig = GuardConfig()
    pre_roll_s: float = 0.3
    post_roll_s: float = 0.15
    prompt_context_chars: int = 200
    hint_min_words: int = 5
    log_transcripts: bool = False

    @classmethod
    def from_settings(cls, s) -> "PipelineConfig":
        return cls(
            endpoint=EndpointConfig.from_settings(s),
            guards=GuardConfig.from_settings(s),
            pre_roll_s=s.pre_roll_s,
            prompt_context_chars=s.prompt_context_chars,
            hint_min_words=s.hint_min_words,
            log_transcripts=s.log_transcripts,
        )


class AudioHistory:
    """The last `keep_s` seconds of audio, addressable by audio-clock time."""

    def __init__(self, keep_s: float):
        self._keep = int(keep_s * SAMPLE_RATE)
        self._buf = np.zeros(0, dtype=np.float32)
        self._offset = 0  # absolute sample index of _buf[0]

    def append(self, samples: np.ndarray) -> None:
        self._buf = np.concatenate([self._buf, samples])
        extra = len(self._buf) - self._keep
        if extra > 4 * SAMPLE_RATE:  # trim in steps, not on every chunk
            self._buf = self._buf[extra:]
            self._offset += extra

    def restart(self, t: float) -> None:
        self._buf = np.zeros(0, dtype=np.float32)
        self._offset = int(t * SAMPLE_RATE)

    def slice(self, t0: float, t1: float) -> np.ndarray:
        a = max(int(t0 * SAMPLE_RATE) - self._offset, 0)
        b = max(int(t1 * SAMPLE_RATE) - self._offset, 0)
        return self._buf[a:b].copy()


@dataclass
class _Turn:
    ended: SpeechEnded
    t_transcript: float = 0.0
    stt_s: float = 0.0


@dataclass
class _HintJob:
    hint_id: int
    turn_ids: tuple[int, ...]
    text: str
    t_speech_end: float
    t_started: float
    t_first_text: float | None = None


class Pipeline:
    def __init__(
        self,
        vad: SpeechProbability,
        transcriber: Transcriber,
        writer: HintWriter,
        stt_worker: Worker,
        llm_worker: Worker,
        config: PipelineConfig = PipelineConfig(),
        clock: Callable[[], float] | None = None,
    ):
        self.config = config
        self._vad = vad
        self._transcriber = transcriber
        self._writer = writer
        self._stt = stt_worker
        self._llm = llm_worker
        self._clock = clock  # wall-driven audio clock when live; None replays on the audio's own time
        self._endpointer = Endpointer(config.endpoint)
        self._history = AudioHistory(config.endpoint.hard_max_utterance_s + config.pre_roll_s + 10.0)
        self._window = np.zeros(0, dtype=np.float32)
        self._t = 0.0  # audio time of the end of the last sample pushed
        self._stt_jobs: dict[int, int] = {}  # STT job -> turn id
        self._turns: dict[int, _Turn] = {}
        self._context = ""  # recent transcript, Whisper's prompt
        self._pending = PendingTurns(config.hint_min_words)
        self._hint: tuple[int, _HintJob] | None = None  # (LLM job, hint) in flight
        self._hint_ids = 0
        self._last_lag_warning = -LAG_WARN_EVERY_S
        self.paused = False

    @property
    def now(self) -> float:
        return self._clock() if self._clock else self._t

    @property
    def thinking(self) -> bool:
        return self._hint is not None

    # ---- input -------------------------------------------------------------------------------------------

    def push(self, chunk: AudioChunk) -> list[Event]:
        events: list[Event] = []
        if chunk.t > self._t + 0.1:
            self._resume_after_gap(chunk.t)
        if self._clock:
            lag = self._clock() - chunk.t_end
            if lag > LAG_WARN_S and chunk.t_end - self._last_lag_warning >= LAG_WARN_EVERY_S:
                self._last_lag_warning = chunk.t_end
                log.warning("falling behind real time by %.2f s", lag)
                events.append(LagWarning(lag, chunk.t_end))
        self._history.append(chunk.samples)
        self._window = np.concatenate([self._window, chunk.samples])
        t_window = chunk.t_end - len(self._window) / SAMPLE_RATE
        while len(self._window) >= CHUNK_SAMPLES:
            win, self._window = self._window[:CHUNK_SAMPLES], self._window[CHUNK_SAMPLES:]
            prob = 0.0 if self.paused else self._vad(win)
            for ev in self._endpointer.update(t_window, prob):
                events.append(ev)
                if isinstance(ev, SpeechEnded):
                    self._transcribe(ev)
            t_window += CHUNK_SAMPLES / SAMPLE_RATE
        self._t = chunk.t_end
        events += self.poll(self.now)
        return events

    def _resume_after_gap(self, t: float) -> None:
        """Audio stopped and resumed later (the partner left and came back, or muted): a fresh start at `t`.
        Any open turn was already closed by end_input()."""
        self._window = np.zeros(0, dtype=np.float32)
        self._vad.reset()
        self._history.restart(t)
        self._t = t

    def end_input(self) -> list[Event]:
        """No more audio (the recording ended, the partner left): a turn still open ends here."""
        events: list[Event] = []
        for ev in self._endpointer.flush():
            events.append(ev)
            self._transcribe(ev)
        return events

    def finish(self) -> list[Event]:
        """End of input on simulated workers: every job's remaining updates, in audio-clock order."""
        return self.end_input() + self.poll(float("inf"))

    def close(self) -> None:
        self._stt.close()
        self._llm.close()

    @property
    def busy(self) -> bool:
        """Work still owed: speech being transcribed, a hint being written, or turns waiting for one."""
        return bool(self._stt_jobs) or self._hint is not None or (bool(self._pending.turns) and self._pending.enough())

    # ---- jobs --------------------------------------------------------------------------------------------

    def _transcribe(self, ended: SpeechEnded) -> None:
        c = self.config
        audio = self._history.slice(ended.t_start - c.pre_roll_s, min(ended.t_end + c.post_roll_s, self._t))
        prompt = self._context[-c.prompt_context_chars :] or None
        transcriber, guards = self._transcriber, c.guards
        job = self._stt.submit(lambda emit, cancelled: run_stt(transcriber, audio, prompt, guards), ended.t_detected)
        self._stt_jobs[job] = ended.turn_id
        self._turns[ended.turn_id] = _Turn(ended)

    def _maybe_start_hint(self, t: float) -> list[Event]:
        if self._hint is not None or not self._pending.turns or not self._pending.enough():
            return []
        turn_ids, text, t_end = self._pending.take()
        self._hint_ids += 1
        hint = _HintJob(self._hint_ids, turn_ids, text, t_end, t)
        writer = self._writer
        job = self._llm.submit(lambda emit, cancelled: writer.write(text, on_text=emit, should_stop=cancelled), t)
        self._hint = (job, hint)
        return [HintStarted(hint.hint_id, turn_ids, t)]

    def poll(self, now: float) -> list[Event]:
        """Deliver finished work up to audio time `now`, earliest first across both workers: an update may start
        a new job whose own updates fall before `now`."""
        events: list[Event] = []
        while True:
            due = [(t, i, w) for i, w in enumerate((self._stt, self._llm)) if (t := w.peek()) is not None and t <= now]
            if not due:
                return events
            _, _, worker = min(due)
            u = worker.pop()
            if worker is self._stt:
                events += self._on_transcript(self._stt_jobs.pop(u.job), u)
            else:
                events += self._on_llm(u)

    def _on_transcript(self, turn_id: int, u: Update) -> list[Event]:
        turn = self._turns[turn_id]
        if u.kind == "error":
            self._turns.pop(turn_id)
            log.error("speech to text failed for turn %d: %s", turn_id, type(u.value).__name__)
            return [TranscriptDropped(turn_id, f"error: {type(u.value).__name__}", u.t)]
        result: SttResult = u.value
        turn.t_transcript, turn.stt_s = u.t, result.seconds
        if not result.text:
            self._turns.pop(turn_id)
            log.info("turn %d dropped: %s", turn_id, result.dropped)
            return [TranscriptDropped(turn_id, result.dropped or "empty", u.t)]
        extra = {"transcript": result.text} if self.config.log_transcripts else {}
        log.info("turn %d transcribed in %.2f s", turn_id, result.seconds, extra=extra)
        self._context = (self._context + " " + result.text).strip()[-2000:]
        ended = turn.ended
        self._pending.add(turn_id, result.text, ended.t_end)
        events: list[Event] = [Transcript(turn_id, result.text, ended.t_start, ended.t_end, u.t, result.seconds)]
        return events + self._maybe_start_hint(u.t)

    def _on_llm(self, u: Update) -> list[Event]:
        if self._hint is None or self._hint[0] != u.job:
            return []
        _, hint = self._hint
        if u.kind == "partial":
            if hint.t_first_text is None:
                hint.t_first_text = u.t
                return [HintFirstText(hint.hint_id, u.t)]
            return []
        self._hint = None
        if u.kind == "error":
            reason = str(u.value) if isinstance(u.value, ModelOutputError) else f"{type(u.value).__name__}"
            log.warning("hint %d failed: %s", hint.hint_id, reason)
            events: list[Event] = [HintFailed(hint.hint_id, reason, u.t)]
        else:
            events = [self._ready(hint, u.value, u.t)]
        return events + self._maybe_start_hint(u.t)

    def _ready(self, hint: _HintJob, result: HintResult, t: float) -> HintReady:
        last = self._turns[hint.turn_ids[-1]]
        gen = result.generation
        latencies = {
            "endpoint_s": last.ended.t_detected - last.ended.t_end,
            "stt_s": last.stt_s,
            "transcript_s": last.t_transcript - hint.t_speech_end,
            "queue_s": hint.t_started - last.t_transcript,
            "llm_first_token_s": (hint.t_first_text or t) - hint.t_started,
            "llm_total_s": t - hint.t_started,
            "first_text_s": (hint.t_first_text or t) - hint.t_speech_end,
            "speech_to_hint_s": t - hint.t_speech_end,
            "prompt_tokens": float(gen.prompt_tokens),
            "completion_tokens": float(gen.completion_tokens),
        }
        for turn_id in hint.turn_ids:
            self._turns.pop(turn_id, None)
        log.info("hint %d ready %.2f s after speech (%s)", hint.hint_id, t - hint.t_speech_end, result.hint.priority)
        return HintReady(hint.hint_id, result.hint, hint.turn_ids, hint.t_speech_end, t, latencies)
