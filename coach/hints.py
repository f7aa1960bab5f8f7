"""Hints: the structured output, the IFS prompt, conversation memory, and when a hint is due."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from coach import safety
from coach.errors import ModelOutputError
from coach.llm import ChatModel, Generation

SUMMARY_MAX = 120
SUGGESTION_MAX = 120
FOLLOW_UP_MAX = 80
SUGGESTION_OPENINGS = ("Invite them to", "Ask", "Reflect", "Slow down and", "Gently", "Stay with", "Notice")
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

    summary: str = Field(max_length=SUMMARY_MAX, description="Reflects and validates what the partner said.")
    suggestion: str = Field(max_length=max(SUGGESTION_MAX, len(safety.SAFETY_SUGGESTION)), description="One move for the facilitator.")
    follow_ups: list[str] = Field(min_length=2, max_length=2, description="Two gentle invitations, as questions.")
    reminder: str | None = Field(None, description="Peer-support reminder on the first hints of a session.")
    priority: Literal["normal", "safety"] = "normal"


def draft_schema() -> dict:
    """JSON schema for the grammar. Written by hand (not from pydantic) so that every string is bounded (the grammar
    then caps the output: a hint is never cut off by the token limit) and so that each field starts the way good
    peer support does. The openings steer even a very small model toward reflecting, inviting and asking."""
    text = '[^"\\\\\\n]'
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "pattern": "^It sounds like %s{8,%d}$" % (text, SUMMARY_MAX - 15)},
            "suggestion": {"type": "string", "pattern": "^(%s) %s{8,%d}$" % ("|".join(SUGGESTION_OPENINGS), text, SUGGESTION_MAX - 20)},
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
        "summary": "It sounds like when your boss criticizes you, one part wants to quit and another says you deserve it.",
        "suggestion": "Slow down and invite them to notice both parts without taking sides.",
        "follow_ups": ["How do you feel toward the part that wants to quit?", "What does the critical part fear would happen?"],
        "priority": "normal",
    }
)


def user_message(partner_text: str) -> str:
    return f'Partner said: "{partner_text.strip()}"'


@dataclass
class Conversation:
    """What the model remembers: the partner's earlier words, oldest first. Earlier hints are left out on purpose:
    small models copy their previous answers instead of listening to the new turn."""

    turns: list[str] = field(default_factory=list)

    def messages(self, partner_text: str) -> list[dict]:
        msgs = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": EXAMPLE_USER},
            {"role": "assistant", "content": EXAMPLE_ASSISTANT},
        ]
        msgs += [{"role": "user", "content": f'Earlier the partner said: "{said}"'} for said in self.turns]
        msgs.append({"role": "user", "content": user_message(partner_text)})
        return msgs

    def fit(self, count_tokens: Callable[[str], int], budget: int) -> None:
        """Forget the oldest half of the turns while the prompt exceeds `budget` tokens. Halving (rather than
        dropping one at a time) keeps the prompt prefix stable for longer, so llama.cpp's KV cache stays useful."""
        while self.turns:
            total = sum(count_tokens(m["content"]) + 8 for m in self.messages(""))
            if total <= budget:
                return
            self.turns = self.turns[len(self.turns) // 2 + 1 :] if len(self.turns) > 1 else []


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


def parse_draft(text: str) -> HintDraft:
    try:
        return HintDraft.model_validate_json(text)
    except ValidationError as e:
        raise ModelOutputError(f"the model's hint did not validate ({e.error_count()} errors)") from e


def finalize(draft: HintDraft, partner_text: str, index: int, reminder_hints: int = 3) -> Hint:
    """Apply the safety rule and the reminder policy to what the model wrote."""
    is_safety = safety.is_safety(partner_text, draft.priority == "safety")
    return Hint(
        summary=tidy(draft.summary),
        suggestion=safety.SAFETY_SUGGESTION if is_safety else tidy(draft.suggestion),
        follow_ups=list(safety.SAFETY_FOLLOW_UPS) if is_safety else draft.follow_ups,
        reminder=REMINDERS[index % len(REMINDERS)] if index < reminder_hints else None,
        priority="safety" if is_safety else "normal",
    )


class HintWriter:
    """Turns partner speech into hints with one chat model. Owned by the LLM worker thread."""

    def __init__(self, model: ChatModel, *, context_tokens: int = 4096, reminder_hints: int = 3):
        self.model = model
        self.conversation = Conversation()
        self.hints_written = 0
        self._budget = context_tokens - MAX_HINT_TOKENS - 64
        self._reminder_hints = reminder_hints
        self._schema = draft_schema()

    def write(
        self,
        partner_text: str,
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> HintResult:
        self.conversation.fit(self.model.count_tokens, self._budget)
        gen = self.model.chat(
            self.conversation.messages(partner_text),
            schema=self._schema,
            max_tokens=MAX_HINT_TOKENS,
            on_text=on_text,
            should_stop=should_stop,
        )
        if gen.finish_reason == "length":
            raise ModelOutputError("the model's hint was cut off by the token limit")
        draft = parse_draft(gen.text)
        hint = finalize(draft, partner_text, self.hints_written, self._reminder_hints)
        self.conversation.turns.append(partner_text)
        self.hints_written += 1
        return HintResult(hint, gen)


@dataclass
class PendingTurns:
    """Turns heard since the last hint started. Pure logic, no clock of its own."""

    min_words: int = 5
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

