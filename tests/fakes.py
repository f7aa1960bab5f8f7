"""Fakes behind the same small interfaces as the real models, and synthetic test audio.

- FakeVad          coach.vad.SpeechProbability: speech decided from the window's RMS.
- FakeTranscriber  coach.stt.Transcriber: scripted segments, one script item per call.
- FakeChat         coach.llm.ChatModel: scripted JSON replies streamed piece by piece through on_text (minus the
                   reply prefix, which a real model gets in its prompt).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence, Union

import numpy as np

from coach.audio import SAMPLE_RATE
from coach.llm import Generation
from coach.stt import SegmentInfo

# ---- audio ---------------------------------------------------------------------------------------------------

SPEECH_HZ = 200.0
SPEECH_AMPLITUDE = 0.3


def speech(seconds: float, t0: float = 0.0) -> np.ndarray:
    """A 200 Hz sine at amplitude 0.3: loud and steady enough for FakeVad to call every window speech."""
    n = int(round(seconds * SAMPLE_RATE))
    t = t0 + np.arange(n) / SAMPLE_RATE
    return (SPEECH_AMPLITUDE * np.sin(2 * np.pi * SPEECH_HZ * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.float32)


def synth(*parts: tuple[str, float]) -> np.ndarray:
    """synth(("silence", 0.5), ("speech", 1.0), ...) -> float32 mono 16 kHz."""
    out = []
    for kind, seconds in parts:
        if kind == "speech":
            out.append(speech(seconds))
        elif kind == "silence":
            out.append(silence(seconds))
        else:
            raise ValueError(f"unknown audio part {kind!r}")
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)


# ---- VAD -----------------------------------------------------------------------------------------------------


class FakeVad:
    """SpeechProbability from the window's RMS: rms > 0.01 -> 0.9, else 0.05."""

    def __init__(self, rms_threshold: float = 0.01, speech_prob: float = 0.9, silence_prob: float = 0.05):
        self.rms_threshold = rms_threshold
        self.speech_prob = speech_prob
        self.silence_prob = silence_prob
        self.calls = 0
        self.resets = 0
        self.window_sizes: list[int] = []

    def __call__(self, window: np.ndarray) -> float:
        self.calls += 1
        self.window_sizes.append(len(window))
        if len(window) == 0:
            return self.silence_prob
        rms = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
        return self.speech_prob if rms > self.rms_threshold else self.silence_prob

    def reset(self) -> None:
        self.resets += 1


# ---- speech to text ------------------------------------------------------------------------------------------


def seg(text: str, no_speech_prob: float = 0.01, avg_logprob: float = -0.2, compression_ratio: float = 1.3,
        alternatives: tuple[str, ...] = ()) -> SegmentInfo:
    """A segment with Whisper's numbers for confident, ordinary speech unless told otherwise."""
    return SegmentInfo(text, no_speech_prob, avg_logprob, compression_ratio, alternatives)


@dataclass(frozen=True)
class TranscribeCall:
    samples: int
    prompt: str | None
    tight: bool = False


ScriptedSegments = Union[str, Sequence[SegmentInfo], BaseException]


class FakeTranscriber:
    """Transcriber returning scripted results in order. A script item is a string (one good segment), a list of
    SegmentInfo, or an exception instance (raised). Records every call (audio length in samples, prompt)."""

    def __init__(self, script: Sequence[ScriptedSegments] = ()):
        self.script: list[ScriptedSegments] = list(script)
        self.calls: list[TranscribeCall] = []

    @property
    def audio_lengths(self) -> list[int]:
        return [c.samples for c in self.calls]

    def transcribe(self, audio: np.ndarray, prompt: str | None = None, *, tight: bool = False) -> list[SegmentInfo]:
        self.calls.append(TranscribeCall(len(audio), prompt, tight))
        if not self.script:
            raise AssertionError("FakeTranscriber: called more often than scripted")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, str):
            return [seg(item)]
        return list(item)


# ---- chat model ----------------------------------------------------------------------------------------------

VALID_DRAFT = {
    "summary": "It sounds like a part of you feels stuck and tired at work.",
    "suggestion": "Invite them to notice where they feel the stuck part in the body.",
    "follow_ups": ["How do you feel toward that part?", "What does it want you to know?"],
    "priority": "normal",
}
JUNK = "Sure! Here is a hint for the facilitator: be kind and curious."


def draft_json(**overrides) -> str:
    return json.dumps({**VALID_DRAFT, **overrides})


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str = "stop"
    delay_s: float = 0.0  # wall seconds before the first piece (SimWorker turns it into audio-clock time)


@dataclass(frozen=True)
class ChatCall:
    messages: list[dict]
    grammar: str
    max_tokens: int
    reply_prefix: str = ""

    @property
    def partner_message(self) -> str:
        return self.messages[-1]["content"]


ScriptedReply = Union[str, Reply, BaseException]


@dataclass
class FakeChat:
    """ChatModel with scripted replies: a string (returned as is, so junk works too), a Reply (text, finish reason,
    delay) or an exception instance (raised). When the script runs out, `default` is used (a valid hint)."""

    script: list[ScriptedReply] = field(default_factory=list)
    default: ScriptedReply | None = field(default_factory=draft_json)
    piece_chars: int = 7
    calls: list[ChatCall] = field(default_factory=list)

    def __post_init__(self):
        self.script = list(self.script)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def chat(
        self,
        messages,
        *,
        grammar: str,
        max_tokens: int,
        reply_prefix: str = "",
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        self.calls.append(ChatCall([dict(m) for m in messages], grammar, max_tokens, reply_prefix))
        item = self.script.pop(0) if self.script else self.default
        if item is None:
            raise AssertionError("FakeChat: called more often than scripted")
        if isinstance(item, BaseException):
            raise item
        reply = item if isinstance(item, Reply) else Reply(item)
        text = reply.text
        if reply_prefix and text.startswith(reply_prefix):  # the prefix is the prompt's, not generated
            text = text[len(reply_prefix) :]
        t0 = time.perf_counter()
        if reply.delay_s:
            time.sleep(reply.delay_s)
        pieces: list[str] = []
        first: float | None = None
        finish = reply.finish_reason
        for i in range(0, len(text), self.piece_chars):
            piece = text[i : i + self.piece_chars]
            if first is None:
                first = time.perf_counter() - t0
            pieces.append(piece)
            if on_text:
                on_text(piece)
            if should_stop and should_stop():
                finish = "cancelled"
                break
        return Generation(
            text="".join(pieces),
            finish_reason=finish,
            prompt_tokens=sum(self.count_tokens(m["content"]) for m in messages),
            completion_tokens=len(pieces),
            first_token_s=first,
            total_s=time.perf_counter() - t0,
        )


# ---- sentence embedder ---------------------------------------------------------------------------------------


class FakeEmbedder:
    """coach.embed.SentenceEmbedder from a bag of words: each word's stem hashed into one of 256 dimensions, rows
    scaled to unit length. Texts that share words are alike, others are not; deterministic, no model."""

    DIM = 256

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed(self, texts) -> np.ndarray:
        import zlib

        from coach.wording import content_words

        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for w in content_words(text) or ["."]:
                out[i, zlib.crc32(w.encode()) % self.DIM] += 1.0
            out[i] /= np.linalg.norm(out[i])
        return out


class FakeWordTranscriber(FakeTranscriber):
    """A transcriber that also gives timed words, as Whisper's passes while the partner speaks do: each word of
    `words` (text, start, end: seconds on the audio clock) is heard by a pass whose audio covers it whole.
    `misheard` maps a word to what passes hear instead (always: two passes agree on it)."""

    def __init__(self, words: Sequence[tuple[str, float, float]], script: Sequence[ScriptedSegments] = (),
                 misheard: dict[str, str] | None = None):
        super().__init__(script)
        self.words = list(words)
        self.misheard = misheard or {}
        self.word_calls: list[TranscribeCall] = []
        self.t0 = 0.0  # where the audio handed over starts on the audio clock (the test keeps it true)

    def transcribe_words(self, audio: np.ndarray, prompt: str | None = None):
        from coach.stt import TimedWord

        self.word_calls.append(TranscribeCall(len(audio), prompt, True))
        t1 = self.t0 + len(audio) / 16000
        heard = [TimedWord(self.misheard.get(w, w), s - self.t0, e - self.t0) for w, s, e in self.words
                 if s >= self.t0 - 1e-6 and e <= t1 + 1e-6]
        return heard, seg(" ".join(w.text for w in heard))
