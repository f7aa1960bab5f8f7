"""The summary the partner hears: the LLM's, checked, and when it will not do, one made from the partner's own words.

A small model's summary is often fine and sometimes wrong in ways a facilitator must never read aloud: about "your
partner", a label ("a common phobia"), advice, the prompt's example copied, the same sentence as the last hint, or
words the partner never said. `grounded_summary` keeps the LLM's summary when it passes `check_summary` (after
cheap repairs) and otherwise builds "It sounds like a part of you ..." from a clause of what the partner said.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Sequence

from coach import wording

OPENING = "It sounds like"
PART_OPENING = "It sounds like a part of you"
SUMMARY_MAX = 140  # a reflection read aloud in one breath
JOINED_MAX = 115  # two clauses of theirs together: short ones, or the fact crowds out what weighs on them
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
    r"^(?:(?:and|but|so|well|honestly|um+|uh+|yeah|yes|no(?! one\b| longer\b)|oh|like|hi|hai|hello|hey|okay|ok|actually|anyway|also|then|"
    r"now|lately|recently|sometimes|often|basically|afterwards|after that|later|you know|i mean|i guess|maybe|sure|"
    r"of course|thanks|thank you|thanx|i see|i think(?! about| of)|i feel like|to be honest|some nights|some days|"
    r"there(?= (?:i|we|he|she|they)\b)|"
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


_WE = {"we": "you", "us": "you", "our": "your", "ours": "yours", "ourselves": "yourselves", "we're": "you're",
       "we've": "you've", "we'd": "you'd", "we'll": "you'll"}
_WE_WORDS = re.compile(r"\b(?:(?i:we're|we've|we'd|we'll|we|our|ours|ourselves)|us)\b")  # "the US" is no "us"


def _said_back(text: str) -> str:
    """The partner's clause turned to them: "I" -> "you" (coach/wording.py), and "we" -> "you" too (the partner is
    one of "we": "we don't have the money" -> "you don't have the money"); "your friends and you" -> "you and your
    friends"."""
    # "my friends and I" as the subject (at the clause's start or after "that", "when"...): "you and your friends"
    text = re.sub(r"(^|\b(?:that|when|because|so|and|but|if|where|while)\s+)(my (?:(?!(?:is|are|was|were|am|have|has|"
                  r"had)\b)[\w']+ ){0,2}(?!(?:is|are|was|were|am|have|has|had)\b)[\w']+) and I(?= )",
                  r"\1I and \2", text, flags=re.I)
    return _WE_WORDS.sub(lambda m: _WE[m.group(0).lower().replace("\u2019", "'")], wording.to_second_person(text))


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
_DANGLING = re.compile(r"\b(?:so|and|but|or|because|cause|which|the|a|an|to|of|with|if|when|than|as|uh+|um+|er|very|"
                       r"really|quite|pretty|just|my|your|their|our)$"
                       r"|\b(?:so|and|but|because|cause) (?:it|i|we|they|he|she|you|that|then)$", re.I)
_FILLERS = re.compile(r"\b(?:you know|thank you|i mean|um+|uh+|kind of|kinda|sort of|sorta)\b,?\s*", re.I)


# "like" said as a filler, not a likeness: after an intensifier ("very like depressed") or before a place, a time or
# an amount ("running like outside", "like when a friend asks", "I had like three beers"); "it's like when", "feel
# like at home" are likenesses and stay.
_LIKE_FILLER = re.compile(
    r"\b(?:(very|so|pretty|totally)(?:,? \1)?|((?!\w*thing\b|feeling\b|looking\b|sounding\b|seeming\b)\w+ing|had|"
    r"have|for|about|around|maybe|got|been|drank|smoked|took|spend|spent|at|in|on)),? like,? (?=(?:when|whenever|"
    r"outside|inside|at|in|on|every day|every night|every week|all|a lot|totally|literally|one|two|three|four|five|"
    r"six|seven|eight|nine|ten|twenty|a couple|half|\d+|\w+ed)\b)"
    # "really like", "just like" are a verb ("I really like it") unless a feeling follows
    r"|\b(really|just|always|constantly|still),? like,? (?=(?:\w+ed|tired|sad|angry|upset|lonely|anxious|nervous|"
    r"scared|worried|happy|low|down|stuck|lost|numb|empty)\b)", re.I)
# A person named and then their pronoun, as speech does ("my mom she's always saying"): the name alone.
# Only at the clause's start: "I told my boss he was unfair" has an object and a new subject, not one person twice.
_RESUMED = re.compile(r"^((?:(?:and|but|so|well|yeah|um|uh),? )*(?:my|his|her|their|our|the) (?:\w+ )?(?:mom|mum|"
                      r"mother|dad|father|wife|husband|son|daughter|brother|sister|boss|friend|partner|girlfriend|"
                      r"boyfriend|doctor|teacher|kid|child))(?:,)? (?:she|he)\b(?=(?:'s| is| was| does| always| never| "
                      r"keeps| just))", re.I)


def _plain(clause: str) -> str:
    """A clause without the fillers and stumbles of speech ("um", "you know", "it it", "like" as a filler, "my mom
    she's" for "my mom's")."""
    clause = _FILLERS.sub("", clause)
    clause = _LIKE_FILLER.sub(lambda m: f"{m.group(1) or m.group(2) or m.group(3)} ", clause)
    clause = _RESUMED.sub(r"\1", clause)
    return _said_once(clause).strip(" ,")


def _said_once(text: str) -> str:
    """A stumble is said once: "it it", "six months, six months", "I just, I just", "very, very"."""
    return re.sub(r"\b((?:[\w']+ ){0,2}[\w']+)(?:,? \1\b)+", r"\1", text.strip(), flags=re.I)


def _clauses(turn: str) -> list[tuple[str, str]]:
    """(leading "when ..." clause or "", main clause) pairs, in the partner's order, fillers stripped."""
    said = _NUMBERS.sub(r"\1 or \2", _said_once(turn.replace("\u2019", "'")))  # "five, six years ago": one clause
    parts = [p.strip(" .!?;,") for p in _CLAUSE_SPLIT.split(said) if p and p.strip(" .!?;,")]
    # "My friends, who don't drink, would be happy": the comma split a subject from its relative clause; joined again
    joined: list[str] = []
    relative = False  # the last part is a subject and its "who" clause: its verb may follow after another comma
    for p in parts:
        if joined and _RELATIVE.match(p) and _BARE_NOUN.match(joined[-1]):
            joined[-1], relative = f"{joined[-1]} {p}", True
        elif relative and _VERB_NEXT.match(p):
            joined[-1], relative = f"{joined[-1]} {p}", False
        else:
            joined.append(p)
            relative = False
    parts = joined
    out, pending, negated = [], "", False
    for p in parts:
        if negated:  # "that's not to say I wanna run a marathon": what they do not mean is not said back
            negated = False
            continue
        negated = bool(_NOT_SAYING.search(p))
        p = _plain(p)
        p = _LEAD.sub("", p).strip()
        p = _KNOW_THAT.sub("", p).strip()
        if not p or _HEDGE.match(p) or _DANGLING.search(p) or _NOT_SAYING_HEAD.match(p):
            continue
        if _SUBORDINATE.match(p) and len(p.split()) <= 10:
            pending = p
            continue
        out.append((pending, p))
        pending = ""
    return out


_NUMBER = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
           r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|hundred|\d+)")
_NUMBERS = re.compile(r"\b(" + _NUMBER + r"),\s+(" + _NUMBER + r")\b", re.I)
# "not that I want to move" is a thing not meant; "not that bad", "not that worried" are only "not very".
_NOT_SAYING_HEAD = re.compile(r"^(?:that's |this is |it's |i'm )?(?:not to say|not saying|not that (?=(?:i|it|he|she|"
                              r"we|they|you)\b))", re.I)
_NOT_SAYING = re.compile(r"\b(?:not to say|not saying|doesn't mean|does not mean)(?: like)?$", re.I)
_RELATIVE = re.compile(r"^(?:who|whose|which)\b", re.I)
_VERB_NEXT = re.compile(r"^(?:would|will|is|are|was|were|have|has|had|can|could|should|don't|doesn't|didn't|do|does|did|"
                        r"never|always|just|really|still|seem|seems|keep|keeps|won't|wouldn't|can't|couldn't)\b", re.I)
_BARE_NOUN = re.compile(r"^(?:(?:and|but|so|well|yeah|um|uh),? )*(?:my|his|her|their|our|the|a|an|this|that|these|those|"
                        r"some|all|most|many) [\w']+(?: [\w']+)?$", re.I)


_DOING = re.compile(r"^(?:just )?(?:mostly|usually|normally|sometimes|often|always)(?: just)? (?:hang|go|play|"
                    r"watch|drink|smoke|work|sit|spend|meet|walk|stay|eat|cook|drive|read|listen|text|call|visit|"
                    r"try|take)\s+\w", re.I)


_I_SUBJECT = re.compile(r"^(i'm|im|i've|i'd|i'll|i)\s+(.+)$", re.I)
_CONTRACTED = {"i'm": "am", "im": "am", "i've": "have", "i'd": "would", "i'll": "will", "i": ""}


_BUT = re.compile(r",?\s+but\s+", re.I)
_REPORTING = re.compile(r"\b(?:says|said|saying|thinks|told me|tells me|telling me|reckons|asked|asks|(?:is|was|be|'s) like)$",
                        re.I)
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
        if _NOT_SAYING_HEAD.match(a):
            continue  # "that's not to say I want X, but Y": X is what they do not mean; Y is a clause of its own
        weighing = bool(_WEIGHING_HEAD.match(a))
        if not (weighing or _SUBJECT.match(a)) or len(b.split()) < 3 or _QUESTION.match(b) or _REPORTING.search(b):
            continue
        if any(set(wording.words(x)) & wording.SECOND_PERSON or wording.unsafe_to_say_back(x) or _DANGLING.search(x)
               or _HEDGE.match(x) for x in (a, b)):
            continue
        # a change weighed comes first; any other "this, but that" is still both halves of what they said
        out.append((-1 if weighing else 0, f"{OPENING} {_lower_first(_said_back(a))},{BOTH_SIDES}"
                                            f"{_lower_first(_said_back(b))}"))
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
        when = (_lower_first(_said_back(lead)) + ", ") if lead else ""
        m = _PARTS.match(clause)
        if m and clause[m.end():].strip():
            found.append((0, f"{OPENING} {when}a part of you {_said_back(clause[m.end():])}"))
            continue
        m = _THE_PART_THAT.match(clause)
        if m and clause[m.end():].strip():
            found.append((0, f"{OPENING} {when}the part of you {m.group(1).lower()} "
                             f"{_said_back(clause[m.end():])}"))
            continue
        m = _MY_PART.match(clause)
        if m and clause[m.end():].strip():
            found.append((0, f"{OPENING} {when}your {m.group(2).lower()} {_said_back(clause[m.end():])}"))
            continue
        if _FRAGMENT.match(clause) and set(wording.words(clause)) & (set(FEELINGS) - {"down", "low", "lost", "empty"}):
            found.append((1, f"{OPENING} {when}you feel {_lower_first(_said_back(clause))}"))
            continue
        m = _I_SUBJECT.match(clause)
        if m and _part_predicate(_CONTRACTED.get(m.group(1).lower(), "") + " " + m.group(2)):
            # what they feel, want or fear, said back as theirs: "a part of you" only when they spoke of parts
            found.append((1, f"{OPENING} {when}{_lower_first(_said_back(clause))}"))
            continue
        if _SUBJECT.match(clause) and not _QUESTION.match(clause):
            found.append((2, f"{OPENING} {when}{_lower_first(_said_back(clause))}"))
        elif _DOING.match(clause):
            # what they do, its "I" left out as speech does ("mostly just hang out with my friends")
            turned = _said_back(clause)
            found.append((2, f"{OPENING} {when}you {turned[0].lower()}{turned[1:]}"))
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
# The partner asked something (a question mark, or a question's words at the end): reflected as a question of theirs.
_ASKS = re.compile(r"\?\s*$|(?:^|[.!]\s+)(?:can you|could you|would you|do you know|what do you think|is that|is it|"
                   r"should i|can i)\b[^.!?]*$", re.I)
ASKED = ("It sounds like you are wondering about this.", "It sounds like you would like to know more about this.")

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
_CONCERN = re.compile(r"\b(?:fail(?:ed|ing|ure)?|stress\w*|scar(?:y|ed|es)|frighten\w*|overwhelm\w*|tough|"
                      r"(?:no one|nobody) (?:\w+ )?(?:cares?|listens?|helps?|supports?|understands?)|can'?t|cannot|couldn'?t|hard(?:er)?|difficult|struggl\w*|problem|"
                      r"worr\w*|afraid|scared|doesn'?t (?:happen|work)|didn'?t (?:happen|work)|never (?:works?|happens?)|"
                      r"messed|screwed|not enough|too much|give up|gave up|giving up|miss(?:ing)?|hate|sick of|tired of|fed up|"
                      r"stuck|pressure|lost|losing|alone|nobody|no one|doubt\w*|no (?:faith|hope|idea what to do)|"
                      r"(?:don'?t|do not) know (?:what|how) to)\b", re.I)


# Speech is not grammar: a clause that lost its subject or verb on the way ("the foods that I'm eating, I don't think
# are great" -> "you don't think are great"; "if I remember said that"; "the foods that you're eating" alone) is no
# sentence to say back. Each is a shape read in real client turns heard by Whisper.
_BROKEN = re.compile(
    r"(?<!all )(?<!what )\byou (?:don't |do not |didn't )?(?:think|know|guess|believe|suppose|remember|forget)\s+"
    r"(?:are|is|was|were|am|said|did|went|told|had)\b"
    r"|^it sounds like (?:the|this|that|these|those|your|his|her|their) [\w']+(?: (?!is\b|was\b|are\b|were\b)"
    r"[\w']+)? (?:that|which|who)"
    r"(?: [\w']+){1,4}\.$"
    r"|\b(?:like|and|but|so) and\b|\b(?:too|and) so\.$", re.I)


def _mended(text: str) -> str:
    """Slips of speech a reflection must not repeat: "I'm actually been trying" -> "you've actually been trying"."""
    return re.sub(r"\byou're ((?:\w+ly |just |still |really |even )*)been\b", r"you've \1been", text, flags=re.I)


def _feelings(turn: str) -> list[str]:
    """The feelings the partner named, each only where it is not denied ("I didn't feel the least bit of guilt",
    "I'm not angry", "no sadness"): a blind judge read "you feel guilt" back to a partner who had said none."""
    named = []
    for clause in re.split(r"[,.;:!?]", turn):  # "No, I'm angry": the "no" answers something else
        said = wording.words(clause)
        for i, w in enumerate(said):
            if w in FEELINGS and w not in named and not _DENIED.intersection(said[max(0, i - 4) : i]):
                named.append(w)
    return [f for f in FEELINGS if f in named]


# Words that deny the feeling after them ("not angry", "never felt guilty", "the least bit of guilt"); "can't sleep,
# so anxious" denies nothing of the feeling.
_DENIED = {"not", "no", "never", "without", "don't", "didn't", "doesn't", "isn't", "wasn't", "aren't", "weren't",
           "nor", "hardly", "barely", "neither", "least"}


class _Scored(NamedTuple):
    """A turn's clauses, each made a reflection and checked once."""

    usable: list[_Candidate]  # reflections that may be shown alone
    seconds: list[_Candidate]  # about others ("no one even cares about it"): only after a clause of theirs
    views: list[_Candidate]  # about a thing ("it's a lot of work"): only as their view, when nothing of theirs fits


def _scored(turn: str, earlier: Sequence[str]) -> _Scored:
    scored = _Scored([], [], [])
    for order, (rank, text) in enumerate(_candidates(turn)):
        fitted = _fit(_owned(_mended(text)))
        if fitted is not None and _BROKEN.search(fitted):
            continue
        if BOTH_SIDES in text and fitted and BOTH_SIDES not in fitted:
            continue  # both sides of what they said, cut to fit, are one side only: a candidate of its own already
        if rank >= 2 and fitted and (_CONCERN.search(fitted) or _VALUE.search(fitted)):
            rank = 1  # what weighs on them or what they value comes before the facts around it
        if not fitted:
            continue
        problems = {p for p in check_summary(fitted, turn, earlier) if p != "not the partner's words"}
        felt = bool(set(wording.words(fitted)) & set(FEELINGS))
        # what weighs on them before a fact of the same rank ("I'm smoking 20 a day, I'm getting sick of it"), then a
        # feeling named, then the fuller clause, then the later one
        candidate = _Candidate(rank, not _weighs(fitted), not felt, -len(wording.content_words(fitted)), -order, fitted)
        if not problems:
            scored.usable.append(candidate)
        if problems <= {"does not speak to the partner"} and _weighs(fitted) and _PERSON.match(_body(fitted)):
            scored.seconds.append(candidate)  # "no one even cares about it": said after a clause of theirs, it does
        if (problems == {"does not speak to the partner"} and _THING.match(_body(fitted))
                and len(_body(fitted).split()) >= 4 and (_weighs(fitted) or _VERDICT.search(fitted))):
            scored.views.append(candidate)
    return scored


def _from_words(turn: str, earlier: Sequence[str], scored: _Scored | None = None) -> str | None:
    """The reflection of the pain in a self-attack, else the best of the partner's own clauses said back (with a
    second one when it adds what weighs on them); None when neither fits."""
    if wording.attacks_self(turn) and not _SPEAKS_OF_PARTS.search(turn):  # a part's attack: reflected as the part's
        for text in HURTFUL_WORDS if _REPORTED.search(turn.replace("\u2019", "'")) else HARD_ON_YOURSELF:
            if not any(wording.near_equal(text, e) for e in earlier):
                return text
    if scored is None:
        scored = _scored(turn, earlier)
    if not scored.usable:
        return None
    best = min(scored.usable)
    # a clause of theirs before one about others ("you don't see what the big deal is" before "she has a problem")
    others = sorted(set(scored.seconds) - set(scored.usable))
    return _with_second(best, sorted(scored.usable) + others, turn, earlier) or best.text


def _their_view(turn: str, earlier: Sequence[str], scored: _Scored) -> str | None:
    """The best clause of theirs about a thing, said as their view in the second person ("It sounds like you feel
    it's a bit different down there"): the last resort before a generic line."""
    for candidate in sorted(scored.views):
        framed = _fit(f"{OPENING} you feel {_lower_first(_body(candidate.text))}")
        if framed and not check_summary(framed, turn, earlier):
            return framed
    return None


# A clause not about them said back alone, when nothing of theirs is: its subject a thing ("it's a lot of work"), never
# another person ("you feel he drinks every night" would doubt them) nor a word that is no subject at all.
_THING = re.compile(r"(?:it|it's|it is|that|that's|this|there|there's)\b(?! -)", re.I)
# A view they hold of a thing ("it's a lot of work", "it's just not done"), which "you feel" can frame; a fact ("it's
# like two hours") said as a feeling would be odd.
_VERDICT = re.compile(r"\b(?:good|bad|hard|harder|easy|easier|cool|different|difficult|tough|great|nice|awful|terrible|"
                      r"okay|fine|normal|weird|strange|fair|unfair|worth\w*|a lot of (?:work|hassle|effort|money|stress|pressure|"
                      r"trouble)|hassle|a pain|too much|not done|the little "
                      r"things|the life of|silly|stupid|scary|boring|exciting|healthy|unhealthy|expensive|cheap)\b", re.I)
# The partner's own "I should", "I have to", said back as theirs: "you feel you should" (a bare "you should" reads as
# the coach's advice, and coach/wording.py rejects it as such).
_OBLIGATION = re.compile(r"(^It sounds like |, |\band |\bso )you (should|have to|need to|must|ought to|"
                         r"gotta)\b")


def _owned(text: str) -> str:
    return _OBLIGATION.sub(r"\1you feel you \2", text)


# A clause without "you" may follow one of theirs only when it is about people ("no one cares", "my mum worries"):
# "it's pretty mad" (Whisper's "bad") describes a thing, and said after theirs it reads as a verdict.
_PERSON = re.compile(r"(?:no one|nobody|everyone|everybody|people|someone|somebody|he|she|they|your \w+)\b", re.I)
# What the partner values or what helps them ("it's fun", "it helps me relax"): their reasons, what a counsellor
# reflects before the facts around them, as much as what weighs on them.
_VALUE = re.compile(r"\b(?:fun|enjoy\w*|love|relax\w*|helps?|helped|good for|important|matters?|proud|hope\w*|"
                    r"looking forward)\b", re.I)


def _weighs(summary: str) -> bool:
    """The clause says what weighs on the partner or what they feel."""
    return bool(_CONCERN.search(summary) or set(wording.words(summary)) & set(FEELINGS))


def _body(summary: str) -> str:
    return summary[len(OPENING) + 1:].rstrip(".")


class _Candidate(NamedTuple):
    """A reflection built from one clause, in the order of preference (the least sorts first)."""

    rank: int  # -1 both sides of a change, 0 a part, 1 what they feel, want or fear, 2 a clause said plainly
    weighs_nothing: bool  # neither what weighs on them nor a feeling they named (_weighs)
    names_no_feeling: bool
    fewer_words: int  # minus its content words: the fuller clause first
    said_earlier: int  # minus its place in the turn: what a partner says last is usually what they came to say
    text: str


def _with_second(best: _Candidate, usable: list[_Candidate], turn: str, earlier: Sequence[str]) -> str | None:
    """Two of the partner's clauses said back together, in their order ("It sounds like you try to talk to your mom
    about it, and no one even cares about it"): one clause alone is often the fact without what it meant to them.
    Only plain clauses (not both sides of a change, not a part's words, not a self-attack's pain), only while it
    still fits one breath, and only when the second says something the first does not."""
    text = best.text
    if best.rank < 1 or BOTH_SIDES in text or not text.startswith(OPENING + " "):
        return None
    seen = set(wording.content_words(text))
    for other in usable:
        if other.rank < 1 or BOTH_SIDES in other.text or other.said_earlier == best.said_earlier:
            continue
        if not (_weighs(text) or _weighs(other.text)):
            continue  # two facts side by side say no more than one
        words = set(wording.content_words(other.text))
        if len(wording.content_words(_body(other.text))) < 2 or len(words & seen) > 0.5 * len(words):
            continue  # the same thing said twice
        # in the partner's order (said_earlier holds minus the place in the turn)
        first, second = (text, other.text) if best.said_earlier > other.said_earlier else (other.text, text)
        if not (set(wording.words(first)) & {"you", "your", "you're", "you've", "you'd", "you'll", "yourself"}):
            continue  # the partner's own clause leads
        joined = f"{OPENING} {_body(first)}, and {_lower_first(_body(second))}."
        if len(joined) <= JOINED_MAX and not check_summary(joined, turn, earlier):
            return joined
    return None


def template_summary(turn: str, earlier: Sequence[str] = ()) -> str:
    """A reflection built from what the partner said, pronouns turned to "you": a part they named ("It sounds like a
    part of you ..."), what they feel or want, a clause said back plainly; else the feelings they named; else their
    view of a thing ("you feel it's a lot of work"); else, for a question of theirs, that they are wondering; else a
    plain reflection that does not repeat this session's earlier summaries. Always a whole sentence that fits."""
    scored = _scored(turn, earlier)
    built = _from_words(turn, earlier, scored)
    if built is not None:
        return built
    feelings = [f for f in _feelings(turn) if not wording.unsafe_to_say_back(f)]
    if feelings:
        named = " and ".join(feelings[:2])
        for text in (f"It sounds like you feel {named}.", f"It sounds like you feel {named} right now.",
                     f"It sounds like you have been feeling {named}."):
            if not check_summary(text, turn, earlier):
                return text
    view = _their_view(turn, earlier, scored)
    if view is not None:
        return view
    if _ASKS.search(turn.replace("\u2019", "'")):
        for text in ASKED:  # a question of theirs: "a lot going on" would not have heard it
            if not any(wording.near_equal(text, e) for e in earlier):
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
