"""`coach bench --safety FILE`: how often the safety check finds a partner in danger, and how often it cries wolf.

FILE holds JSON lines `{"text", "label": "risk"|"safe", "category", "direct": bool}`. The phrase list alone (the
check before meaning was added) and list + meaning are scored on the same lines in one run. With `--whisper` the
lines are also spoken by espeak-ng in four voices and transcribed by the installed Whisper model, as a live session
would hear them; with `--corpus DIR` (a folder from scripts/voice_corpus.py) those recordings are used instead.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from coach.bench import VOICES, percentiles, read_corpus, voice
from coach.errors import CoachError
from coach.safety import SafetyCheck
from coach.stt import SttResult

TARGETS = {"recall": 0.97, "direct_recall": 1.0, "false_alarms": 0.05, "p95_ms": 30.0}


class LabelledUtterance(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    label: Literal["risk", "safe"]
    category: str
    direct: bool = False


def read_set(path: Path) -> list[LabelledUtterance]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise CoachError(f"{path}: cannot read the labelled set ({e.strerror})") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(LabelledUtterance.model_validate_json(line))
        except ValidationError as e:
            raise CoachError(f"{path}:{n}: not a labelled utterance ({e.errors()[0]['msg']}); "
                             'each line is {"text", "label": "risk"|"safe", "category", "direct"}') from e
    if not rows or not any(r.label == "risk" for r in rows) or not any(r.label == "safe" for r in rows):
        raise CoachError(f"{path}: needs both risk and safe lines")
    return rows


@dataclass(frozen=True)
class Outcome:
    row: LabelledUtterance
    heard: str
    phrase: bool  # the phrase list alone
    meaning: bool  # list + meaning (the coach's decision)
    source: str
    ms: float


def score(outcomes: list[Outcome], which: str) -> dict:
    risk = [o for o in outcomes if o.row.label == "risk"]
    safe = [o for o in outcomes if o.row.label == "safe"]
    direct = [o for o in risk if o.row.direct]
    hit = lambda o: getattr(o, which)  # noqa: E731
    rate = lambda xs: round(float(np.mean([hit(o) for o in xs])), 3) if xs else None  # noqa: E731
    cats: dict[str, list[Outcome]] = {}
    for o in outcomes:
        cats.setdefault(f"{o.row.label}:{o.row.category}", []).append(o)
    return {
        "recall": rate(risk),
        "direct_recall": rate(direct),
        "false_alarms": rate(safe),
        "missed": sum(not hit(o) for o in risk),
        "false_alarm_count": sum(hit(o) for o in safe),
        "by_category": {c: {"n": len(xs), "flagged": rate(xs)} for c, xs in sorted(cats.items())},
    }


def evaluate(check: SafetyCheck, rows: list[LabelledUtterance], heard: list[str],
             alternatives: list[tuple[str, ...]] | None = None) -> dict:
    outcomes = []
    for i, (row, text) in enumerate(zip(rows, heard)):
        verdict = check.assess(text, alternatives[i] if alternatives else ())
        outcomes.append(Outcome(row, text, check.phrase_only(text), verdict.risk, verdict.source, verdict.seconds * 1e3))
    return {
        "n": len(rows),
        "phrase_list": score(outcomes, "phrase"),
        "list_and_meaning": score(outcomes, "meaning"),
        "latency_ms": percentiles(o.ms for o in outcomes),
        "by_source": {src: sum(o.meaning and o.source == src for o in outcomes) for src in ("phrase", "alternative", "meaning", "alternative meaning")},
        "misses": [{"category": o.row.category, "heard": o.heard} for o in outcomes if o.row.label == "risk" and not o.meaning],
        "false_alarms": [{"category": o.row.category, "heard": o.heard, "by": o.source}
                         for o in outcomes if o.row.label == "safe" and o.meaning],
    }


def transcribe_all(transcriber, rows: list[LabelledUtterance], corpus: Path | None, prompt: str | None) -> list[SttResult]:
    """What Whisper hears of each line, as a live session hears a turn (the tight pass, its other readings too): from
    a voiced folder when given, else spoken now by espeak-ng."""
    from coach.audio import load_wav
    from coach.stt import GuardConfig, run_stt

    with tempfile.TemporaryDirectory(prefix="coach-safety-") as tmp:
        if corpus is not None:
            by_text = {c.reference.strip(): c for c in read_corpus(corpus)}
            missing = [r.text for r in rows if r.text.strip() not in by_text]
            if missing:
                raise CoachError(f"{corpus}: {len(missing)} lines of the set have no recording: voice the same file "
                                 "with scripts/voice_corpus.py")
            clips = [by_text[r.text.strip()] for r in rows]
        else:
            print(f"voicing {len(rows)} lines with espeak-ng ...", file=sys.stderr, flush=True)
            clips = voice([(f"line{i:04d}", r.text) for i, r in enumerate(rows)], Path(tmp), VOICES)
        heard = []
        for i, clip in enumerate(clips, 1):
            audio = load_wav(clip.path).samples
            heard.append(run_stt(transcriber, audio, prompt, GuardConfig(), tight=True, vocabulary=prompt))
            if i % 25 == 0 or i == len(clips):
                print(f"  transcribed {i}/{len(clips)}", file=sys.stderr, flush=True)
    return heard


def run_safety_bench(check: SafetyCheck, path: Path, transcriber=None, corpus: Path | None = None,
                     prompt: str | None = None) -> dict:
    """`prompt`: what Whisper is told first, as in a session (Settings.stt_vocabulary)."""
    rows = read_set(path)
    report = {"set": str(path), "targets": TARGETS, "text": evaluate(check, rows, [r.text for r in rows])}
    if transcriber is not None:
        heard = transcribe_all(transcriber, rows, corpus, prompt)
        report["whisper"] = evaluate(check, rows, [h.text for h in heard], [h.alternatives for h in heard])
    return report


def _pct(x: float | None) -> str:
    return "  -  " if x is None else f"{100 * x:5.1f}%"


def format_safety_report(report: dict) -> str:
    lines = [f"safety check on {report['set']}"]
    for heard in ("text", "whisper"):
        r = report.get(heard)
        if r is None:
            continue
        before, after = r["phrase_list"], r["list_and_meaning"]
        lat = r["latency_ms"]
        lines += [
            "",
            f"== {'as written' if heard == 'text' else 'through Whisper'} ({r['n']} lines) ==",
            f"{'':18}{'phrase list':>12}{'list+meaning':>14}   target",
            f"{'recall':18}{_pct(before['recall']):>12}{_pct(after['recall']):>14}   >= 97%",
            f"{'direct recall':18}{_pct(before['direct_recall']):>12}{_pct(after['direct_recall']):>14}   100%",
            f"{'false alarms':18}{_pct(before['false_alarms']):>12}{_pct(after['false_alarms']):>14}   <= 5%",
            f"decision time: median {lat['p50']} ms, p95 {lat['p95']} ms (target <= 30 ms on 2 cores)",
            "flags raised by: " + ", ".join(f"{src} {n}" for src, n in r["by_source"].items()),
            "by category (share flagged; risk should be 100%, safe 0%):",
        ]
        for cat, b in before["by_category"].items():
            a = after["by_category"][cat]
            lines.append(f"  {cat:36} n={b['n']:3}  {_pct(b['flagged'])} -> {_pct(a['flagged'])}")
    return "\n".join(lines)


def write_safety_json(report: dict, out: Path) -> None:
    out.write_text(json.dumps(report, indent=1))
