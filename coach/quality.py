"""How good the hints of a session are, measured: pure functions over (turn text, hint) pairs, one list per session.

- grounding: the summary's embedding similarity to the turn, and the share of the summary's content words that the
  partner said (stop words and the fixed "It sounds like a part of you" frame removed, light stemming);
- addressed: the summary speaks to the partner, the suggestion to the facilitator, the follow-ups ask the partner
  directly, and nothing says "your partner";
- echo: a field (nearly) equal to a field of the prompt's example answer, or to the same field of an earlier hint of
  the session (goal: at most 5% of hints);
- distinct follow-ups: the share of a session's follow-ups that are not (near) repeats (goal: at least 80%);
- clinical labels (goal: none) and advice pressed on the partner.
Safety hints carry fixed, reviewed words (coach/safety.py) and are counted apart, not scored.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from coach import wording
from coach.embed import SentenceEmbedder


class HintLike(Protocol):
    summary: str
    suggestion: str
    follow_ups: list[str]
    priority: str


@dataclass(frozen=True)
class Scored:
    """One normal hint, scored on its own and against its session."""

    shared_words: float | None
    summary_ok: bool
    suggestion_ok: bool
    follow_ups_ok: bool
    echo_example: list[str]  # fields copied from the prompt's example
    echo_repeat: list[str]  # fields repeated from an earlier hint
    labels: list[str]
    advice: bool
    cut: bool = False  # the summary is cut off (an ellipsis, no end of sentence)
    said_back: bool = False  # a verdict, an insult or a violent word said back to the partner
    parts_unasked: bool = False  # parts language in the summary where the partner used none

    @property
    def addressed(self) -> bool:
        return self.summary_ok and self.suggestion_ok and self.follow_ups_ok

    @property
    def echo(self) -> bool:
        return bool(self.echo_example or self.echo_repeat)


def addressed_fields(hint: HintLike, turn: str) -> tuple[bool, bool, bool]:
    """(summary speaks to the partner, suggestion to the facilitator, every follow-up asks the partner)."""
    return (
        not wording.summary_problems(hint.summary, turn),
        not wording.suggestion_problems(hint.suggestion),
        all(not wording.follow_up_problems(q, turn) for q in hint.follow_ups),
    )


def _fields(hint: HintLike) -> list[tuple[str, str]]:
    return [("summary", hint.summary), ("suggestion", hint.suggestion)] + [("follow_up", q) for q in hint.follow_ups]


def score_session(pairs: Sequence[tuple[str, HintLike]], examples: Sequence[str] = ()) -> list[Scored]:
    """Every normal hint of one session, in order (safety hints are skipped, and do not count as earlier hints)."""
    out: list[Scored] = []
    earlier: dict[str, list[str]] = {"summary": [], "suggestion": [], "follow_up": []}
    for turn, hint in pairs:
        if hint.priority == "safety":
            continue
        fields = _fields(hint)
        copied = [kind for kind, text in fields if any(wording.near_equal(text, e) for e in examples)]
        repeated = [kind for kind, text in fields if any(wording.near_equal(text, e) for e in earlier[kind])]
        for kind, text in fields:
            earlier[kind].append(text)
        s_ok, g_ok, f_ok = addressed_fields(hint, turn)
        out.append(Scored(
            shared_words=wording.shared_content(hint.summary, turn),
            summary_ok=s_ok, suggestion_ok=g_ok, follow_ups_ok=f_ok,
            echo_example=copied, echo_repeat=repeated,
            labels=[label for _, text in fields for label in wording.clinical_labels(text)],
            advice=any(wording.pushes_advice(text) for kind, text in fields if kind != "follow_up"),
            cut=hint.summary.rstrip().endswith(("\u2026", "...")) or hint.summary.rstrip()[-1:] not in (".", "!", "?"),
            said_back=wording.unsafe_to_say_back(hint.summary),
            parts_unasked=bool(_PARTS.search(hint.summary)) and not _PARTS.search(turn),
        ))
    return out


_PARTS = re.compile(r"\bparts?\b(?! of (?:the|my|your|it|this|that|what|life|a|an|our))|\bcritic\b|\bprotector\b|\bexile\b",
                    re.I)


def distinct_share(follow_ups: Sequence[str]) -> float | None:
    """Share of follow-ups that are not a (near) repeat of an earlier one in the list."""
    if not follow_ups:
        return None
    kept: list[str] = []
    for q in follow_ups:
        if not any(wording.near_equal(q, k) for k in kept):
            kept.append(q)
    return len(kept) / len(follow_ups)


def summary_similarity(embedder: SentenceEmbedder, pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Cosine similarity of each summary to its turn (the fixed opening "It sounds like" left out)."""
    if not pairs:
        return []
    turns = embedder.embed([t for t, _ in pairs])
    summaries = embedder.embed([wording.SUMMARY_FRAME.sub("", s) or s for _, s in pairs])
    return [float(x) for x in np.sum(turns * summaries, axis=1)]


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return round(statistics.fmean(v), 3) if v else None


def _share(flags) -> float | None:
    f = list(flags)
    return round(sum(f) / len(f), 3) if f else None


def summarize(sessions: Sequence[Sequence[tuple[str, HintLike]]], examples: Sequence[str] = (),
              embedder: SentenceEmbedder | None = None) -> dict:
    """The metrics over a corpus of sessions: shares over all normal hints, distinct follow-ups per session."""
    scored = [score_session(s, examples) for s in sessions]
    flat = [x for s in scored for x in s]
    normal = [(t, h) for s in sessions for t, h in s if h.priority != "safety"]
    distinct = [distinct_share([q for _, h in s if h.priority != "safety" for q in h.follow_ups]) for s in sessions]
    distinct = [d for d in distinct if d is not None]
    cos = summary_similarity(embedder, [(t, h.summary) for t, h in normal]) if embedder else []
    return {
        "hints": len(flat),
        "safety_hints": sum(h.priority == "safety" for s in sessions for _, h in s),
        "sessions": len(sessions),
        "grounding_cosine": _mean(cos),
        "grounding_words": _mean(x.shared_words for x in flat),
        "addressed": _share(x.addressed for x in flat),
        "summary_addressed": _share(x.summary_ok for x in flat),
        "suggestion_addressed": _share(x.suggestion_ok for x in flat),
        "follow_ups_addressed": _share(x.follow_ups_ok for x in flat),
        "echo_rate": _share(x.echo for x in flat),
        "echo_example": _share(bool(x.echo_example) for x in flat),
        "echo_repeat": _share(bool(x.echo_repeat) for x in flat),
        "distinct_follow_ups": _mean(distinct),
        "distinct_follow_ups_min": round(min(distinct), 3) if distinct else None,
        "sessions_distinct_80": _share(d >= 0.8 for d in distinct),
        "clinical_labels": sum(len(x.labels) for x in flat),
        "hints_with_labels": sum(bool(x.labels) for x in flat),
        "advice": sum(x.advice for x in flat),
        "cut": sum(x.cut for x in flat),
        "said_back": sum(x.said_back for x in flat),
        "parts_unasked": _share(x.parts_unasked for x in flat),
    }


GOALS = {"echo_rate": ("<=", 0.05), "distinct_follow_ups": (">=", 0.8), "clinical_labels": ("<=", 0), "cut": ("<=", 0),
         "said_back": ("<=", 0)}


def meets(metrics: dict) -> dict[str, bool | None]:
    """Whether each goal of the issue is met."""
    out = {}
    for key, (op, bound) in GOALS.items():
        v = metrics.get(key)
        out[key] = None if v is None else (v <= bound if op == "<=" else v >= bound)
    return out


def deltas(before: dict, after: dict) -> dict:
    """after - before for every number both have."""
    return {k: round(after[k] - before[k], 3) for k in before
            if isinstance(before.get(k), (int, float)) and isinstance(after.get(k), (int, float))}
