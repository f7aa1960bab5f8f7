"""What the facilitator is shown when the safety check fires: reviewed words only, never the LLM's.

Two grades look and read differently:
- urgent (a clear statement of danger): slow down, ask plainly whether they are safe, help them reach crisis support;
- check-in (a sign that may be risk): the words that raised it, and a gentle question about what the partner meant.
  A check-in never has the facilitator ask "are you safe right now?" out of the blue.
Each field is written for its reader: the summary and the questions are said to the partner (second person), the
suggestion is for the facilitator. Review: change a text here only with a test in tests/test_alerts.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.safety import CHECK_IN, URGENT, Level

# Said back to the partner: no guess at what the danger is (the category is the check's guess, not a fact).
URGENT_SUMMARY = "It sounds like you are carrying something very heavy right now."
CHECK_IN_SUMMARY = "It sounds like a lot is weighing on you right now."

URGENT_SUGGESTION = ("Slow down and stay with them. Gently ask if they are safe right now; if not, help them reach "
                     "local emergency or crisis support.")
URGENT_FOLLOW_UPS = ("Are you safe right now?", "Would it help to pause and breathe together for a moment?")

# For the facilitator, leading the urgent suggestion: what the check heard (a guess; the facilitator asks).
CATEGORY_LABELS = {
    "suicidal_ideation": "They may be thinking of ending their life.",
    "plan_or_preparation": "They may be preparing to end their life.",
    "self_harm": "They may be hurting themselves.",
    "abuse_or_violence": "Someone may be hurting them.",
    "threat_by_others": "Someone may be threatening them.",
    "danger_to_others": "Someone else may be in danger.",
    "child_at_risk": "A child may be in danger.",
}
ANY_DANGER = "They may be in danger."

CHECK_IN_SUGGESTION = ("Something they said may be a sign of risk. Stay with them and gently ask what they meant; "
                       "ask about safety if their answer worries you.")

# A gentle question first (what did they mean), then the direct one that fits what was heard: asking plainly about
# suicide or self-harm does not put the idea there, and it tells the partner they may speak of it.
_TELL_ME_MORE = "Could you say a bit more about what you meant just now?"
_CHECK_IN_FOLLOW_UPS = {
    "suicidal_ideation": (_TELL_ME_MORE,
                          "Sometimes when things feel this heavy, people think about not wanting to be here. "
                          "Has that been on your mind?"),
    "plan_or_preparation": (_TELL_ME_MORE,
                            "Sometimes when things feel this heavy, people think about ending their life. "
                            "Has that been on your mind?"),
    "self_harm": (_TELL_ME_MORE,
                  "Sometimes when things get this hard, people hurt themselves to cope. Has that been happening for you?"),
    "abuse_or_violence": ("Could you say a bit more about what happened?",
                          "How are things between you and them at the moment?"),
    "threat_by_others": ("Could you say a bit more about what happened?",
                         "How worried are you about what they might do?"),
    "danger_to_others": (_TELL_ME_MORE, "How strong do those feelings get, and what do you do when they come?"),
    "child_at_risk": ("Could you say a bit more about what happened?", "How are things for the child right now?"),
}
_ANY_CHECK_IN = (_TELL_ME_MORE, "How are you doing with all of this right now?")


@dataclass(frozen=True)
class AlertWords:
    summary: str
    suggestion: str
    follow_ups: tuple[str, str]


def alert_words(level: Level, category: str | None, by_meaning: bool = False) -> AlertWords:
    """The reviewed words of a safety hint of this grade, led by what the check heard. `by_meaning`: the check-in came
    from the meaning of a clause alone, the weakest sign (and the one that misfires on ordinary talk, e.g. on a
    misheard word): only the gentle questions then, the direct one waits for the partner's answer."""
    if level == URGENT:
        return AlertWords(URGENT_SUMMARY, f"{CATEGORY_LABELS.get(category or '', ANY_DANGER)} {URGENT_SUGGESTION}",
                          URGENT_FOLLOW_UPS)
    assert level == CHECK_IN, level
    questions = _ANY_CHECK_IN if by_meaning else _CHECK_IN_FOLLOW_UPS.get(category or "", _ANY_CHECK_IN)
    return AlertWords(CHECK_IN_SUMMARY, CHECK_IN_SUGGESTION, questions)


ALERT_MAX = max(len(ANY_DANGER), *map(len, CATEGORY_LABELS.values())) + 1 + max(len(URGENT_SUGGESTION),
                                                                              len(CHECK_IN_SUGGESTION))
