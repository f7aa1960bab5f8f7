"""Typed events passed between stages. Every time is seconds on the audio clock (0 = start of the stream)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from coach.hints import Hint
    from coach.safety import SafetyVerdict


@dataclass(frozen=True)
class SpeechStarted:
    turn_id: int
    t: float


@dataclass(frozen=True)
class SpeechEnded:
    """End of a turn: speech stopped at `t_end`; the endpointer was sure at `t_detected`."""

    turn_id: int
    t_start: float
    t_end: float
    t_detected: float
    split: bool = False  # cut because the turn grew too long, not because the partner paused


@dataclass(frozen=True)
class Transcript:
    turn_id: int
    text: str
    t_start: float
    t_end: float
    t_ready: float
    stt_s: float  # wall time the model spent


@dataclass(frozen=True)
class TranscriptDropped:
    """Speech the VAD heard but that produced nothing worth keeping (noise, Whisper inventions)."""

    turn_id: int
    reason: str
    t_ready: float


# ---- between the two stages (coach/transcription.py -> coach/hinting.py); the pipeline does not pass them on ----


@dataclass(frozen=True)
class TentativeTranscript:
    """Words of a turn heard in its first pause, before its end is sure: a hint may be prepared from them, but is
    held (nothing shown) until the turn's Transcript confirms them, or called off by a TentativeRetracted."""

    turn_id: int
    text: str
    t_end: float  # where the pause began: the turn's end, if it is over
    t: float


@dataclass(frozen=True)
class TentativeRetracted:
    """The partner went on speaking (or the turn ended elsewhere): the tentative words of `turn_id` are void."""

    turn_id: int
    t: float


@dataclass(frozen=True)
class TurnRisk:
    """The safety check's verdict on a turn's words (each pass with any sign of risk): its hint is a safety hint."""

    turn_id: int
    verdict: "SafetyVerdict"
    t: float


@dataclass(frozen=True)
class HintStarted:
    hint_id: int
    turn_ids: tuple[int, ...]
    t: float


@dataclass(frozen=True)
class HintFirstText:
    hint_id: int
    t: float


@dataclass(frozen=True)
class HintPartial:
    """What the facilitator can be shown of a hint still being written: the summary word by word, then each
    later field once complete."""

    hint_id: int
    fields: dict
    t: float


@dataclass(frozen=True)
class HintReady:
    hint_id: int
    hint: "Hint"
    turn_ids: tuple[int, ...]
    t_speech_end: float  # end of the partner's last speech this hint covers
    t_ready: float
    latencies: dict[str, float] = field(default_factory=dict)  # seconds, computed from event times
    prompt_tokens: int = 0  # what the LLM read for this hint
    completion_tokens: int = 0  # and wrote

    @property
    def speech_to_hint_s(self) -> float:
        return self.t_ready - self.t_speech_end


@dataclass(frozen=True)
class HintFailed:
    hint_id: int
    reason: str
    t: float


@dataclass(frozen=True)
class SafetyAlert:
    """The safety check heard danger in a turn (its speculative or final words): shown at once, before any hint."""

    turn_id: int
    hint: "Hint"
    category: str | None
    source: str  # "phrase" or "meaning"
    t_speech_end: float
    t: float

    @property
    def speech_to_alert_s(self) -> float:
        return self.t - self.t_speech_end


@dataclass(frozen=True)
class LagWarning:
    """Processing fell behind the audio by `lag_s` seconds at audio time `t`."""

    lag_s: float
    t: float


@dataclass(frozen=True)
class CoachBehind:
    """The models are not keeping up: the hint that starts at `t` answers speech that ended `lag_s` seconds ago.
    `lag_s` 0 means caught up again. Turns that arrive meanwhile share one hint: the backlog never grows."""

    lag_s: float
    t: float


Event = Union[
    SpeechStarted, SpeechEnded, Transcript, TranscriptDropped, HintStarted, HintFirstText, HintPartial, HintReady, HintFailed,
    SafetyAlert, LagWarning, CoachBehind, TentativeTranscript, TentativeRetracted, TurnRisk,
]
BETWEEN_STAGES = (TentativeTranscript, TentativeRetracted, TurnRisk)  # kept inside the pipeline
