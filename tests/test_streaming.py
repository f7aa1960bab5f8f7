"""The streaming pipeline on the audio clock with fakes: speculative transcription in the first pause, held hints that
are cancelled cleanly, and the summary shown word by word. Instant and deterministic."""

import numpy as np
import pytest

from coach.audio import SAMPLE_RATE, chunks
from coach.events import HintPartial, HintReady, HintStarted, SpeechEnded, Transcript
from coach.hints import HintWriter
from coach.config import PipelineMode
from coach.pipeline import Pipeline, PipelineConfig
from coach.workers import SimWorker
from tests.fakes import FakeChat, FakeVad, seg

STREAMING = PipelineConfig(mode=PipelineMode.STREAMING)
TEXT_A = "A part of me feels stuck and tired at work every single day."
TEXT_B = "Another part of me just wants to keep going no matter what."


def tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(round(seconds * SAMPLE_RATE))) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SAMPLE_RATE)), np.float32)


class ToneTranscriber:
    """Knows which sentence a tone "says" from its pitch, and how much of it from how long it sounds:
    `words_per_s` words per second of tone."""

    def __init__(self, texts: dict[int, str], words_per_s: float = 5.0):
        self.texts, self.words_per_s = texts, words_per_s
        self.calls: list[dict] = []

    def transcribe(self, audio, prompt=None, *, tight=False):
        voiced = audio[np.abs(audio) > 0.01]
        self.calls.append({"seconds": len(audio) / SAMPLE_RATE, "tight": tight})
        if len(voiced) == 0:
            return []
        hz = np.sum(np.diff(np.sign(voiced)) != 0) / 2 / (len(voiced) / SAMPLE_RATE)
        text = min(self.texts.items(), key=lambda kv: abs(kv[0] - hz))[1]
        words = text.split()
        n = min(len(words), int(len(voiced) / SAMPLE_RATE * self.words_per_s))
        heard = words[:n]
        if n < len(words) and heard:
            heard[-1] = heard[-1].rstrip(".")
        return [seg(" " + " ".join(heard))] if heard else []


def make(texts, config=STREAMING, chat=None):
    stt, chat = ToneTranscriber(texts), chat or FakeChat()
    writer = HintWriter(chat)
    return Pipeline(FakeVad(), stt, writer, SimWorker("stt"), SimWorker("llm"), config), stt, chat


def run(pipeline, audio):
    events = []
    for chunk in chunks(audio):
        events += pipeline.push(chunk)
    return events + pipeline.finish()


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_streaming_turn_is_transcribed_in_its_first_pause_and_ends_early():
    pipeline, stt, chat = make({200: TEXT_A})
    events = run(pipeline, np.concatenate([quiet(0.5), tone(3.2, 200), quiet(2.0)]))
    (ended,) = of(events, SpeechEnded)
    (transcript,) = of(events, Transcript)
    (ready,) = of(events, HintReady)
    assert transcript.text == TEXT_A
    assert len(stt.calls) == 1 and stt.calls[0]["tight"]  # one pass, prepared in the pause, was the final one
    assert ended.t_detected - ended.t_end == pytest.approx(0.6, abs=0.07)
    # nothing about the hint is shown before the turn is surely over
    shown = of(events, HintStarted) + of(events, HintPartial)
    assert shown and min(getattr(e, "t") for e in shown) >= ended.t_detected - 1e-9
    partials = of(events, HintPartial)
    assert partials[0].fields["summary"].endswith("…") and len(partials[0].fields) == 1
    lat = ready.latencies
    assert lat["first_text_s"] <= lat["summary_s"] <= lat["speech_to_hint_s"]
    assert ready.hint.summary == partials[-1].fields["summary"]


def test_turn_mode_is_the_plain_baseline():
    pipeline, stt, chat = make({200: TEXT_A}, config=PipelineConfig(mode=PipelineMode.TURN))
    events = run(pipeline, np.concatenate([quiet(0.5), tone(3.2, 200), quiet(2.0)]))
    (ended,) = of(events, SpeechEnded)
    (ready,) = of(events, HintReady)
    assert len(stt.calls) == 1 and not stt.calls[0]["tight"]
    assert ended.t_detected - ended.t_end == pytest.approx(0.6, abs=0.07)
    assert not of(events, HintPartial)
    assert ready.latencies["first_text_s"] == ready.latencies["speech_to_hint_s"]  # shown all at once, at the end
    assert chat.calls[0].reply_prefix  # HintWriter was built with the prefill here; the pipeline does not care


def test_a_short_pause_mid_turn_cancels_the_speculation_cleanly():
    pipeline, stt, chat = make({200: TEXT_A})
    # 0.25 s pause: long enough for the speculative pass (0.10 s), shorter than the end of a turn
    audio = np.concatenate([quiet(0.5), tone(1.6, 200), quiet(0.25), tone(1.6, 200), quiet(2.0)])
    events = run(pipeline, audio)
    assert len(of(events, SpeechEnded)) == 1
    (transcript,) = of(events, Transcript)
    assert transcript.text == TEXT_A  # the words from before the pause are not lost or doubled
    assert len(of(events, HintReady)) == 1 and len(of(events, HintStarted)) == 1


def test_cancelled_speculative_hint_gives_earlier_turns_back():
    short = "I feel stuck."  # too short for a hint of its own
    pipeline, stt, chat = make({200: short, 320: TEXT_B})
    audio = np.concatenate([
        quiet(0.5), tone(0.8, 200), quiet(1.0),  # turn 1: three words, no hint yet
        tone(1.5, 320), quiet(0.25), tone(1.5, 320), quiet(2.0),  # turn 2 with a pause that fools the speculation
    ])
    events = run(pipeline, audio)
    assert [t.text for t in of(events, Transcript)] == [short, TEXT_B]
    (ready,) = of(events, HintReady)
    assert ready.turn_ids == (1, 2)  # the one hint covers both turns
    assert chat.calls[-1].partner_message.count("stuck") == 1


def test_modes_are_flags_parsed_once():
    with pytest.raises(ValueError, match="unknown mode"):
        PipelineMode.parse("fastest")
    no_spec = PipelineMode.parse("streaming-no-speculative")
    assert not no_spec.speculative and no_spec.tight_stt and no_spec.stream_fields
    assert no_spec.name == "streaming-no-speculative" and not no_spec.is_turn
    assert PipelineMode.parse("turn") == PipelineMode.TURN and PipelineMode.TURN.is_turn
    assert PipelineMode.parse("streaming") == PipelineMode.STREAMING
    for name in ("streaming", "turn", "streaming-no-tight-stt", "streaming-no-stream-fields", "streaming-no-seal",
                 "streaming+commit"):
        assert PipelineMode.parse(name).name == name
    commit = PipelineMode.parse("streaming+commit")  # opt-in: not part of the default
    assert commit.commit and commit.speculative and not PipelineMode.STREAMING.commit
    with pytest.raises(ValueError, match="unknown mode"):
        PipelineMode.parse("streaming+speculative")


# ---- the safety alert ------------------------------------------------------------------------------------------

RISK_TEXT = "Honestly everyone would be so much better off without me around."


def test_a_safety_alert_comes_before_the_hint_and_the_hint_is_a_safety_hint():
    from coach.events import SafetyAlert

    p, _, _ = make({300: RISK_TEXT})
    events = run(p, np.concatenate([quiet(0.5), tone(3.0, 300), quiet(1.5)]))
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("SafetyAlert") == 1, "one alert per turn, even with a speculative and a final pass"
    alert = next(e for e in events if isinstance(e, SafetyAlert))
    ready = next(e for e in events if isinstance(e, HintReady))
    assert kinds.index("SafetyAlert") < kinds.index("HintStarted") and alert.t <= ready.t_ready
    assert alert.hint.priority == "safety" and alert.source == "phrase"
    assert ready.hint.priority == "safety", "the LLM's own hint for that turn is a safety hint too"


def test_a_speculative_alert_stays_when_the_partner_goes_on_speaking():
    """The danger was heard in a pause: the alert is shown at once, whatever the turn becomes."""
    from coach.events import SafetyAlert

    p, _, _ = make({300: RISK_TEXT, 500: TEXT_B})
    audio = np.concatenate([quiet(0.5), tone(3.0, 300), quiet(0.4), tone(2.0, 500), quiet(1.5)])
    events = run(p, audio)
    alerts = [e for e in events if isinstance(e, SafetyAlert)]
    assert alerts and alerts[0].t < 3.5 + 0.4 + 0.5, "shown during the pause, before the partner went on"


def test_ordinary_turns_raise_no_alert():
    from coach.events import SafetyAlert

    p, _, _ = make({300: TEXT_A})
    events = run(p, np.concatenate([quiet(0.5), tone(3.0, 300), quiet(1.5)]))
    assert not [e for e in events if isinstance(e, SafetyAlert)]


def test_a_check_in_becomes_an_urgent_alert_when_a_later_pass_hears_a_clear_statement():
    """One alert per turn, unless a later pass hears it more clearly: the facilitator must not be left with the
    gentle card when the partner went on to say it plainly."""
    from coach.events import SafetyAlert

    sign, plain = "Look after the dog in case anything happens to me.", "I want to kill myself."
    # the whole turn (3 s at 300 Hz and 2 s at 500 Hz) sounds at 380 Hz to the fake: it hears both sentences then
    p, _, _ = make({300: sign, 380: f"{sign} {plain}", 500: plain})
    audio = np.concatenate([quiet(0.5), tone(3.0, 300), quiet(0.4), tone(2.0, 500), quiet(1.5)])
    alerts = [e for e in run(p, audio) if isinstance(e, SafetyAlert)]
    assert [a.hint.alert for a in alerts] == ["check_in", "urgent"], [a.hint.alert for a in alerts]
    assert alerts[0].hint.heard == sign and "safe right now" not in " ".join(alerts[0].hint.follow_ups)
    assert alerts[1].hint.heard == plain and "Are you safe right now?" in alerts[1].hint.follow_ups


def test_a_check_in_is_not_raised_again_by_a_pass_that_hears_the_same():
    from coach.events import SafetyAlert

    p, _, _ = make({300: "Look after the dog in case anything happens to me."})
    alerts = [e for e in run(p, np.concatenate([quiet(0.5), tone(3.0, 300), quiet(1.5)])) if isinstance(e, SafetyAlert)]
    assert [a.hint.alert for a in alerts] == ["check_in"]
