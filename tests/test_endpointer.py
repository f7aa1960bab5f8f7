"""The endpointing state machine on a virtual clock: (window start, probability) in, turn events out."""

import pytest

from coach.events import SpeechEnded, SpeechStarted
from coach.vad import EndpointConfig, Endpointer, State

W = 0.032  # one 512-sample window at 16 kHz
SPEECH, SILENCE = 0.9, 0.05


class Clock:
    """Feeds an Endpointer window by window and records (end of the window that produced it, event)."""

    def __init__(self, config: EndpointConfig = EndpointConfig()):
        self.ep = Endpointer(config)
        self.i = 0
        self.events: list[tuple[float, SpeechStarted | SpeechEnded]] = []

    @property
    def t(self) -> float:
        return self.i * W

    def feed(self, prob: float, seconds: float) -> list[tuple[float, SpeechStarted | SpeechEnded]]:
        new = []
        for _ in range(round(seconds / W)):
            t = self.i * W
            self.i += 1
            new += [(t + W, ev) for ev in self.ep.update(t, prob, W)]
        self.events += new
        return new

    def of(self, kind):
        return [(t, ev) for t, ev in self.events if isinstance(ev, kind)]


def test_turn_starts_only_after_min_speech():
    c = Clock(EndpointConfig(min_speech_s=0.25))
    c.feed(SILENCE, 0.32)  # windows 0..9
    start = c.t
    assert c.feed(SPEECH, 0.224) == []  # 7 windows = 0.224 s < 0.25 s: still only a candidate
    assert c.ep.state is State.STARTING and not c.ep.in_turn
    new = c.feed(SPEECH, W)  # 8th window: 0.256 s of speech
    assert len(new) == 1
    t_detected, ev = new[0]
    assert isinstance(ev, SpeechStarted)
    assert ev.turn_id == 1
    assert ev.t == pytest.approx(start)  # the turn is dated from where speech began, not where it was confirmed
    assert 0.25 <= t_detected - start < 0.25 + W
    assert c.ep.in_turn and c.ep.turn_start == pytest.approx(start)


def test_short_blip_starts_nothing():
    c = Clock()
    c.feed(SILENCE, 0.32)
    c.feed(SPEECH, 0.16)  # 5 windows < min_speech_s
    c.feed(SILENCE, 2.0)
    assert c.events == []
    assert c.ep.state is State.QUIET and c.ep.turn_id == 0
    assert c.ep.flush() == []


def test_turn_ends_after_end_silence():
    c = Clock(EndpointConfig(end_silence_s=0.6))
    c.feed(SILENCE, 0.32)
    c.feed(SPEECH, 1.6)
    silence_start = c.t
    assert c.feed(SILENCE, 0.576) == []  # 18 windows of silence < 0.6 s
    new = c.feed(SILENCE, W)
    assert len(new) == 1
    t_detected_window, ev = new[0]
    assert isinstance(ev, SpeechEnded)
    assert ev.turn_id == 1 and ev.split is False
    assert ev.t_start == pytest.approx(0.32)
    assert ev.t_end == pytest.approx(silence_start)  # speech stopped where the silence began
    assert ev.t_detected == pytest.approx(t_detected_window)
    assert 0.6 <= ev.t_detected - ev.t_end < 0.6 + W
    assert c.ep.state is State.QUIET
    assert c.feed(SILENCE, 1.0) == []  # nothing more


def test_short_pause_does_not_end_turn():
    c = Clock(EndpointConfig(end_silence_s=0.6))
    c.feed(SPEECH, 1.0)
    c.feed(SILENCE, 0.5)  # < end_silence_s
    c.feed(SPEECH, 1.0)
    second_stretch_end = c.t
    assert c.of(SpeechEnded) == []
    assert c.ep.state is State.SPEAKING
    c.feed(SILENCE, 0.7)
    ended = c.of(SpeechEnded)
    assert len(ended) == 1
    ev = ended[0][1]
    assert ev.t_start == pytest.approx(0.0)
    assert ev.t_end == pytest.approx(second_stretch_end)  # the end of the second stretch, not of the first
    assert len(c.of(SpeechStarted)) == 1


def test_mid_band_probability_neither_starts_nor_ends():
    """Between neg_threshold and threshold: a pause keeps counting, speech keeps going."""
    c = Clock()
    c.feed(0.4, 1.0)
    assert c.events == []  # 0.4 < threshold: never a start
    c.feed(SPEECH, 0.5)
    c.feed(0.4, 2.0)  # >= neg_threshold: not silence, the turn stays open
    assert c.of(SpeechEnded) == [] and c.ep.state is State.SPEAKING


def test_long_monologue_is_split_at_next_pause():
    cfg = EndpointConfig(max_utterance_s=2.0, split_pause_s=0.2, end_silence_s=0.6, hard_max_utterance_s=10.0)
    c = Clock(cfg)
    c.feed(SPEECH, 1.6)
    c.feed(SILENCE, 0.32)  # a pause >= split_pause_s, but the turn is not yet too long: no split
    assert c.of(SpeechEnded) == []
    c.feed(SPEECH, 1.6)  # now 3.52 s into the turn
    pause_start = c.t
    new = c.feed(SILENCE, 0.224)  # 7 windows: the first where the pause reaches 0.2 s
    assert [type(ev) for _, ev in new] == [SpeechEnded]
    ev = new[0][1]
    assert ev.split is True
    assert ev.turn_id == 1
    assert ev.t_end == pytest.approx(pause_start)
    assert 0.2 <= ev.t_detected - ev.t_end < 0.2 + W
    assert ev.t_detected - ev.t_end < cfg.end_silence_s
    # the next stretch of speech is a new turn
    c.feed(SILENCE, 0.1)
    c.feed(SPEECH, 0.5)
    started = c.of(SpeechStarted)
    assert [ev.turn_id for _, ev in started] == [1, 2]


def test_pause_shorter_than_split_pause_does_not_split():
    cfg = EndpointConfig(max_utterance_s=2.0, split_pause_s=0.2, hard_max_utterance_s=10.0)
    c = Clock(cfg)
    c.feed(SPEECH, 3.0)
    c.feed(SILENCE, 0.128)  # < split_pause_s
    c.feed(SPEECH, 1.0)
    assert c.of(SpeechEnded) == []


def test_continuous_speech_is_cut_at_hard_max_and_restarts_at_once():
    cfg = EndpointConfig(max_utterance_s=2.0, hard_max_utterance_s=5.0)
    c = Clock(cfg)
    c.feed(SPEECH, 11.0)
    ended = c.of(SpeechEnded)
    started = c.of(SpeechStarted)
    assert [ev.turn_id for _, ev in ended] == [1, 2]
    assert [ev.turn_id for _, ev in started] == [1, 2, 3]
    first = ended[0][1]
    assert first.split is True
    assert first.t_start == pytest.approx(0.0)
    assert 5.0 <= first.t_end < 5.0 + W
    assert first.t_detected == pytest.approx(first.t_end)
    # the next turn starts in the same window, exactly where the cut was
    t_cut, ev_end = ended[0]
    t_next, ev_next = started[1]
    assert t_next == pytest.approx(t_cut)
    assert ev_next.t == pytest.approx(first.t_end)
    assert ended[1][1].t_start == pytest.approx(first.t_end)
    assert c.ep.in_turn


def test_flush_closes_an_open_turn():
    c = Clock()
    c.feed(SILENCE, 0.32)
    c.feed(SPEECH, 1.0)
    events = c.ep.flush()
    assert len(events) == 1
    ev = events[0]
    assert ev.turn_id == 1 and ev.split is False
    assert ev.t_start == pytest.approx(0.32)
    assert ev.t_end == pytest.approx(c.t) and ev.t_detected == pytest.approx(c.t)
    assert c.ep.state is State.QUIET
    assert c.ep.flush() == []


def test_flush_during_pause_ends_turn_where_silence_started():
    c = Clock()
    c.feed(SPEECH, 0.992)
    c.feed(SILENCE, 0.288)
    (ev,) = c.ep.flush()
    assert ev.t_end == pytest.approx(0.992)
    assert ev.t_detected == pytest.approx(0.992 + 0.288)


def test_flush_of_a_candidate_start_is_nothing():
    c = Clock()
    c.feed(SPEECH, 0.1)  # STARTING, not yet a turn
    assert c.ep.flush() == []
    assert c.ep.state is State.QUIET


def test_turn_ids_increase():
    c = Clock()
    for _ in range(3):
        c.feed(SPEECH, 0.5)
        c.feed(SILENCE, 0.8)
    ids_started = [ev.turn_id for _, ev in c.of(SpeechStarted)]
    ids_ended = [ev.turn_id for _, ev in c.of(SpeechEnded)]
    assert ids_started == [1, 2, 3]
    assert ids_ended == [1, 2, 3]
    assert c.ep.turn_id == 3
    # every turn ends before the next one starts
    kinds = [type(ev).__name__ for _, ev in c.events]
    assert kinds == ["SpeechStarted", "SpeechEnded"] * 3


def test_a_short_pause_never_stretches_a_turn_past_the_hard_maximum():
    config = EndpointConfig(max_utterance_s=20.0, split_pause_s=0.2, hard_max_utterance_s=30.0)
    ep = Endpointer(config)
    ends = []
    t, w = 0.0, 0.032
    # speech to 29.92 s, a 0.1 s pause (shorter than split_pause_s), then speech again
    for start, stop, prob in ((0.0, 29.92, 0.9), (29.92, 30.02, 0.05), (30.02, 33.0, 0.9)):
        while t < stop - 1e-9:
            ends += [e for e in ep.update(t, prob, w) if isinstance(e, SpeechEnded)]
            t += w
    assert ends and all(e.t_end - e.t_start <= 30.0 + w for e in ends)


def test_endpoint_bench_counts_the_turns_a_shorter_wait_would_split():
    from coach.bench_endpoint import turns_heard
    from coach.vad import EndpointConfig

    step = 0.032
    probs = [0.9] * int(3 / step) + [0.05] * int(0.45 / step) + [0.9] * int(2 / step) + [0.05] * int(2 / step)
    short = turns_heard(probs, EndpointConfig(end_silence_s=0.3))
    usual = turns_heard(probs, EndpointConfig(end_silence_s=0.6))
    assert len(short) == 2 and not short[0].split  # the breath after 3 s was taken for the end of the turn
    assert len(usual) == 1 and usual[0].t_detected - usual[0].t_end == pytest.approx(0.6, abs=2 * step)
