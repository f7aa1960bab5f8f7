"""The guards that keep Whisper's inventions out of the hints, and run_stt's short-audio shortcut."""

import numpy as np
import pytest

from coach.stt import GuardConfig, compression_ratio, guard, run_stt
from tests.fakes import FakeTranscriber, seg, speech


def test_keeps_real_sentences():
    text, dropped = guard([seg(" A part of me feels really anxious about work."), seg(" It never lets me rest.")])
    assert dropped is None
    assert text == "A part of me feels really anxious about work. It never lets me rest."


def test_drops_no_speech_with_low_logprob():
    segments = [seg(" I am not sure what to say.", no_speech_prob=0.7, avg_logprob=-1.2)]
    assert guard(segments) == ("", "no speech")


@pytest.mark.parametrize("no_speech_prob, avg_logprob", [(0.7, -0.5), (0.3, -1.5), (0.6, -1.5), (0.7, -1.0)])
def test_no_speech_needs_both_conditions(no_speech_prob, avg_logprob):
    segments = [seg(" I am not sure what to say.", no_speech_prob=no_speech_prob, avg_logprob=avg_logprob)]
    assert guard(segments) == ("I am not sure what to say.", None)


def test_drops_high_compression_ratio():
    assert guard([seg(" I feel like I feel like I feel like", compression_ratio=2.5)]) == ("", "repetition")
    assert guard([seg(" I feel like a part of me is scared.", compression_ratio=2.4)])[1] is None


def test_drops_looping_repetition_even_with_a_normal_ratio():
    looped = " I'm sorry." * 10
    assert compression_ratio(looped) > 2.4  # what Whisper would report; the guard must not need it
    assert guard([seg(looped, compression_ratio=1.5)]) == ("", "repetition")
    assert guard([seg(" the the the the the the the the the the the the the the the the", compression_ratio=1.0)]) == (
        "",
        "repetition",
    )


def test_long_varied_sentence_is_not_repetition():
    text = " When I try to talk to my mother the anxious part takes over and I lose my words completely every time."
    assert guard([seg(text, compression_ratio=1.4)]) == (text.strip(), None)


def test_only_the_bad_segment_is_dropped():
    text, dropped = guard(
        [seg(" I keep thinking about my dad."), seg(" okay okay okay", no_speech_prob=0.9, avg_logprob=-2.0)]
    )
    assert (text, dropped) == ("I keep thinking about my dad.", None)


@pytest.mark.parametrize("phantom", ["Thank you.", " Thanks for watching!", " Bye-bye.", " Please subscribe.", "Um..."])
def test_drops_phantom_only_output(phantom):
    assert guard([seg(phantom)]) == ("", "phantom phrase")


def test_phantom_phrase_inside_real_speech_is_kept():
    text, dropped = guard([seg(" Thank you for listening to me, it means a lot.")])
    assert dropped is None and text.startswith("Thank you for listening")


def test_empty_output():
    assert guard([]) == ("", "empty")
    assert guard([seg("   ")]) == ("", "empty")


def test_thresholds_come_from_config():
    segments = [seg(" I feel a bit lost.", compression_ratio=2.0)]
    assert guard(segments, GuardConfig(compression_ratio_threshold=1.8)) == ("", "repetition")


def test_run_stt_skips_audio_shorter_than_a_tenth_of_a_second():
    fake = FakeTranscriber(["should never be returned"])
    result = run_stt(fake, speech(0.09), None, GuardConfig())
    assert (result.text, result.dropped, result.seconds) == ("", "too short", 0.0)
    assert fake.calls == []


def test_run_stt_calls_the_model_and_guards():
    fake = FakeTranscriber([" I feel stuck at work.", "Thank you."])
    audio = speech(0.5)
    result = run_stt(fake, audio, "earlier words", GuardConfig())
    assert (result.text, result.dropped) == ("I feel stuck at work.", None)
    assert result.seconds >= 0.0
    assert fake.calls[0].samples == len(audio) and fake.calls[0].prompt == "earlier words"
    result = run_stt(fake, np.zeros(1600, dtype=np.float32), None, GuardConfig())  # exactly 0.1 s: transcribed
    assert (result.text, result.dropped) == ("", "phantom phrase")
    assert fake.audio_lengths == [8000, 1600]


@pytest.mark.parametrize(
    "segments",
    [
        [seg(" Thank you."), seg(" Thank you.")],
        [seg(" Thanks for watching!"), seg(" Please subscribe.")],
        [seg(" Thank you. Bye.")],
    ],
)
def test_several_phantom_phrases_only_are_dropped(segments):
    assert guard(segments) == ("", "phantom phrase")


def test_whisper_saying_its_prompt_back_is_dropped():
    vocabulary = "A peer-support talk about parts. Words of danger: pills, rope, knife, suicide."
    stt = FakeTranscriber([" pills, rope, knife, suicide.", " I keep my pills in the drawer."])
    echoed = run_stt(stt, speech(1.0), vocabulary, GuardConfig(), vocabulary=vocabulary)
    assert (echoed.text, echoed.dropped) == ("", "echo of the vocabulary")
    heard = run_stt(stt, speech(1.0), vocabulary, GuardConfig(), vocabulary=vocabulary)
    assert heard.text == "I keep my pills in the drawer."  # new words that share some of the prompt's stay


def test_a_partner_saying_again_what_they_said_before_is_kept():
    stt = FakeTranscriber([" I feel so alone."])
    assert run_stt(stt, speech(1.0), "Words. I feel so alone.", GuardConfig(), vocabulary="Words.").text


def test_the_beams_other_readings_travel_with_a_single_segment():
    stt = FakeTranscriber([[seg("He saps me.", alternatives=("He slaps me.",))]])
    assert run_stt(stt, speech(1.0), None, GuardConfig()).alternatives == ("He slaps me.",)


SENTENCE = "Part of me wants to finish the project, but another part keeps scrolling on my phone until midnight."


def test_a_pass_that_went_round_again_after_the_words_keeps_its_first_round():
    from coach.stt import cut_loop

    # the loop the tight pass really made on a 6.6 s turn (case changes and a last round cut short)
    looped = f" {SENTENCE} {SENTENCE.replace('another part', 'another Part')} Part of me want"
    cut = cut_loop(seg(looped, compression_ratio=5.1), audio_s=6.6)
    assert cut is not None and cut.text.strip() == SENTENCE and cut.compression_ratio < 2.4
    two = " I feel stuck. It never lets me rest. I feel stuck. It never lets me rest. I feel"
    assert cut_loop(seg(two), audio_s=3.0).text.strip() == "I feel stuck. It never lets me rest."


@pytest.mark.parametrize("text, audio_s", [
    (" Thank you. Thank you. Thank you. Thank you.", 6.0),  # noise: two words cannot be six seconds of speech
    (f" {SENTENCE} {SENTENCE}", 20.0),  # it looped before the turn's words ran out
    (" I feel stuck at work and I do not know why, it has been weeks now and nobody sees it", 6.0),  # no loop
    (f" {SENTENCE} {SENTENCE} And then I stopped and went to bed.", 6.6),  # said twice, then more: not a loop
])
def test_a_loop_that_does_not_account_for_the_audio_is_left_to_the_full_window(text, audio_s):
    from coach.stt import cut_loop

    assert cut_loop(seg(text), audio_s) is None


def test_the_token_limit_follows_the_audio_length():
    from coach.stt import MAX_NEW_TOKENS, max_new_tokens

    assert max_new_tokens(1.0) < max_new_tokens(5.0) < MAX_NEW_TOKENS == max_new_tokens(60.0)
    assert max_new_tokens(1.6) >= 6 * 1.6 + 5  # the fastest real speech here: 5.6 tokens a second, plus punctuation
