"""Every hint written over real speech and real support-seeker turns validates against the schema.
Reads ../shared at run time (never copied into the project) and skips when it is absent."""

import csv
import json

import pytest

from coach.audio import load_wav
from coach.events import HintFailed, HintReady
from coach.hints import Hint, HintWriter
from coach.replay import replay_fast
from tests.conftest import shared

pytestmark = [pytest.mark.models, pytest.mark.slow]


def test_hints_over_speech_dev_clips_validate(models, settings):
    folder = shared("speech-dev")
    with open(folder / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    hints, failed = 0, 0
    for row in rows:
        for ev in replay_fast(models, settings, load_wav(folder / row["file"]).samples):
            if isinstance(ev, HintReady):
                Hint.model_validate(ev.hint.model_dump())
                hints += 1
            failed += isinstance(ev, HintFailed)
    assert failed == 0
    assert hints >= len(rows) // 2  # the shortest clips (single words) are too short for a hint


def test_hints_over_fifty_seeker_turns_validate(models, settings):
    path = shared("counseling-dev", "esconv_conversations_sample.jsonl")
    turns = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    seeker = [t for t in turns if t["is_client"] == 1 and len(t["text"].split()) >= 5][:50]
    assert len(seeker) == 50
    writers: dict[str, HintWriter] = {}
    for turn in seeker:
        writer = writers.setdefault(turn["conversation_id"], HintWriter(models.chat))
        result = writer.write(turn["text"])  # raises ModelOutputError on anything that does not validate
        hint = Hint.model_validate(result.hint.model_dump())
        assert result.generation.finish_reason == "stop"
        assert len(hint.follow_ups) == 2
