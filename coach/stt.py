"""Speech to text with faster-whisper, and the guards that keep Whisper's inventions out of the hints."""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from coach.audio import SAMPLE_RATE
from coach.config import default


@dataclass(frozen=True)
class SegmentInfo:
    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    alternatives: tuple[str, ...] = ()  # the beam's other readings of the same audio, best first


@dataclass(frozen=True)
class TimedWord:
    text: str  # as Whisper wrote it, punctuation included, no leading space
    start: float  # seconds (from the start of the audio read, or on the audio clock once placed there)
    end: float

    @property
    def key(self) -> str:
        """The word as compared between passes: case and punctuation aside."""
        return normalize_words(self.text)

    def shifted(self, t0: float) -> "TimedWord":
        return TimedWord(self.text, self.start + t0, self.end + t0)


@dataclass(frozen=True)
class SttResult:
    text: str  # what survived the guards ("" when nothing did)
    dropped: str | None  # why everything was dropped, if it was
    seconds: float  # wall time spent in the model
    alternatives: tuple[str, ...] = ()  # other readings Whisper found nearly as likely (see SafetyCheck.assess)


class Transcriber(Protocol):
    def transcribe(self, audio: np.ndarray, prompt: str | None = None, *, tight: bool = False) -> list[SegmentInfo]:
        """Segments of `audio`, with `prompt` (recent words) as context. `tight`: encode only as much audio as
        there is, not Whisper's usual 30 s window."""


@dataclass(frozen=True)
class GuardConfig:
    no_speech_threshold: float = default("no_speech_threshold")
    logprob_threshold: float = default("logprob_threshold")
    compression_ratio_threshold: float = default("compression_ratio_threshold")

    @classmethod
    def from_settings(cls, s) -> "GuardConfig":
        return cls(s.no_speech_threshold, s.logprob_threshold, s.compression_ratio_threshold)


# What Whisper says over silence, music or breathing: learned from subtitles, never meant by a speaker on its own.
PHANTOM_PHRASES = frozenset(
    {
        "thank you", "thank you very much", "thanks", "thanks for watching", "thank you for watching",
        "thanks for watching and see you next time", "please subscribe", "subscribe to my channel",
        "like and subscribe", "see you next time", "bye", "bye bye", "you", "so", "okay", "oh", "uh", "um", "hmm",
        "mm", "ah", "music", "applause", "silence", "subtitles by the amaraorg community", "the end",
    }
)
_NORMALIZE = re.compile(r"[^a-z0-9' ]+")


def normalize_words(text: str) -> str:
    return " ".join(_NORMALIZE.sub(" ", text.lower().replace("-", " ")).split())


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def _repeats_itself(words: list[str]) -> bool:
    """A short phrase looped over and over: Whisper's failure mode on noise and long silences."""
    if len(words) < 15:
        return False
    for n in range(1, 5):
        grams = [" ".join(words[i : i + n]) for i in range(0, len(words) - n + 1)]
        if grams and max(grams.count(g) for g in set(grams)) * n >= 0.6 * len(words) and len(set(words)) <= 2 * n + 2:
            return True
    return False


_SENTENCE_END = re.compile(r"[.!?]+")


def _only_phantoms(text: str) -> bool:
    """Every sentence is one of Whisper's stock phrases ("Thank you. Bye.")."""
    sentences = [normalize_words(part) for part in _SENTENCE_END.split(text)]
    return all(not s or s in PHANTOM_PHRASES for s in sentences)


def guard(segments: Sequence[SegmentInfo], config: GuardConfig = GuardConfig()) -> tuple[str, str | None]:
    """Keep the segments that are real speech. Returns (text, reason everything was dropped or None)."""
    kept: list[str] = []
    reasons: list[str] = []
    for seg in segments:
        text = seg.text.strip()
        if not text:
            continue
        if seg.no_speech_prob > config.no_speech_threshold and seg.avg_logprob < config.logprob_threshold:
            reasons.append("no speech")
        elif seg.compression_ratio > config.compression_ratio_threshold or _repeats_itself(normalize_words(text).split()):
            reasons.append("repetition")
        else:
            kept.append(text)
    text = " ".join(kept).strip()
    if text and _only_phantoms(text):
        return "", "phantom phrase"
    if not text:
        return "", (reasons[0] if reasons else "empty")
    return text, None


# Whisper is trained on 30 s windows and loops when its window is much shorter than that; with a few seconds of
# room after the speech it transcribes a short turn as well as with 30 s, at a fraction of the encoder's cost.
TIGHT_MIN_S = 10.0
TIGHT_PAD_S = 4.0
TIGHT_MAX_S = 30.0  # longer audio gets the standard path (several windows)
MAX_NEW_TOKENS = 220
# Read speech runs at up to ~6 tokens a second (5.6 the fastest of the project's real recordings, punctuation aside):
# a pass allowed more than this per second of audio is looping, and stopping it early saves seconds of decoding.
TOKENS_PER_S = 8.0
LOOP_MIN_WORDS_PER_S = 1.2  # a loop's first round, kept as the words, must be as long as the audio could hold


def max_new_tokens(audio_s: float) -> int:
    return min(MAX_NEW_TOKENS, int(TOKENS_PER_S * audio_s) + 8)


_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _first_round(text: str) -> str | None:
    """The first run of sentences, when `text` is that run said again and again (the last round maybe cut short)."""
    sentences = [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip()]
    words = [normalize_words(x).split() for x in sentences]
    flat = [w for ws in words for w in ws]
    for j in range(1, len(sentences)):
        block = [w for ws in words[:j] for w in ws]
        rest = flat[len(block):]
        misses = sum(w != block[i % len(block)] for i, w in enumerate(rest)) if block else len(rest)
        if rest and misses <= max(1, len(rest) // 10):  # a beam going round again varies a word here and there
            return " ".join(sentences[:j])
        if len(block) * 2 > len(flat):
            break
    return None


def cut_loop(seg: SegmentInfo, audio_s: float) -> SegmentInfo | None:
    """A pass that looped after hearing everything ("X. X. X. X" where the audio says X once) keeps the first X.
    None when that first round is too short for the audio (the loop began before the words ended, or the words
    themselves are Whisper's invention over noise): the slower 30 s pass must settle it."""
    first = _first_round(seg.text)
    if first is None or len(normalize_words(first).split()) < LOOP_MIN_WORDS_PER_S * audio_s:
        return None
    others = tuple(dict.fromkeys(x for x in (_first_round(o) or o for o in seg.alternatives) if x != first))
    return SegmentInfo(" " + first, seg.no_speech_prob, seg.avg_logprob, compression_ratio(first), others)


class WhisperTranscriber:
    """faster-whisper, int8 on the CPU. Call only from one thread (the STT worker)."""

    def __init__(self, model_dir: Path, *, language: str = "en", beam_size: int = 1, threads: int = 2,
                 hypotheses: int = 1, compression_ratio_threshold: float = default("compression_ratio_threshold")):
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
        self.threads = threads
        multilingual = self._model.model.is_multilingual
        self._language = language if multilingual else None
        # The safety check reads every hypothesis: a misheard "hits me" is often right in the second or third.
        self._hypotheses = hypotheses
        self._max_compression = compression_ratio_threshold  # above it, the tight pass looped: the 30 s window retries
        self._beam_size = max(beam_size, hypotheses)
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe", language=self._language)

    def transcribe(self, audio, prompt=None, *, tight=False) -> list[SegmentInfo]:
        audio_s = len(audio) / SAMPLE_RATE
        if tight and audio_s <= TIGHT_MAX_S:
            seg, capped = self._transcribe_tight(audio, prompt)
            if seg.compression_ratio > self._max_compression or capped:
                seg = cut_loop(seg, audio_s)  # the words before it went round again, if those are all there was
            if seg is not None:
                return [seg] if seg.text.strip() else []
            # it looped on less than the audio holds, or stopped short: the standard 30 s window settles it
        segments, _info = self._model.transcribe(
            audio,
            language=self._language,
            beam_size=self._beam_size,
            vad_filter=False,  # our own VAD already gated the audio
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            without_timestamps=True,
            temperature=0.0,
        )
        # The generator is lazy: it must be consumed here, on the worker thread, not on the caller's.
        return [
            SegmentInfo(s.text, s.no_speech_prob, s.avg_logprob, s.compression_ratio) for s in segments
        ]

    def _encode_tight(self, audio: np.ndarray):
        """The encoder's reading of an audio window just long enough for `audio` (and a few seconds of silence)."""
        import ctranslate2

        window_s = min(30.0, max(TIGHT_MIN_S, len(audio) / SAMPLE_RATE + TIGHT_PAD_S))
        frames = int(window_s * 100)
        # Pad the audio (not the features) so the encoder sees real silence after the speech, as in training.
        padded = np.zeros(frames * 160, dtype=np.float32)
        padded[: min(len(audio), len(padded))] = audio[: len(padded)]
        features = self._model.feature_extractor(padded)[:, :frames]
        window = np.zeros((features.shape[0], frames), dtype=np.float32)
        window[:, : features.shape[1]] = features
        return self._model.model.encode(ctranslate2.StorageView.from_array(window[None]), to_cpu=False)

    def _request(self, prompt: str | None) -> list[int]:
        previous = self._tokenizer.encode(" " + prompt.strip()) if prompt else []
        return self._model.get_prompt(self._tokenizer, previous, without_timestamps=True)

    def transcribe_words(self, audio: np.ndarray, prompt: str | None = None) -> tuple[list[TimedWord], SegmentInfo] | None:
        """A quick greedy pass with each word's time (seconds from the start of `audio`): what the transcription
        stage reads while the partner is still speaking. None when the pass cannot be agreed on: audio longer than one
        window, or a pass that looped or ran out of tokens."""
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        audio_s = len(audio) / SAMPLE_RATE
        if audio_s > TIGHT_MAX_S - TIGHT_PAD_S:
            return None
        tok = self._tokenizer
        encoded = self._encode_tight(audio)
        request = self._request(prompt)
        new_tokens = max_new_tokens(audio_s)
        result = self._model.model.generate(
            encoded, [request], beam_size=1, max_length=min(448, len(request) + new_tokens), return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=get_suppressed_tokens(tok, [-1]),
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tok.eot]
        text = tok.decode(tokens)
        ratio = get_compression_ratio(text.strip())
        if len(result.sequences_ids[0]) >= new_tokens - 1 or ratio > self._max_compression:
            return None
        seg = SegmentInfo(text, result.no_speech_prob, result.scores[0] * len(tokens) / (len(tokens) + 1), ratio)
        if not tokens:
            return [], seg
        aligned = self._model.find_alignment(tok, [tokens], encoded, len(audio) // 160)[0]
        return _join_word_pieces(aligned), seg

    def _transcribe_tight(self, audio: np.ndarray, prompt: str | None) -> tuple[SegmentInfo, bool]:
        """One decoder pass over an encoder window just long enough for the audio. faster-whisper always pads its
        window to 30 s, so this calls its CTranslate2 model directly, the way faster-whisper itself does. Also says
        whether the pass stopped at its token limit rather than at the end of the words."""
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        tok = self._tokenizer
        encoded = self._encode_tight(audio)
        request = self._request(prompt)
        new_tokens = max_new_tokens(len(audio) / SAMPLE_RATE)
        result = self._model.model.generate(
            encoded,
            [request],
            beam_size=self._beam_size,
            max_length=min(448, len(request) + new_tokens),
            num_hypotheses=self._hypotheses,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tok, [-1]),
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tok.eot]
        text = tok.decode(tokens)
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        others = tuple(dict.fromkeys(tok.decode([t for t in seq if t < tok.eot]).strip() for seq in result.sequences_ids[1:]))
        capped = len(result.sequences_ids[0]) >= new_tokens - 1  # (the end-of-text token is not in the sequence)
        return SegmentInfo(text, result.no_speech_prob, avg_logprob, get_compression_ratio(text.strip()),
                           tuple(o for o in others if o and o != text.strip())), capped


def _join_word_pieces(aligned: list[dict]) -> list[TimedWord]:
    """Whisper's aligned pieces as words: a piece without a leading space (a comma, "-time" of "full-time", the
    "'s" of a name) belongs to the word before it."""
    words: list[TimedWord] = []
    for piece in aligned:
        text = piece["word"]
        if not text.strip():
            continue
        if words and not text.startswith(" "):
            last = words[-1]
            words[-1] = TimedWord(last.text + text.strip(), last.start, max(last.end, float(piece["end"])))
        else:
            words.append(TimedWord(text.strip(), float(piece["start"]), float(piece["end"])))
    return words


def echoes_prompt(text: str, prompt: str) -> bool:
    """Whether `text` is only a run of the prompt's words."""
    said = normalize_words(text)
    return len(said.split()) >= 2 and f" {said} " in f" {normalize_words(prompt)} "


def run_stt(
    model: Transcriber,
    audio: np.ndarray,
    prompt: str | None,
    config: GuardConfig,
    *,
    tight: bool = False,
    vocabulary: str | None = None,
) -> SttResult:
    """`vocabulary`: the part of `prompt` that is no one's words (Settings.stt_vocabulary): said back alone, it is
    Whisper reading its prompt over unclear audio. The partner's own earlier words may well be said again."""
    if len(audio) < SAMPLE_RATE // 10:
        return SttResult("", "too short", 0.0)
    t0 = time.perf_counter()
    segments = model.transcribe(audio, prompt, tight=True) if tight else model.transcribe(audio, prompt)
    text, dropped = guard(segments, config)
    if text and vocabulary and echoes_prompt(text, vocabulary):
        text, dropped = "", "echo of the vocabulary"
    alternatives = segments[0].alternatives if text and len(segments) == 1 else ()
    return SttResult(text, dropped, time.perf_counter() - t0, alternatives)
