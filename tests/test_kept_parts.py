"""Kept parts of a long turn (mode part seal): the speculative pass of a real pause, after enough speech, stands for
its part of the turn; later passes read only the audio after it, with its words in Whisper's prompt."""

from coach.config import PipelineMode
from coach.events import SafetyAlert, SpeechEnded, SpeechStarted, TentativeRetracted, Transcript
from coach.transcription import Transcription, TranscriptionConfig
from coach.workers import SimWorker
from tests.fakes import FakeTranscriber, speech

RATE = 16000


def stage_for(script, mode=PipelineMode.STREAMING, seconds=20.0, config=TranscriptionConfig()):
    stt = FakeTranscriber(script)
    worker = SimWorker("stt")
    stage = Transcription(stt, worker, config, mode=mode)
    stage.history.append(speech(seconds))
    stage.started(SpeechStarted(1, 0.5))
    return stt, stage, worker


def drain(stage, worker, until=None):
    events = []
    while worker.peek() is not None and (until is None or worker.peek() <= until):
        events += stage.on_update(worker.pop())
    return events


def pause(stage, worker, start, length, t_spec=0.125):
    """The partner pauses at `start` for `length` seconds and goes on: the speculative pass runs in the pause."""
    stage.paused(0.5, start, start + t_spec)
    events = drain(stage, worker, until=start + length)
    return events + stage.resumed(start + length, pause=(start, start + length))


def test_a_long_part_read_at_a_real_pause_is_kept_and_the_final_pass_reads_only_the_rest():
    stt, stage, worker = stage_for(["I went back to my mother's house last weekend.", "And I kept noticing a knot."])
    events = pause(stage, worker, start=6.0, length=0.4)
    assert any(isinstance(e, TentativeRetracted) for e in events)  # the hint prepared for it is called off all the same
    stage.ended(SpeechEnded(1, 0.5, 11.0, 11.6), 11.6)
    [transcript] = [e for e in drain(stage, worker) if isinstance(e, Transcript)]
    assert transcript.text == "I went back to my mother's house last weekend. And I kept noticing a knot."
    first, final = stt.calls
    assert first.samples == round((6.125 - 0.2) * RATE)  # the turn from its pre-roll to the pass in the pause
    assert final.samples == round((11.0 + 0.15 - 6.125) * RATE)  # only what follows the kept part
    assert final.prompt.endswith("my mother's house last weekend.")  # its words lead Whisper in
    assert transcript.t_start == 0.5 and transcript.t_end == 11.0  # still one turn, timed as one


def test_a_turn_ending_soon_after_a_kept_part_is_read_from_before_it():
    stt, stage, worker = stage_for(["I went back to my mother's house", "I went back to my mother's house, get out."])
    pause(stage, worker, start=6.0, length=0.4)
    stage.ended(SpeechEnded(1, 0.5, 7.0, 7.6), 7.6)  # a second's words and noise after the kept part: too little alone
    [transcript] = [e for e in drain(stage, worker) if isinstance(e, Transcript)]
    assert transcript.text == "I went back to my mother's house, get out."
    assert stt.calls[-1].samples == round((7.0 + 0.15 - 0.2) * RATE)


def test_a_part_that_read_a_kept_part_again_replaces_it():
    stt, stage, worker = stage_for(["Words up to six.", "Words up to eight, read again.", "And the rest."])
    pause(stage, worker, start=6.0, length=0.4)
    pause(stage, worker, start=8.0, length=0.4)  # under 4 s after the first cut: this pass reads from the start
    stage.ended(SpeechEnded(1, 0.5, 13.0, 13.6), 13.6)
    [transcript] = [e for e in drain(stage, worker) if isinstance(e, Transcript)]
    assert transcript.text == "Words up to eight, read again. And the rest."
    assert [c.samples for c in stt.calls] == [round(x * RATE) for x in (5.925, 7.925, 13.15 - 8.125)]


def test_a_breath_or_a_short_part_is_not_kept():
    config = TranscriptionConfig()
    for start, length in ((6.0, config.seal_pause_s - 0.05), (0.5 + config.seal_after_s - 1.0, 0.4)):
        stt, stage, worker = stage_for(["heard in the pause", "the whole turn, read again."])
        pause(stage, worker, start=start, length=length)
        stage.ended(SpeechEnded(1, 0.5, 9.0, 9.6), 9.6)
        [transcript] = [e for e in drain(stage, worker) if isinstance(e, Transcript)]
        assert transcript.text == "the whole turn, read again."
        assert stt.calls[-1].samples == round((9.0 + 0.15 - 0.2) * RATE)  # from the turn's start


def test_no_part_is_kept_without_the_seal_part_of_the_mode():
    stt, stage, worker = stage_for(["heard in the pause", "the whole turn, read again."],
                                   mode=PipelineMode.parse("streaming-no-seal"))
    pause(stage, worker, start=6.0, length=0.5)
    stage.ended(SpeechEnded(1, 0.5, 9.0, 9.6), 9.6)
    [transcript] = [e for e in drain(stage, worker) if isinstance(e, Transcript)]
    assert transcript.text == "the whole turn, read again."


def test_several_parts_are_kept_in_order_each_pass_reading_on_from_the_last():
    stt, stage, worker = stage_for(["One.", "Two.", "Three."], seconds=25.0)
    pause(stage, worker, start=6.0, length=0.3)
    pause(stage, worker, start=12.5, length=0.3)
    stage.ended(SpeechEnded(1, 0.5, 17.0, 17.6), 17.6)
    [transcript] = [e for e in drain(stage, worker) if isinstance(e, Transcript)]
    assert transcript.text == "One. Two. Three."
    assert [c.samples for c in stt.calls] == [round(x * RATE) for x in (5.925, 12.625 - 6.125, 17.15 - 12.625)]
    assert stt.calls[2].prompt.endswith("One. Two.")


def test_a_kept_part_that_failed_is_read_again_by_the_next_pass():
    stt, stage, worker = stage_for([RuntimeError("whisper failed"), "Both parts, read in one pass."])
    pause(stage, worker, start=6.0, length=0.4)
    stage.ended(SpeechEnded(1, 0.5, 11.0, 11.6), 11.6)
    events = drain(stage, worker)
    [transcript] = [e for e in events if isinstance(e, Transcript)]
    assert transcript.text == "Both parts, read in one pass."
    assert stt.calls[-1].samples == round((11.0 + 0.15 - 0.2) * RATE)  # nothing lost: from the turn's start


def test_a_turn_ending_at_the_pause_is_the_speculative_pass_alone():
    stt, stage, worker = stage_for(["One.", "Two."])
    pause(stage, worker, start=6.0, length=0.4)
    stage.paused(0.5, 11.0, 11.125)
    stage.ended(SpeechEnded(1, 0.5, 11.0, 11.6), 11.6)
    [transcript] = [e for e in drain(stage, worker) if isinstance(e, Transcript)]
    assert transcript.text == "One. Two." and len(stt.calls) == 2  # no third pass at the end


def test_a_kept_part_raises_its_safety_alert_while_the_partner_goes_on():
    stt, stage, worker = stage_for(["I have a plan to kill myself tonight.", "Anyway."])
    stage.paused(0.5, 6.0, 6.125)
    events = stage.resumed(6.15, pause=(6.0, 6.4))  # the partner goes on before the pass is done: kept all the same
    events += drain(stage, worker, until=9.0)
    alerts = [e for e in events if isinstance(e, SafetyAlert)]
    assert alerts and stage._open is not None  # raised while the turn is still open
