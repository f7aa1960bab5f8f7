"""The whole chain with the real offline models (Silero VAD, faster-whisper, llama.cpp)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from coach.audio import SAMPLE_RATE, load_wav
from coach.events import HintFailed, HintReady, SpeechEnded, Transcript
from coach.hints import Hint
from coach.replay import replay_fast, replay_realtime
from tests.conftest import DATA, REPO

pytestmark = pytest.mark.models

SAMPLE = DATA / "partner_parts.wav"


def run(models, settings, samples):
    return list(replay_fast(models, settings, samples))


def espeak(tmp_path, text, name="say.wav"):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    path = tmp_path / name
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    clip = load_wav(path).samples
    return np.concatenate([clip, np.zeros(SAMPLE_RATE * 2, np.float32)])


def test_sample_gives_transcript_and_valid_hint(models, settings):
    events = run(models, settings, load_wav(SAMPLE).samples)
    texts = " ".join(e.text for e in events if isinstance(e, Transcript)).lower()
    assert "part of me" in texts and "family" in texts
    hints = [e for e in events if isinstance(e, HintReady)]
    assert hints, "expected at least one hint"
    for h in hints:
        Hint.model_validate(h.hint.model_dump())
        assert len(h.hint.follow_ups) == 2 and all(q.endswith("?") for q in h.hint.follow_ups)
        assert h.hint.reminder  # first hints of a session carry a reminder
        assert 0 < h.speech_to_hint_s < 30


@pytest.mark.parametrize("mode", ["streaming", "turn"])
def test_both_modes_hear_the_same_and_stream_only_in_streaming(models, settings, mode):
    from coach.events import HintPartial

    from coach.config import PipelineMode

    events = run(models, settings.model_copy(update={"mode": PipelineMode.parse(mode)}), load_wav(SAMPLE).samples)
    ready = [e for e in events if isinstance(e, HintReady)]
    partials = [e for e in events if isinstance(e, HintPartial)]
    assert ready and not any(isinstance(e, HintFailed) for e in events)
    if mode == "turn":
        assert not partials and ready[0].latencies["first_text_s"] == ready[0].latencies["speech_to_hint_s"]
    else:
        first = [p for p in partials if p.hint_id == ready[0].hint_id]
        # the move's words come first (they need no LLM), with the reflection when it is built from the partner's own
        # words (no LLM call then); else the summary follows as the LLM writes it
        assert first and {k: v for k, v in first[0].fields.items() if k != "summary"} == {
            "suggestion": ready[0].hint.suggestion, "follow_ups": ready[0].hint.follow_ups}
        summaries = [p.fields["summary"] for p in first if "summary" in p.fields]
        assert summaries and summaries[0].startswith("It sounds like")
        assert first[0].t <= ready[0].t_ready
        # the streamed summary is the hint's (finalize may trim a summary the length cap cut off)
        assert summaries[-1][:40] == ready[0].hint.summary[:40]
        if "summary" in first[0].fields:
            assert first[0].fields["summary"] == ready[0].hint.summary
            assert ready[0].latencies["first_text_s"] <= ready[0].latencies["speech_to_hint_s"]
        else:
            assert ready[0].latencies["first_text_s"] < ready[0].latencies["speech_to_hint_s"]


def test_realtime_replay_matches(models, settings):
    events = list(replay_realtime(models, settings, load_wav(SAMPLE).samples))
    assert any(isinstance(e, Transcript) for e in events)
    assert any(isinstance(e, HintReady) for e in events)


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_silence_and_noise_give_nothing(models, settings, kind):
    rng = np.random.default_rng(0)
    n = 60 * SAMPLE_RATE
    samples = np.zeros(n, np.float32) if kind == "silence" else (rng.standard_normal(n) * 0.1).astype(np.float32)
    events = run(models, settings, samples)
    assert not [e for e in events if isinstance(e, (Transcript, HintReady))]


def test_8khz_stereo_input(models, settings, tmp_path):
    clip = load_wav(SAMPLE).samples
    import soxr

    low = soxr.resample(clip, SAMPLE_RATE, 8000)
    path = tmp_path / "stereo8k.wav"
    sf.write(path, np.stack([low, low * 0.5], axis=1), 8000, subtype="PCM_16")
    events = run(models, settings, load_wav(path).samples)
    assert "family" in " ".join(e.text for e in events if isinstance(e, Transcript)).lower()


def test_safety_utterance_gives_safety_hint(models, settings, tmp_path):
    samples = espeak(tmp_path, "Some nights I think about ending my life, and I do not know who to tell.")
    hints = [e for e in run(models, settings, samples) if isinstance(e, HintReady)]
    assert hints and hints[0].hint.priority == "safety"


@pytest.mark.slow
def test_ten_minute_monologue_is_split_and_transcribed(models, settings, tmp_path):
    """Continuous speech: turns are split near max_utterance_s and nothing is lost or crashes.
    Hints are switched off here (they are covered above); this is about segmentation and STT."""
    # Different sentences, as a person would say them: a verbatim loop is what Whisper's inventions look like, and
    # the repetition guard rightly drops those.
    text = (
        "I have been thinking about the part of me that always needs to be in control and how tired it is "
        "because it never gets to rest. When my sister calls, that controlling part takes over my whole evening "
        "and a younger part just wants to hide. Maybe the one in control is afraid that everything will fall apart "
        "if it lets go for a single day. "
    )
    one = espeak(tmp_path, text)[: -SAMPLE_RATE * 2]
    reps = int(np.ceil(600 * SAMPLE_RATE / len(one)))
    samples = np.concatenate([one] * reps)[: 600 * SAMPLE_RATE]
    quiet = settings.model_copy(update={"hint_min_words": 10**6})
    events = run(models, quiet, samples)
    ends = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(ends) >= 600 / quiet.hard_max_utterance_s
    assert all(e.t_end - e.t_start <= quiet.hard_max_utterance_s + 0.1 for e in ends)
    from coach.stt import normalize_words

    words = normalize_words(" ".join(e.text for e in events if isinstance(e, Transcript))).split()
    assert words.count("control") >= 0.8 * (600 / (len(one) / SAMPLE_RATE)) * 2


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare to remove the network")
def test_replay_works_without_network():
    """No network namespace at all: nothing after set-up may need the network."""
    coach = REPO / ".venv" / "bin" / "coach"
    if not coach.exists():
        pytest.skip("no .venv/bin/coach: run scripts/install.sh")
    done = subprocess.run(["unshare", "-n", "--", str(coach), "replay", "--json", str(SAMPLE)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert any(e["type"] == "Transcript" for e in events)
    assert any(e["type"] == "HintReady" for e in events)
