"""The hinting stage: turns in (the transcription stage's events), hints out, one LLM job at a time.

Turns wait in PendingTurns until there are enough words (or a sign of risk); then one hint covers all of them. A hint
prepared from a TentativeTranscript is held: its updates are kept back, and nothing of it is shown, until the turn's
Transcript confirms the words (released: shown from then on) or a TentativeRetracted calls it off (its other turns
wait again). Turns that end while a hint is being written share the next one: the backlog never grows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from coach.config import default
from coach.errors import ModelOutputError
from coach.events import (
    CoachBehind,
    Event,
    HintFailed,
    HintFirstText,
    HintPartial,
    HintReady,
    HintStarted,
    SpeechEnded,
    TentativeRetracted,
    TentativeTranscript,
    Transcript,
    TranscriptDropped,
    TurnRisk,
)
from coach.hints import DraftStream, HintResult, HintWriter, PendingTurns
from coach.safety import SafetyVerdict
from coach.workers import Update, Worker

log = logging.getLogger("coach.hinting")

BEHIND_S = 4.0  # a hint starting this long after the speech it answers is late: the facilitator is told


@dataclass
class _Turn:
    """What a hint's latencies need of the last turn it covers."""

    ended: SpeechEnded
    t_transcript: float = 0.0
    stt_s: float = 0.0


@dataclass
class _HintJob:
    job: int  # the LLM worker's
    hint_id: int
    turn_ids: tuple[int, ...]
    t_speech_end: float
    t_started: float
    taken: list = field(default_factory=list)  # the pending turns it took, given back if it is called off
    held: bool = False  # covers tentative words: nothing is shown until they are confirmed
    buffer: list = field(default_factory=list)  # its updates while held
    t_first_token: float | None = None
    t_first_text: float | None = None  # first words shown to the facilitator
    t_summary: float | None = None  # whole summary shown
    t_release: float = 0.0  # when a held hint's turn was confirmed over


class Hinting:
    def __init__(self, writer: HintWriter, worker: Worker, *, min_words: int = default("hint_min_words"),
                 stream_fields: bool = False):
        self._writer = writer
        self._worker = worker
        self.stream_fields = stream_fields  # show the summary word by word, then each field as it completes
        self._pending = PendingTurns(min_words)
        self._tentative: int | None = None  # the turn whose tentative words are pending, until confirmed or retracted
        self._turns: dict[int, _Turn] = {}
        self._verdicts: dict[int, SafetyVerdict] = {}  # turn id -> the safety check's verdict, for its hint
        self._hint: _HintJob | None = None  # in flight
        self._hint_ids = 0
        self._late = False  # the last hint started more than BEHIND_S after its speech

    @property
    def thinking(self) -> bool:
        return self._hint is not None

    @property
    def busy(self) -> bool:
        """A hint being written, or turns waiting for one."""
        return self._hint is not None or (bool(self._pending.turns) and self._pending.enough())

    # ---- turns in ----------------------------------------------------------------------------------------

    def on_event(self, ev: Event) -> list[Event]:
        if isinstance(ev, SpeechEnded):
            self._turns[ev.turn_id] = _Turn(ev)
        elif isinstance(ev, TurnRisk):
            self._verdicts[ev.turn_id] = ev.verdict
        elif isinstance(ev, TentativeTranscript):
            self._pending.add(ev.turn_id, ev.text, ev.t_end)
            self._tentative = ev.turn_id
            return self._maybe_start(ev.t)
        elif isinstance(ev, TentativeRetracted):
            self._retract(ev.turn_id, ev.t)
        elif isinstance(ev, Transcript):
            return self._transcript(ev)
        elif isinstance(ev, TranscriptDropped):
            self._turns.pop(ev.turn_id, None)
        return []

    def _transcript(self, ev: Transcript) -> list[Event]:
        turn = self._turns[ev.turn_id]
        turn.t_transcript, turn.stt_s = ev.t_ready, ev.stt_s
        events: list[Event] = []
        if ev.turn_id == self._tentative:  # its words are pending already: now they are sure
            self._tentative = None
            if self._hint and self._hint.held:
                events += self._release(ev.t_ready)
        else:
            self._pending.add(ev.turn_id, ev.text, ev.t_end)
        return events + self._maybe_start(ev.t_ready)

    def _retract(self, turn_id: int, t: float) -> None:
        if self._tentative != turn_id:
            return
        self._pending.remove(turn_id)
        if self._hint and turn_id in self._hint.turn_ids:
            self._worker.cancel(self._hint.job, t)
            self._pending.give_back(self._hint.taken, except_turn=turn_id)
            self._hint = None
        self._tentative = None

    # ---- the hint job ------------------------------------------------------------------------------------

    def _maybe_start(self, t: float) -> list[Event]:
        if self._hint is not None or not self._pending.turns or not self._pending.enough():
            return []
        taken = list(self._pending.turns)
        turn_ids, text, t_end = self._pending.take()
        self._hint_ids += 1
        held = self._tentative in turn_ids
        writer, stream_fields = self._writer, self.stream_fields
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

        job = self._worker.submit(write, t)
        self._hint = _HintJob(job, self._hint_ids, turn_ids, t_end, t, taken=taken, held=held)
        return [] if held else [*self._behind(t - t_end, t), HintStarted(self._hint_ids, turn_ids, t)]

    def _release(self, t: float) -> list[Event]:
        hint = self._hint
        hint.held, hint.t_release = False, t
        # judged by when the job was handed to the model, as for a hint started on a sure transcript
        events: list[Event] = [*self._behind(hint.t_started - hint.t_speech_end, t),
                               HintStarted(hint.hint_id, hint.turn_ids, t)]
        buffered, hint.buffer = hint.buffer, []
        for u in buffered:
            events += self.on_update(u)
        return events

    def _behind(self, lag: float, t: float) -> list[Event]:
        """Say once when hints start late, and once when they are on time again."""
        late = lag > BEHIND_S
        if late == self._late:
            return []
        self._late = late
        return [CoachBehind(round(lag, 2) if late else 0.0, t)]

    def on_update(self, u: Update) -> list[Event]:
        """Progress of the hint being written, from the LLM worker."""
        hint = self._hint
        if hint is None or hint.job != u.job:
            return []
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
            self._forget(hint.turn_ids)
            reason = str(u.value) if isinstance(u.value, ModelOutputError) else f"{type(u.value).__name__}"
            log.warning("hint %d failed: %s", hint.hint_id, reason)
            events = [HintFailed(hint.hint_id, reason, u.t)]
        else:
            events = [self._ready(hint, u.value, u.t)]
        return events + self._maybe_start(u.t)

    def _ready(self, hint: _HintJob, result: HintResult, t: float) -> HintReady:
        last = self._turns[hint.turn_ids[-1]]
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
        }
        self._forget(hint.turn_ids)
        log.info("hint %d ready %.2f s after speech (%s)", hint.hint_id, t - hint.t_speech_end, result.hint.priority)
        gen = result.generation
        return HintReady(hint.hint_id, result.hint, hint.turn_ids, hint.t_speech_end, t, latencies,
                         prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens)

    def _forget(self, turn_ids: tuple[int, ...]) -> None:
        for turn_id in turn_ids:
            self._turns.pop(turn_id, None)
            self._verdicts.pop(turn_id, None)
