"""`coach bench --safety`: how often the safety check finds a partner in danger, and how often it cries wolf.

Two kinds of set, each scored as written and, with `--whisper`, as heard: voiced by espeak-ng and transcribed by the
installed Whisper model as a live session hears a turn (its other readings too).
- Labelled sets, JSON lines `{"text", "label": "risk"|"safe", "category", "direct": bool, "level"}`: recall (direct
  statements apart), false alarms on the look-alikes. Default: tests/data/safety_*.jsonl.
- Real talk (coach/realtalk.py: annomi-dev and counseling-dev client turns, read at run time): the alert rate on
  ordinary turns, and recall on the few turns labelled as speaking of danger (tests/data/realtalk_risk_labels.json,
  ids only). Through Whisper, a seeded sample of the longer turns is voiced (all of them takes hours on 2 cores).
Urgent alerts and check-ins are counted apart; both count for recall and for false alarms.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from coach import realtalk
from coach.bench import VOICES, percentiles, read_corpus, spoken, voice
from coach.errors import CoachError
from coach.safety import CHECK_IN, URGENT, SafetyCheck
from coach.stt import SttResult

TARGETS = {"recall": 0.97, "direct_recall": 1.0, "false_alarms": 0.03, "alert_rate": 0.02, "p95_ms": 30.0}
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_SETS = tuple(DATA / f"{name}.jsonl" for name in ("safety_eval", "safety_fresh", "safety_long", "safety_long_check",
                                                           "safety_long_2", "safety_long_check2", "safety_long_check3",
                                                           "safety_long_check4"))
REALTALK_LABELS = DATA / "realtalk_risk_labels.json"
VOICED_SAMPLE = 300  # real-talk turns voiced per set (besides every labelled one), of at least VOICED_MIN_WORDS
VOICED_MIN_WORDS = 10


class LabelledUtterance(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    label: Literal["risk", "safe"]
    category: str
    direct: bool = False
    level: Literal["urgent", "check_in"] | None = None
    id: str = ""


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
            rows.append(LabelledUtterance.model_validate_json(line).model_copy(update={"id": f"{path.stem}:{n}"}))
        except ValidationError as e:
            raise CoachError(f"{path}:{n}: not a labelled utterance ({e.errors()[0]['msg']}); "
                             'each line is {"text", "label": "risk"|"safe", "category", "direct"}') from e
    if not rows or not any(r.label == "risk" for r in rows) or not any(r.label == "safe" for r in rows):
        raise CoachError(f"{path}: needs both risk and safe lines")
    return rows


class RiskLabel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    level: Literal["urgent", "check_in"]
    category: str
    direct: bool = False


def read_realtalk_labels(path: Path = REALTALK_LABELS) -> dict[str, RiskLabel]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {turn_id: RiskLabel.model_validate(v) for turn_id, v in raw.items() if not turn_id.startswith("_")}
    except (OSError, ValueError, ValidationError) as e:
        raise CoachError(f"{path}: cannot read the real-talk labels ({e}); restore it from git") from e


def realtalk_rows(turns: list[realtalk.ClientTurn], labels: dict[str, RiskLabel]) -> list[LabelledUtterance]:
    """Every client turn: the labelled ones as risk, the rest as ordinary talk (their category: "ordinary")."""
    rows = []
    for t in turns:
        lab = labels.get(t.id)
        rows.append(LabelledUtterance(text=t.text, id=t.id, label="risk" if lab else "safe",
                                      category=lab.category if lab else "ordinary", direct=bool(lab and lab.direct),
                                      level=lab.level if lab else None))
    return rows


def voiced_sample(rows: list[LabelledUtterance], n: int = VOICED_SAMPLE, seed: int = 7) -> list[LabelledUtterance]:
    """Every risk turn and a seeded sample of `n` ordinary turns of at least VOICED_MIN_WORDS words."""
    ordinary = [r for r in rows if r.label == "safe" and len(r.text.split()) >= VOICED_MIN_WORDS]
    chosen = {r.id for r in random.Random(seed).sample(ordinary, min(n, len(ordinary)))}
    return [r for r in rows if r.label == "risk" or r.id in chosen]


@dataclass(frozen=True)
class Outcome:
    row: LabelledUtterance
    heard: str
    phrase: bool  # the phrase list alone
    level: str | None  # the coach's decision: "urgent", "check_in" or None
    source: str
    ms: float


def _rate(xs: list[bool]) -> float | None:
    return round(float(np.mean(xs)), 4) if xs else None


def score(outcomes: list[Outcome]) -> dict:
    risk = [o for o in outcomes if o.row.label == "risk"]
    safe = [o for o in outcomes if o.row.label == "safe"]
    direct = [o for o in risk if o.row.direct]
    cats: dict[str, list[Outcome]] = {}
    for o in outcomes:
        cats.setdefault(f"{o.row.label}:{o.row.category}", []).append(o)
    long_safe = [o for o in safe if len(o.row.text.split()) >= 40]
    return {
        "risk": len(risk), "safe": len(safe),
        "recall": _rate([o.level is not None for o in risk]),
        "direct_recall": _rate([o.level is not None for o in direct]),
        "phrase_list_recall": _rate([o.phrase for o in risk]),
        "false_alarms": _rate([o.level is not None for o in safe]),
        "false_alarms_urgent": _rate([o.level == URGENT for o in safe]),
        "false_alarms_check_in": _rate([o.level == CHECK_IN for o in safe]),
        "false_alarms_40_words_up": _rate([o.level is not None for o in long_safe]),
        "risk_urgent": sum(o.level == URGENT for o in risk),
        "risk_check_in": sum(o.level == CHECK_IN for o in risk),
        "urgent_labels_heard_as_urgent": _rate([o.level == URGENT for o in risk if o.row.level == URGENT]),
        "by_category": {c: {"n": len(xs), "flagged": _rate([o.level is not None for o in xs])}
                        for c, xs in sorted(cats.items())},
    }


def evaluate(check: SafetyCheck, rows: list[LabelledUtterance], heard: list[str],
             alternatives: list[tuple[str, ...]] | None = None) -> dict:
    outcomes = []
    for i, (row, text) in enumerate(zip(rows, heard)):
        verdict = check.assess(text, alternatives[i] if alternatives else ())
        outcomes.append(Outcome(row, text, check.phrase_only(text), verdict.level if verdict.risk else None,
                                verdict.source, verdict.seconds * 1e3))
    return {
        "n": len(rows),
        **score(outcomes),
        "latency_ms": percentiles(o.ms for o in outcomes),
        "by_source": {src: sum(o.level is not None and o.source == src for o in outcomes)
                      for src in ("phrase", "alternative", "meaning", "alternative meaning", "warning sign")},
        # by id only: the real-talk sets' text is third-party and stays out of reports
        "misses": [o.row.id for o in outcomes if o.row.label == "risk" and o.level is None],
        "false_alarm_ids": [f"{o.row.id} ({o.level}, {o.source})" for o in outcomes if o.row.label == "safe" and o.level],
    }


def transcribe_all(transcriber, rows: list[LabelledUtterance], corpus: Path | None, prompt: str | None) -> list[SttResult]:
    """What Whisper hears of each line, as a live session hears a turn (the tight pass, its other readings too): from
    a voiced folder when given, else spoken now by espeak-ng."""
    from coach.audio import load_wav
    from coach.stt import GuardConfig, run_stt

    with tempfile.TemporaryDirectory(prefix="coach-safety-") as tmp:
        if corpus is not None:
            # a voiced corpus names each clip by the words spoken (a transcript's notes in brackets are not)
            by_text = {c.reference.strip(): c for c in read_corpus(corpus)}
            missing = [r.text for r in rows if spoken(r.text) not in by_text]
            if missing:
                raise CoachError(f"{corpus}: {len(missing)} lines of the set have no recording: voice the same file "
                                 "with scripts/voice_corpus.py")
            clips = [by_text[spoken(r.text)] for r in rows]
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


def _one_set(check: SafetyCheck, name: str, rows: list[LabelledUtterance], transcriber, corpus: Path | None,
             prompt: str | None, voiced_rows: list[LabelledUtterance] | None = None, sample: int = 0) -> dict:
    out = {"name": name, "text": evaluate(check, rows, [r.text for r in rows])}
    if transcriber is not None:
        voiced_rows = rows if voiced_rows is None else voiced_rows
        print(f"{name}: through Whisper ({len(voiced_rows)} lines)", file=sys.stderr, flush=True)
        heard = transcribe_all(transcriber, voiced_rows, corpus, prompt)
        out["whisper"] = evaluate(check, voiced_rows, [h.text for h in heard], [h.alternatives for h in heard])
        if len(voiced_rows) != len(rows):
            out["whisper"]["sample"] = f"every labelled turn and {sample} ordinary turns of {VOICED_MIN_WORDS}+ words"
    return out


def run_safety_bench(check: SafetyCheck, paths: list[Path] | None = None, transcriber=None, corpus: Path | None = None,
                     prompt: str | None = None, realtalk_root: Path | None = None, real: bool = True,
                     sample: int = VOICED_SAMPLE) -> dict:
    """`prompt`: what Whisper is told first, as in a session (Settings.stt_vocabulary)."""
    report: dict = {"targets": TARGETS, "sets": []}
    for path in paths or DEFAULT_SETS:
        report["sets"].append(_one_set(check, path.name, read_set(path), transcriber, corpus, prompt))
    if real:
        found = realtalk.real_talk(realtalk_root)
        if not found:
            report["realtalk_missing"] = str(realtalk_root or realtalk.shared_data())
        labels = read_realtalk_labels() if found else {}
        for name, turns in found.items():
            rows = realtalk_rows(turns, labels)
            report["sets"].append(_one_set(check, name, rows, transcriber, None, prompt, voiced_sample(rows, sample),
                                           sample))
    return report


def _pct(x: float | None) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def format_safety_report(report: dict) -> str:
    lines = ["safety check: recall (direct statements apart) on risk; false alarms on look-alikes and ordinary talk",
             "targets: recall >= 97%, direct 100%, false alarms <= 3% (labelled sets), alerts on <= 2% of ordinary "
             "real turns, decision p95 <= 30 ms", ""]
    head = (f"{'set':22}{'heard':9}{'risk':>5}{'recall':>8}{'direct':>8}{'list':>8}{'urg/chk':>9}"
            f"{'safe':>6}{'false al.':>10}{'urg/chk':>9}{'40w+':>8}{'p95 ms':>8}")
    lines.append(head)
    for s in report["sets"]:
        for heard in ("text", "whisper"):
            r = s.get(heard)
            if r is None:
                continue
            fa_u = round((r["false_alarms_urgent"] or 0) * r["safe"])
            fa_c = round((r["false_alarms_check_in"] or 0) * r["safe"])
            lines.append(
                f"{s['name'][:21]:22}{'written' if heard == 'text' else 'Whisper':9}{r['risk']:5}{_pct(r['recall']):>8}"
                f"{_pct(r['direct_recall']):>8}{_pct(r['phrase_list_recall']):>8}"
                f"{r['risk_urgent']:>5}/{r['risk_check_in']:<3}{r['safe']:6}{_pct(r['false_alarms']):>10}"
                f"{fa_u:>5}/{fa_c:<3}{_pct(r['false_alarms_40_words_up']):>8}{r['latency_ms']['p95']:>8}")
    if report.get("realtalk_missing"):
        lines.append(f"(real talk not found under {report['realtalk_missing']}: set COACH_SHARED_DATA)")
    lines += ["", "list: the phrase list alone (urgent by itself). urg/chk: urgent alerts / check-ins. "
              "40w+: false alarms on turns of 40 words or more.", "misses (ids):"]
    for s in report["sets"]:
        for heard in ("text", "whisper"):
            r = s.get(heard)
            if r and r["misses"]:
                lines.append(f"  {s['name']} ({heard}): {', '.join(r['misses'][:30])}")
    return "\n".join(lines)


def write_safety_json(report: dict, out: Path) -> None:
    out.write_text(json.dumps(report, indent=1))
