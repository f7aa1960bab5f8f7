"""The summary the partner hears: the LLM's, checked, and when it will not do, one made from the partner's own words.

A small model's summary is often fine and sometimes wrong in ways a facilitator must never read aloud: about "your
partner", a label ("a common phobia"), advice, the prompt's example copied, the same sentence as the last hint, or
words the partner never said. `grounded_summary` keeps the LLM's summary when it passes `check_summary` (after
cheap repairs) and otherwise builds "It sounds like a part of you ..." from a clause of what the partner said.
"""

from __future__ import annotations

import re
from typing import Sequence

from coach import wording

OPENING = "It sounds like"
PART_OPENING = "It sounds like a part of you"
SUMMARY_MAX = 140  # a reflection read aloud in one breath
LLM_SUMMARY_MAX = 100  # the LLM's own summary, capped by its grammar (coach/hints.py)

# At least this share of the summary's own content words must be the partner's. Read by hand over the 135M model's
# summaries of 181 counseling-dev turns: below a third, nearly all said something the partner had not ("a part of
# you wants to date your friend" for "will talk to them with a friend present"); above it, most reflected the turn.
MIN_SHARED_WORDS = 0.34


def check_summary(summary: str, turn: str, earlier: Sequence[str] = (), examples: Sequence[str] = ()) -> list[str]:
    """Why `summary` must not be shown for `turn` (empty: it may): who it speaks to, labels, advice, copies of the
    prompt's examples or of this session's earlier summaries, and too few of the partner's words."""
    problems = wording.summary_problems(summary, turn)
    if wording.clinical_labels(summary):
        problems.append("clinical label")
    if wording.pushes_advice(summary):
        problems.append("advice")
    if any(wording.near_equal(summary, e) for e in examples):
        problems.append("copies the prompt's example")
    if any(wording.near_equal(summary, e) for e in earlier):
        problems.append("repeats an earlier hint")
    shared = wording.shared_content(summary, turn)
    if shared is None or shared < MIN_SHARED_WORDS:
        problems.append("not the partner's words")
    if summary.rstrip().endswith(("\u2026", "...")) or summary.rstrip()[-1:] not in (".", "!", "?") or len(summary) > SUMMARY_MAX:
        problems.append("cut off")
    if _SPEAKS_OF_PARTS.search(summary) and not _SPEAKS_OF_PARTS.search(turn):
        problems.append("parts language the partner did not use")
    if wording.unsafe_to_say_back(summary):
        problems.append("says back an insult, a verdict or a violent word")
    return problems


# Parts language: "a part of me", "my critic", "the angry part", "protector", "exile", "inner child"...
_SPEAKS_OF_PARTS = re.compile(r"\b(?:parts?|critic|protector|exile|firefighter|manager|inner child|voice inside|side of "
                              r"(?:me|you))\b(?! of (?:the|my|your|it|this|that|what|life|town|work|a|an|our))", re.I)


def repair(summary: str, turn: str) -> str:
    """Cheap fixes for slips a small model makes often: "your part of you"; the partner's own "I"/"my" copied
    unchanged from what they said ("a part of you gets anxious before I visit my family" -> "... you visit your
    family"); and a tail in the model's own voice ("..., and I'm glad you're here"), cut off at its clause when
    what comes before it can stand alone. Anything else first-person is left for check_summary to reject."""
    text = re.sub(r"\b(?:your|the) part of (?:you|yourself)\b", "a part of you", summary)
    text = re.sub(r"\ba part of yourself\b", "a part of you", text)
    if not re.search(r"\b(?:another|other|parts?)\b", turn.lower()):
        # The prompt's example ends "..., and another blames you": copied onto a turn with one feeling, it is noise.
        text = re.sub(r",? (?:and|but) another\b.*$", ".", text)
    said = wording.words(turn)
    said_pairs = set(zip(said, said[1:]))
    tokens = [(m.group(0).lower().replace("\u2019", "'"), m.start()) for m in re.finditer(r"[A-Za-z0-9]+(?:['\u2019][a-z]+)?", text)]
    w = [t for t, _ in tokens]

    def copied(i: int) -> bool:
        return (i > 0 and (w[i - 1], w[i]) in said_pairs) or (i + 1 < len(w) and (w[i], w[i + 1]) in said_pairs)

    own = [start for i, (word, start) in enumerate(tokens) if word in wording.FIRST_PERSON and not copied(i)]
    if own:
        head = text[: own[0]]
        cut = max(head.rfind(", "), head.rfind(". "), head.rfind("; "), head.rfind(" and "), head.rfind(" but "))
        if cut < _OWN_VOICE_MIN:
            return text
        text = head[:cut].rstrip(" ,;.") + "."
    if set(wording.words(text)) & wording.FIRST_PERSON:
        text = wording.to_second_person(text)  # only the partner's own words are left in the first person
    return text


_OWN_VOICE_MIN = 34  # characters before the model's own "I": "It sounds like a part of you" and a word or two


# ---- a summary from the partner's words ---------------------------------------------------------------------------

_CLAUSE_SPLIT = re.compile(r"(?<=[.!?;])\s+|,\s+|\s+-+\s+|\s+but\s+", re.I)
_LEAD = re.compile(
    r"^(?:(?:and|but|so|well|honestly|um+|uh+|yeah|yes|no|oh|like|hi|hai|hello|hey|okay|ok|actually|anyway|also|then|"
    r"now|lately|recently|sometimes|often|basically|afterwards|after that|later|you know|i mean|i guess|maybe|sure|"
    r"of course|thanks|thank you|thanx|i see|i think(?! about| of)|i feel like|to be honest|some nights|some days|"
    r"most days|every day|every morning|every night|these days|right now|today|at night|no matter how \w+ "
    r"it (?:is|seems))(?![\w'])[\s,]*)+",
    re.I,
)
# A clause said back plainly must start with its subject ("he tells me...", "my house is..."), not mid-thought.
_SUBJECT = re.compile(r"^(?:i|i'm|i've|i'd|i'll|he|she|they|it|it's|we|there|there's|my|his|her|their|our|this|"
                      r"that|the|these|those|people|everyone|everybody|nobody|no one|someone|somebody|everything|"
                      r"nothing|something)\b", re.I)
_QUESTION = re.compile(r"^(?:what|how|why|who|where|which|can|could|should|would|do|does|did|is|are|will|am)\b", re.I)


_SUBORDINATE = re.compile(r"^(?:when|whenever|every time|each time|as soon as|if|after|before|since|while)\b", re.I)
_PARTS = re.compile(
    r"^(?:there(?:'s| is) |i have |i've got |i notice |i noticed )?(?:a |one |some |this |that |the )?"
    r"(?:(?:little |young |younger |small |other |another |scared |angry |critical |sad )?part|side) of me(?: that| who| which)?\s+",
    re.I,
)
_MY_PART = re.compile(r"^(my|this|that|the|a) ((?:\w+ )?(?:part|critic|protector|voice|side))\b(?! of)\s*", re.I)
_THE_PART_THAT = re.compile(r"^(?:this|that|the) part (that|who|which)\s+", re.I)
# A fragment with no subject that names a feeling ("a little bit sad though"): what a part of them feels.
_FRAGMENT = re.compile(r"^(?:a little|a bit|so|very|kind of|pretty|quite|really|just|too|more|less|not|always|still)\b",
                       re.I)
_ADVERBS = {"just", "really", "always", "never", "still", "actually", "often", "sometimes", "also", "even", "constantly",
            "usually", "so", "totally", "completely", "honestly", "literally", "kinda", "sorta"}
_MODALS = {"can", "could", "will", "would", "should", "might", "must", "can't", "cannot", "couldn't", "won't",
           "wouldn't", "shouldn't", "did", "didn't", "had", "was", "were"}
# What a part can do: feel, want, fear, think... (a part does not "lose my job": that clause is said plainly).
_INNER = {"feel", "want", "need", "wish", "hope", "fear", "worry", "hate", "love", "think", "believe", "keep", "try",
          "get", "miss", "dread", "panic", "freeze", "hide", "avoid", "notice", "sense", "hear", "blame", "doubt",
          "care", "struggle", "long", "crave", "regret", "resent", "judge", "know", "tell", "push", "cry", "wonder",
          "expect", "question", "criticize", "beat", "shut", "stop", "stand", "trust", "relax", "focus", "breathe",
          "sleep", "like", "enjoy", "suffer", "mind", "wait", "yearn", "dream", "remember", "forget", "see", "imagine",
          "felt", "wanted", "needed", "thought", "tried", "kept", "hated", "loved", "wished", "feared", "worried",
          "noticed", "heard", "knew", "got", "missed", "believed", "hoped", "panicked", "froze", "hid", "blamed",
          "cried", "wondered", "remembered", "forgot", "saw", "imagined", "struggled", "told", "pushed", "started",
          "start", "begin", "began", "grew", "become", "became", "go", "went"}
_IRREGULAR = {"am": "is", "'m": "is", "have": "has", "'ve": "has", "do": "does", "don't": "doesn't", "go": "goes",
              "'d": "would", "'ll": "will"}


def _third_singular(verb: str) -> str:
    """The verb after "a part of you": "keep" -> "keeps", "try" -> "tries", "fix" -> "fixes"; past forms stay."""
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low in _MODALS or low.endswith(("ed", "s")) or low in {"felt", "kept", "thought", "knew", "got", "heard", "hid",
                                                               "froze", "forgot", "saw", "told", "grew", "began",
                                                               "became", "went", "hurt", "lost", "left", "put"}:
        return verb
    if low.endswith(("sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(low) > 2 and low.endswith("y") and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _part_predicate(rest: str) -> str | None:
    """What follows "I" in the partner's clause, as what "a part of you" does: "just feel numb lately" -> "just
    feels numb lately", "am so angry" -> "feels so angry", "'m a failure" -> "feels like a failure". None when the
    verb is not one a part does ("lost my job")."""
    w = rest.split()
    i = 0
    while i < len(w) and w[i].lower() in _ADVERBS:
        i += 1
    if i >= len(w):
        return None
    verb, after = w[i].lower(), w[i + 1 :]
    head = w[:i]
    if verb in ("am", "was"):
        if not after:
            return None
        nxt = after[0].lower()
        if nxt.endswith("ing") or nxt in ("not", "no", "going"):
            return " ".join(head + ["is" if verb != "was" else "was"] + after)
        felt = "feels" if verb != "was" else "felt"
        return " ".join(head + ([felt, "like"] if nxt in ("a", "an", "the", "such") else [felt]) + after)
    if verb == "have" and after and after[0].lower() == "been":
        return " ".join(head + ["has"] + after)
    if verb in ("can't", "cannot", "couldn't", "don't", "didn't", "won't", "do", "did", "can", "could", "would",
                "will", "wouldn't") and after:
        if verb == "do" and after[0].lower() == "not":
            verb, after = "does not", after[1:]
        if not after or after[0].lower().strip(",.") not in _INNER:
            return None
        return " ".join(head + [_third_singular(verb) if verb != "does not" else verb] + after)
    if verb.strip(",.") not in _INNER:
        return None
    return " ".join(head + [_third_singular(w[i])] + after)


def _lower_first(text: str) -> str:
    first, _, rest = text.partition(" ")
    if first.lower() in wording.STOP_WORDS or first.lower() in {"part", "when", "whenever", "every", "whenever"}:
        first = first.lower()
    return f"{first} {rest}".strip()


def _fit(text: str, limit: int = SUMMARY_MAX) -> str | None:
    """End the sentence with a full stop; past `limit`, end it at a clause (a comma) that keeps 60% at least, else
    None: a reflection is chosen to fit, never cut mid-thought."""
    text = " ".join(text.split()).rstrip(" ,;:-.")
    if len(text) + 1 <= limit:
        return text + "."
    comma = text[: limit - 1].rfind(", ")
    while comma >= 0.6 * limit:
        if not _DANGLING.search(text[:comma]):  # ("..., and then, uh" is no place to end)
            return text[:comma] + "."
        comma = text[:comma].rfind(", ")
    return None


def clip(text: str, limit: int = LLM_SUMMARY_MAX) -> str:
    """A summary the length cap cut short (or a repair grew: "I" -> "you" adds letters), ended at its last clause
    ("..., and it's…" reads as broken) when that keeps most of it, else at a word, marked as cut."""
    text = " ".join(text.split())
    cut_short = text.endswith("…") or len(text) > limit or (len(text) >= limit - 1 and text[-1] not in ".!?")
    if not cut_short:
        return text
    head = text.rstrip("…")[: limit - 1]
    comma = head.rfind(", ")
    if comma >= 0.5 * limit:
        return head[:comma].rstrip(" ,;:-") + "."
    return head.rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


# "I know (that) my life is not ready" is said back as "your life is not ready": the frame adds nothing but "you know"
# (a change weighed keeps its "I know I should", coach/summary.py's _weighing).
_KNOW_THAT = re.compile(r"^(?:i know(?: that)?|i think(?: that)?|i guess|i suppose|i feel like|i realise|i realize)\s+"
                        r"(?=(?:my|the|it|it's|there|this|that|he|she|they|we|our|his|her|their)\b)", re.I)
# A hedge is no content to reflect ("I don't know", "I don't know how else to explain it", "I think so").
_HEDGE = re.compile(r"^(?:i don'?t know|i dunno|i'm not sure|i think so|i guess so|i suppose so|i don'?t know how (?:else )?"
                    r"to (?:explain|say|put) it|not really|i mean|whatever|or something|and stuff|and that)\b(?!\s+\w+\s+\w+\s+\w+)",
                    re.I)
# A clause the speaker broke off ("so it", "and the") is not said back.
_DANGLING = re.compile(r"\b(?:so|and|but|or|because|cause|which|the|a|an|to|of|with|if|when|than|as|uh+|um+|er)$"
                       r"|\b(?:so|and|but|because|cause) (?:it|i|we|they|he|she|you|that|then)$", re.I)
_FILLERS = re.compile(r"\b(?:you know|thank you|i mean|um+|uh+|kind of|kinda|sort of|sorta)\b,?\s*", re.I)


def _plain(clause: str) -> str:
    """A clause without the fillers and stumbles of speech ("um", "you know", "it it")."""
    clause = _FILLERS.sub("", clause)
    # a stumble is said once: "it it", "six months, six months", "I just, I just"
    clause = re.sub(r"\b((?:[\w']+ ){0,2}[\w']+)(?:,? \1\b)+", r"\1", clause.strip(), flags=re.I)
    return clause.strip(" ,")


def _clauses(turn: str) -> list[tuple[str, str]]:
    """(leading "when ..." clause or "", main clause) pairs, in the partner's order, fillers stripped."""
    parts = [p.strip(" .!?;,") for p in _CLAUSE_SPLIT.split(turn.replace("\u2019", "'")) if p and p.strip(" .!?;,")]
    out, pending = [], ""
    for p in parts:
        p = _plain(p)
        p = _LEAD.sub("", p).strip()
        p = _KNOW_THAT.sub("", p).strip()
        if not p or _HEDGE.match(p) or _DANGLING.search(p):
            continue
        if _SUBORDINATE.match(p) and len(p.split()) <= 10:
            pending = p
            continue
        out.append((pending, p))
        pending = ""
    return out


_I_SUBJECT = re.compile(r"^(i'm|im|i've|i'd|i'll|i)\s+(.+)$", re.I)
_CONTRACTED = {"i'm": "am", "im": "am", "i've": "have", "i'd": "would", "i'll": "will", "i": ""}


_BUT = re.compile(r",?\s+but\s+", re.I)
_REPORTING = re.compile(r"\b(?:says|said|thinks|told me|tells me|reckons|asked|asks)$", re.I)
_WEIGHING_HEAD = re.compile(r"^(?:i know|i want|i'd like|i need|i should|i could|i'm trying|i try|i tried|i've tried|"
                            r"i've been trying|i think i should|i wanna|i would like|i'd love|part of me wants)\b", re.I)


BOTH_SIDES = " and at the same time "


def _weighing(turn: str) -> list[tuple[int, str]]:
    """Both sides of a change the partner weighs ("I know I should quit, but it helps me relax"), said back together
    without taking either side: the reflection motivational interviewing uses for ambivalence."""
    out = []
    for sentence in re.split(r"(?<=[.!?;])\s+", turn.replace("\u2019", "'")):
        halves = _BUT.split(sentence.strip(" .!?;"), maxsplit=1)
        if len(halves) != 2:
            continue
        a, b = (_LEAD.sub("", _plain(h)).strip(" ,") for h in halves)
        weighing = bool(_WEIGHING_HEAD.match(a))
        if not (weighing or _SUBJECT.match(a)) or len(b.split()) < 3 or _QUESTION.match(b) or _REPORTING.search(b):
            continue
        if any(set(wording.words(x)) & wording.SECOND_PERSON or wording.unsafe_to_say_back(x) or _DANGLING.search(x)
               or _HEDGE.match(x) for x in (a, b)):
            continue
        # a change weighed comes first; any other "this, but that" is still both halves of what they said
        out.append((-1 if weighing else 0, f"{OPENING} {_lower_first(wording.to_second_person(a))},{BOTH_SIDES}"
                                            f"{_lower_first(wording.to_second_person(b))}"))
    return out


def _candidates(turn: str) -> list[tuple[int, str]]:
    """(rank, summary): both sides of a change the partner weighs (-1), a part the partner named (0), what they feel
    or want (1), a clause said plainly (2). Lower ranks are preferred."""
    found = _weighing(turn)
    for lead, clause in _clauses(turn):
        if set(wording.words(clause)) & wording.SECOND_PERSON or len(clause.split()) < 2 or _QUESTION.match(clause):
            continue  # "you" in the partner's words means someone else: said back, it would be confusing
        if wording.unsafe_to_say_back(f"{lead} {clause}"):
            # a self-attack, an insult, a diagnosis or a violent word is never handed back as a fact; a part that
            # says such things is reflected as what it does to them, never what it says ("your critic is lazy")
            m = _MY_PART.match(clause)
            if m and clause[m.end():].strip():
                found.append((0, f"{OPENING} your {m.group(2).lower()} is being really hard on you"))
            elif _PARTS.match(clause) or _THE_PART_THAT.match(clause):
                found.append((0, f"{OPENING} a part of you is being really hard on you"))
            continue
        if _REPORTING.search(clause) or len(clause.split()) < 3 or re.search(r"\bpart of me$", clause, re.I):
            continue  # "my wife says" alone, "yeah okay", "I'm a part of me" (misheard): nothing to say back
        when = (_lower_first(wording.to_second_person(lead)) + ", ") if lead else ""
        m = _PARTS.match(clause)
        if m and clause[m.end():].strip():
            found.append((0, f"{OPENING} {when}a part of you {wording.to_second_person(clause[m.end():])}"))
            continue
        m = _THE_PART_THAT.match(clause)
        if m and clause[m.end():].strip():
            found.append((0, f"{OPENING} {when}the part of you {m.group(1).lower()} "
                             f"{wording.to_second_person(clause[m.end():])}"))
            continue
        m = _MY_PART.match(clause)
        if m and clause[m.end():].strip():
            found.append((0, f"{OPENING} {when}your {m.group(2).lower()} {wording.to_second_person(clause[m.end():])}"))
            continue
        if _FRAGMENT.match(clause) and set(wording.words(clause)) & (set(FEELINGS) - {"down", "low", "lost", "empty"}):
            found.append((1, f"{OPENING} {when}you feel {_lower_first(wording.to_second_person(clause))}"))
            continue
        m = _I_SUBJECT.match(clause)
        if m and _part_predicate(_CONTRACTED.get(m.group(1).lower(), "") + " " + m.group(2)):
            # what they feel, want or fear, said back as theirs: "a part of you" only when they spoke of parts
            found.append((1, f"{OPENING} {when}{_lower_first(wording.to_second_person(clause))}"))
            continue
        if _SUBJECT.match(clause) and not _QUESTION.match(clause):
            found.append((2, f"{OPENING} {when}{_lower_first(wording.to_second_person(clause))}"))
    return found


FEELINGS = ("sad", "lonely", "alone", "angry", "mad", "furious", "anxious", "nervous", "scared", "afraid", "frightened",
            "worried", "stressed", "overwhelmed", "tired", "exhausted", "hurt", "guilty", "ashamed", "embarrassed",
            "frustrated", "stuck", "lost", "numb", "empty", "helpless", "jealous", "upset", "confused", "disappointed",
            "heartbroken", "down", "low", "tense", "restless", "unhappy", "miserable", "annoyed", "irritated",
            "resentful", "rejected", "abandoned", "betrayed", "unloved", "worthless", "useless", "trapped", "torn",
            "uneasy", "insecure", "unsure", "bored", "depressed", "hopeless", "panicked", "grief", "sadness", "fear",
            "shame", "guilt", "anger", "loneliness", "worry", "stress")
GENERIC = (
    "It sounds like there is a lot going on for you right now.",
    "It sounds like this really matters to you.",
    "It sounds like you have been giving this a lot of thought.",
    "It sounds like you have a lot to carry at the moment.",
    "It sounds like there is more you would like to say about this.",
    "It sounds like this has been on your mind.",
    "It sounds like you are taking all of this in.",
    "It sounds like this is important to you.",
    "It sounds like you are finding your words for this.",
    "It sounds like you want this to be understood.",
    "It sounds like you have been weighing this up.",
    "It sounds like there is a lot here for you.",
)
# When the partner turns on themselves ("I'm so stupid", "I'm not gonna make a decent mom"), the reflection is of the
# pain in it, never the verdict: said back, the verdict would be the coach agreeing with it.
# Someone else's verdict on them ("my mom says I'm not gonna make a decent mom"): the sting, not the verdict.
HURTFUL_WORDS = (
    "It sounds like it really hurts to hear that said about you.",
    "It sounds like those words about you have stayed with you.",
)
_REPORTED = re.compile(r"\b(?:says|said|tells me|told me|telling me|thinks|thought|calls me|called me|keeps saying)"
                       r"(?: that)?,? (?:i'?m|i am|i was|i'll never|i will never|i'm not|i am not|i)\b", re.I)
HARD_ON_YOURSELF = (
    "It sounds like you are being really hard on yourself right now.",
    "It sounds like a lot of harsh words are coming up about yourself.",
    "It sounds like you are judging yourself very harshly about this.",
)


# What weighs on the partner, said without a feeling word ("I have a feeling I'm going to fail", "quitting doesn't
# happen", "I messed it up"): the clause a counsellor reflects before the facts around it (blind judges, 2026-12-07:
# "It sounds like you've smoked for five years" scored below the counsellor's reflection of what was hard).
_CONCERN = re.compile(r"\b(?:fail(?:ed|ing|ure)?|can'?t|cannot|couldn'?t|hard(?:er)?|difficult|struggl\w*|problem|"
                      r"worr\w*|afraid|scared|doesn'?t (?:happen|work)|didn'?t (?:happen|work)|never (?:works?|happens?)|"
                      r"messed|screwed|not enough|too much|give up|gave up|giving up|miss(?:ing)?|hate|sick of|tired of|"
                      r"stuck|pressure|lost|losing|alone|nobody|no one|doubt\w*|no (?:faith|hope|idea what to do)|"
                      r"(?:don'?t|do not) know (?:what|how) to)\b", re.I)


def _feelings(turn: str) -> list[str]:
    said = set(wording.words(turn))
    return [f for f in FEELINGS if f in said]


def _from_words(turn: str, earlier: Sequence[str]) -> str | None:
    """The reflection of the pain in a self-attack, else the best of the partner's own clauses said back; None when
    neither fits."""
    if wording.attacks_self(turn) and not _SPEAKS_OF_PARTS.search(turn):  # a part's attack: reflected as the part's
        for text in HURTFUL_WORDS if _REPORTED.search(turn.replace("\u2019", "'")) else HARD_ON_YOURSELF:
            if not any(wording.near_equal(text, e) for e in earlier):
                return text
    usable = []
    for order, (rank, text) in enumerate(_candidates(turn)):
        fitted = _fit(text)
        if BOTH_SIDES in text and fitted and BOTH_SIDES not in fitted:
            continue  # both sides of what they said, cut to fit, are one side only: a candidate of its own already
        if rank >= 2 and fitted and _CONCERN.search(fitted):
            rank = 1  # what weighs on them comes before the facts around it
        if fitted and not [p for p in check_summary(fitted, turn, earlier) if p != "not the partner's words"]:
            felt = bool(set(wording.words(fitted)) & set(FEELINGS))
            # then the fuller clause, then the later one: what a partner says last is usually what they came to say
            usable.append((rank, not felt, -len(wording.content_words(fitted)), -order, fitted))
    return min(usable)[-1] if usable else None


def template_summary(turn: str, earlier: Sequence[str] = ()) -> str:
    """A reflection built from what the partner said, pronouns turned to "you": a part they named ("It sounds like a
    part of you ..."), what they feel or want, a clause said back plainly; else the feelings they named; else a plain
    reflection that does not repeat this session's earlier summaries. Always a whole sentence that fits."""
    built = _from_words(turn, earlier)
    if built is not None:
        return built
    feelings = [f for f in _feelings(turn) if not wording.unsafe_to_say_back(f)]
    if feelings:
        named = " and ".join(feelings[:2])
        for text in (f"It sounds like you feel {named}.", f"It sounds like you feel {named} right now.",
                     f"It sounds like you have been feeling {named}."):
            if not check_summary(text, turn, earlier):
                return text
    for text in GENERIC:
        if not any(wording.near_equal(text, e) for e in earlier):
            return text
    return GENERIC[0]


def rule_summary(turn: str, earlier: Sequence[str] = ()) -> str | None:
    """The reflection built from the partner's own clause (or of the pain in a self-attack) when the turn offers one:
    right by construction (their words, their order, pronouns turned), so it is preferred to any model's sentence.
    None when only a reflection of named feelings or a generic one could be made."""
    return _from_words(turn, earlier)


def grounded_summary(summary: str | None, turn: str, earlier: Sequence[str] = (),
                     examples: Sequence[str] = ()) -> tuple[str, list[str]]:
    """The summary to show, and what was wrong with the LLM's (empty when it is shown, repaired or not). A reflection
    from the partner's own words comes first; the LLM's is a fallback, checked (cut off, parts the partner did not
    speak of, a verdict or violent word said back, advice, labels, copies, too few of their words)."""
    built = rule_summary(turn, earlier)
    if built is not None:
        return built, (["built from the partner's words"] if summary else [])
    if summary:
        fixed = clip(repair(summary, turn))
        problems = check_summary(fixed, turn, earlier, examples)
        if not problems:
            return fixed, []
    else:
        problems = ["no summary"]
    return template_summary(turn, earlier), problems
