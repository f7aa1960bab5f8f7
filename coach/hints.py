"""Hints: the structured output, the IFS prompt, conversation memory, and when a hint is due."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from coach import alerts, safety
from coach.config import default
from coach.errors import ModelOutputError
from coach.llm import ChatModel, Generation
from coach.move_choice import MoveChooser, MovePlan, MoveState, record
from coach.summary import SUMMARY_MAX as REFLECTION_MAX
from coach.summary import grounded_summary, rule_summary

# Read at a glance during a conversation, and each character is time: about 20 tokens per field at most.
SUMMARY_MAX = 100
SUGGESTION_MAX = 90
FOLLOW_UP_MAX = 64
SUGGESTION_OPENINGS = ("Invite them to", "Ask", "Reflect", "Slow down and", "Gently", "Stay with", "Notice")
SUMMARY_TAIL = SUMMARY_MAX - 15  # characters the grammar allows after the summary's opening
SUGGESTION_TAIL = SUGGESTION_MAX - 20
QUESTION_OPENINGS = ("What", "How", "Where", "Would you", "Could you", "Can you", "When")


class HintDraft(BaseModel):
    """What the LLM writes. Field order is generation order: the summary comes first so it can be shown first."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=8, max_length=SUMMARY_MAX)
    suggestion: str = Field(min_length=8, max_length=SUGGESTION_MAX)
    follow_ups: list[str] = Field(min_length=2, max_length=2)
    priority: Literal["normal", "safety"]

    @field_validator("follow_ups")
    @classmethod
    def _questions(cls, v: list[str]) -> list[str]:
        for q in v:
            if not q.strip().endswith("?") or len(q) > FOLLOW_UP_MAX:
                raise ValueError("each follow-up is one short question ending with '?'")
        return [q.strip() for q in v]


class Hint(BaseModel):
    """What the facilitator sees."""

    summary: str = Field(max_length=REFLECTION_MAX, description="Reflects and validates what the partner said.")
    suggestion: str = Field(max_length=max(SUGGESTION_MAX, alerts.ALERT_MAX), description="One move for the facilitator.")
    follow_ups: list[str] = Field(min_length=2, max_length=2, description="Two gentle invitations, as questions.")
    reminder: str | None = Field(None, description="Peer-support reminder on the first hints of a session.")
    priority: Literal["normal", "safety"] = "normal"
    alert: Literal["urgent", "check_in"] | None = Field(
        None, description="A safety hint's grade: urgent (clear danger) or check_in (a sign to ask about gently).")
    heard: str | None = Field(None, max_length=safety.HEARD_MAX + 2,
                              description="A safety hint: the partner's words that raised it.")


def draft_schema() -> dict:
    """JSON schema for the grammar. Written by hand (not from pydantic) so that every string is bounded (the grammar
    then caps the output: a hint is never cut off by the token limit) and so that each field starts the way good
    peer support does. The openings steer even a very small model toward reflecting, inviting and asking."""
    text = '[^"\\\\\\n]'
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "pattern": "^It sounds like %s{8,%d}$" % (text, SUMMARY_TAIL)},
            "suggestion": {"type": "string", "pattern": "^(%s) %s{8,%d}$" % ("|".join(SUGGESTION_OPENINGS), text, SUGGESTION_TAIL)},
            "follow_ups": {
                "type": "array",
                "items": {"type": "string", "pattern": "^(%s) [^\"\\\\\\n?]{6,%d}[?]$" % ("|".join(QUESTION_OPENINGS), FOLLOW_UP_MAX - 12)},
                "minItems": 2,
                "maxItems": 2,
            },
            "priority": {"enum": ["normal", "safety"]},
        },
        "required": ["summary", "suggestion", "follow_ups", "priority"],
        "additionalProperties": False,
    }


# No trailing space: the model's next token is " word", as in the example; a prompt ending in a space would push it
# toward rare space-less tokens that the grammar then rejects one by one (slow, and worse text).
REPLY_PREFIX = '{"summary": "It sounds like'


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def draft_grammar(reply_prefix: str = "") -> str:
    """GBNF for a hint draft with the bounds and openings of draft_schema(), for the text that follows
    `reply_prefix` (a head of REPLY_PREFIX that the prompt supplies, so the model does not spend tokens on it).
    Whitespace between JSON tokens is optional, as in llama.cpp's own JSON grammars: forcing one spelling makes the
    model's natural next token illegal, and every rejected token costs a pass of the grammar over the vocabulary."""
    if not REPLY_PREFIX.startswith(reply_prefix):
        raise ValueError("reply_prefix must be a head of REPLY_PREFIX")
    alts = lambda words: " | ".join(_literal(w) for w in words)  # noqa: E731
    key = lambda name: f'"," space {_literal(chr(34) + name + chr(34))} space ":" space'  # noqa: E731
    head = 'object-open space "\\"summary\\"" space ":" space "\\"It sounds like"'
    if reply_prefix:
        head = ""  # the whole fixed head is in the prompt (REPLY_PREFIX is only ever given whole)
    if reply_prefix and reply_prefix != REPLY_PREFIX:
        raise ValueError("give REPLY_PREFIX whole, or nothing")
    return "\n".join(
        [
            f'root ::= {head} summary "\\"" space {key("suggestion")} "\\"" suggestion "\\"" space '
            f'{key("follow_ups")} "[" space question "," space question "]" space '
            f'{key("priority")} ("\\"normal\\"" | "\\"safety\\"") space "}}"',
            'object-open ::= "{"',
            'space ::= " "?',
            f'summary ::= " " ch{{8,{SUMMARY_TAIL}}}',
            f'suggestion ::= ({alts(SUGGESTION_OPENINGS)}) " " ch{{8,{SUGGESTION_TAIL}}}',
            f'question ::= "\\"" ({alts(QUESTION_OPENINGS)}) " " qch{{6,{FOLLOW_UP_MAX - 12}}} "?\\"" space',
            'ch ::= [^"\\\\\\n]',
            'qch ::= [^"\\\\\\n?]',
        ]
    )


# The prompt's size, earlier turns included. A hint answers the newest turn; a longer memory made each hint slower
# as a session went on (prompt evaluation and attention grow with it) without making it better.
PROMPT_BUDGET = 1536

# Enough for the longest output the grammar allows, in tokens, with room for JSON punctuation.
MAX_HINT_TOKENS = 384

REMINDERS = (
    "You are a peer, not a therapist: offer presence and curiosity, not diagnosis or advice.",
    "Let your partner lead and set the pace; pausing or stopping is always fine.",
    "Notice your own parts: if one wants to fix or rescue, thank it and return to curiosity.",
)

SYSTEM_PROMPT = """\
You support a peer facilitator in an Internal Family Systems (IFS) style peer-support session. You read what \
the partner just said and write one short hint for the facilitator's screen.

IFS practice to follow:
- Use parts language: "a part of you feels...", never "you are...".
- Curiosity before fixing: invite the partner to notice, not to solve.
- Help unblending: invite the partner to get a little space from a part and notice how they feel toward it.
- The 6 F's with a protector: find it, focus on it, flesh it out, feel toward it, befriend it, learn its fears.
- Self-energy shows as the 8 C's: calm, curiosity, compassion, clarity, confidence, courage, creativity, connectedness.
- No diagnosis, no labels, no clinical or medical advice. Peer support only.
- If the partner speaks of self-harm, suicide, abuse or danger, set priority to "safety".

Write JSON with:
- summary: one sentence that reflects and validates what the partner said, using their own words.
- suggestion: one concrete, gentle move for the facilitator.
- follow_ups: two short, open questions the facilitator could ask.
- priority: "normal" or "safety".
Keep every field short."""

EXAMPLE_USER = 'Partner said: "Whenever my boss criticizes me, a part of me just wants to quit, and another part says I deserve it."'
EXAMPLE_ASSISTANT = json.dumps(
    {
        "summary": "It sounds like when your boss criticizes you, a part of you just wants to quit.",
        "suggestion": "Slow down and invite them to notice both parts without taking sides.",
        "follow_ups": ["How do you feel toward the part that wants to quit?", "What does the critical part fear would happen?"],
        "priority": "normal",
    }
)


def user_message(partner_text: str) -> str:
    return f'Partner said: "{partner_text.strip()}"'


# With a move chooser (coach/move_choice.py) the LLM writes only the summary: the suggestion and follow-ups come
# from the reviewed move library, which the 135M model could not match (measured by `coach bench --quality`), and a
# third of the tokens is a hint about twice as fast. The opening "a part of you" is given, not generated: it keeps
# even a tiny model in parts language and speaking to the partner.
SUMMARY_PREFIX = '{"summary": "It sounds like'
SUMMARY_ONLY_TAIL = SUMMARY_MAX - len("It sounds like") - 1
SUMMARY_SYSTEM_PROMPT = """\
You support a peer facilitator in an Internal Family Systems (IFS) style peer-support session. Read what the \
partner just said and reflect it back in one short sentence the facilitator can say to them.

- Speak to the partner as "you". Say "a part of you" only if the partner spoke of a part of them.
- Use the partner's own words, keeping who did what. Add nothing they did not say.
- Never repeat an insult or a harsh judgement of themselves as if it were true.
- No advice, no diagnosis, no labels.
- If the partner speaks of self-harm, suicide, abuse or danger, set priority to "safety".

Write JSON with summary (one sentence) and priority ("normal" or "safety")."""
SUMMARY_EXAMPLES = (
    (EXAMPLE_USER, json.dumps({"summary": "It sounds like a part of you wants to quit when your boss criticizes you, "
                                          "and another blames you.", "priority": "normal"})),
    ('Partner said: "My sister never calls me back, and I keep checking my phone all evening."',
     json.dumps({"summary": "It sounds like you keep checking your phone, waiting for your sister to call.",
                 "priority": "normal"})),
)


def summary_grammar(reply_prefix: str = "") -> str:
    """GBNF for {"summary": "It sounds like ...", "priority": ...}, for the text after `reply_prefix`
    (SUMMARY_PREFIX whole, or nothing)."""
    if reply_prefix not in ("", SUMMARY_PREFIX):
        raise ValueError("give SUMMARY_PREFIX whole, or nothing")
    head = "" if reply_prefix else 'object-open space "\\"summary\\"" space ":" space "\\"It sounds like"'
    return "\n".join(
        [
            f'root ::= {head} summary "\\"" space "," space "\\"priority\\"" space ":" space '
            '("\\"normal\\"" | "\\"safety\\"") space "}"',
            'object-open ::= "{"',
            'space ::= " "?',
            f'summary ::= " " ch{{8,{SUMMARY_ONLY_TAIL}}}',
            'ch ::= [^"\\\\\\n]',
        ]
    )


class SummaryDraft(BaseModel):
    """What the LLM writes when the move library gives the rest."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=8, max_length=SUMMARY_MAX)
    priority: Literal["normal", "safety"]


@dataclass
class Conversation:
    """What the model remembers: the partner's earlier words, oldest first. Earlier hints are left out on purpose:
    small models copy their previous answers instead of listening to the new turn."""

    turns: list[str] = field(default_factory=list)
    system: str = SYSTEM_PROMPT
    examples: tuple[tuple[str, str], ...] = ((EXAMPLE_USER, EXAMPLE_ASSISTANT),)  # (user, assistant) pairs
    memory_turns: int | None = None  # earlier turns kept at most (None: as many as the budget allows)

    def messages(self, partner_text: str) -> list[dict]:
        msgs = [{"role": "system", "content": self.system}]
        for user, assistant in self.examples:
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        msgs += [{"role": "user", "content": f'Earlier the partner said: "{said}"'} for said in self.turns]
        msgs.append({"role": "user", "content": user_message(partner_text)})
        return msgs

    def fit(self, count_tokens: Callable[[str], int], budget: int, partner_text: str = "") -> str:
        """Make the prompt for `partner_text` fit in `budget` tokens; returns the partner text to use.

        Forgets the oldest half of the earlier turns at a time: halving (rather than dropping one at a time) keeps
        the prompt prefix stable for longer, so llama.cpp's KV cache stays useful. If the new text alone is still
        too long (a monologue), only its most recent words are kept: those are what the hint should answer."""

        def total(text: str) -> int:
            return sum(count_tokens(m["content"]) + 8 for m in self.messages(text))

        if self.memory_turns is not None:
            self.turns = self.turns[len(self.turns) - self.memory_turns :] if self.memory_turns else []

        while self.turns and total(partner_text) > budget:
            self.turns = self.turns[len(self.turns) // 2 :] if len(self.turns) > 1 else []
        words = partner_text.split()
        while len(words) > 8 and total(" ".join(words)) > budget:
            words = words[len(words) // 4 :]
        return " ".join(words) if len(words) != len(partner_text.split()) else partner_text


def tidy(text: str) -> str:
    """End a field that the length cap cut short at a sentence or word boundary."""
    text = " ".join(text.split())
    if not text or text[-1] in ".!?":
        return text
    cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
    if cut >= len(text) * 0.6:
        return text[: cut + 1]
    head = text.rsplit(" ", 1)[0] if " " in text else text
    return head.rstrip(",;:-") + "…"


@dataclass(frozen=True)
class HintResult:
    hint: Hint
    generation: Generation
    move: str | None = None  # the IFS move the suggestion and follow-ups come from (with a move chooser)
    summary_problems: tuple[str, ...] = ()  # why the LLM's summary was replaced by one from the partner's words


def parse_draft(text: str) -> HintDraft:
    try:
        return HintDraft.model_validate_json(text)
    except ValidationError as e:
        raise ModelOutputError(f"the model's hint did not validate ({e.error_count()} errors)") from e


def _hit_cap(text: str, openings: tuple[str, ...], tail_max: int) -> bool:
    """Whether the grammar's length cap (not the model) ended this field."""
    for opening in openings:
        if text.startswith(opening + " "):
            return len(text) - len(opening) - 1 >= tail_max
    return len(text) >= tail_max


def _finish(text: str, openings: tuple[str, ...], tail_max: int) -> str:
    return tidy(text) if _hit_cap(text, openings, tail_max) else " ".join(text.split())


def reminder_for(index: int, reminder_hints: int) -> str | None:
    """The peer-support reminder on the first `reminder_hints` hints of a session, in turn."""
    return REMINDERS[index % len(REMINDERS)] if index < reminder_hints else None


def finalize(draft: HintDraft, partner_text: str, index: int, reminder_hints: int = default("reminder_hints"),
             verdict: safety.SafetyVerdict | None = None) -> Hint:
    """Apply the safety rule and the reminder policy to what the model wrote. A safety hint keeps none of the model's
    words: an alert's reflection is never free LLM text (it may have misheard or invented the very thing that matters)."""
    level = safety.alert_level(partner_text, draft.priority == "safety", verdict)
    reminder = reminder_for(index, reminder_hints)
    if level is not None:
        return alert_hint(level, verdict, partner_text, reminder)
    return Hint(
        summary=_finish(draft.summary, ("It sounds like",), SUMMARY_TAIL),
        suggestion=_finish(draft.suggestion, SUGGESTION_OPENINGS, SUGGESTION_TAIL),
        follow_ups=draft.follow_ups,
        reminder=reminder,
    )


def alert_hint(level: safety.Level, verdict: safety.SafetyVerdict | None, partner_text: str,
               reminder: str | None = None) -> Hint:
    """A safety hint of this grade in reviewed words, with the partner's words that raised it."""
    category = verdict.category if verdict is not None and verdict.risk else None
    heard = verdict.heard if verdict is not None and verdict.risk and verdict.heard else safety.heard_phrase(partner_text)
    by_meaning = verdict is not None and verdict.risk and verdict.source in ("meaning", "alternative meaning")
    words = alerts.alert_words(level, category, by_meaning)
    return Hint(summary=words.summary, suggestion=words.suggestion, follow_ups=list(words.follow_ups), reminder=reminder,
                priority="safety", alert=level, heard=heard or None)


def safety_hint(verdict: safety.SafetyVerdict) -> Hint:
    """What the facilitator sees the moment the safety check fires, before the LLM has written anything."""
    return alert_hint(verdict.level or safety.URGENT, verdict, verdict.heard)


_FIELD = re.compile(r'"(summary|suggestion)"\s*:\s*"([^"]*)(")?')
_QUESTION = re.compile(r'"([^"]*)"')


class DraftStream:
    """Reads the hint draft as the model writes it and says what the facilitator can be shown so far: the
    summary word by word, then each later field once it is complete. The grammar guarantees the layout (no escapes
    inside strings), so a small scanner is enough."""

    def __init__(self, prefix: str = ""):
        self.text = prefix
        self._shown: dict | None = None

    def feed(self, piece: str) -> dict | None:
        """Add generated text; returns the visible fields when they changed, else None."""
        self.text += piece
        visible = self.visible()
        if visible == self._shown or not visible.get("summary"):
            return None
        self._shown = visible
        return visible

    def visible(self) -> dict:
        fields: dict = {}
        for m in _FIELD.finditer(self.text):
            name, value, closed = m.group(1), m.group(2), m.group(3)
            if closed:
                fields[name] = value
            elif name == "summary":  # still being written: whole words only, and only past the fixed opening
                words = value.rsplit(" ", 1)[0] if " " in value else ""
                if len(words) > len("It sounds like"):
                    fields["summary"] = words + " …"
        found = re.search(r'"follow_ups"\s*:\s*\[', self.text)
        tail = self.text[found.end() :] if found else ""
        questions = [q for q in _QUESTION.findall(tail.split("]", 1)[0]) if q] if found else []
        if questions:
            fields["follow_ups"] = questions
        return fields


class HintCancelled(Exception):
    """The pipeline stopped the hint (the partner went on speaking): not a failure."""


class HintWriter:
    """Turns partner speech into hints with one chat model. Owned by the LLM worker thread.

    With `moves` (a MoveChooser over the sentence embedder) the hint is combined: the LLM writes only the summary,
    which is checked and, when it will not do, rebuilt from the partner's words (coach/summary.py); the suggestion
    and follow-ups come from the IFS move chosen for this turn (coach/move_choice.py). Without it, the LLM writes
    the whole hint, as before."""

    def __init__(self, model: ChatModel, *, context_tokens: int = default("llm_context"),
                 reminder_hints: int = default("reminder_hints"),
                 prefill_opening: bool = True, moves: MoveChooser | None = None):
        self.model = model
        self.moves = moves
        # The JSON's fixed opening, up to the summary's first words, goes into the prompt: the first generated token
        # is already content (the baseline generates it all).
        if moves is None:
            self.reply_prefix = REPLY_PREFIX if prefill_opening else ""
            self._grammar = draft_grammar(self.reply_prefix)
            self.conversation = Conversation()
        else:
            self.reply_prefix = SUMMARY_PREFIX if prefill_opening else ""
            self._grammar = summary_grammar(self.reply_prefix)
            # The summary reflects this turn only: earlier turns in the prompt made no summary better and every
            # hint slower as a session went on. 143 hints on voiced counseling-dev turns, all earlier turns vs none:
            # grounding 0.515 vs 0.518 (cosine), 0.665 vs 0.678 (shared words), summaries rebuilt 43% vs 29%, LLM
            # 1.16 s vs 0.87 s a hint; and without them the prompt is the same fixed, cached head every time.
            self.conversation = Conversation(system=SUMMARY_SYSTEM_PROMPT, examples=SUMMARY_EXAMPLES, memory_turns=0)
        self.move_state = MoveState()
        self.summaries: list[str] = []  # this session's, to never say the same sentence twice
        self.hints_written = 0
        self._budget = min(context_tokens - MAX_HINT_TOKENS - 16, PROMPT_BUDGET)
        self._reminder_hints = reminder_hints

    @property
    def example_fields(self) -> list[str]:
        """Every field of the prompt's example answers: a hint that copies one is an echo, not a reply."""
        out: list[str] = []
        for _, answer in self.conversation.examples:
            fields = json.loads(answer)
            out += [fields["summary"]] + ([fields["suggestion"], *fields["follow_ups"]] if "suggestion" in fields else [])
        return out

    def write(
        self,
        partner_text: str,
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        verdict: safety.SafetyVerdict | None = None,
        on_fields: Callable[[dict], None] | None = None,
    ) -> HintResult:
        """`on_fields` gets the move's suggestion and follow-ups (with a move chooser) before the LLM starts: they
        need no LLM, so the facilitator reads the move while the summary is still being written; with them the
        reflection when one is built from the partner's words, and then the LLM is not called at all. Never for a turn
        with any sign of risk: there the safety words come instead, and a normal move shown first would mislead."""
        plan, built = None, None
        if self.moves is not None:
            plan = self.moves.plan(partner_text, self.move_state)
            # Shown early only if this turn cannot become a safety hint, whatever the LLM says of it.
            if not safety.is_safety(partner_text, model_says_safety=True, verdict=verdict):
                # a reflection from the partner's own words needs no LLM: the whole hint is ready at once
                built = rule_summary(partner_text, self.summaries)
                if on_fields is not None:
                    early = {"suggestion": plan.suggestion, "follow_ups": list(plan.follow_ups)}
                    on_fields(early | ({"summary": built} if built else {}))
        heard = self.conversation.fit(self.model.count_tokens, self._budget, partner_text)
        if built is not None:
            assert plan is not None
            result = HintResult(self._move_hint(built, plan, partner_text, verdict, False), SKIPPED, plan.move)
        else:
            gen = self.model.chat(self.conversation.messages(heard), grammar=self._grammar, max_tokens=MAX_HINT_TOKENS,
                                  reply_prefix=self.reply_prefix, on_text=on_text, should_stop=should_stop)
            if gen.finish_reason == "length":
                raise ModelOutputError("the model's hint was cut off by the token limit")
            if gen.finish_reason == "cancelled":
                raise HintCancelled("the hint was cancelled")
            if self.moves is None:
                draft = parse_draft(self.reply_prefix + gen.text)
                result = HintResult(finalize(draft, partner_text, self.hints_written, self._reminder_hints, verdict), gen)
            else:
                result = self._combine(partner_text, gen, verdict, plan)
        if result.hint.priority != "safety" and plan is not None:  # a safety hint shows the safety words only
            record(self.move_state, plan)
        self.conversation.turns.append(heard)
        self.summaries.append(result.hint.summary)
        self.hints_written += 1
        return result

    def _move_hint(self, summary: str, plan: MovePlan, partner_text: str, verdict: safety.SafetyVerdict | None,
                   model_says_safety: bool) -> Hint:
        """A reflection with the chosen move's suggestion and follow-ups; the safety rule and reminders as for any
        hint (a safety hint keeps none of these words)."""
        reminder = reminder_for(self.hints_written, self._reminder_hints)
        level = safety.alert_level(partner_text, model_says_safety, verdict)
        if level is not None:
            return alert_hint(level, verdict, partner_text, reminder)
        return Hint(summary=summary, suggestion=plan.suggestion, follow_ups=list(plan.follow_ups), reminder=reminder)

    def _combine(self, partner_text: str, gen: Generation, verdict: safety.SafetyVerdict | None,
                 plan: MovePlan) -> HintResult:
        """The LLM's summary (checked, or rebuilt from the partner's words) with the chosen move's suggestion and
        follow-ups."""
        assert self.moves is not None
        try:
            written = SummaryDraft.model_validate_json(self.reply_prefix + gen.text)
        except ValidationError as e:
            raise ModelOutputError(f"the model's summary did not validate ({e.error_count()} errors)") from e
        summary, problems = grounded_summary(written.summary, partner_text, self.summaries,
                                             [json.loads(a)["summary"] for _, a in self.conversation.examples])
        hint = self._move_hint(summary, plan, partner_text, verdict, written.priority == "safety")
        return HintResult(hint, gen, plan.move, tuple(problems))


# No LLM call: the hint was made from the partner's words and the move library alone.
SKIPPED = Generation(text="", finish_reason="skipped", prompt_tokens=0, completion_tokens=0, first_token_s=None,
                     total_s=0.0)


@dataclass
class PendingTurns:
    """Turns heard since the last hint started. Pure logic, no clock of its own."""

    min_words: int = default("hint_min_words")
    turns: list[tuple[int, str, float]] = field(default_factory=list)  # (turn id, text, end of speech)

    def add(self, turn_id: int, text: str, t_end: float) -> None:
        if text.strip():
            self.turns.append((turn_id, text.strip(), t_end))

    @property
    def text(self) -> str:
        return " ".join(t for _, t, _ in self.turns)

    def enough(self) -> bool:
        text = self.text
        return len(text.split()) >= self.min_words or safety.clear_risk(text)

    def take(self) -> tuple[tuple[int, ...], str, float]:
        """All pending turns as one batch: (turn ids, text, end of the last speech)."""
        ids, text, t_end = tuple(i for i, _, _ in self.turns), self.text, self.turns[-1][2]
        self.turns.clear()
        return ids, text, t_end

    def give_back(self, taken: list[tuple[int, str, float]], except_turn: int) -> None:
        """A hint was called off: its turns wait again (all but `except_turn`, whose words were not final)."""
        self.turns[:0] = [item for item in taken if item[0] != except_turn]

    def remove(self, turn_id: int) -> None:
        self.turns = [item for item in self.turns if item[0] != turn_id]

