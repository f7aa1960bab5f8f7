"""Words in a hint: who a field speaks to, which of the partner's words it reuses, and reviewed lists of what a
hint must never say (clinical labels, advice that pushes the partner to act). Pure text functions, no model: the
hint post-check (coach/summary.py) and the quality bench (coach/quality.py) apply the same rules.

Review: every list here is matched on whole, lower-cased words; add a test in tests/test_quality.py for a change.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-cased words, apostrophes straightened and kept inside a word ("i'm", "don't")."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


# ---- content words ---------------------------------------------------------------------------------------------

# Function words, fillers of speech, and the hint's own frame ("it sounds like a part of you"): what is left is what
# the partner talked about. "part" is the frame's word, not the partner's, unless they said it.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below between
    both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from
    further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most mustn't my myself no
    nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's
    should shouldn't so some such than that that's the their theirs them themselves then there there's these they
    they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've
    were weren't what what's when when's where where's which while who who's whom why why's will with won't would
    wouldn't you you'd you'll you're you've your yours yourself yourselves
    um uh oh yeah yes ok okay like really well hi hello thanks thank actually maybe kind sort lot lots thing things
    something anything everything get got gets getting go going gone know knew think thought say said mean im ive dont
    cant one ones way even still much many sounds sound part parts
    """.split()
)


def stem(word: str) -> str:
    """A light stemmer (enough to match "criticizes" with "criticized", "feeling" with "feels", "sadness" with
    "sad"): strips one common English ending, never below three letters, then a doubled consonant and a final e."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (("iness", "y"), ("ness", ""), ("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""),
                         ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word[:-2].endswith(("s", "x", "z", "ch", "sh")):
                suffix = "s"  # "criticizes" -> "criticize", but "fixes" -> "fix"
            word = word[: len(word) - len(suffix)] + keep
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # "stopp(ed)" -> "stop", "gett(ing)" -> "get"
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]  # "criticize" and "criticiz(ed)" meet
    return word


def content_words(text: str) -> list[str]:
    """Stems of the words that carry content, in order."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS and not w.isdigit()]


SUMMARY_FRAME = re.compile(r"^\s*it sounds like\s+(?:(?:a|one|some) part of (?:you|yourself)\s+)?", re.I)


def shared_content(summary: str, turn: str) -> float | None:
    """Share of the summary's content words (after its fixed frame) that the partner said: 1.0 is all their words.
    None when the summary has no content word at all."""
    said = set(content_words(turn))
    own = content_words(SUMMARY_FRAME.sub("", summary))
    return sum(w in said for w in own) / len(own) if own else None


# ---- who a field speaks to ---------------------------------------------------------------------------------------

FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "me", "my", "mine", "myself", "im", "ive"})
SECOND_PERSON = frozenset({"you", "you're", "you've", "you'd", "you'll", "your", "yours", "yourself"})
THIRD_PERSON_PLURAL = frozenset({"they", "they're", "they've", "they'd", "they'll", "them", "their", "theirs",
                                 "themselves", "themself"})
# The partner spoken of in the third person: right in a suggestion (to the facilitator), wrong anywhere the partner
# is spoken to. "your partner" is wrong everywhere: a partner may have a partner of their own, so the page never
# uses the word for the person in the session.
_PARTNER_AS_THIRD = re.compile(r"\b(?:your|the|my) partner'?s?\b|\bfacilitator\b|\bthe person\b|\bthis person\b")


def mentions_partner_role(text: str, turn: str = "") -> bool:
    """"your partner", "the partner", "the facilitator"... except "your partner" reflecting a partner who spoke of
    their own partner ("when my partner goes quiet")."""
    if not _PARTNER_AS_THIRD.search(text.lower()):
        return False
    if re.search(r"\bmy partner\b", turn.lower()):
        rest = re.sub(r"\byour partner'?s?\b", "", text.lower())
        return bool(_PARTNER_AS_THIRD.search(rest))
    return True


def summary_problems(summary: str, turn: str = "") -> list[str]:
    """Why a summary does not speak to the partner: it must say "you", never speak in the first person (the coach's
    "I'm glad", or the partner's own "I" copied unchanged), and never make the partner "they" or "your partner"."""
    w = set(words(summary))
    problems = []
    if mentions_partner_role(summary, turn):
        problems.append("partner in the third person")
    if not w & SECOND_PERSON:
        problems.append("does not speak to the partner")
    if w & FIRST_PERSON:
        problems.append("first person")
    if re.match(r"\s*it sounds like (?:they|them|their|they're)\b", summary, re.I):
        problems.append("partner in the third person")
    return list(dict.fromkeys(problems))


# Imperatives that start a move for the facilitator (the grammar's openings, and the move library's).
FACILITATOR_OPENINGS = ("invite", "ask", "reflect", "slow down", "gently", "stay", "notice", "help", "get curious", "affirm",
                        "check", "let", "offer", "respect", "name", "pause", "keep", "be ", "give", "thank", "try",
                        "acknowledge", "make room", "follow", "wonder")


def suggestion_problems(suggestion: str) -> list[str]:
    """A suggestion is said to the facilitator: an imperative about "them", with none of the partner's first person
    and no "you" meant for the partner ("Invite them to talk about what makes you who you are" mixes them up);
    "your own" (the facilitator's own parts) is the one "your" that belongs there."""
    low = suggestion.lower().strip()
    w = set(words(re.sub(r"\byour own\b", "", low)))
    problems = []
    if not low.startswith(FACILITATOR_OPENINGS):
        problems.append("not a move for the facilitator")
    if w & FIRST_PERSON:
        problems.append("first person")
    if w & SECOND_PERSON:
        problems.append("speaks to the partner")
    if re.search(r"\b(?:your|the) partner\b|\bfacilitator\b", low):
        problems.append("names a role")
    return problems


_QUESTION_START = re.compile(
    r"^(?:what|how|where|when|which|who|why|is|are|do|does|did|can|could|would|will|if|as|might|may|has|have)\b", re.I
)


def follow_up_problems(question: str, turn: str = "") -> list[str]:
    """A follow-up is read out to the partner as it is: a question, never in the partner's first person, never about
    "your partner", and never asking about "they" when it means the partner ("How do they feel toward it?")."""
    w = set(words(question))
    problems = []
    if not question.strip().endswith("?") or not _QUESTION_START.match(question.strip()):
        problems.append("not a question")
    if mentions_partner_role(question, turn):
        problems.append("partner in the third person")
    if w & FIRST_PERSON:
        problems.append("first person")
    if _ASKS_ABOUT_THEM.match(question.strip()) and not w & SECOND_PERSON:
        problems.append("partner in the third person")
    return list(dict.fromkeys(problems))


_ASKS_ABOUT_THEM = re.compile(r"^(?:\w+ )?(?:do|does|did|are|is|were|would|could|can|will|might) (?:they|them)\b", re.I)


# ---- pronouns ------------------------------------------------------------------------------------------------

_TO_SECOND = {"i": "you", "i'm": "you're", "im": "you're", "i've": "you've", "ive": "you've", "i'd": "you'd",
              "i'll": "you'll", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are"}
_TO_THIRD = {"i": "they", "i'm": "they're", "im": "they're", "i've": "they've", "ive": "they've", "i'd": "they'd",
             "i'll": "they'll", "me": "them", "my": "their", "mine": "theirs", "myself": "themselves", "am": "are"}
_PRONOUN = re.compile(r"\b(i'm|im|i've|ive|i'd|i'll|i am|i was|was i|am i|i|me|my|mine|myself)\b", re.I)


def _turn_person(text: str, table: dict, subject: str) -> str:
    def swap(m: re.Match) -> str:
        word = m.group(1).lower().replace("\u2019", "'")
        if word == "i am":
            return f"{subject} are"
        if word == "i was":
            return f"{subject} were"
        if word in ("was i", "am i"):
            return f"{'were' if word == 'was i' else 'are'} {subject}"
        return table[word]

    return _PRONOUN.sub(swap, text.replace("\u2019", "'"))


def to_second_person(text: str) -> str:
    """The partner's words said back to them: I -> you, my -> your, me -> you, I'm -> you're, myself -> yourself."""
    # "I again was" (an adverb between): "you again were", not "you again was"
    return re.sub(r"\byou ((?:\w+ ){1,2})was\b", r"you \1were", _turn_person(text, _TO_SECOND, "you"))


def to_third_person(text: str) -> str:
    """The partner's words in a note to the facilitator: I -> they, my -> their, me -> them, myself -> themselves."""
    return _turn_person(text, _TO_THIRD, "they")


# ---- what a hint must never say ----------------------------------------------------------------------------------

# Diagnoses and clinical labels: a peer names parts and feelings, never a condition. Feeling words a partner uses
# of themselves ("depressed", "anxious", "stressed") are not labels; the condition's name ("depression") is.
CLINICAL_LABELS = (
    r"depression", r"clinical(?:ly)?", r"disorders?", r"diagnos\w*", r"ptsd", r"c-?ptsd", r"bipolar", r"manic",
    r"mania", r"narcissis\w*", r"borderline", r"bpd", r"adhd", r"ocd", r"obsessive[- ]compulsive",
    r"schizo\w*", r"psychotic", r"psychosis", r"paranoi[ad]\w*", r"sociopath\w*", r"psychopath\w*",
    r"trauma (?:response|bond\w*)", r"traumatized", r"codependen\w*", r"dissociative", r"dissociation",
    r"mental (?:illness|disorder|health condition)", r"mentally ill", r"personality disorder", r"anorexi\w*",
    r"bulimi\w*", r"addiction", r"addicts?", r"alcoholi[cs]\w*", r"autis\w*", r"anxiety disorder", r"phobi(?:a|as|c)",
    r"symptoms?", r"patholog\w*", r"syndrome", r"neurotic", r"psychiatr\w*", r"insomnia", r"hypochondri\w*",
    r"attachment (?:style|disorder)", r"avoidant",
)
_CLINICAL = re.compile(r"\b(?:" + "|".join(CLINICAL_LABELS) + r")\b")


def clinical_labels(text: str) -> list[str]:
    """The clinical labels and diagnoses in `text`."""
    return _CLINICAL.findall(" ".join(words(text)))


# Words never handed back to the partner as a fact about them: a verdict they pass on themselves ("I'm so stupid", "I'm
# not gonna make a decent mom"), an insult (theirs or someone's about them), and violence, which speech to text also
# mishears ("you killed" from "you kill time"). Reviewed; a reflection of the feeling behind a self-attack comes
# from coach/summary.py (HARD_ON_YOURSELF) instead.
_INSULTS = (r"stupid", r"idiots?", r"idiotic", r"dumb", r"morons?", r"losers?", r"useless", r"worthless", r"pathetic",
            r"failures?", r"lazy", r"ugly", r"fat", r"disgusting", r"weak", r"crazy", r"insane", r"nuts",
            r"psycho", r"freaks?", r"bitch\w*", r"bastards?", r"assholes?", r"arse\w*", r"dick\w*", r"jerks?",
            r"sluts?", r"whores?", r"retard\w*", r"piece of (?:shit|crap|work)", r"shit\w*", r"fuck\w*", r"crap",
            r"trash", r"garbage", r"waste of (?:space|time|air)", r"no good", r"good for nothing", r"hopeless case",
            r"terrible (?:mom|mum|mother|dad|father|parent|person|wife|husband|friend)",
            r"bad (?:mom|mum|mother|dad|father|parent|person|wife|husband|friend)",
            r"monster", r"evil", r"selfish", r"horrible person", r"(?:a )?mess")
_VIOLENT = (r"kill\w*", r"murder\w*", r"die", r"died", r"dies", r"dying", r"dead", r"death", r"suicid\w*", r"stab\w*",
            r"shoot\w*", r"shot", r"hit", r"hits", r"hitting", r"beat\w*", r"punch\w*", r"slap\w*", r"chok\w*",
            r"strangl\w*", r"rape\w*", r"abus\w*", r"harm(?!ful|less)\w*", r"cut(?:ting)? (?:myself|yourself)",
            r"weapons?", r"guns?", r"knife", r"knives", r"overdos\w*",
            # a health word is no violence: "my blood sugar is high", "smoking is harmful"
            r"blood(?!\w* (?:sugars?|pressure|tests?|work|levels?|counts?|glucose|donation|donor)\b)\w*")
_UNSAFE = re.compile(r"\b(?:" + "|".join(_INSULTS + _VIOLENT) + r")\b")
_SELF_ATTACK = re.compile(
    r"\bi(?:'m| am|m) (?:just |so |such |really |a |an |the |totally |completely |a total |a complete |such an? |"
    r"nothing but |always |kind of |kinda )*(?:" + "|".join(_INSULTS) + r")\b"
    r"|\bi(?:'m| am) (?:not|never) (?:gonna|going to|ever going to) (?:make|be) (?:a )?(?:decent|good|any good|great)\b"
    r"|\bi hate (?:myself|who i am|everything about me)\b|\bwhat(?:'s| is) wrong with me\b|\bi can'?t do anything right\b"
    r"|\bi(?:'m| am) (?:not|never) (?:good|clever|smart|strong|pretty) enough\b|\bi ruin (?:everything|it all)\b"
)


def unsafe_to_say_back(text: str) -> bool:
    """An insult, a self-verdict or a violent word: a clause holding one is never said back to the partner."""
    return bool(_UNSAFE.search(" ".join(words(text))))


def attacks_self(text: str) -> bool:
    """The partner passes a verdict on themselves ("I'm such an idiot", "I hate myself")."""
    return bool(_SELF_ATTACK.search(" ".join(words(text))))


# Telling the partner what to do about their life: a peer invites noticing, never a decision. Reviewed: each is
# either a directive ("you should") or a drastic act pressed on the partner ("invite them to hang up on him").
_PRESS = r"(?:invite|ask|tell|encourage|help|get|urge|push|advise|suggest)s? (?:them|you|him|her) to"
_ACTS = (r"hang up", r"quit", r"leave", r"walk away", r"confront", r"break up", r"divorce", r"cut (?:\w+ )?off",
         r"stop (?:talking|seeing|speaking)", r"ignore", r"get back at", r"tell (?:him|her|them) off", r"move out",
         r"end (?:it|the relationship|things)", r"fight back", r"yell", r"punish", r"forget about", r"get over",
         r"stop feeling", r"get rid of", r"drink", r"take (?:a )?pills?")
_ADVICE = re.compile(
    r"(?<!do )(?<!did )(?<!would )(?<!could )(?<!can )(?<!will )(?<!might )(?<!what )(?<!know )(?<!feel )(?<!think )"
    r"\b(?:you (?:should|must|need to|have to|ought to|'d better|had better)|it'?s best to|it is best to|the best thing is"
    r"|" + _PRESS + r" (?:" + "|".join(_ACTS) + r"))\b"
)


def pushes_advice(text: str) -> bool:
    """A directive, or a drastic act pressed on the partner."""
    return bool(_ADVICE.search(" ".join(words(text))))


# ---- sameness ------------------------------------------------------------------------------------------------------

NEAR_EQUAL = 0.8


def near_equal(a: str, b: str, threshold: float = NEAR_EQUAL) -> bool:
    """Whether two fields say the same thing in (nearly) the same words: word sequences at least 80% alike, so a
    copied field with a word or two changed still counts, and the same question about another part does not."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return wa == wb
    return wa == wb or SequenceMatcher(None, wa, wb, autojunk=False).ratio() >= threshold
