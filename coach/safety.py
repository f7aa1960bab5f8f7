"""Reviewed phrase lists for risk in what the partner says.

The list decides on its own for clear statements (tier 1). For softer, ambiguous phrases (tier 2) a safety hint
needs the list and the model to agree. The model alone never raises (or lowers) a safety hint.
Review: every pattern is a whole-word match on lower-cased text; add a test in tests/test_safety.py for each change.
"""

from __future__ import annotations

import re

_TIER1 = [
    r"suicid\w*",
    r"kill(?:ed|ing)? myself",
    r"end(?:s|ed|ing)? my (?:own )?life",
    r"end(?:s|ed|ing)? it all",
    r"take my (?:own )?life",
    r"(?:want|wants|wanted|wanting) to (?:die|be dead)",
    r"(?:i'?m|i am|am) going to die(?! of| laughing)",
    r"wish (?:i|i'd) (?:was|were|had been) dead",
    r"wish (?:i|i'd) (?:had )?never (?:been born|woken up)",
    r"better off dead",
    r"(?:don'?t|do not) want to (?:be alive|live|exist|wake up)",
    r"no reason to (?:live|go on)",
    r"(?:hurt|hurting|harm|harming|cut|cutting|burn|burning) myself",
    r"self[- ]?harm\w*",
    r"overdos\w*",
    r"(?:he|she|they|my [\w-]+(?: [\w-]+)?) (?:hits?|hit|beats?|beat|chokes?|choked|kicks?|kicked|hurts?|hurt) me",
    r"abus(?:e|ed|es|ing|ive)",
    r"rap(?:e|ed)",
    r"molest\w*",
    r"threaten\w* to (?:kill|hurt)",
    r"(?:not|(?:don'?t|do not|doesn'?t|does not|never) feel) safe (?:at home|with (?:him|her|them)|here|anymore)",
    r"in danger(?! of)",
    r"afraid (?:he|she|they)(?:'ll| will| might) (?:kill|hurt)",
]
_TIER2 = [
    r"hopeless\w*",
    r"no way out",
    r"can'?t go on",
    r"can'?t (?:take|do) (?:it|this) any ?more",
    r"(?:i'?m|i am|feel like) a burden",
    r"scared of (?:him|her|them)",
    r"trapped",
    r"nobody would (?:care|miss me|notice)",
    r"disappear forever",
    r"give up on everything",
    r"what'?s the point",
]


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


_T1 = _compile(_TIER1)
_T2 = _compile(_TIER2)


def _clean(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def clear_risk(text: str) -> bool:
    """A clear statement of self-harm, suicide, abuse or danger: always a safety hint."""
    return bool(_T1.search(_clean(text)))


def possible_risk(text: str) -> bool:
    """Softer signs: a safety hint only when the model flags it too."""
    return bool(_T2.search(_clean(text)))


def is_safety(text: str, model_says_safety: bool) -> bool:
    return clear_risk(text) or (model_says_safety and possible_risk(text))


SAFETY_SUGGESTION = (
    "Slow down and stay with them. Gently ask if they are safe right now; if not, help them reach "
    "local emergency or crisis support."
)
SAFETY_FOLLOW_UPS = (
    "Are you safe right now?",
    "Would it help to pause and breathe together for a moment?",
)
