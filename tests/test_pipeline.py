"""The pipeline core on the audio clock, driven by fakes and SimWorkers: instant and deterministic."""

import pytest

from coach.audio import SAMPLE_RATE, chunks
from coach.events import (
    CoachBehind,
    HintFailed,
    HintFirstText,
    HintReady,
    HintStarted,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    TranscriptDropped,
)
from coach.hints import Hint, HintWriter
from coach.pipeline import Pipeline, PipelineConfig
from coach.transcription import TranscriptionConfig
from coach.stt import SegmentInfo
from coach.vad import EndpointConfig
from coach.workers import SimWorker
from tests.fakes import JUNK, FakeChat, FakeTranscriber, FakeVad, Reply, seg, synth

W = 0.032
TURN_A = "A part of me feels stuck and tired at work."
TURN_B = "Another part just wants me to keep going."
TURN_C = "I notice some tightness in my chest now."


def make(transcripts=(), chat=None, vocabulary="", **config):
    vad, stt, chat = FakeVad(), FakeTranscriber(transcripts), chat or FakeChat()
    config["transcription"] = TranscriptionConfig(vocabulary=vocabulary)
    pipeline = Pipeline(vad, stt, HintWriter(chat), SimWorker("stt"), SimWorker("llm"), PipelineConfig(**config))
    return pipeline, stt, chat


def push_all(pipeline, samples):
    events = []
    for chunk in chunks(samples):
        events += pipeline.push(chunk)
    return events


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def kinds(events):
    return [type(e).__name__ for e in events]


def test_one_turn_then_silence():
    pipeline, stt, chat = make([TURN_A])
    audio = synth(("silence", 0.512), ("speech", 1.024), ("silence", 1.0))
    events = push_all(pipeline, audio)  # everything arrives while the silence is still being pushed
    assert kinds(events) == [
        "SpeechStarted", "SpeechEnded", "Transcript", "HintStarted", "HintReady"
    ]  # the baseline (turn mode, PipelineConfig's default) shows nothing of a hint before it is complete
    started, ended, transcript, hint_started, ready = events
    assert started.turn_id == ended.turn_id == transcript.turn_id == 1
    assert started.t == pytest.approx(0.512)
    assert ended.t_end == pytest.approx(1.536) and not ended.split
    assert transcript.text == TURN_A and transcript.t_ready >= ended.t_detected
    assert hint_started.turn_ids == (1,) and hint_started.t >= transcript.t_ready
    assert hint_started.t <= ready.t_ready
    assert ready.hint_id == hint_started.hint_id == 1
    # every event is on the audio clock, in order
    times = [started.t, ended.t_detected, transcript.t_ready, hint_started.t, ready.t_ready]
    assert times == sorted(times)
    assert ready.t_ready <= len(audio) / SAMPLE_RATE

    assert ready.turn_ids == (1,)
    assert ready.t_speech_end == pytest.approx(ended.t_end)
    Hint.model_validate(ready.hint.model_dump())
    lat = ready.latencies
    assert lat["endpoint_s"] == pytest.approx(0.6, abs=0.05)
    assert lat["speech_to_hint_s"] >= lat["endpoint_s"]
    assert lat["speech_to_hint_s"] == pytest.approx(ready.speech_to_hint_s)
    assert lat["first_text_s"] == lat["speech_to_hint_s"]
    assert 0 < lat["llm_first_token_s"] <= lat["llm_total_s"]
    assert ready.completion_tokens > 1 and ready.prompt_tokens > ready.completion_tokens
    assert "completion_tokens" not in lat  # seconds only

    # Whisper got the turn with pre-roll (0.3 s) and post-roll (0.15 s)
    assert len(stt.calls) == 1
    expected = int((1.536 + 0.15) * SAMPLE_RATE) - int((0.512 - 0.3) * SAMPLE_RATE)
    assert stt.calls[0].samples == pytest.approx(expected, abs=2)
    assert stt.calls[0].prompt is None
    assert len(chat.calls) == 1 and TURN_A in chat.calls[0].partner_message
    assert pipeline.finish() == []
    assert not pipeline.busy and not pipeline.thinking


def test_silence_only_produces_nothing():
    pipeline, stt, chat = make([TURN_A])
    events = push_all(pipeline, synth(("silence", 3.0)))
    assert events == []
    assert pipeline.finish() == []
    assert stt.calls == [] and chat.calls == []


def test_phantom_transcript_is_dropped_without_a_hint():
    pipeline, stt, chat = make([[seg("Thank you.")]])
    events = push_all(pipeline, synth(("silence", 0.5), ("speech", 1.0), ("silence", 1.0))) + pipeline.finish()
    assert kinds(events) == ["SpeechStarted", "SpeechEnded", "TranscriptDropped"]
    dropped = events[-1]
    assert dropped.turn_id == 1 and dropped.reason == "phantom phrase"
    assert len(stt.calls) == 1 and chat.calls == []


def test_short_turn_waits_for_more_words_then_one_hint():
    pipeline, stt, chat = make(["I feel", "stuck and tired today."], hint_min_words=5)
    first = push_all(pipeline, synth(("silence", 0.5), ("speech", 0.6), ("silence", 1.0)))
    assert kinds(first) == ["SpeechStarted", "SpeechEnded", "Transcript"]  # 2 words: no hint yet
    assert chat.calls == []
    second = push_all_from(pipeline, synth(("speech", 0.6), ("silence", 1.0)), t0=pipeline.now)
    events = first + second + pipeline.finish()
    assert len(of(events, HintStarted)) == 1
    assert len(of(events, HintReady)) == 1
    assert of(events, HintStarted)[0].turn_ids == (1, 2)
    assert of(events, HintReady)[0].turn_ids == (1, 2)
    assert chat.calls[0].partner_message == 'Partner said: "I feel stuck and tired today."'
    # the hint covers speech up to the end of the second turn
    ended = of(events, SpeechEnded)
    assert of(events, HintReady)[0].t_speech_end == pytest.approx(ended[1].t_end)
    # Whisper's prompt for the second turn is the first turn's text
    assert stt.calls[1].prompt == "I feel"


def push_all_from(pipeline, samples, t0):
    events = []
    for chunk in chunks(samples, t0=t0):
        events += pipeline.push(chunk)
    return events


def test_turns_ending_during_a_hint_are_batched_into_the_next_one():
    # Short turns: 3 windows of speech, 3 of silence. The first hint takes 0.55 s of wall time, which SimWorker
    # places on the audio clock, so turns 2 and 3 are transcribed while it is still being written.
    endpoint = EndpointConfig(min_speech_s=0.05, end_silence_s=0.06)
    chat = FakeChat([Reply(FakeChat().default, delay_s=0.55)])
    pipeline, stt, chat = make([TURN_A, TURN_B, TURN_C], chat=chat, endpoint=endpoint)
    turn = [("speech", 3 * W), ("silence", 3 * W)]
    audio = synth(("silence", 10 * W), *turn, *turn, *turn, ("silence", 1.5))
    events = push_all(pipeline, audio) + pipeline.finish()

    transcripts = of(events, Transcript)
    assert [t.turn_id for t in transcripts] == [1, 2, 3]
    first_ready = of(events, HintReady)[0]
    assert transcripts[2].t_ready < first_ready.t_ready  # the premise: turns 2 and 3 arrived mid-hint

    started = of(events, HintStarted)
    assert [h.turn_ids for h in started] == [(1,), (2, 3)]  # one hint for both new turns, never one per turn
    ready = of(events, HintReady)
    assert [h.turn_ids for h in ready] == [(1,), (2, 3)]
    assert started[1].t == pytest.approx(first_ready.t_ready)  # the batch starts as soon as the LLM is free
    assert chat.calls[1].partner_message == f'Partner said: "{TURN_B} {TURN_C}"'
    assert ready[1].t_speech_end == pytest.approx(transcripts[2].t_end)
    assert of(events, HintFailed) == []


def test_when_hints_start_late_the_coach_says_it_is_behind_once_and_then_caught_up():
    # The first hint takes 6 s: the next turns wait for it, share one hint, and that hint starts late.
    endpoint = EndpointConfig(min_speech_s=0.05, end_silence_s=0.06)
    chat = FakeChat([Reply(FakeChat().default, delay_s=6.0)])
    pipeline, stt, chat = make([TURN_A, TURN_B, TURN_C, TURN_A], chat=chat, endpoint=endpoint)
    turn = [("speech", 3 * W), ("silence", 3 * W)]
    audio = synth(("silence", 10 * W), *turn, *turn, *turn, ("silence", 8.0), *turn, ("silence", 1.5))
    events = push_all(pipeline, audio) + pipeline.finish()
    behind = of(events, CoachBehind)
    assert [b.lag_s > 4.0 for b in behind] == [True, False], behind
    started = of(events, HintStarted)
    assert [h.turn_ids for h in started] == [(1,), (2, 3), (4,)]  # the backlog became one hint, not two
    names = kinds(events)
    assert names[names.index("CoachBehind") + 1] == "HintStarted"  # said as the late hint starts


def test_chat_error_gives_hint_failed_and_the_pipeline_carries_on():
    chat = FakeChat([RuntimeError("llama.cpp crashed")])
    pipeline, stt, chat = make([TURN_A, TURN_B], chat=chat)
    audio = synth(("silence", 0.5), ("speech", 1.0), ("silence", 1.0), ("speech", 1.0), ("silence", 1.0))
    events = push_all(pipeline, audio) + pipeline.finish()
    assert kinds(events) == [
        "SpeechStarted", "SpeechEnded", "Transcript", "HintStarted", "HintFailed",
        "SpeechStarted", "SpeechEnded", "Transcript", "HintStarted", "HintReady",
    ]
    failed = of(events, HintFailed)[0]
    assert failed.hint_id == 1 and failed.reason == "RuntimeError"
    ready = of(events, HintReady)[0]
    assert ready.hint_id == 2 and ready.turn_ids == (2,)
    assert not pipeline.thinking


def test_junk_from_the_model_gives_hint_failed_with_the_reason():
    pipeline, stt, chat = make([TURN_A, TURN_B], chat=FakeChat([JUNK]))
    audio = synth(("silence", 0.5), ("speech", 1.0), ("silence", 1.0), ("speech", 1.0), ("silence", 1.0))
    events = push_all(pipeline, audio) + pipeline.finish()
    (failed,) = of(events, HintFailed)
    assert "did not validate" in failed.reason
    assert not of(events, HintFirstText)  # the baseline shows nothing before a hint is complete and valid
    assert [h.turn_ids for h in of(events, HintReady)] == [(2,)]


def test_transcriber_error_drops_the_turn_and_carries_on():
    pipeline, stt, chat = make([RuntimeError("whisper died"), TURN_B])
    audio = synth(("silence", 0.5), ("speech", 1.0), ("silence", 1.0), ("speech", 1.0), ("silence", 1.0))
    events = push_all(pipeline, audio) + pipeline.finish()
    (dropped,) = of(events, TranscriptDropped)
    assert dropped.turn_id == 1 and dropped.reason.startswith("error")
    assert "RuntimeError" in dropped.reason
    assert [t.turn_id for t in of(events, Transcript)] == [2]
    assert [h.turn_ids for h in of(events, HintStarted)] == [(2,)]
    assert len(chat.calls) == 1 and TURN_A not in chat.calls[0].partner_message


def test_audio_ending_mid_turn_is_closed_by_finish():
    pipeline, stt, chat = make([TURN_A])
    events = push_all(pipeline, synth(("silence", 0.5), ("speech", 1.5)))
    assert kinds(events) == ["SpeechStarted"]
    assert pipeline.busy is False  # no job owed yet: the turn is still open
    events += pipeline.finish()
    assert kinds(events) == ["SpeechStarted", "SpeechEnded", "Transcript", "HintStarted", "HintReady"]
    ended = of(events, SpeechEnded)[0]
    assert ended.t_end == pytest.approx(2.0, abs=W)  # the end of the last whole VAD window
    # Whisper still gets the audio up to its very end (plus 0.3 s pre-roll)
    assert ended.t_start == pytest.approx(0.48)  # the window holding the speech onset at 0.5 s
    assert stt.calls[0].samples == int(2.0 * SAMPLE_RATE) - int((ended.t_start - 0.3) * SAMPLE_RATE)


def test_noise_segments_are_dropped_with_the_guard_reason():
    noise = [SegmentInfo(" I don't know.", no_speech_prob=0.9, avg_logprob=-1.5, compression_ratio=1.0)]
    pipeline, stt, chat = make([noise])
    events = push_all(pipeline, synth(("silence", 0.5), ("speech", 1.0), ("silence", 1.0))) + pipeline.finish()
    assert [d.reason for d in of(events, TranscriptDropped)] == ["no speech"]
    assert of(events, HintStarted) == [] and chat.calls == []


def test_safety_turn_below_min_words_still_gets_a_safety_hint():
    pipeline, stt, chat = make(["I'm suicidal."], hint_min_words=5)
    events = push_all(pipeline, synth(("silence", 0.5), ("speech", 0.8), ("silence", 1.0))) + pipeline.finish()
    (ready,) = of(events, HintReady)
    assert ready.hint.priority == "safety"


def test_vad_sees_512_sample_windows_and_started_events_match_speech():
    pipeline, stt, chat = make([TURN_A, TURN_B])
    audio = synth(("silence", 0.512), ("speech", 0.8), ("silence", 1.0), ("speech", 0.8), ("silence", 1.0))
    events = push_all(pipeline, audio) + pipeline.finish()
    assert set(pipeline._vad.window_sizes) == {512}
    assert [e.turn_id for e in of(events, SpeechStarted)] == [1, 2]
    assert [e.t for e in of(events, SpeechStarted)] == pytest.approx([0.512, 0.512 + 0.8 + 1.0], abs=W)


def test_failed_hint_releases_its_turns():
    pipeline, stt, chat = make([TURN_A], chat=FakeChat([RuntimeError("llama.cpp crashed")]))
    events = push_all(pipeline, synth(("silence", 0.5), ("speech", 1.0), ("silence", 1.0))) + pipeline.finish()
    assert kinds(events)[-1] == "HintFailed"
    assert pipeline.hinting._turns == {} and pipeline.transcription._ended == {}


def test_whispers_prompt_is_the_vocabulary_then_the_recent_words():
    pipeline, stt, chat = make(["I feel", "stuck and tired today."], hint_min_words=5, vocabulary="Parts, exiles, Self.")
    push_all(pipeline, synth(("silence", 0.5), ("speech", 0.6), ("silence", 1.0), ("speech", 0.6), ("silence", 1.0)))
    pipeline.finish()
    assert [c.prompt for c in stt.calls] == ["Parts, exiles, Self.", "Parts, exiles, Self. I feel"]
