"""The chain, as a synchronous core on the audio clock: audio chunks in, typed events out.

VAD and endpointing run inline (well under a millisecond per 32 ms window); speech to text and the LLM run as
jobs on their own workers. The same core serves live sessions (ThreadWorker) and fast replays (SimWorker).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE, AudioChunk
from coach.config import STREAMING_PARTS
from coach.errors import ModelOutputError
from coach.events import (
    CoachBehind,
    Event,
    HintFailed,
    HintFirstText,
    HintPartial,
    HintReady,
    HintStarted,
    LagWarning,
    SafetyAlert,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    TranscriptDropped,
)
from coach.hints import DraftStream, HintResult, HintWriter, PendingTurns, safety_hint
from coach.safety import NO_RISK, SafetyCheck, SafetyVerdict
from coach.stt import GuardConfig, SttResult, Transcriber, run_stt
from coach.vad import EndpointConfig, Endpointer, SpeechProbability, State
from coach.workers import Update, Worker

log = logging.getLogger("coach.pipeline")

LAG_WARN_S = 1.0
LAG_WARN_EVERY_S = 10.0
BEHIND_S = 4.0  # a hint starting this long after the speech it answers is late: the facilitator is told


@dataclass(frozen=True)
class PipelineConfig:
    endpoint: EndpointConfig = EndpointConfig()
    guards: GuardConfig = GuardConfig()
    pre_roll_s: float = 0.3
    post_roll_s: float = 0.15
    prompt_context_chars: int = 200
    vocabulary: str = ""  # Whisper's prompt starts with it (Settings.stt_vocabulary)
    hint_min_words: int = 5
    log_transcripts: bool = False
    # Streaming: each part is switched on by for_mode("streaming") and can be measured on its own.
    tight_stt: bool = False  # encode only the turn's audio, not a 30 s window
    speculative: bool = False  # prepare the transcript (and the hint) in the first short silence
    spec_silence_s: float = 0.15
    stream_fields: bool = False  # show the summary word by word, then each field as it completes

    @classmethod
    def from_settings(cls, s) -> "PipelineConfig":
        base = cls(
            endpoint=EndpointConfig.from_settings(s),
            guards=GuardConfig.from_settings(s),
            pre_roll_s=s.pre_roll_s,
            prompt_context_chars=s.prompt_context_chars,
            vocabulary=s.stt_vocabulary,
            hint_min_words=s.hint_min_words,
            log_transcripts=s.log_transcripts,
            spec_silence_s=s.spec_silence_s,
        )
        return base.for_mode(s.mode)

    def for_mode(self, mode: str) -> "PipelineConfig":
        parts = tuple(p.replace("-", "_") for p in STREAMING_PARTS)
        if mode == "turn":  # the baseline: wait for the turn to end, transcribe it whole, deliver the whole hint
            return replace(self, **{p: False for p in parts})
        if mode == "streaming":
            return replace(self, **{p: True for p in parts})
        if mode.startswith("streaming-no-"):  # streaming without one part, to measure what that part buys
            part = mode.removeprefix("streaming-no-").replace("-", "_")
            if part in parts:
                return replace(self.for_mode("streaming"), **{part: False})
        raise ValueError(f"unknown mode {mode!r}: use 'streaming', 'turn' or 'streaming-no-<part>'")


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
class _OpenTurn:
    """The turn the partner is in, and the speculative pass over it prepared in its first pause."""

    turn_id: int
    spec_job: int | None = None
    spec_t_end: float = 0.0
    spec_result: SttResult | None = None
    spec_t_ready: float = 0.0


@dataclass
class _HintJob:
    hint_id: int
    turn_ids: tuple[int, ...]
    text: str
    t_speech_end: float
    t_started: float
    taken: list = field(default_factory=list)
    held: bool = False  # covers words of a turn not yet known to be over: nothing is shown until it is
    buffer: list = field(default_factory=list)
    t_first_token: float | None = None
    t_first_text: float | None = None  # first words shown to the facilitator
    t_summary: float | None = None  # whole summary shown
    t_release: float = 0.0  # when a held hint's turn was confirmed over


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
        safety: SafetyCheck | None = None,
    ):
        self.config = config
        self._safety = safety or SafetyCheck(None)  # without an embedder: the reviewed phrase list alone
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
        self._stt_jobs: dict[int, tuple[str, int]] = {}  # STT job -> (kind: final/spec, turn id)
        self._open: _OpenTurn | None = None
        self._unconfirmed: int | None = None  # turn whose speculative words are pending, before its end is sure
        self._turns: dict[int, _Turn] = {}
        self._context = ""  # recent transcript, Whisper's prompt
        self._pending = PendingTurns(config.hint_min_words)
        self._hint: tuple[int, _HintJob] | None = None  # (LLM job, hint) in flight
        self._hint_ids = 0
        self._verdicts: dict[int, SafetyVerdict] = {}  # turn id -> the check's verdict, for its hint
        self._alerted: set[int] = set()
        self._last_lag_warning = -LAG_WARN_EVERY_S
        self._late = False  # the last hint started more than BEHIND_S after its speech
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
            was_ending = self._endpointer.state is State.ENDING
            for ev in self._endpointer.update(t_window, prob):
                events.append(ev)
                if isinstance(ev, SpeechStarted):
                    self._open = _OpenTurn(ev.turn_id)
                elif isinstance(ev, SpeechEnded):
                    events += self._turn_ended(ev)
            if was_ending and self._endpointer.state is State.SPEAKING:
                self._speech_resumed()
            t_window += CHUNK_SAMPLES / SAMPLE_RATE
        self._t = chunk.t_end
        self._stream_stt()
        events += self.poll(self.now)
        return events

    def _resume_after_gap(self, t: float) -> None:
        """Audio stopped and resumed later (the partner left and came back, or muted): a fresh start at `t`.
        Any open turn was already closed by end_input()."""
        self._window = np.zeros(0, dtype=np.float32)
        self._vad.reset()
        self._history.restart(t)
        self._open = None
        self._t = t

    def end_input(self) -> list[Event]:
        """No more audio (the recording ended, the partner left): a turn still open ends here."""
        events: list[Event] = []
        for ev in self._endpointer.flush():
            events.append(ev)
            events += self._turn_ended(ev)
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

    def _submit_stt(self, kind: str, turn_id: int, t0: float, t1: float, t: float) -> int:
        c = self.config
        audio = self._history.slice(t0 - c.pre_roll_s, min(t1 + c.post_roll_s, self._t))
        prompt = " ".join(filter(None, (c.vocabulary, self._context[-c.prompt_context_chars :]))) or None
        transcriber, guards, tight, check, vocabulary = self._transcriber, c.guards, c.tight_stt, self._safety, c.vocabulary

        def heard(emit, cancelled) -> tuple[SttResult, SafetyVerdict]:
            # The safety check runs with the words, on the same job: its verdict never waits for anything else.
            result = run_stt(transcriber, audio, prompt, guards, tight=tight, vocabulary=vocabulary)
            return result, check.assess(result.text, result.alternatives) if result.text else NO_RISK

        job = self._stt.submit(heard, t)
        self._stt_jobs[job] = (kind, turn_id)
        return job

    def _transcribe(self, ended: SpeechEnded) -> None:
        self._submit_stt("final", ended.turn_id, ended.t_start, ended.t_end, ended.t_detected)
        self._turns[ended.turn_id] = _Turn(ended)

    def _stream_stt(self) -> None:
        """As soon as a pause begins, transcribe the turn as if it were over: if it is, the words are ready."""
        c, o, ep = self.config, self._open, self._endpointer
        if o is None or self.paused:
            return
        if c.speculative and ep.state is State.ENDING and o.spec_job is None and self._t - ep.silence_start >= c.spec_silence_s:
            o.spec_job = self._submit_stt("spec", o.turn_id, ep.turn_start, ep.silence_start, self._t)
            o.spec_t_end = ep.silence_start

    def _turn_ended(self, ended: SpeechEnded) -> list[Event]:
        o = self._open if self._open and self._open.turn_id == ended.turn_id else None
        self._open = None
        if o and o.spec_job is not None and abs(o.spec_t_end - ended.t_end) < 1e-6:
            # The speculative pass heard exactly this turn: its result is the final transcript.
            self._turns[ended.turn_id] = _Turn(ended)
            if o.spec_result is None:
                self._stt_jobs[o.spec_job] = ("final", ended.turn_id)
                return []
            self._unconfirmed = None
            return self._confirmed(ended.turn_id, o.spec_result, max(o.spec_t_ready, ended.t_detected))
        if o:
            self._drop_speculation(o)
        self._transcribe(ended)
        return []

    def _speech_resumed(self) -> None:
        """The pause was not the end of the turn: what was prepared for it is called off."""
        if self._open:
            self._drop_speculation(self._open)

    def _drop_speculation(self, o: _OpenTurn) -> None:
        if o.spec_job is not None:
            self._stt.cancel(o.spec_job, self._t)
            self._stt_jobs.pop(o.spec_job, None)
        if self._unconfirmed == o.turn_id:
            self._pending.remove(o.turn_id)
            if self._hint and o.turn_id in self._hint[1].turn_ids:
                job, hint = self._hint
                self._llm.cancel(job, self._t)
                self._pending.give_back(hint.taken, except_turn=o.turn_id)
                self._hint = None
            self._unconfirmed = None
        o.spec_job, o.spec_result = None, None

    def _confirmed(self, turn_id: int, result: SttResult, t: float) -> list[Event]:
        """A speculative transcript whose turn has now surely ended: show it, and release its held hint."""
        turn = self._turns[turn_id]
        turn.t_transcript, turn.stt_s = t, result.seconds
        if not result.text:
            self._turns.pop(turn_id)
            return [TranscriptDropped(turn_id, result.dropped or "empty", t)]
        self._context = (self._context + " " + result.text).strip()[-2000:]
        ended = turn.ended
        events: list[Event] = [Transcript(turn_id, result.text, ended.t_start, ended.t_end, t, result.seconds)]
        if self._hint and self._hint[1].held:
            events += self._release(t)
        return events + self._maybe_start_hint(t)

    def _release(self, t: float) -> list[Event]:
        _, hint = self._hint
        hint.held, hint.t_release = False, t
        events: list[Event] = [HintStarted(hint.hint_id, hint.turn_ids, t)]
        buffered, hint.buffer = hint.buffer, []
        for u in buffered:
            events += self._on_llm(u)
        return events

    def _maybe_start_hint(self, t: float) -> list[Event]:
        if self._hint is not None or not self._pending.turns or not self._pending.enough():
            return []
        taken = list(self._pending.turns)
        turn_ids, text, t_end = self._pending.take()
        self._hint_ids += 1
        held = self._unconfirmed in turn_ids
        hint = _HintJob(self._hint_ids, turn_ids, text, t_end, t, taken=taken, held=held)
        writer, stream_fields = self._writer, self.config.stream_fields
        flagged = [self._verdicts[i] for i in turn_ids if i in self._verdicts]
        verdict = flagged[-1] if flagged else None

        def write(emit, cancelled):
            stream = DraftStream(writer.reply_prefix)

            def on_text(piece: str) -> None:
                if len(stream.text) == len(writer.reply_prefix):
                    emit(None)  # first token: timed even when nothing is shown (the baseline shows it all at the end)
                shown = stream.feed(piece)
                if stream_fields and shown is not None:
                    emit(shown)

            return writer.write(text, on_text=on_text, should_stop=cancelled, verdict=verdict,
                                on_fields=emit if stream_fields else None)

        job = self._llm.submit(write, t)
        self._hint = (job, hint)
        return [] if held else [*self._behind(t - t_end, t), HintStarted(hint.hint_id, turn_ids, t)]

    def _behind(self, lag: float, t: float) -> list[Event]:
        """Say once when hints start late, and once when they are on time again."""
        late = lag > BEHIND_S
        if late == self._late:
            return []
        self._late = late
        return [CoachBehind(round(lag, 2) if late else 0.0, t)]

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
                if u.job in self._stt_jobs:
                    kind, turn_id = self._stt_jobs.pop(u.job)
                    if u.kind == "done":
                        result, verdict = u.value
                        u = replace(u, value=result)
                        events += self._on_verdict(turn_id, verdict, u.t)
                    events += (self._on_spec if kind == "spec" else self._on_transcript)(turn_id, u)
            else:
                events += self._on_llm(u)

    def _on_verdict(self, turn_id: int, verdict: SafetyVerdict, t: float) -> list[Event]:
        if not verdict.risk:
            return []
        self._verdicts[turn_id] = verdict
        if turn_id in self._alerted:
            return []
        self._alerted.add(turn_id)
        if self._open and self._open.turn_id == turn_id:
            t_end = self._open.spec_t_end
        else:
            t_end = self._turns[turn_id].ended.t_end if turn_id in self._turns else t
        log.warning("turn %d: safety check fired (%s, %s)", turn_id, verdict.category, verdict.source)
        return [SafetyAlert(turn_id, safety_hint(verdict), verdict.category, verdict.source, t_end, t)]

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

    def _on_spec(self, turn_id: int, u: Update) -> list[Event]:
        o = self._open
        if o is None or o.turn_id != turn_id or o.spec_job != u.job:
            return []
        if u.kind == "error":
            o.spec_job = None
            return []
        result: SttResult = u.value
        o.spec_result, o.spec_t_ready = result, u.t
        if not result.text:
            return []
        self._pending.add(turn_id, result.text, o.spec_t_end)
        self._unconfirmed = turn_id
        return self._maybe_start_hint(u.t)

    def _on_llm(self, u: Update) -> list[Event]:
        if self._hint is None or self._hint[0] != u.job:
            return []
        _, hint = self._hint
        if u.kind == "partial" and u.value is None and hint.t_first_token is None:
            hint.t_first_token = u.t  # the model's own pace, held or not (None marks its first token)
        if hint.held:
            hint.buffer.append(u)
            return []
        if u.t < hint.t_release:  # done before the turn was surely over: shown only from then on
            u = replace(u, t=hint.t_release)
        if u.kind == "partial":
            if u.value is None:
                return []
            events: list[Event] = [HintPartial(hint.hint_id, u.value, u.t)]
            if hint.t_first_text is None:
                hint.t_first_text = u.t
                events.insert(0, HintFirstText(hint.hint_id, u.t))
            if hint.t_summary is None and "summary" in u.value and not u.value["summary"].endswith("…"):
                hint.t_summary = u.t
            return events
        self._hint = None
        if u.kind == "error":
            for turn_id in hint.turn_ids:
                self._turns.pop(turn_id, None)
                self._verdicts.pop(turn_id, None)
            reason = str(u.value) if isinstance(u.value, ModelOutputError) else f"{type(u.value).__name__}"
            log.warning("hint %d failed: %s", hint.hint_id, reason)
            events = [HintFailed(hint.hint_id, reason, u.t)]
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
            "queue_s": max(0.0, hint.t_started - last.t_transcript),
            "llm_first_token_s": (hint.t_first_token or t) - hint.t_started,
            "llm_total_s": t - hint.t_started,
            "first_text_s": (hint.t_first_text or t) - hint.t_speech_end,
            "summary_s": (hint.t_summary or t) - hint.t_speech_end,
            "speech_to_hint_s": t - hint.t_speech_end,
            "prompt_tokens": float(gen.prompt_tokens),
            "completion_tokens": float(gen.completion_tokens),
        }
        for turn_id in hint.turn_ids:
            self._turns.pop(turn_id, None)
            self._verdicts.pop(turn_id, None)
            self._alerted.discard(turn_id)
        log.info("hint %d ready %.2f s after speech (%s)", hint.hint_id, t - hint.t_speech_end, result.hint.priority)
        return HintReady(hint.hint_id, result.hint, hint.turn_ids, hint.t_speech_end, t, latencies)
