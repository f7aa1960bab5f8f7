"""Voice activity: Silero VAD on onnxruntime, and an endpointing state machine that turns
per-window speech probabilities into turn start/end events on the audio clock."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from coach.audio import CHUNK_SAMPLES, SAMPLE_RATE
from coach.config import default
from coach.events import SpeechEnded, SpeechStarted

WINDOW_S = CHUNK_SAMPLES / SAMPLE_RATE
_CONTEXT = 64  # samples of the previous window Silero expects in front of each new one


class SpeechProbability(Protocol):
    """One 512-sample window (16 kHz) in, probability of speech out. Stateful across windows."""

    def __call__(self, window: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class SileroVad:
    def __init__(self, onnx_path: Path):
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        # One thread: a window costs well under a millisecond, and the cores belong to Whisper and the LLM.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        x = np.concatenate([self._context, window.reshape(1, -1).astype(np.float32, copy=False)], axis=1)
        prob, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        self._context = x[:, -_CONTEXT:]
        return float(prob[0, 0])


@dataclass(frozen=True)
class EndpointConfig:
    """The endpointer's thresholds; defaults (and their meaning) are the Settings fields named in from_settings."""

    threshold: float = default("vad_threshold")
    neg_threshold: float = default("vad_neg_threshold")
    min_speech_s: float = default("min_speech_s")
    end_silence_s: float = default("end_silence_s")
    max_utterance_s: float = default("max_utterance_s")
    split_pause_s: float = default("split_pause_s")
    hard_max_utterance_s: float = default("hard_max_utterance_s")

    @classmethod
    def from_settings(cls, s) -> "EndpointConfig":
        return cls(
            threshold=s.vad_threshold,
            neg_threshold=s.vad_neg_threshold,
            min_speech_s=s.min_speech_s,
            end_silence_s=s.end_silence_s,
            max_utterance_s=s.max_utterance_s,
            split_pause_s=s.split_pause_s,
            hard_max_utterance_s=max(s.hard_max_utterance_s, s.max_utterance_s),
        )


class State(enum.Enum):
    QUIET = "quiet"
    STARTING = "starting"
    SPEAKING = "speaking"
    ENDING = "ending"


class Endpointer:
    """Pure state machine: feed (window start time, speech probability), get turn events.

    quiet -> starting (probability over threshold) -> speaking (after min_speech_s) -> ending (probability under
    neg_threshold) -> quiet (after end_silence_s of silence) or back to speaking. A turn longer than
    max_utterance_s ends at the next pause of split_pause_s, and at hard_max_utterance_s regardless.
    """

    def __init__(self, config: EndpointConfig = EndpointConfig()):
        self.config = config
        self.state = State.QUIET
        self._turn_id = 0
        self._start = 0.0  # candidate or confirmed start of speech
        self._silence_start = 0.0
        self.t = 0.0  # end of the last window seen

    @property
    def turn_id(self) -> int:
        return self._turn_id

    @property
    def in_turn(self) -> bool:
        return self.state in (State.SPEAKING, State.ENDING)

    @property
    def turn_start(self) -> float:
        return self._start

    @property
    def silence_start(self) -> float:
        """Where the current pause began (meaningful in the ENDING state)."""
        return self._silence_start

    def update(self, t: float, prob: float, window_s: float = WINDOW_S) -> list[SpeechStarted | SpeechEnded]:
        c = self.config
        t_end = t + window_s
        self.t = t_end
        events: list[SpeechStarted | SpeechEnded] = []
        speech = prob >= c.threshold
        silence = prob < c.neg_threshold
        if self.state is State.QUIET:
            if speech:
                self.state, self._start = State.STARTING, t
        elif self.state is State.STARTING:
            if silence:
                self.state = State.QUIET
            elif t_end - self._start >= c.min_speech_s:
                self.state = State.SPEAKING
                self._turn_id += 1
                events.append(SpeechStarted(self._turn_id, self._start))
        elif self.state is State.SPEAKING:
            if silence:
                self.state, self._silence_start = State.ENDING, t
            elif t_end - self._start >= c.hard_max_utterance_s:
                events.extend(self._end(t_end, t_end, split=True))
                self.state, self._start = State.SPEAKING, t_end
                self._turn_id += 1
                events.append(SpeechStarted(self._turn_id, t_end))
        elif self.state is State.ENDING:
            if prob >= c.threshold:
                self.state = State.SPEAKING
            else:
                paused = t_end - self._silence_start
                too_long = self._silence_start - self._start >= c.max_utterance_s
                at_hard_max = t_end - self._start >= c.hard_max_utterance_s  # a pause must not stretch a turn past it
                if paused >= c.end_silence_s or (too_long and paused >= c.split_pause_s) or at_hard_max:
                    events.extend(self._end(self._silence_start, t_end, split=paused < c.end_silence_s))
                    self.state = State.QUIET
        return events

    def flush(self) -> list[SpeechEnded]:
        """End of input: a turn still open ends where the audio ends."""
        if not self.in_turn:
            self.state = State.QUIET
            return []
        end = self._silence_start if self.state is State.ENDING else self.t
        events = self._end(end, self.t, split=False)
        self.state = State.QUIET
        return events

    def _end(self, t_end: float, t_detected: float, split: bool) -> list[SpeechEnded]:
        return [SpeechEnded(self._turn_id, self._start, t_end, t_detected, split=split)]
