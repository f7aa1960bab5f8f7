"""A live map of the parts the partner speaks of: their own words for each part, a guessed IFS role, and what they
said about it last.

`PartsMap` is a pure, synchronous core fed with final transcripts (`update(turn_id, text)`); `snapshot()` is what
the facilitator's page shows. It reads plain cue phrases, never a model: a mention needs parts language ("a part of
me that...", "the angry part", "my inner critic", "the little girl inside", "the voice that says..."), idioms such
as "part of the problem" or "the best part was" are not parts, and "it" or "that part" refers to the part just
spoken of. The role is a guess from cue words (a critic or a planner reads as a manager, numbing or bingeing as a
firefighter, a scared or ashamed child as an exile) and is always labelled as one. Memory only: nothing is logged
or written anywhere.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from coach.parts_words import (
    ADJ_SUFFIX, ADVERBS, ASSIGN_RE, CHILDHOOD_BEFORE, CLAUSE_SUBJECTS, COPULA_BEFORE, CUE_RES, DETS,
    IT_AFTER_NEGATION, IT_RE, IT_WORDS, LITERAL_AFTER, MAIN_VERBS, NAME_STOP, NEGATION, NOT_ADJ, OF_ME, ONE_RE,
    PART_ADJ, PART_NOUN, PART_VERBS, PERSON_AFTER, PERSON_BEFORE, QUANTIFIERS, REL, ROLE_NOUNS, ROLE_RE,
    SIZE_ADJ, SOME_RE, SPATIAL_BEFORE, STOP, STORY_ADJ, STORY_AFTER, SUBJECT_PRONOUN, SYNONYMS, THERE_BEFORE,
    VERB_CLAUSE, VOICE_RE, VOICE_VERBS, WORKPLACE, YOUNG_ADJ, YOUNG_RE,
)

MAX_PARTS = 40  # a long session keeps the parts mentioned most recently
LATEST_MAX = 200  # characters of the partner's latest sentence about a part
NAME_WORDS = 6  # words of a describing clause kept in a part's name ("the part that wants to run away")
RECENT_IT = 2  # "it" refers to the last part only if it was spoken of this recently (sentences)
RECENT_THAT = 4  # "that part", "this part"
EXPLICIT = 3.0  # weight of an IFS role word ("my inner critic", "it's a firefighter") against one cue word

ROLES = ("manager", "firefighter", "exile")
ROLE_UNCLEAR = "unclear"

# ---- the map ------------------------------------------------------------------------------------------------------


@dataclass
class Part:
    id: int
    name: str
    first_turn: int
    last_turn: int
    latest: str
    mentions: int = 0
    signatures: list[frozenset] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 0.0))
    explicit: bool = False  # an IFS role word was used for it
    cues: list[str] = field(default_factory=list)  # the cue words behind the guess, most recent last
    last_sentence: int = 0

    @property
    def role(self) -> str:
        first, second = sorted(self.scores.values(), reverse=True)[:2]
        if first <= 0 or first == second:
            return ROLE_UNCLEAR
        return max(self.scores, key=self.scores.get)

    def as_dict(self) -> dict:
        role = self.role
        first, second = sorted(self.scores.values(), reverse=True)[:2]
        if role == ROLE_UNCLEAR:
            confidence = "none"
        else:
            confidence = "medium" if self.explicit or first - second >= 2 else "low"  # never more: it is a guess
        return {
            "id": self.id,
            "name": self.name,
            "role": role,
            "role_label": f"guess: {role}" if role != ROLE_UNCLEAR else "guess: not yet clear",
            "role_confidence": confidence,
            "role_cues": self.cues[-4:],
            "first_turn": self.first_turn,
            "last_turn": self.last_turn,
            "latest": self.latest,
            "mentions": self.mentions,
        }


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    name: str = ""  # the partner's words for it ("the part that tightens my chest"); empty for "it"
    signature: frozenset = frozenset()  # its content words, to know it again ("critic", {"run", "away"})
    anaphoric: bool = False  # may refer to the part just spoken of ("it", "that part")
    creates: bool = True  # a new part when it is none known
    recent: int = RECENT_THAT  # how recently that part must have been spoken of (sentences)
    fresh: bool = False  # "another part": a new one unless its words match a known part exactly
    role: str | None = None  # an IFS role word names it ("my inner critic": manager)
    assigns: bool = False  # "it's a firefighter": a role for a known part, never a new part
    by_name: bool = False  # an assignment that names a known part ("that's the critic again")
    needs: str | None = None  # "she" refers only to a girl part, "he" to a boy


class PartsMap:
    """The parts of one session. `update()` with each final transcript; `snapshot()` for the page."""

    def __init__(self, max_parts: int = MAX_PARTS):
        self.max_parts = max_parts
        self.clear()

    def clear(self) -> None:
        self._parts: dict[int, Part] = {}
        self._next_id = 1
        self._sentence = 0
        self._last: int | None = None  # id of the part spoken of most recently
        self._undo: tuple[int, tuple] | None = None  # state before the last turn, should that turn come again

    def update(self, turn_id: int, text: str) -> bool:
        """Reads one final transcript; True when the map changed. A repeated turn id replaces that turn's effect."""
        prior = self.snapshot()
        if self._undo is not None and self._undo[0] == turn_id:
            self._parts, self._next_id, self._sentence, self._last = copy.deepcopy(self._undo[1])
        self._undo = (turn_id, copy.deepcopy((self._parts, self._next_id, self._sentence, self._last)))
        for sentence in split_sentences(text or ""):
            self._sentence += 1
            self._read(turn_id, sentence)
        return self.snapshot() != prior

    def snapshot(self) -> list[dict]:
        """The parts in the order they were first spoken of."""
        return [p.as_dict() for p in sorted(self._parts.values(), key=lambda p: p.id)]

    def __len__(self) -> int:
        return len(self._parts)

    # ---- one sentence -----------------------------------------------------------------------------------------

    def _read(self, turn_id: int, sentence: str) -> None:
        sentence = normalise(sentence)
        low = sentence.lower()
        mentions = find_mentions(low, sentence, has_parts=bool(self._parts))
        latest = trim(sentence.strip(), LATEST_MAX)
        counted: set[int] = set()  # a part spoken of twice in one sentence is one mention
        for i, m in enumerate(mentions):
            scope = low[m.start: mentions[i + 1].start if i + 1 < len(mentions) else len(low)]
            part = self._resolve(m)
            if part is None:
                if m.assigns or not m.creates:
                    continue
                part = self._create(m, turn_id, latest)
            if part.id not in counted:
                part.mentions += 1
                counted.add(part.id)
            part.last_turn = turn_id
            part.latest = latest
            part.last_sentence = self._sentence
            if m.signature and not m.anaphoric and not m.assigns and m.signature not in part.signatures:
                part.signatures.append(m.signature)
            if m.role:
                part.scores[m.role] += EXPLICIT
                part.explicit = True
                add_cue(part, m.role)
            score_cues(part, scope)
            self._last = part.id

    def _resolve(self, m: Mention) -> Part | None:
        last = self._parts.get(self._last) if self._last is not None else None
        recent = last if last is not None and self._sentence - last.last_sentence <= m.recent else None
        if m.needs and recent is not None and not any(m.needs in sig for sig in recent.signatures):
            recent = None
        if m.assigns and not m.by_name:
            return recent
        if m.signature:
            best, best_score = None, 0.0
            for part in self._parts.values():
                score = max((similarity(m.signature, s) for s in part.signatures), default=0.0)
                if m.fresh and score < 1.0:
                    continue
                if score > best_score or (score == best_score and best and part.last_sentence > best.last_sentence):
                    best, best_score = part, score
            if best is not None:
                return best
        if (m.anaphoric or m.assigns) and not m.fresh:
            return recent
        return None

    def _create(self, m: Mention, turn_id: int, latest: str) -> Part:
        if len(self._parts) >= self.max_parts:
            oldest = min(self._parts.values(), key=lambda p: p.last_sentence)
            del self._parts[oldest.id]
        part = Part(self._next_id, m.name, turn_id, turn_id, latest, last_sentence=self._sentence)
        self._next_id += 1
        self._parts[part.id] = part
        return part


# ---- finding mentions in a sentence -------------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?…])\s+|\n+|;\s*", text) if s.strip()]


def normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


def trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def stem(word: str) -> str:
    """A rough stem, the same for the few forms a partner uses: pushes, pushing -> push; worries -> worry."""
    if word in SYNONYMS:
        return SYNONYMS[word]
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif re.search(r"(?:sh|ch|x|ss|z)es$", word):
        word = word[:-2]
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    return SYNONYMS.get(word, word)


def signature(text: str) -> frozenset:
    out = set()
    for w in re.findall(r"[a-z][a-z'-]*", text.lower()):
        w = w[:-2] if w.endswith("'s") else w
        if len(w) < 2 or "'" in w or w in STOP:
            continue  # contractions are function words: "i'm", "don't"
        if (s := stem(w)) not in STOP:
            out.add(s)
    return frozenset(out)


def similarity(a: frozenset, b: frozenset) -> float:
    """1.0 for the same words; a few words inside a few more ("the critic" in "the critic part") count too."""
    if not a or not b:
        return 0.0
    jaccard = len(a & b) / len(a | b)
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if small <= large and len(large) <= 3:
        return max(jaccard, 0.75)
    return jaccard if jaccard >= 0.5 else 0.0


def short(clause: str) -> str:
    """The opening words of a describing clause, up to a comma, a conjunction, or the main verb of the sentence
    ("that nobody sees | is exhausted", "that's angry | wants him to apologise")."""
    out: list[str] = []
    words = clause.split()
    for i, word in enumerate(words):
        bare = word.strip(",.;:!?\"()")
        low = bare.lower()
        following = words[i + 1].lower() if i + 1 < len(words) else ""
        if not bare or len(out) >= NAME_WORDS or NAME_STOP.match(bare):
            break
        if low == "so" and (following in CLAUSE_SUBJECTS or not following):
            break  # "so I can breathe", but "so small" stays
        if low in MAIN_VERBS and any(w.lower().lstrip("'") not in ADVERBS | {"s"} for w in out):
            break
        out.append(bare)
        if word.rstrip("\"()")[-1:] in tuple(",.;:!?"):
            break
    while out and out[-1].lower() in {"to", "the", "a", "an", "my", "of", "that", "like", "about", "at", "with", "so",
                                      "really", "just", "very", "in", "on", "for", "and"}:
        out.pop()
    return " ".join(out)


def tidy(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,.;:!?\"")
    if name and not re.match(r"I\b|I'", name):
        name = name[0].lower() + name[1:]
    return name


def src_of(src: str, low: str, start: int, length: int) -> str:
    """The text at `start` of the lowercased sentence, in the partner's own casing."""
    return src[start: start + length] if len(src) == len(low) else low[start: start + length]


def tail_of(src: str, low: str, clause: str) -> str:
    """A clause that runs to the end of the sentence, in the partner's own casing."""
    return src_of(src, low, len(low) - len(clause), len(clause))


def _joined(rel: str | None, clause: str) -> str:
    """'that' + "'s scared" -> "that's scared"; '' + "wants to hide" -> "that wants to hide"."""
    words = short(clause.lstrip()) if not clause.startswith("'") else clause[:2] + " " + short(clause[2:])
    if clause.startswith("'"):
        return f"{rel or 'that'}{words}".rstrip()
    return f"{rel or 'that'} {words}".rstrip()


def find_mentions(low: str, src: str, *, has_parts: bool) -> list[Mention]:
    found: list[Mention] = [m for m in (_assignment(a, low) for a in ASSIGN_RE.finditer(low)) if m]
    for finder in (_part_mentions, _role_mentions, _young_mentions, _voice_mentions, _one_mentions, _some_mentions):
        found += finder(low, src, has_parts)
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    chosen: list[Mention] = []
    for m in found:
        if not chosen or m.start >= chosen[-1].end:
            chosen.append(m)
    spans = [(m.start, m.end) for m in chosen]
    chosen += [it for it in _it_mentions(low) if not any(s <= it.start < e for s, e in spans)]
    return sorted(chosen, key=lambda m: m.start)


def _assignment(m: re.Match, low: str) -> Mention | None:
    noun = SYNONYMS.get(m["role"], m["role"])
    if noun in ("manager", "firefighter") and WORKPLACE.search(low):
        return None  # "that's my manager, she..."
    by_name = bool(re.search(r"\b(?:the|my)\s+$", m["pre"]))
    return Mention(m.start(), m.end(), signature=frozenset({noun}), assigns=True, by_name=by_name,
                   role=ROLE_NOUNS.get(noun))


def _clause(rest: str) -> tuple[str | None, str | None]:
    """The describing clause after a part's noun: ('that', "'s scared"), ('who', ' hides') or ('', 'wants to...')."""
    if rel := REL.match(rest):
        return rel["rel"], rel["clause"]
    if (vc := VERB_CLAUSE.match(rest)) and (vc["verb"] in PART_VERBS or re.fullmatch(r"[a-z]{3,}[^s]s", vc["verb"])):
        return "", vc["clause"]
    return None, None


def _part_mentions(low: str, src: str, has_parts: bool) -> list[Mention]:
    out = []
    for m in PART_NOUN.finditer(low):
        noun, rest = m[1], low[m.end():]
        if m[2] or re.match(r"-?(?:time|timer|way|ways)\b|\s+(?:time|ways|with|company)\b", rest):
            continue  # plurals, "part-time", "part ways", "part with"
        before_words = re.findall(r"[a-z0-9'-]+", low[: m.start()])
        adjs, i = [], len(before_words) - 1  # walk back over adjectives to a determiner: "the (really) angry part"
        while i >= 0 and len(adjs) < 3 and before_words[i] not in DETS:
            w = before_words[i]
            if w in PART_ADJ or w in STORY_ADJ or w in ADVERBS or (ADJ_SUFFIX.search(w) and len(w) > 3 and w not in NOT_ADJ):
                adjs.insert(0, w)
                i -= 1
            else:
                break
        det = before_words[i] if i >= 0 and before_words[i] in DETS else None
        if det is None and i >= 0 and before_words[i] in QUANTIFIERS:
            continue  # "every part of me", "any part of it"
        if det is None:
            adjs = [a for a in adjs if a in PART_ADJ]  # no determiner: only clear part adjectives ("angry part of me")
        start = _start_of(low, m.start(), len(adjs) + (1 if det else 0))
        before = low[:start]
        of = OF_ME.match(rest)
        if not of and re.match(r"\s+of\s+", rest):
            continue  # "part of the problem", "this part of town", "the best part of the day"
        tail = rest[of.end():] if of else rest
        rel, clause = _clause(tail)
        content = [a for a in adjs if a not in ADVERBS or a == "little"]
        if of and clause is not None and content and all(a in SIZE_ADJ for a in content):
            content = []  # "a big part of me wants him back"
        if any(a in STORY_ADJ and a != "other" for a in content):
            continue  # "the best part", "a big part of me"
        content = [a for a in content if a != "other"]
        if content and not any(a in PART_ADJ for a in content) and not (of or clause):
            continue  # "the driving part was long"
        if noun == "side" and (not of or SPATIAL_BEFORE.search(before)):
            continue  # "the other side", "on one side of me"
        if rel is not None and not of and not content and SUBJECT_PRONOUN.match(clause):
            continue  # "the part that I liked"
        said = re.match(r"\s*(?:'s|is|was)\s+(\w+)", clause or "")
        if not of and not content and said and said[1] in STORY_ADJ:
            continue  # "the part that was hard"
        if of and rel is None and COPULA_BEFORE.search(before) and not THERE_BEFORE.search(before):
            continue  # "it's part of me", "music is part of me"
        if content and not of and STORY_AFTER.match(rest):
            continue  # "the sad part is that...", "the scary part was when..."
        if not of and PERSON_BEFORE.search(before):
            continue
        end = m.end() + (of.end() if of else 0)
        sig = signature(" ".join(content)) if content else signature(short(clause or ""))
        if content:  # "the angry part", "my critical part", "this scared part of me"
            name = src_of(src, low, start, m.end() - start) + (" inside" if of and "inside" in of[0] else "")
            out.append(Mention(start, end, tidy(name), sig, role=_adj_role(content), fresh=det == "another"))
        elif clause is not None and (of or det in ("the", "a", "one", "another", "this", "that")):
            # "a part of me that...", "part of me wants...", "another part wants...", "that part wants me to..."
            name = f"the {noun} {_joined(rel, tail_of(src, low, clause))}"
            anaphoric = det in ("this", "that") or (det == "the" and not rel and not of)
            out.append(Mention(start, end, tidy(name), sig, anaphoric=anaphoric, creates=True,
                               fresh=det == "another"))
        elif det in ("this", "that"):  # "this part", "that part of me"
            if of or has_parts:
                out.append(Mention(start, end, tidy(f"{det} {noun}" + (" of me" if of else "")), anaphoric=True,
                                   creates=bool(of), recent=RECENT_IT if of else RECENT_THAT))
        elif of and det in (None, "a", "one", "some", "another"):  # "a part of me", on its own
            out.append(Mention(start, end, tidy(f"{det or 'a'} {noun} of me"), fresh=True))
        elif det == "another" and has_parts:
            out.append(Mention(start, end, "another part", fresh=True))
    return out


def _adj_role(adjs: list[str]) -> str | None:
    for a in adjs:
        if stem(a) in ROLE_NOUNS:
            return ROLE_NOUNS[stem(a)]
    return None


def _role_mentions(low: str, src: str, has_parts: bool) -> list[Mention]:
    out = []
    for m in ROLE_RE.finditer(low):
        det, mod, suffix = m["det"], m["mod"].split(), m["suffix"]
        noun = SYNONYMS.get(m["noun"], m["noun"])
        before, after = low[: m.start()], low[m.end():]
        qualified = bool(suffix) or "inner" in mod or "internal" in mod
        if det is None and not suffix or noun == "exile" and re.match(r"\s+from\b", after):
            continue  # "critic" alone, "the exile from my family"
        if not qualified and (PERSON_BEFORE.search(before) or PERSON_AFTER.match(after)):
            continue  # "he was my protector", "my harshest critic is my mother"
        if not qualified:
            if noun in ("manager", "firefighter"):
                if det not in ("my", "the", "this", "that") or WORKPLACE.search(low) or not (det == "my" or has_parts):
                    continue  # "my manager at work", "a firefighter"
            elif det in ("a", "an") and noun not in ("protector", "exile"):
                continue  # "a critic", "a perfectionist"
        name = tidy(src_of(src, low, m.start(), m.end() - m.start()))
        out.append(Mention(m.start(), m.end(), name, frozenset({noun}), role=ROLE_NOUNS[noun]))
    return out


def _young_mentions(low: str, src: str, has_parts: bool) -> list[Mention]:
    out = []
    for m in YOUNG_RE.finditer(low):
        det, adj, noun, loc = m["det"], (m["adj"] or "").strip(), m["noun"], m["loc"]
        before, after = low[: m.start()], low[m.end():]
        young = bool(adj) and bool(YOUNG_ADJ.match(adj))
        if noun in ("me", "self", "version of me"):
            if not young or re.match(r"\s+time\b", after):
                continue  # "it scared me", "my inner self" (the Self is not a part), "a little me time"
        else:
            if CHILDHOOD_BEFORE.search(before):
                continue  # "when I was a little girl"
            if not adj and not loc:
                continue  # "the girl", "the kid"
            if not loc and not (adj == "inner" and noun in ("child", "kid")):
                if not (det in ("the", "this", "that") and young and has_parts and not LITERAL_AFTER.match(after)):
                    continue  # "my little girl" (a daughter), "a little boy at the park"
        if loc and loc.strip() == "part" and not young and adj != "inner":
            continue
        sig = {"young"} | ({noun} if noun in ("girl", "boy") else set())
        sig |= {"teen"} if noun.startswith("teen") or adj == "teenage" else set()
        out.append(Mention(m.start(), m.end(), tidy(src_of(src, low, m.start(), m.end() - m.start())), frozenset(sig)))
    return out


def _voice_mentions(low: str, src: str, has_parts: bool) -> list[Mention]:
    out = []
    for m in VOICE_RE.finditer(low):
        rel, clause = _clause(low[m.end():])
        verb = re.match(r"\s*(?:'s\s+)?(?:(?:just|always|still|keeps?|really)\s+)*([a-z']+)", clause or "")
        speaks = bool(clause) and verb is not None and (verb[1] in VOICE_VERBS or (bool(rel) and verb[1] in PART_VERBS))
        if not (m["loc"] or "inner" in m["adj"] or speaks):
            continue  # "in a quiet voice", "I raised my voice"
        name = src_of(src, low, m.start(), m.end() - m.start())
        if clause and not m["loc"] and (rel or not m["adj"].strip()):  # "the voice that says...", not "my inner voice is..."
            name = f"the {m['adj']}voice {_joined(rel, tail_of(src, low, clause))}"
        out.append(Mention(m.start(), m.end(), tidy(name), frozenset({"voice"}) | signature(short(clause or ""))))
    return out


def _one_mentions(low: str, src: str, has_parts: bool) -> list[Mention]:
    out = []
    for m in ONE_RE.finditer(low):
        rel, clause = _clause(low[m.end():])
        if not rel or SUBJECT_PRONOUN.match(clause) or not (m["loc"] or has_parts):
            continue  # "the one that I bought", "the one that got away"
        subject = re.search(r"([a-z]+)\s*(?:'s|\s+is|\s+was|\s+are|\s+were)\s*$", low[: m.start()])
        if subject and subject[1] not in ("it", "that", "this", "which", "there"):
            continue  # "my sister is the one who calls"
        first = re.match(r"\s*(?:'s\s+)?([a-z']+)", clause)
        if not (re.search(r"\b(?:me|my|myself|i)\b", clause) or (first and first[1] in IT_WORDS)):
            continue  # "the one that was cheaper"
        name = f"the one {_joined(rel, tail_of(src, low, clause))}"
        out.append(Mention(m.start(), m.end(), tidy(name), signature(short(clause))))
    return out


def _some_mentions(low: str, src: str, has_parts: bool) -> list[Mention]:
    out = []
    for m in SOME_RE.finditer(low):
        rel, clause = _clause(low[m.end():])
        if clause:
            name = f"the part {_joined(rel, tail_of(src, low, clause))}"
            out.append(Mention(m.start(), m.end(), tidy(name), signature(short(clause))))
    return out


def _it_mentions(low: str) -> list[Mention]:
    """"it wants...", "it's scared", "it doesn't want..."; "she"/"he" only for a girl or a boy part."""
    out = []
    for m in IT_RE.finditer(low):
        w = m["w"]
        if (w in IT_WORDS and (m["cop"] or w not in PART_ADJ)) or (m["neg"] and w in IT_AFTER_NEGATION):
            needs = {"she": "girl", "he": "boy"}.get(m["it"])
            out.append(Mention(m.start("it"), m.end("it"), anaphoric=True, creates=False, recent=RECENT_IT, needs=needs))
    return out


def add_cue(part: Part, cue: str) -> None:
    if cue in part.cues:
        part.cues.remove(cue)
    part.cues.append(cue)
    del part.cues[:-8]


def score_cues(part: Part, scope: str) -> None:
    for role, patterns in CUE_RES.items():
        for pattern in patterns:
            hit = next((h for h in pattern.finditer(scope) if not NEGATION.search(scope[: h.start()])), None)
            if hit:  # each cue word counts once per sentence
                part.scores[role] += 1
                add_cue(part, hit[0])


def _start_of(low: str, noun_start: int, words_back: int) -> int:
    start = noun_start
    for _ in range(words_back):
        found = re.search(r"[a-z0-9'-]+\s*$", low[:start])
        if not found:
            break
        start = found.start()
    return start
