#!/usr/bin/env python3
"""Blind judging of the coach's words (../shared/JUDGING.md): build a sheet, then score what a judge returned.

  .venv/bin/python scripts/judge_sheet.py build OUT_DIR [--n 40] [--seed 21] [--ids FILE]
      Picks annomi-dev client turns of 20-80 words that a counsellor answered with a reflection (at most two per
      transcript, seeded), voices each with espeak-ng, runs it through the coach as a partner's turn (Whisper, the
      safety check, the hint writer: the installed models) and takes its first non-safety hint. Writes
      OUT_DIR/sheet.md (for the judge: the client's words, reflections A and B, the suggestion, the two follow-ups),
      OUT_DIR/key.json (which reflection is the coach's, by item; keep it from the judge) and OUT_DIR/coach.json.
      With --ids FILE, only among those turn ids (e.g. the turns whose reflection a change alters).
  .venv/bin/python scripts/judge_sheet.py session TRANSCRIPT OUT_DIR [--max-turns 40]
      One annomi-dev transcript's client turns in order, voiced into one recording and replayed through one coach:
      OUT_DIR/session.md, each turn and the hint that followed it (for a judge reading the session as a whole).
  .venv/bin/python scripts/judge_sheet.py score OUT_DIR JUDGE.json --out docs/judging/NAME.json
      JUDGE.json: {"<item>": {"ref_A": 1-5, "ref_B": 1-5, "sugg": 1-5, "fu": 1-5, "harmful": "no"|"...", "use": "yes"|"no"}}.
      Prints the figures and writes them with the scores by turn id: ids and numbers only, never the dataset's text.

OUT_DIR holds third-party text: keep it outside the repository (e.g. /tmp).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIN_WORDS, MAX_WORDS, PER_TRANSCRIPT = 20, 80, 2


def pick(n: int, seed: int, only: set[str] | None = None):
    from coach.realtalk import ANNOMI, real_talk

    turns = real_talk().get(ANNOMI)
    if not turns:
        raise SystemExit("error: ../shared/data/annomi-dev not found: set COACH_SHARED_DATA to the shared data folder")
    eligible = [t for t in turns if t.reply_kind == "reflection" and MIN_WORDS <= t.words <= MAX_WORDS
                and (only is None or t.id in only)]
    rng = random.Random(seed)
    rng.shuffle(eligible)
    chosen, per = [], {}
    for t in eligible:
        if per.get(t.session, 0) < PER_TRANSCRIPT:
            chosen.append(t)
            per[t.session] = per.get(t.session, 0) + 1
        if len(chosen) == n:
            break
    return chosen


def coach_hints(turns, settings) -> list[dict]:
    """Each turn voiced and heard by the coach as the first turn of a session: its first non-safety hint."""
    from coach.audio import load_wav
    from coach.bench import voice
    from coach.events import HintReady, Transcript
    from coach.replay import fresh_cache, padded, replay_fast
    from coach.runtime import Models

    models = Models.load(settings)
    out = []
    with tempfile.TemporaryDirectory(prefix="coach-judge-") as tmp:
        clips = voice([(f"item{i:02d}", t.text) for i, t in enumerate(turns)], Path(tmp))
        for i, (turn, clip) in enumerate(zip(turns, clips), 1):
            fresh_cache(models)
            heard, hint = [], None
            for ev in replay_fast(models, settings, padded(load_wav(clip.path).samples)):
                if isinstance(ev, Transcript):
                    heard.append(ev.text)
                elif isinstance(ev, HintReady) and ev.hint.priority != "safety" and hint is None:
                    hint = ev.hint
            out.append({"id": turn.id, "heard": " ".join(heard),
                        "hint": hint.model_dump() if hint is not None else None})
            print(f"  {i}/{len(turns)} {turn.id}: {'hint' if hint else 'no hint'}", file=sys.stderr, flush=True)
    return out


def build(args) -> None:
    from coach.config import Settings

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    only = set(Path(args.ids).read_text().split()) if args.ids else None
    turns = pick(args.n, args.seed, only)
    if not turns:
        raise SystemExit("error: no eligible turn to judge (with --ids: none of those ids is a reflection-answered "
                         f"client turn of {MIN_WORDS}-{MAX_WORDS} words)")
    if len(turns) < args.n:
        print(f"note: {len(turns)} of the {args.n} turns asked for are eligible (at most {PER_TRANSCRIPT} per transcript)",
              file=sys.stderr)
    print(f"{len(turns)} turns picked (seed {args.seed}); running the coach ...", file=sys.stderr)
    hints = coach_hints(turns, Settings())
    rng = random.Random(args.seed + 1)
    key, lines = {}, ["# Sheet", ""]
    for i, (turn, got) in enumerate(zip(turns, hints), 1):
        h = got["hint"] or {"summary": "(no reflection)", "suggestion": "(none)", "follow_ups": ["(none)", "(none)"]}
        coach_is_a = rng.random() < 0.5
        a, b = (h["summary"], turn.reply) if coach_is_a else (turn.reply, h["summary"])
        item = f"item{i:02d}"
        key[item] = {"id": turn.id, "coach": "A" if coach_is_a else "B"}
        lines += [f"## {item}", "", f"Client: {turn.text}", "", f"A: {a}", "", f"B: {b}", "",
                  f"Suggestion for the facilitator: {h['suggestion']}", "",
                  f"Follow-up questions: 1. {h['follow_ups'][0]}  2. {h['follow_ups'][1]}", ""]
    (out / "sheet.md").write_text("\n".join(lines))
    (out / "key.json").write_text(json.dumps(key, indent=1))
    (out / "coach.json").write_text(json.dumps(hints, indent=1))
    print(f"sheet: {out / 'sheet.md'} (give the judge this file only); key: {out / 'key.json'}", file=sys.stderr)


def session(args) -> None:
    """One transcript's client turns in order, voiced into one recording with pauses, replayed through one coach
    (memory, moves and the parts map carry over): a sheet of each turn and the hint that followed it."""
    import numpy as np

    from coach.audio import SAMPLE_RATE, load_wav
    from coach.bench import voice
    from coach.config import Settings
    from coach.events import HintReady, SafetyAlert, Transcript
    from coach.realtalk import ANNOMI, real_talk, sessions
    from coach.replay import fresh_cache, padded, replay_fast
    from coach.runtime import Models

    turns = sessions(real_talk().get(ANNOMI, [])).get(f"annomi:{args.transcript}")
    if not turns:
        raise SystemExit(f"error: no annomi-dev transcript {args.transcript}: check the id and COACH_SHARED_DATA")
    turns = [t for t in turns if t.words >= 3][: args.max_turns]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    models = Models.load(settings)
    fresh_cache(models)
    with tempfile.TemporaryDirectory(prefix="coach-judge-") as tmp:
        clips = voice([(f"t{i:03d}", t.text) for i, t in enumerate(turns)], Path(tmp))
        gap = np.zeros(int(2.5 * SAMPLE_RATE), np.float32)
        audio = np.concatenate([x for c in clips for x in (load_wav(c.path).samples, gap)])
    lines, said = [f"# Session (transcript {args.transcript}, {len(turns)} client turns)", ""], 0
    for ev in replay_fast(models, settings, padded(audio)):
        if isinstance(ev, Transcript):
            said += 1
            lines += [f"## Turn {said}", "", f"Client: {turns[min(said, len(turns)) - 1].text}", ""]
        elif isinstance(ev, (HintReady, SafetyAlert)):
            h = ev.hint
            kind = "Safety card" if isinstance(ev, SafetyAlert) else ("Safety hint" if h.priority == "safety" else "Hint")
            lines += [f"{kind}:", f"- Reflection: {h.summary}", f"- Suggestion: {h.suggestion}",
                      f"- Questions: 1. {h.follow_ups[0]}  2. {h.follow_ups[1]}", ""]
    (out / "session.md").write_text("\n".join(lines))
    print(f"session sheet: {out / 'session.md'} (third-party text: keep it outside the repository)", file=sys.stderr)


def _num(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def score(args) -> None:
    key = json.loads(Path(args.out_dir, "key.json").read_text())
    judged = json.loads(Path(args.judge).read_text())
    rows = []
    for item, k in key.items():
        j = judged.get(item)
        if j is None:
            continue
        coach, other = ("ref_A", "ref_B") if k["coach"] == "A" else ("ref_B", "ref_A")
        harmful = str(j.get("harmful", "no")).strip()
        rows.append({"item": item, "id": k["id"], "coach_ref": _num(j.get(coach)), "counsellor_ref": _num(j.get(other)),
                     "sugg": _num(j.get("sugg")), "fu": _num(j.get("fu")),
                     "harmful": not harmful.lower().startswith("no"),
                     "use": str(j.get("use", "no")).strip().lower().startswith("y")})
    if not rows:
        raise SystemExit("error: no judged item matches the key: check the item names in the judge's file")
    mean = lambda xs: round(statistics.fmean([x for x in xs if x is not None]), 2)  # noqa: E731
    figures = {
        "items": len(rows),
        "coach_reflection_mean": mean(r["coach_ref"] for r in rows),
        "counsellor_reflection_mean": mean(r["counsellor_ref"] for r in rows),
        "head_to_head": {"coach": sum(r["coach_ref"] > r["counsellor_ref"] for r in rows),
                         "tie": sum(r["coach_ref"] == r["counsellor_ref"] for r in rows),
                         "counsellor": sum(r["coach_ref"] < r["counsellor_ref"] for r in rows)},
        "coach_reflections_at_most_2": round(sum(r["coach_ref"] <= 2 for r in rows) / len(rows), 3),
        "suggestion_mean": mean(r["sugg"] for r in rows),
        "follow_up_mean": mean(r["fu"] for r in rows),
        "harmful_items": sum(r["harmful"] for r in rows),
        "usable_items": round(sum(r["use"] for r in rows) / len(rows), 3),
    }
    print(json.dumps(figures, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"figures": figures, "label": args.label,
                                              "scores": [{k: v for k, v in r.items() if k != "item"} for r in rows]},
                                             indent=1))
        print(f"written to {args.out}", file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("out_dir")
    b.add_argument("--n", type=int, default=40)
    b.add_argument("--seed", type=int, default=21)
    b.add_argument("--ids", help="pick only among these turn ids (a file, one per line): e.g. the turns a change "
                                 "touches, to judge its effect where it acts")
    s = sub.add_parser("score")
    s.add_argument("out_dir")
    s.add_argument("judge")
    s.add_argument("--out")
    s.add_argument("--label", default="", help="what was judged, e.g. 'before: 52094b2'")
    w = sub.add_parser("session", help="a whole transcript's client turns in order, and the hints that followed")
    w.add_argument("transcript", help="annomi-dev transcript id")
    w.add_argument("out_dir")
    w.add_argument("--max-turns", type=int, default=40)
    args = p.parse_args()
    {"build": build, "score": score, "session": session}[args.cmd](args)


if __name__ == "__main__":
    main()
