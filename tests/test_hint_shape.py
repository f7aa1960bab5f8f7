"""The hint shape is written three ways in coach/hints.py: the GBNF grammar the LLM is held to, the JSON schema it was
written from, and the pydantic model that validates the output. This proves they agree, on many drafts, valid and
broken at every bound: the grammar and the schema accept exactly the same drafts, and everything the grammar lets the
model write validates. (The validator is looser on purpose in one way: it does not check the openings or the shortest
tails, nor the characters JSON can escape, see test_where_the_validator_is_looser.)

The grammar is run, not read: the small GBNF subset it uses (literals, classes, alternatives, groups, repetitions,
rule references, no recursion) is translated to one regular expression per grammar."""

from __future__ import annotations

import json
import random
import re

import pytest
from pydantic import ValidationError

from coach import hints
from coach.hints import (
    FOLLOW_UP_MAX,
    QUESTION_OPENINGS,
    REPLY_PREFIX,
    SUGGESTION_OPENINGS,
    SUGGESTION_TAIL,
    SUMMARY_MAX,
    SUMMARY_PREFIX,
    SUMMARY_TAIL,
    HintDraft,
    SummaryDraft,
    draft_grammar,
    draft_schema,
    summary_grammar,
)

# ---- the grammar, as a regular expression ------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|[A-Za-z][A-Za-z0-9-]*|\{\d+(?:,\d*)?\}|[()|?*+])')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def gbnf_regex(grammar: str) -> re.Pattern:
    rules = {}
    for line in grammar.splitlines():
        if line.strip():
            name, body = line.split("::=", 1)
            rules[name.strip()] = body

    def convert(name: str, seen: tuple[str, ...] = ()) -> str:
        assert name not in seen, f"recursive rule {name}: not a regular grammar"
        body, out, pos = rules[name].strip(), [], 0
        while pos < len(body):
            m = _TOKEN.match(body, pos)
            assert m, f"rule {name}: cannot read {body[pos:]!r}"
            tok, pos = m.group(1), m.end()
            if tok.startswith('"'):
                text = re.sub(r"\\(.)", lambda e: _ESCAPES[e.group(1)], tok[1:-1])
                out.append(re.escape(text))
            elif tok.startswith("["):
                out.append(tok)  # GBNF classes read as regex classes: [^"\\\n] is the same set in both
            elif tok[0].isalpha():
                out.append(f"(?:{convert(tok, (*seen, name))})")
            elif tok == "(":
                out.append("(?:")
            else:
                out.append(tok)  # ) | ? * + {m,n}
        return "".join(out)

    return re.compile(convert("root"), re.DOTALL)


# ---- the schema, as a validator of the keywords it uses ----------------------------------------------------------


def schema_accepts(schema: dict, value) -> bool:
    known = {"type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "pattern", "enum"}
    assert set(schema) <= known, f"schema keywords not checked here: {set(schema) - known}"
    if "enum" in schema and value not in schema["enum"]:
        return False
    kind = schema.get("type")
    if kind == "string":
        return isinstance(value, str) and ("pattern" not in schema or re.search(schema["pattern"], value) is not None)
    if kind == "array":
        return (isinstance(value, list) and schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value))
                and all(schema_accepts(schema["items"], v) for v in value))
    if kind == "object":
        props = schema["properties"]
        return (isinstance(value, dict) and set(schema.get("required", ())) <= set(value)
                and (schema.get("additionalProperties", True) or set(value) <= set(props))
                and all(schema_accepts(props[k], v) for k, v in value.items() if k in props))
    return True


def validates(model, text: str) -> bool:
    try:
        model.model_validate_json(text)
    except ValidationError:
        return False
    return True


# ---- drafts, valid and broken ------------------------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ,.;:'!-0123456789"


def words(rng: random.Random, n: int, extra: str = "") -> str:
    text = "".join(rng.choice(LETTERS + extra) for _ in range(n))
    return text


def draft(rng: random.Random, **broken) -> dict:
    """A draft at random within every bound, then broken the way `broken` says."""
    summary_tail = broken.get("summary_tail", rng.choice([8, SUMMARY_TAIL, rng.randint(8, SUMMARY_TAIL)]))
    suggestion_tail = broken.get("suggestion_tail", rng.choice([8, SUGGESTION_TAIL, rng.randint(8, SUGGESTION_TAIL)]))
    q_max = FOLLOW_UP_MAX - 12

    def question() -> str:
        tail = broken.get("question_tail", rng.choice([6, q_max, rng.randint(6, q_max)]))
        return f"{broken.get('question_opening', rng.choice(QUESTION_OPENINGS))} {words(rng, tail)}{broken.get('question_end', '?')}"

    d = {
        "summary": f"{broken.get('summary_opening', 'It sounds like')} {words(rng, summary_tail, '?')}",
        "suggestion": f"{broken.get('suggestion_opening', rng.choice(SUGGESTION_OPENINGS))} {words(rng, suggestion_tail, '?')}",
        "follow_ups": [question() for _ in range(broken.get("questions", 2))],
        "priority": broken.get("priority", rng.choice(["normal", "safety"])),
    }
    if "summary_insert" in broken:
        d["summary"] = d["summary"][:20] + broken["summary_insert"] + d["summary"][20:]
    if "question_insert" in broken:
        d["follow_ups"][0] = d["follow_ups"][0][:12] + broken["question_insert"] + d["follow_ups"][0][12:]
    for key in broken.get("drop", ()):
        d.pop(key)
    d.update(broken.get("add", {}))
    return d


BREAKS = [
    {}, {}, {}, {},  # valid ones, more often
    {"summary_tail": 7}, {"summary_tail": SUMMARY_TAIL + 1}, {"summary_opening": "It seems like"},
    {"summary_insert": "\n"}, {"summary_insert": '"'}, {"summary_insert": "\\"},
    {"suggestion_tail": 7}, {"suggestion_tail": SUGGESTION_TAIL + 1}, {"suggestion_opening": "Tell them to"},
    {"questions": 1}, {"questions": 3}, {"question_end": "."}, {"question_end": ""}, {"question_tail": 5},
    {"question_tail": FOLLOW_UP_MAX - 11}, {"question_opening": "Why"}, {"question_insert": "?"},
    {"priority": "urgent"}, {"drop": ("priority",)}, {"drop": ("follow_ups",)}, {"add": {"note": "a fine note here"}},
]
# What the validator alone knows of the shape: each of these breaks it for HintDraft too.
VALIDATOR_BREAKS = [b for b in BREAKS if set(b) & {"summary_tail", "questions", "question_end", "priority", "drop", "add"}
                    and b.get("summary_tail", SUMMARY_TAIL + 1) > SUMMARY_TAIL]


def spellings(d: dict) -> list[str]:
    """The draft as JSON, written the ways a model may: with or without the optional spaces."""
    return [json.dumps(d, ensure_ascii=False), json.dumps(d, ensure_ascii=False, separators=(",", ":"))]


def samples(n: int = 40):
    rng = random.Random(12)
    for _ in range(n):
        for broken in BREAKS:
            for text in spellings(draft(rng, **broken)):
                yield broken, text


# ---- the tests ---------------------------------------------------------------------------------------------------


def test_grammar_and_schema_accept_the_same_drafts_and_the_validator_takes_all_the_grammar_writes():
    grammar, schema = gbnf_regex(draft_grammar()), draft_schema()
    counts = {"grammar": 0, "rejected": 0}
    for broken, text in samples():
        by_grammar = grammar.fullmatch(text) is not None
        by_schema = schema_accepts(schema, json.loads(text))
        assert by_grammar == by_schema, (broken, text)
        assert by_grammar == (not broken), (broken, text)  # each break breaks it, and only breaks do
        if by_grammar:
            assert validates(HintDraft, text), text
        counts["grammar" if by_grammar else "rejected"] += 1
    assert counts["grammar"] > 200 and counts["rejected"] > 1000


def test_the_grammar_after_the_prompts_prefix_is_the_same_grammar():
    whole, after = gbnf_regex(draft_grammar()), gbnf_regex(draft_grammar(REPLY_PREFIX))
    for broken, text in samples(10):
        tail = text.removeprefix(REPLY_PREFIX)
        if tail != text:  # the prefix is written with one space after the colon
            assert (whole.fullmatch(text) is not None) == (after.fullmatch(tail) is not None), text


@pytest.mark.parametrize("broken", VALIDATOR_BREAKS, ids=lambda b: ",".join(f"{k}={v!r}" for k, v in b.items()))
def test_the_validator_rejects_each_break_of_the_bounds_it_holds(broken):
    rng = random.Random(5)
    for _ in range(20):
        for text in spellings(draft(rng, **broken)):
            assert not validates(HintDraft, text), text


def test_where_the_validator_is_looser():
    """Known slack (the grammar never lets the model write these): HintDraft takes other openings, shorter tails, a
    suggestion up to SUGGESTION_MAX, a '?' inside a question, and escaped quotes, backslashes and newlines."""
    rng = random.Random(7)
    loose = [{"summary_opening": "It seems like"}, {"suggestion_opening": "Tell them to"}, {"question_opening": "Why"},
             {"question_tail": 5}, {"suggestion_tail": SUGGESTION_TAIL + 1}, {"question_insert": "?"},
             {"summary_insert": "\n"}, {"summary_insert": '"'}, {"summary_insert": "\\"}]
    for broken in loose:
        broken = {"summary_tail": 40, **broken}  # room for an inserted character under SUMMARY_MAX
        text = json.dumps(draft(rng, **broken))
        assert validates(HintDraft, text) and gbnf_regex(draft_grammar()).fullmatch(text) is None, broken


def test_the_longest_draft_the_grammar_allows_fits_the_validators_caps():
    longest_summary = len("It sounds like ") + SUMMARY_TAIL
    longest_suggestion = max(map(len, SUGGESTION_OPENINGS)) + 1 + SUGGESTION_TAIL
    longest_question = max(map(len, QUESTION_OPENINGS)) + 1 + (FOLLOW_UP_MAX - 12) + 1
    assert longest_summary == SUMMARY_MAX and longest_suggestion <= hints.SUGGESTION_MAX
    assert longest_question <= FOLLOW_UP_MAX


# ---- the summary-only shape (the move library writes the rest) ---------------------------------------------------

SUMMARY_OPENING = SUMMARY_PREFIX.removeprefix('{"summary": "')


def summary_draft(rng: random.Random, tail: int, **extra) -> str:
    d = {"summary": f"{SUMMARY_OPENING} {words(rng, tail)}", "priority": rng.choice(["normal", "safety"]), **extra}
    return json.dumps({k: v for k, v in d.items() if v is not None}, ensure_ascii=False)


def test_summary_grammar_and_summary_draft_agree():
    grammar, after = gbnf_regex(summary_grammar()), gbnf_regex(summary_grammar(SUMMARY_PREFIX))
    most = hints.SUMMARY_ONLY_TAIL
    assert len(SUMMARY_OPENING) + 1 + most == SUMMARY_MAX  # the longest summary the grammar allows is the cap
    rng = random.Random(3)
    for _ in range(200):
        tail = rng.choice([8, most, rng.randint(8, most)])
        text = summary_draft(rng, tail)
        assert grammar.fullmatch(text) and after.fullmatch(text.removeprefix(SUMMARY_PREFIX)), text
        assert validates(SummaryDraft, text), text
        for broken in (summary_draft(rng, most + 1), summary_draft(rng, tail, priority="urgent"),
                       summary_draft(rng, tail, priority=None), summary_draft(rng, tail, note="a fine note")):
            assert grammar.fullmatch(broken) is None and not validates(SummaryDraft, broken), broken
        assert grammar.fullmatch(summary_draft(rng, 7)) is None  # the grammar's shortest tail (validator: looser)
