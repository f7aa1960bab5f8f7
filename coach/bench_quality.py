"""`coach bench --quality`: are the hints grounded, correctly addressed and varied? Before and after, in one run.

For every installed LLM, on the built-in corpus and on `--corpus DIR` (e.g. counseling-dev client turns voiced by
scripts/voice_corpus.py), each session's turns are heard by Whisper (as a live session hears them; `--text-only`
uses the reference text instead) and given to two hint writers in turn:
- before: the LLM writes the whole hint (HintWriter without a move chooser: today's path);
- after: the LLM writes the summary, checked and if need be rebuilt from the partner's words, and the suggestion
  and follow-ups come from the IFS move chosen for the turn (HintWriter with a MoveChooser).
Both get the same texts and the same safety verdicts; coach/quality.py scores them. Clips of one conversation form a
session: in a manifest from scripts/voice_corpus.py their ids are `<conversation>_<turn>`; the built-in corpus is one
session. Turns shorter than the pipeline's minimum are merged into the next one, as the pipeline does.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from coach import modelstore, quality
from coach.audio import load_wav
from coach.bench import Clip, read_corpus, voice_builtin
from coach.config import Settings
from coach.errors import CoachError, ModelOutputError

VARIANTS = ("before", "after")
REPORTED = (
    ("grounding_cosine", "summary ~ turn, embedding cosine"),
    ("grounding_words", "summary's content words the partner said"),
    ("addressed", "hints correctly addressed (all fields)"),
    ("summary_addressed", "  summary speaks to the partner"),
    ("suggestion_addressed", "  suggestion speaks to the facilitator"),
    ("follow_ups_addressed", "  follow-ups ask the partner"),
    ("echo_rate", "echo: copied from the example or repeated (goal <= 0.05)"),
    ("echo_example", "  copied from the prompt's example"),
    ("echo_repeat", "  repeated from an earlier hint"),
    ("distinct_follow_ups", "distinct follow-ups per session (goal >= 0.8)"),
    ("distinct_follow_ups_min", "  the least varied session"),
    ("clinical_labels", "clinical labels or diagnoses (goal 0)"),
    ("advice", "hints pressing advice on the partner"),
    ("cut", "summaries cut off (goal 0)"),
    ("said_back", "summaries saying back a verdict, insult or violent word (goal 0)"),
    ("parts_unasked", "summaries in parts language the partner did not use"),
    ("llm_s", "LLM seconds per hint (mean)"),
    ("llm_tokens", "generated tokens per hint (mean)"),
    ("summary_replaced", "summaries rebuilt from the partner's words"),
    ("hints", "hints scored (safety hints apart)"),
    ("failed", "hints that failed"),
)


def session_of(clip_id: str) -> str:
    """`esconv_test_004_13` -> `esconv_test_004`: the conversation a clip from scripts/voice_corpus.py came from."""
    return re.sub(r"_\d+$", "", clip_id)


def sessions_of(clips: list[Clip], one_session: bool = False) -> list[list[Clip]]:
    groups: dict[str, list[Clip]] = {}
    for clip in clips:
        groups.setdefault("all" if one_session else session_of(clip.id), []).append(clip)
    return list(groups.values())


def merged_turns(texts: list[str], min_words: int) -> list[str]:
    """Turns as the hint writer gets them: one shorter than `min_words` waits for the next (as PendingTurns)."""
    out, pending = [], ""
    for text in texts:
        pending = f"{pending} {text}".strip()
        if len(pending.split()) >= min_words:
            out.append(pending)
            pending = ""
    return out


@dataclass
class VariantRun:
    sessions: list[list[tuple[str, object]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    failed: int = 0
    replaced: int = 0
    moves: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


def _write_session(writer, turns: list[str], verdicts: list, run: VariantRun) -> None:
    pairs = []
    for text, verdict in zip(turns, verdicts):
        try:
            result = writer.write(text, verdict=verdict)
        except ModelOutputError:
            run.failed += 1
            continue
        pairs.append((text, result.hint))
        run.seconds.append(result.generation.total_s)
        run.tokens.append(result.generation.completion_tokens)
        if result.hint.priority != "safety":
            run.replaced += bool(result.summary_problems)
            if result.move:
                run.moves[result.move] = run.moves.get(result.move, 0) + 1
    run.sessions.append(pairs)
    run.examples = writer.example_fields


def _metrics(run: VariantRun, embedder) -> dict:
    m = quality.summarize(run.sessions, run.examples, embedder)
    m["llm_s"] = round(statistics.fmean(run.seconds), 3) if run.seconds else None
    m["llm_tokens"] = round(statistics.fmean(run.tokens), 1) if run.tokens else None
    m["failed"] = run.failed
    m["summary_replaced"] = round(run.replaced / m["hints"], 3) if m["hints"] else None
    if run.moves:
        m["moves"] = dict(sorted(run.moves.items(), key=lambda kv: -kv[1]))
    m["goals_met"] = quality.meets(m)
    return m


def installed_llms(settings: Settings) -> list[str]:
    """Every installed hint model, or the one settings name."""
    if settings.llm_model:
        return [modelstore.resolve(settings.models_dir, "llm", settings.llm_model)[0]]
    return [r["id"] for r in modelstore.status(settings.models_dir) if r["role"] == "llm" and r["installed"]]


def run_quality(
    settings: Settings,
    corpus: Path | None = None,
    *,
    text_only: bool = False,
    limit: int | None = None,
    real_talk: bool = True,
    progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> dict:
    from coach.hints import HintWriter
    from coach.move_choice import MoveChooser
    from coach.safety import SafetyCheck
    from coach.runtime import load_chat, load_embedder, load_transcriber
    from coach.stt import GuardConfig, run_stt

    t0 = time.perf_counter()
    llms = installed_llms(settings)
    if not llms:
        raise CoachError(f"no hint model installed in {settings.models_dir}: run scripts/setup_models.sh")
    _, embedder = load_embedder(settings)
    chooser = MoveChooser(embedder)
    check = SafetyCheck(embedder)
    transcriber = None
    if not text_only:
        _, transcriber = load_transcriber(settings)
    guard = GuardConfig.from_settings(settings)
    report: dict = {"text": "reference" if text_only else "whisper", "llms": llms, "corpora": {}}

    with tempfile.TemporaryDirectory(prefix="coach-quality-") as tmp:
        corpora = [("builtin", voice_builtin(Path(tmp)), True)]
        if corpus is not None:
            corpora.append((corpus.name or str(corpus), read_corpus(corpus), False))
        heard: dict[str, list[list[str]]] = {}
        for name, clips, one in corpora:
            sessions = sessions_of(clips, one_session=one)[: limit or None]
            texts = []
            for i, session in enumerate(sessions, 1):
                said = [c.reference if transcriber is None else
                        run_stt(transcriber, load_wav(c.path).samples, None, guard, tight=True).text for c in session]
                texts.append(merged_turns(said, settings.hint_min_words))
                progress(f"{name}: session {i}/{len(sessions)} heard ({len(texts[-1])} turns)")
            heard[name] = texts
    if real_talk:  # real sessions' client turns, as written (voicing every turn takes hours on 2 cores)
        from coach import realtalk

        for name, turns in realtalk.real_talk().items():
            sessions = list(realtalk.sessions(turns).values())[: limit or None]
            heard[name] = [merged_turns([t.text for t in s], settings.hint_min_words) for s in sessions]
            progress(f"{name}: {len(sessions)} sessions, {sum(map(len, heard[name]))} turns (as written)")

    for llm_id in llms:
        chat = load_chat(settings, modelstore.model_file(settings.models_dir, "llm", llm_id, ".gguf"))
        for name, sessions in heard.items():
            runs = {v: VariantRun() for v in VARIANTS}
            for i, turns in enumerate(sessions, 1):
                verdicts = [check.assess(t) for t in turns]
                for variant in VARIANTS:  # the same session, one writer after the other: the same machine state
                    writer = HintWriter(chat, context_tokens=settings.llm_context, reminder_hints=settings.reminder_hints,
                                        moves=chooser if variant == "after" else None)
                    _write_session(writer, turns, verdicts, runs[variant])
                progress(f"{llm_id} on {name}: session {i}/{len(sessions)} ({len(turns)} turns) done, "
                         f"{time.perf_counter() - t0:.0f} s")
            before, after = (_metrics(runs[v], embedder) for v in VARIANTS)
            report["corpora"].setdefault(name, {})[llm_id] = {
                "before": before, "after": after, "delta": quality.deltas(before, after),
            }
            if name == "builtin":  # never another corpus's words: those stay outside the project and its outputs
                report["corpora"][name][llm_id]["examples"] = {v: _examples(runs[v]) for v in VARIANTS}
        del chat
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def _examples(run: VariantRun, n: int = 3) -> list[dict]:
    """A few hints of the built-in corpus's session, for a reader of the JSON (written only to the file asked for,
    never logged)."""
    return [{"turn": t, **h.model_dump(include={"summary", "suggestion", "follow_ups"})}
            for t, h in (run.sessions[0] if run.sessions else [])[:n]]


def _cell(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def format_quality(report: dict) -> str:
    lines = [f"hint quality, before (LLM alone) vs after (LLM summary + IFS move library); text from {report['text']}"]
    for name, per_llm in report["corpora"].items():
        for llm_id, r in per_llm.items():
            b, a, d = r["before"], r["after"], r["delta"]
            lines += ["", f"corpus {name}, model {llm_id}: {b['sessions']} sessions, {b['hints']}/{a['hints']} hints "
                          f"({b['safety_hints']}/{a['safety_hints']} safety, not scored)",
                      f"{'metric':24} {'before':>8} {'after':>8} {'delta':>8}"]
            for key, meaning in REPORTED:
                lines.append(f"{key:24} {_cell(b.get(key)):>8} {_cell(a.get(key)):>8} {_cell(d.get(key)):>8}   {meaning}")
            goals = ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in a["goals_met"].items() if ok is not None)
            lines.append(f"goals after: {goals}")
            if a.get("moves"):
                lines.append("moves chosen: " + ", ".join(f"{k} {v}" for k, v in a["moves"].items()))
    lines.append(f"\n{report['seconds']:.0f} s in all")
    return "\n".join(lines)
