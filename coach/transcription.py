"""The transcription stage: the endpointer's turn events and the audio in; speech-to-text passes on the STT worker
out as typed events. Synchronous: every call says what time it is on the audio clock, and returns its events.

Final pass: when a turn ends, its audio (with pre- and post-roll) is transcribed, with the recent transcript as
Whisper's prompt. Speculative pass (mode.speculative): in the turn's first short pause the turn is transcribed as if it
were over; its words go out at once as a TentativeTranscript (a hint can be prepared), and when the turn does end
right there they are its Transcript, with no second pass. When the partner goes on instead, a TentativeRetracted
calls them off. The safety check runs on the same job as each pass: TurnRisk for every risky verdict, and one
SafetyAlert per turn, shown at once.

Committed words (mode.commit, coach/agreement.py): while the partner speaks, whenever the STT worker is free and the
session keeps up, a quick pass reads the turn's uncommitted audio again, about once a second; words two passes agree on
are committed, and later passes start at a pause a few seconds before the first uncommitted word. The speculative and
final passes then decode only that tail, with the committed words before it at the end of Whisper's prompt, and join
the two. Each time the committed
text gains a whole sentence, the safety check reads the committed sentences: a clear statement raises its alert
before the turn is over.

Kept parts (mode.seal, on by default): when the partner goes on after a pause of at least `seal_pause_s`, and the
speculative pass of that pause read at least `seal_after_s` of audio, its words are not thrown away: they stand for
that part of the turn, and later passes read only the audio after it, with its words at the end of Whisper's prompt.
At the end of a long turn only its last part is decoded. Unlike committed words this costs no pass of its own (the
speculative pass ran anyway) and the part is read whole, with the default beam, cut where the partner paused. Its
safety verdict counts as it comes, so a clear statement raises its alert before the turn is over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from coach.agreement import Agreement
from coach.audio import SAMPLE_RATE
from coach.config import PipelineMode, default
from coach.events import (
    Event,
    SafetyAlert,
    SpeechEnded,
    SpeechStarted,
    TentativeRetracted,
    TentativeTranscript,
    Transcript,
    TranscriptDropped,
    TurnRisk,
)
from coach.hints import safety_hint
from coach.safety import NO_RISK, URGENT, SafetyCheck, SafetyVerdict
from coach.stt import GuardConfig, SttResult, Transcriber, guard, run_stt
from coach.workers import Update, Worker

log = logging.getLogger("coach.transcription")

CONTEXT_CHARS = 2000  # recent transcript kept, of which the last prompt_context_chars are Whisper's prompt
# A pass while the partner speaks reads at least this much uncommitted audio: shorter, and Whisper has too little
# context to agree with itself (and the pass costs the encoder's 10 s window all the same).
COMMIT_MIN_AUDIO_S = 2.0


@dataclass(frozen=True)
class TranscriptionConfig:
    guards: GuardConfig = GuardConfig()
    pre_roll_s: float = default("pre_roll_s")
    post_roll_s: float = 0.15
    prompt_context_chars: int = default("prompt_context_chars")
    vocabulary: str = ""  # Whisper's prompt starts with it (Settings.stt_vocabulary; none unless set)
    log_transcripts: bool = default("log_transcripts")
    spec_silence_s: float = default("spec_silence_s")
    commit_every_s: float = default("commit_every_s")
    commit_left_context_s: float = default("commit_left_context_s")
    seal_after_s: float = default("seal_after_s")
    seal_pause_s: float = default("seal_pause_s")
    seal_min_tail_s: float = default("seal_min_tail_s")

    @classmethod
    def from_settings(cls, s) -> "TranscriptionConfig":
        return cls(guards=GuardConfig.from_settings(s), pre_roll_s=s.pre_roll_s,
                   prompt_context_chars=s.prompt_context_chars, vocabulary=s.stt_vocabulary,
                   log_transcripts=s.log_transcripts, spec_silence_s=s.spec_silence_s,
                   commit_every_s=s.commit_every_s, commit_left_context_s=s.commit_left_context_s,
                   seal_after_s=s.seal_after_s, seal_pause_s=s.seal_pause_s, seal_min_tail_s=s.seal_min_tail_s)


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
class _Part:
    """The stretch of a turn's audio one pass reads, and (once it has run) what it heard there. The pass fills in
    `start` and `result` on the STT worker's thread, where every later pass runs after it and finds them."""

    start: float
    end: float
    result: SttResult | None = None


def _read(kept: tuple[_Part, ...], start: float, end: float, min_tail_s: float) -> list[_Part]:
    """The kept parts a pass over [start, end] of the turn takes as read: whose words are in, one after another from
    the turn's start (a part that failed is not, and the audio from there on is read again; a part that read again
    the audio of those before it replaces them), leaving at least `min_tail_s` of audio after them: Whisper reads a
    few words alone, or a breath of noise, worse than with what came before ("Get out of here." on the applause after
    a speech's last words)."""
    done: list[_Part] = []
    for part in kept:
        if part.result is None:
            continue
        while done and done[-1].end > part.start + 1e-6:
            done.pop()
        if abs((done[-1].end if done else start) - part.start) < 1e-6:
            done.append(part)
    while done and end - done[-1].end < min_tail_s:
        done.pop()
    return done


def _joined(before: str, rest: SttResult) -> SttResult:
    """The words of the kept parts and a pass's reading of the rest of the turn (its other readings joined the same
    way, for the safety check). The kept words stand when the rest holds none."""
    if not before:
        return rest
    text = " ".join(filter(None, (before, rest.text)))
    return SttResult(text, None, rest.seconds, tuple(f"{before} {a}" for a in rest.alternatives))


def whisper_prompt(config: TranscriptionConfig, context: str, said: str = "") -> str | None:
    """Whisper's prompt: the vocabulary, then the end of the recent transcript and of what this turn has said."""
    c = config
    recent = (context + " " + said).strip()[-c.prompt_context_chars :] if c.prompt_context_chars else ""
    return " ".join(filter(None, (c.vocabulary, recent))) or None


@dataclass
class _OpenTurn:
    """The turn the partner is in, and the speculative pass over it prepared in its first pause."""

    turn_id: int
    spec_job: int | None = None
    spec_t_end: float = 0.0  # where the pause the pass heard began
    spec_result: SttResult | None = None
    spec_t_ready: float = 0.0
    spec_part: _Part | None = None  # the audio the speculative pass reads
    kept: list[_Part] = field(default_factory=list)  # parts read by speculative passes the partner went on after
    agreement: Agreement | None = None  # the words committed while the partner speaks (mode.commit)
    commit_job: int | None = None  # the pass reading the uncommitted audio, and the audio time it reads up to
    commit_audio_end: float = 0.0
    checked: str = ""  # the committed sentences the safety check has read

    @property
    def tentative(self) -> bool:
        """Its words went out as a TentativeTranscript."""
        return self.spec_result is not None and bool(self.spec_result.text)


class Transcription:
    def __init__(self, transcriber: Transcriber, worker: Worker, config: TranscriptionConfig = TranscriptionConfig(),
                 mode: PipelineMode = PipelineMode.TURN, safety: SafetyCheck | None = None, max_turn_s: float = 30.0):
        self.config, self.mode = config, mode
        self._transcriber = transcriber
        self._worker = worker
        self._safety = safety or SafetyCheck(None)  # without an embedder: the reviewed phrase list alone
        self.history = AudioHistory(max_turn_s + config.pre_roll_s + 10.0)
        self._jobs: dict[int, tuple[str, int]] = {}  # STT job -> (kind: final/spec, turn id)
        self._open: _OpenTurn | None = None
        self._ended: dict[int, SpeechEnded] = {}  # turns over whose final words are still owed
        self._alerted: dict[int, str] = {}  # turn id -> the grade of the alert raised for it
        self._context = ""  # recent transcript, Whisper's prompt
        # Passes while the partner speaks need each word's time: only a transcriber that gives them can commit.
        self._words = getattr(transcriber, "transcribe_words", None) if mode.commit else None

    @property
    def busy(self) -> bool:
        """Speech being transcribed."""
        return bool(self._jobs)

    # ---- what the endpointer says ------------------------------------------------------------------------

    def started(self, ev: SpeechStarted) -> None:
        agreement = Agreement.at(ev.t - self.config.pre_roll_s, self.config.commit_left_context_s) if self._words else None
        self._open = _OpenTurn(ev.turn_id, agreement=agreement)

    def listening(self, t: float, behind: bool = False) -> None:
        """The partner is speaking (audio up to `t`): read the uncommitted audio again when it is time, the STT worker
        is free and the session keeps up (`behind`: it does not). Never queued: a pass not run now is skipped."""
        o = self._open
        if o is None or o.agreement is None or behind or self._jobs:
            return
        if t - o.commit_audio_end < self.config.commit_every_s or t - o.agreement.start < COMMIT_MIN_AUDIO_S:
            return
        start, words, guards = o.agreement.start, self._words, self.config.guards
        audio, prompt = self.history.slice(start, t), self._prompt(o.agreement.before_cut())

        def read(emit, cancelled):
            heard = words(audio, prompt)
            if heard is None:
                return None
            timed, segment = heard
            text, _dropped = guard([segment], guards)  # no words over noise, no phantom "thank you"
            return [w.shifted(start) for w in timed] if text else []

        o.commit_job, o.commit_audio_end = self._worker.submit(read, t), t
        self._jobs[o.commit_job] = ("commit", o.turn_id)

    def _prompt(self, committed: str = "") -> str | None:
        return whisper_prompt(self.config, self._context, committed)

    def paused(self, turn_start: float, silence_start: float, t: float) -> None:
        """The partner is silent since `silence_start` (audio up to `t`): once the pause is long enough, transcribe
        the turn as if it were over. If it is, the words are ready when the endpointer is sure."""
        o = self._open
        if o is None or not self.mode.speculative or o.spec_job is not None or t - silence_start < self.config.spec_silence_s:
            return
        o.spec_job, o.spec_part = self._submit("spec", o.turn_id, turn_start, silence_start, t, agreement=o.agreement,
                                               kept=o.kept)
        o.spec_t_end = silence_start

    def resumed(self, t: float, pause: tuple[float, float] | None = None) -> list[Event]:
        """The pause (`pause`: from, to) was not the end of the turn: what was prepared for it is called off (its
        words kept for their part of the turn when the part is long and the pause real), and the pause is a place to
        cut the audio between committed words and the rest."""
        o = self._open
        if o is None:
            return []
        if pause and o.agreement is not None:
            o.agreement.paused(*pause)
        if self._keeps(o, pause):
            o.kept.append(o.spec_part)
            if o.spec_result is None:  # still running: its safety verdict counts when it comes
                self._jobs[o.spec_job] = ("kept", o.turn_id)
            o.spec_job = None  # kept, not cancelled
        return self._drop_speculation(o, t)

    def _keeps(self, o: _OpenTurn, pause: tuple[float, float] | None) -> bool:
        """Whether the speculative pass of this pause stands for its part of the turn: a real pause (not a breath),
        heard before the partner went on, after enough speech to be read well alone."""
        part, c = o.spec_part, self.config
        return (self.mode.seal and o.agreement is None and o.spec_job is not None and part is not None
                and pause is not None and pause[1] - pause[0] >= c.seal_pause_s and part.end <= pause[1]
                and part.end - part.start >= c.seal_after_s)

    def ended(self, ended: SpeechEnded, t: float) -> list[Event]:
        """The turn is over (audio up to `t`): its final words, from the speculative pass when it heard exactly this
        turn, else from a pass submitted now."""
        o = self._open if self._open and self._open.turn_id == ended.turn_id else None
        self._open = None
        self._ended[ended.turn_id] = ended
        if o and o.commit_job is not None:  # too late to agree on anything: the final pass reads what is left
            self._worker.cancel(o.commit_job, t)
            self._jobs.pop(o.commit_job, None)
        if o and o.spec_job is not None and abs(o.spec_t_end - ended.t_end) < 1e-6:
            if o.spec_result is None:  # still running: its result will be the final one
                self._jobs[o.spec_job] = ("final", ended.turn_id)
                return []
            return self._final(ended.turn_id, o.spec_result, max(o.spec_t_ready, ended.t_detected))
        events = self._drop_speculation(o, t) if o else []
        self._submit("final", ended.turn_id, ended.t_start, ended.t_end, ended.t_detected, audio_until=t,
                     agreement=o.agreement if o else None, kept=o.kept if o else ())
        return events

    def restart(self, t: float) -> None:
        """Audio resumes at `t` after a gap (any open turn was already ended)."""
        self.history.restart(t)
        self._open = None

    # ---- passes ------------------------------------------------------------------------------------------

    def _submit(self, kind: str, turn_id: int, t0: float, t1: float, t: float, audio_until: float | None = None,
                agreement: Agreement | None = None, kept: list[_Part] | tuple[_Part, ...] = ()) -> tuple[int, _Part]:
        """A pass over the turn [t0, t1] (with its margins), or, when words are committed, over what follows them, or,
        when parts of it are kept, over what follows the last kept part whose words are in."""
        c = self.config
        committed = agreement.frozen() if agreement and agreement.committed else None
        first = committed.start if committed else t0 - c.pre_roll_s
        end = min(t1 + c.post_roll_s, t if audio_until is None else audio_until)
        audio = self.history.slice(first, end)
        kept, context = tuple(kept), self._context
        part = _Part(kept[-1].end if kept else first, end)
        transcriber, guards, tight, check, config = self._transcriber, c.guards, self.mode.tight_stt, self._safety, c

        def heard(emit, cancelled) -> tuple[SttResult, SafetyVerdict]:
            # Here, on the STT worker's thread, every kept part's pass has run (or failed: its audio is read again).
            done = _read(kept, first, end, config.seal_min_tail_s)
            part.start = done[-1].end if done else first
            before = " ".join(filter(None, (p.result.text for p in done)))
            said = committed.before_cut() if committed else before
            rest = audio[max(int(round((part.start - first) * SAMPLE_RATE)), 0):]
            result = run_stt(transcriber, rest, whisper_prompt(config, context, said), guards, tight=tight,
                             vocabulary=config.vocabulary)
            part.result = result
            result = committed.complete(result) if committed else _joined(before, result)
            # The safety check runs with the words, on the same job: its verdict never waits for anything else.
            return result, check.assess(result.text, result.alternatives) if result.text else NO_RISK

        job = self._worker.submit(heard, t)
        self._jobs[job] = (kind, turn_id)
        return job, part

    def _drop_speculation(self, o: _OpenTurn, t: float) -> list[Event]:
        events: list[Event] = [TentativeRetracted(o.turn_id, t)] if o.tentative else []
        if o.spec_job is not None:
            self._worker.cancel(o.spec_job, t)
            self._jobs.pop(o.spec_job, None)
        o.spec_job, o.spec_result, o.spec_part = None, None, None
        return events

    def on_update(self, u: Update) -> list[Event]:
        """A pass's result (or failure) from the STT worker."""
        if u.job not in self._jobs:
            return []
        kind, turn_id = self._jobs.pop(u.job)
        events: list[Event] = []
        if kind == "commit":
            return self._on_commit(turn_id, u)
        if u.kind == "done":
            result, verdict = u.value
            u = replace(u, value=result)
            events += self._on_verdict(turn_id, verdict, u.t)
        if kind in ("check", "kept"):  # (a kept part that failed: the passes after it read its audio again)
            return events
        if kind == "spec":
            return events + self._on_spec(turn_id, u)
        if u.kind == "error":
            self._ended.pop(turn_id, None)
            self._alerted.pop(turn_id, None)
            log.error("speech to text failed for turn %d: %s", turn_id, type(u.value).__name__)
            return events + [TranscriptDropped(turn_id, f"error: {type(u.value).__name__}", u.t)]
        return events + self._final(turn_id, u.value, u.t)

    def _on_verdict(self, turn_id: int, verdict: SafetyVerdict, t: float) -> list[Event]:
        if not verdict.risk:
            return []
        events: list[Event] = [TurnRisk(turn_id, verdict, t)]
        # one alert per turn, unless a later pass hears it more clearly: a check-in becomes an urgent alert
        if turn_id in self._alerted and not (verdict.urgent and self._alerted[turn_id] != URGENT):
            return events
        self._alerted[turn_id] = verdict.level or URGENT
        if self._open and self._open.turn_id == turn_id:
            t_end = self._open.spec_t_end or t  # (heard in committed words, while the partner speaks)
        elif turn_id not in self._ended:
            return events  # the turn's final words came first: they were checked whole
        else:
            t_end = self._ended[turn_id].t_end if turn_id in self._ended else t
        log.warning("turn %d: safety check fired (%s, %s, %s)", turn_id, verdict.level, verdict.category, verdict.source)
        return events + [SafetyAlert(turn_id, safety_hint(verdict), verdict.category, verdict.source, t_end, t)]

    def _on_commit(self, turn_id: int, u: Update) -> list[Event]:
        """A pass over the uncommitted audio: agree with the one before, and read new whole sentences for danger."""
        o = self._open
        if o is None or o.turn_id != turn_id or o.commit_job != u.job:
            return []
        o.commit_job = None
        if u.kind != "done" or u.value is None or o.agreement is None:
            return []  # a pass that failed or looped: the next one (or the final pass) reads the same audio
        if o.agreement.insert(u.value, o.commit_audio_end):
            sentences = o.agreement.sentences()
            if sentences and sentences != o.checked and not self._jobs:
                o.checked = sentences
                check = self._safety
                job = self._worker.submit(lambda emit, cancelled: (None, check.assess(sentences)), u.t)
                self._jobs[job] = ("check", turn_id)
        return []

    def _on_spec(self, turn_id: int, u: Update) -> list[Event]:
        o = self._open
        if o is None or o.turn_id != turn_id or o.spec_job != u.job:
            return []
        if u.kind == "error":
            o.spec_job = None
            return []
        o.spec_result, o.spec_t_ready = u.value, u.t
        return [TentativeTranscript(turn_id, u.value.text, o.spec_t_end, u.t)] if o.tentative else []

    def _final(self, turn_id: int, result: SttResult, t: float) -> list[Event]:
        """A turn's final words, from either pass: its Transcript, or why there is none."""
        ended = self._ended.pop(turn_id)
        self._alerted.pop(turn_id, None)  # no pass over this turn is left to raise another alert
        if not result.text:
            log.info("turn %d dropped: %s", turn_id, result.dropped)
            return [TranscriptDropped(turn_id, result.dropped or "empty", t)]
        extra = {"transcript": result.text} if self.config.log_transcripts else {}
        log.info("turn %d transcribed in %.2f s", turn_id, result.seconds, extra=extra)
        self._context = (self._context + " " + result.text).strip()[-CONTEXT_CHARS:]
        return [Transcript(turn_id, result.text, ended.t_start, ended.t_end, t, result.seconds)]
