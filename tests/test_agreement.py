"""Committing words while the partner speaks (coach/agreement.py), and the transcription stage's passes around it."""

from coach.agreement import LAST_WORD_MARGIN_S, Agreement, _repeated
from coach.stt import SttResult, TimedWord


def words(text: str, start: float = 0.0, each: float = 0.4) -> list[TimedWord]:
    """One word every `each` seconds from `start`, each lasting 0.3 s."""
    return [TimedWord(w, start + i * each, start + i * each + 0.3) for i, w in enumerate(text.split())]


def test_words_two_passes_agree_on_are_committed_and_the_rest_waits():
    a = Agreement.at(0.0)
    assert a.insert(words("I went back to my"), audio_end=2.0) == []  # one pass alone commits nothing
    got = a.insert(words("I went back to my mother's house"), audio_end=3.0)
    assert [w.text for w in got] == ["I", "went", "back", "to", "my"]
    assert a.text == "I went back to my" and [w.text for w in a.pending] == ["mother's", "house"]


def test_a_word_read_differently_by_the_next_pass_stops_the_commit_there():
    a = Agreement.at(0.0)
    a.insert(words("so I was really hopeless"), audio_end=3.0)
    got = a.insert(words("so I was really hoping that I could"), audio_end=4.0)
    assert a.text == "so I was really" and [w.text for w in got][-1] == "really"


def test_the_last_words_before_the_end_of_the_audio_are_never_committed():
    a = Agreement.at(0.0)
    a.insert(words("we had a fight"), audio_end=1.6)
    a.insert(words("we had a fight"), audio_end=1.6)  # "fight" ends at 1.5: within the margin of the audio's end
    assert 1.6 - 1.5 < LAST_WORD_MARGIN_S and a.text == "we had a"


def test_punctuation_and_case_aside_the_same_word_agrees():
    a = Agreement.at(0.0)
    a.insert(words("Well, like Doctor Fields"), audio_end=3.0)
    a.insert(words("well like doctor fields told me"), audio_end=4.0)
    assert a.text == "well like doctor fields"


def test_the_audio_is_cut_only_at_a_pause_with_enough_heard_before_the_first_uncommitted_word():
    a = Agreement.at(0.0)
    for p in (0.5, 2.0, 5.9):
        a.paused(p - 0.1, p + 0.1)
    a.paused(3.0, 3.05)  # a dip shorter than a consonant's closure: never a cut
    text = " ".join(f"w{i}" for i in range(20))
    a.insert(words(text), audio_end=8.0)
    a.insert(words(text), audio_end=8.0)
    first_pending = a.pending[0].start if a.pending else a.committed[-1].end
    assert a.start in (0.5, 2.0, 5.9) and a.start <= first_pending - a.left_context_s + 0.1
    assert a.before_cut() and all(w.end <= a.start + 0.1 for w in a.committed[: len(a.before_cut().split())])


def test_no_cut_without_a_pause():
    a = Agreement.at(0.0)
    text = " ".join(f"w{i}" for i in range(20))
    a.insert(words(text), audio_end=8.0)
    a.insert(words(text), audio_end=8.0)
    assert a.committed and a.start == 0.0 and a.before_cut() == ""


def test_committed_words_read_again_after_the_cut_are_dropped_however_the_pass_reads_them():
    again = "i was really hoping".split()
    assert _repeated("i was really hoping that i could".split(), again) == 4
    assert _repeated("i was rarely hoping that i could".split(), again) == 4  # one misheard
    assert _repeated("i really hoping that i could".split(), again) == 3  # one skipped
    assert _repeated("to the point where i could benefit".split(), again) == 0  # none read again: nothing dropped


def test_the_final_pass_joins_the_committed_words_and_the_tail_once_each():
    a = Agreement.at(0.0)
    a.paused(0.0, 0.2)
    a.insert(words("I mean I'm not a bad person and I wanted to say"), audio_end=6.0)
    a.insert(words("I mean I'm not a bad person and I wanted to say that"), audio_end=6.0)
    reread = [w.text for w in a.committed if w.end > a.start + 0.1]
    joined = a.join(" ".join(reread) + " that it was just at the time.")
    assert joined == a.text + " that it was just at the time."
    # the tail heard nothing (a breath): the committed words stand
    done = a.complete(SttResult("", "phantom phrase", 0.2))
    assert done.text == a.text and done.dropped is None


# ---- the transcription stage around it --------------------------------------------------------------------

from coach.config import PipelineMode  # noqa: E402
from coach.events import SafetyAlert, SpeechEnded, SpeechStarted, Transcript  # noqa: E402
from coach.transcription import Transcription  # noqa: E402
from coach.workers import SimWorker  # noqa: E402
from tests.fakes import FakeWordTranscriber, speech  # noqa: E402

SAID = "I went back to my mother's house last weekend and the whole time I kept noticing a tight feeling".split()


def timed(said, start=0.5, each=0.4):
    return [(w, start + i * each, start + i * each + 0.3) for i, w in enumerate(said)]


def speak(stage, worker, until, start=0.5, step=0.032, t=None):
    """The partner speaks from `start` (or on from `t`) to `until`: the stage is told so every window, as the
    pipeline does."""
    events, t = [], start if t is None else t
    while t < until:
        t += step
        stage.listening(t)
        while worker.peek() is not None and worker.peek() <= t:
            events += stage.on_update(worker.pop())
    return events


COMMIT = PipelineMode.parse("streaming+commit")


def stage_for(stt, mode=COMMIT, seconds=9.0):
    worker = SimWorker("stt")
    stage = Transcription(stt, worker, mode=mode)
    stage.history.append(speech(seconds))
    stt.t0 = 0.5 - stage.config.pre_roll_s
    stage.started(SpeechStarted(1, 0.5))
    return stage, worker


def test_while_the_partner_speaks_words_are_committed_and_the_final_pass_reads_only_the_rest():
    stt = FakeWordTranscriber(timed(SAID), script=["a tight feeling in my chest."])
    stage, worker = stage_for(stt)
    speak(stage, worker, until=4.4)
    stage.resumed(4.4, pause=(2.05, 2.25))  # a breath after "to" (1.7-2.0), before "my" (2.1-2.4)
    speak(stage, worker, until=7.3, t=4.4)
    committed = stage._open.agreement.text
    assert len(stt.word_calls) >= 3 and committed.startswith("I went back to my mother's house")
    stage.ended(SpeechEnded(1, 0.5, 7.3, 7.9), 7.9)
    events = []
    while worker.peek() is not None:
        events += stage.on_update(worker.pop())
    [transcript] = [e for e in events if isinstance(e, Transcript)]
    assert transcript.text.startswith(committed) and transcript.text.endswith("a tight feeling in my chest.")
    final = stt.calls[-1]
    assert final.samples == round((7.3 + 0.15 - 2.15) * 16000)  # from the pause on, not the whole turn
    assert final.prompt == "I went back to"  # the committed words before the cut lead Whisper in


def test_no_pass_while_the_session_is_behind_or_in_turn_mode():
    stt = FakeWordTranscriber(timed(SAID))
    stage, worker = stage_for(stt)
    for t in (3.0, 4.0, 5.0):
        stage.listening(t, behind=True)
    assert stt.word_calls == []
    for mode in (PipelineMode.TURN, PipelineMode.STREAMING):  # (commit is opt-in)
        stt2 = FakeWordTranscriber(timed(SAID))
        stage2, worker2 = stage_for(stt2, mode=mode)
        speak(stage2, worker2, until=6.0)
        assert stt2.word_calls == []


def test_a_pass_is_never_queued_behind_another():
    stt = FakeWordTranscriber(timed(SAID))
    stage, worker = stage_for(stt)
    stage.listening(3.0)
    stage.listening(4.5)  # the first pass's result not yet taken: the worker is not free
    assert len(stt.word_calls) == 1


def test_a_clear_sentence_raises_its_alert_before_the_turn_ends():
    said = "I have a plan to kill myself. I wrote the letters last night and I".split()
    stt = FakeWordTranscriber(timed(said))
    stage, worker = stage_for(stt)
    events = speak(stage, worker, until=6.0)
    alerts = [e for e in events if isinstance(e, SafetyAlert)]
    assert alerts and alerts[0].t < 6.0 and stage._open is not None  # still speaking
