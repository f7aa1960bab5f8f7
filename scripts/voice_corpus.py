#!/usr/bin/env python3
"""Voice a text corpus with espeak-ng into a folder `coach bench --corpus` reads: a second, larger corpus for
comparing the modes (word error rate and latency) beside real recordings.

    .venv/bin/python scripts/voice_corpus.py TEXTS OUT_DIR
    .venv/bin/python scripts/voice_corpus.py --long-turns N OUT_DIR

--long-turns N: N client turns of 40 to 120 words from ../shared/data/annomi-dev (read at run time; a seeded sample,
at most one per session, so many speakers are heard): the long spoken turns of a real session.

TEXTS is either a text file with one utterance per line, or JSON lines with `text` and, optionally, `is_client`
(only the client's turns are kept), such as ../shared/data/counseling-dev/esconv_conversations_sample.jsonl.
Utterances of fewer than 5 words are skipped (no hint follows them). Four voices are taken in turn.
Write OUT_DIR outside the project: evaluation text must not be copied into it.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coach.bench import VOICES, voice  # noqa: E402
from coach.errors import CoachError  # noqa: E402

MIN_WORDS = 5
LONG_TURN_WORDS = (40, 120)


def long_turns(n: int, seed: int = 23) -> list[tuple[str, str]]:
    import random

    from coach import realtalk

    turns = realtalk.real_talk().get("annomi-dev")
    if not turns:
        raise CoachError(f"no annomi-dev under {realtalk.shared_data()}: set COACH_SHARED_DATA")
    low, high = LONG_TURN_WORDS
    by_session: dict[str, list] = {}
    for t in turns:
        if low <= len(t.text.split()) <= high:
            by_session.setdefault(t.session, []).append(t)
    rng = random.Random(seed)
    picked = [rng.choice(ts) for _, ts in sorted(by_session.items())]
    rng.shuffle(picked)
    return [(t.id.replace(":", "_"), t.text) for t in picked[:n]]


def utterances(path: Path) -> list[tuple[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in lines]
        found = [
            (f"{r.get('conversation_id', 'row')}_{r.get('turn_index', i)}", r["text"])
            for i, r in enumerate(rows)
            if r.get("is_client", 1) in (1, "1")
        ]
    else:
        found = [(f"line{i:04d}", line.strip()) for i, line in enumerate(lines, 1)]
    return [(clip_id, text) for clip_id, text in found if len(text.split()) >= MIN_WORDS]


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--long-turns" and argv[1].isdigit():
        texts, out = Path("annomi-dev"), Path(argv[2])
        try:
            items = long_turns(int(argv[1]))
        except CoachError as e:
            print(f"Error: {e}", file=sys.stderr)
            return 1
    elif len(argv) == 2:
        texts, out = Path(argv[0]), Path(argv[1])
        try:
            items = utterances(texts)
        except (OSError, ValueError, KeyError, AttributeError) as e:  # AttributeError: a row that is not an object
            print(f"Error: {texts}: cannot read utterances ({e})", file=sys.stderr)
            return 1
    else:
        print("usage: scripts/voice_corpus.py TEXTS OUT_DIR  |  --long-turns N OUT_DIR", file=sys.stderr)
        return 2
    if not items:
        print(f"Error: {texts}: no utterance of {MIN_WORDS} words or more", file=sys.stderr)
        return 1
    (out / "audio").mkdir(parents=True, exist_ok=True)
    print(f"voicing {len(items)} utterances into {out} ...", file=sys.stderr, flush=True)
    try:
        clips = voice(items, out / "audio", VOICES)
    except CoachError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    with open(out / "manifest.tsv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["id", "file", "reference"])
        w.writerows((c.id, c.path.relative_to(out).as_posix(), c.reference) for c in clips)
    words = sum(len(c.reference.split()) for c in clips)
    print(f"{len(clips)} clips, {words} words: .venv/bin/coach bench --corpus {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
