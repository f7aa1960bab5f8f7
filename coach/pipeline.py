"""The chain on the audio clock: audio chunks in, typed events out. A small router over the two stages.

VAD and endpointing run inline (well under a millisecond per 32 ms window) and feed the transcription stage
(coach/transcription.py); its events go to the hinting stage (coach/hinting.py). Speech to text and the LLM run as jobs
on their own workers, which the pipeline owns and polls in audio-clock order, handing each update to its stage. The
same core serves live sessions (ThreadWorker, wall-driven clock) and fast replays (SimWorker, the audio's own time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE, AudioChunk
from coach.config import PipelineMode, default
from coach.events import BETWEEN_STAGES, Event, LagWarning, SpeechEnded, SpeechStarted
from coach.hinting import Hinting
from coach.hints import HintWriter
from coach.safety import SafetyCheck
from coach.stt import Transcriber
from coach.transcription import Transcription, TranscriptionConfig
from coach.vad import EndpointConfig, Endpointer, SpeechProbability, State
from coach.workers import Worker

log = logging.getLogger("coach.pipeline")

LAG_WARN_S = 1.0
LAG_WARN_EVERY_S = 10.0
# Passes while the partner speaks are extra work: a session this far behind real time does without them.
COMMIT_BEHIND_S = 0.5


@dataclass(frozen=True)
class PipelineConfig:
    endpoint: EndpointConfig = EndpointConfig()
    transcription: TranscriptionConfig = TranscriptionConfig()
    hint_min_words: int = default("hint_min_words")
    mode: PipelineMode = PipelineMode.TURN  # the plain baseline unless told (Settings' default is streaming)

    @classmethod
    def from_settings(cls, s) -> "PipelineConfig":
        return cls(EndpointConfig.from_settings(s), TranscriptionConfig.from_settings(s), s.hint_min_words, s.mode)


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
        self._vad = vad
        self._stt, self._llm = stt_worker, llm_worker
        self._clock = clock  # wall-driven audio clock when live; None replays on the audio's own time
        self._endpointer = Endpointer(config.endpoint)
        self.transcription = Transcription(transcriber, stt_worker, config.transcription, config.mode, safety,
                                           max_turn_s=config.endpoint.hard_max_utterance_s)
        self.hinting = Hinting(writer, llm_worker, min_words=config.hint_min_words,
                               stream_fields=config.mode.stream_fields)
        self._window = np.zeros(0, dtype=np.float32)
        self._t = 0.0  # audio time of the end of the last sample pushed
        self._last_lag_warning = -LAG_WARN_EVERY_S
        self.paused = False

    @property
    def now(self) -> float:
        return self._clock() if self._clock else self._t

    @property
    def thinking(self) -> bool:
        return self.hinting.thinking

    @property
    def busy(self) -> bool:
        """Work still owed: speech being transcribed, a hint being written, or turns waiting for one."""
        return self.transcription.busy or self.hinting.busy

    def _route(self, events: list[Event]) -> list[Event]:
        """The transcription stage's events, each followed by what the hinting stage makes of it; the events between
        the stages stay in here."""
        out: list[Event] = []
        for ev in events:
            if not isinstance(ev, BETWEEN_STAGES):
                out.append(ev)
            out += self.hinting.on_event(ev)
        return out

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
        self.transcription.history.append(chunk.samples)
        self._window = np.concatenate([self._window, chunk.samples])
        t_window = chunk.t_end - len(self._window) / SAMPLE_RATE
        ep = self._endpointer
        while len(self._window) >= CHUNK_SAMPLES:
            win, self._window = self._window[:CHUNK_SAMPLES], self._window[CHUNK_SAMPLES:]
            prob = 0.0 if self.paused else self._vad(win)
            was_ending = ep.state is State.ENDING
            for ev in ep.update(t_window, prob):
                events += self._route([ev])
                if isinstance(ev, SpeechStarted):
                    self.transcription.started(ev)
                elif isinstance(ev, SpeechEnded):
                    events += self._route(self.transcription.ended(ev, self._t))
            if was_ending and ep.state is State.SPEAKING:
                events += self._route(self.transcription.resumed(self._t, pause=(ep.silence_start, t_window)))
            t_window += CHUNK_SAMPLES / SAMPLE_RATE
        self._t = chunk.t_end
        if ep.state is State.SPEAKING and not self.paused:
            behind = self._clock is not None and self._clock() - chunk.t_end > COMMIT_BEHIND_S
            self.transcription.listening(self._t, behind)
        if ep.state is State.ENDING and not self.paused:
            self.transcription.paused(ep.turn_start, ep.silence_start, self._t)
        events += self.poll(self.now)
        return events

    def _resume_after_gap(self, t: float) -> None:
        """Audio stopped and resumed later (the partner left and came back, or muted): a fresh start at `t`.
        Any open turn was already closed by end_input()."""
        self._window = np.zeros(0, dtype=np.float32)
        self._vad.reset()
        self.transcription.restart(t)
        self._t = t

    def end_input(self) -> list[Event]:
        """No more audio (the recording ended, the partner left): a turn still open ends here."""
        events: list[Event] = []
        for ev in self._endpointer.flush():
            events += self._route([ev]) + self._route(self.transcription.ended(ev, self._t))
        return events

    def finish(self) -> list[Event]:
        """End of input on simulated workers: every job's remaining updates, in audio-clock order."""
        return self.end_input() + self.poll(float("inf"))

    def close(self) -> None:
        self._stt.close()
        self._llm.close()

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
                events += self._route(self.transcription.on_update(u))
            else:
                events += self.hinting.on_update(u)
