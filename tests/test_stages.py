"""Each stage on its own, as the pipeline drives it: typed events and plain arrays in, typed events out. SimWorkers
and fakes: instant and deterministic."""

import pytest

from coach.config import PipelineMode
from coach.events import (
    CoachBehind,
    HintPartial,
    HintReady,
    HintStarted,
    SpeechEnded,
    SpeechStarted,
    TentativeRetracted,
    TentativeTranscript,
    Transcript,
)
from coach.hinting import Hinting
from coach.hints import HintWriter
from coach.transcription import Transcription
from coach.workers import SimWorker
from tests.fakes import FakeChat, FakeTranscriber, speech

TEXT = "A part of me feels stuck and tired at work every day."


def drain(worker, stage):
    events = []
    while worker.peek() is not None:
        events += stage.on_update(worker.pop())
    return events


def transcription(script, mode=PipelineMode.STREAMING):
    worker, stt = SimWorker("stt"), FakeTranscriber(script)
    stage = Transcription(stt, worker, mode=mode)
    stage.history.append(speech(3.0))
    return stage, worker, stt


def test_a_pass_in_the_pause_is_tentative_then_the_turn_s_transcript():
    stage, worker, stt = transcription([TEXT])
    stage.started(SpeechStarted(1, 0.5))
    stage.paused(turn_start=0.5, silence_start=2.0, t=2.05)  # too short a pause: nothing yet
    assert stt.calls == []
    stage.paused(turn_start=0.5, silence_start=2.0, t=2.2)
    (tentative,) = drain(worker, stage)
    assert isinstance(tentative, TentativeTranscript) and (tentative.text, tentative.t_end) == (TEXT, 2.0)
    (transcript,) = stage.ended(SpeechEnded(1, 0.5, 2.0, 2.6), t=2.6)  # it ended right there: no second pass
    assert isinstance(transcript, Transcript) and transcript.text == TEXT and transcript.t_ready == pytest.approx(2.6)
    assert len(stt.calls) == 1 and stt.calls[0].tight and not stage.busy


def test_speech_after_the_pause_retracts_the_tentative_words_and_the_end_gets_its_own_pass():
    stage, worker, stt = transcription(["A part of me", TEXT])
    stage.started(SpeechStarted(1, 0.5))
    stage.paused(0.5, 1.0, 1.2)
    assert [type(e) for e in drain(worker, stage)] == [TentativeTranscript]
    assert stage.resumed(1.3) == [TentativeRetracted(1, 1.3)]
    assert stage.ended(SpeechEnded(1, 0.5, 2.5, 3.0), t=3.0) == []  # the final pass is submitted
    (transcript,) = drain(worker, stage)
    assert transcript.text == TEXT and len(stt.calls) == 2


def test_turn_mode_waits_for_the_end():
    stage, worker, stt = transcription([TEXT], mode=PipelineMode.TURN)
    stage.started(SpeechStarted(1, 0.5))
    stage.paused(0.5, 1.0, 1.5)
    assert stt.calls == [] and stage.ended(SpeechEnded(1, 0.5, 2.0, 2.6), t=2.6) == []
    assert [e.text for e in drain(worker, stage)] == [TEXT] and not stt.calls[0].tight


def hinting(**kw):
    worker, chat = SimWorker("llm", stoppable=True), FakeChat()
    return Hinting(HintWriter(chat), worker, **kw), worker, chat


def test_a_hint_from_tentative_words_is_held_until_they_are_confirmed():
    stage, worker, chat = hinting(stream_fields=True)
    assert stage.on_event(SpeechEnded(1, 0.5, 2.0, 2.6)) == []
    assert stage.on_event(TentativeTranscript(1, TEXT, 2.0, 2.2)) == []  # started, but held: nothing shown
    assert stage.thinking and len(chat.calls) == 1
    assert drain(worker, stage) == []  # done while held: kept back
    shown = stage.on_event(Transcript(1, TEXT, 0.5, 2.0, 2.6, 0.1))
    assert isinstance(shown[0], HintStarted) and isinstance(shown[-1], HintReady)
    assert all(e.t >= 2.6 for e in shown if isinstance(e, (HintStarted, HintPartial)))
    assert shown[-1].t_ready >= 2.6 and not stage.thinking and not stage.busy


def test_a_retraction_calls_the_held_hint_off_and_gives_the_earlier_turns_back():
    stage, worker, chat = hinting(min_words=5)
    stage.on_event(SpeechEnded(1, 0.5, 1.0, 1.6))
    stage.on_event(Transcript(1, "I feel stuck.", 0.5, 1.0, 1.7, 0.1))  # too short for a hint of its own
    assert stage.on_event(TentativeTranscript(2, "Another part wants to rest", 3.0, 3.2)) == []
    assert stage.thinking  # one hint for both turns, held
    assert stage.on_event(TentativeRetracted(2, 3.3)) == [] and not stage.thinking
    assert drain(worker, stage) == []  # the cancelled job's updates never come
    stage.on_event(SpeechEnded(2, 2.0, 3.5, 4.1))
    events = stage.on_event(Transcript(2, "Another part wants to rest now.", 2.0, 3.5, 4.2, 0.1))
    events += drain(worker, stage)
    (ready,) = [e for e in events if isinstance(e, HintReady)]
    assert ready.turn_ids == (1, 2) and chat.calls[-1].partner_message.count("stuck") == 1


def test_a_held_hint_that_started_late_says_the_coach_is_behind_when_it_is_shown():
    stage, worker, chat = hinting()
    stage.on_event(SpeechEnded(1, 0.5, 2.0, 2.6))
    assert stage.on_event(TentativeTranscript(1, TEXT, 2.0, 7.0)) == []  # started 5 s after the speech: held
    shown = stage.on_event(Transcript(1, TEXT, 0.5, 2.0, 7.1, 0.1))
    assert isinstance(shown[0], CoachBehind) and shown[0].lag_s == pytest.approx(5.0)
    assert isinstance(shown[1], HintStarted)
