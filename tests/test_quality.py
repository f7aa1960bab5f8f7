"""Hint quality: the word rules (who a field speaks to, labels, advice, sameness), the summary post-check and its
template from the partner's words, the metrics, and the quality bench's session handling."""

import re

import pytest

from coach import quality, wording
from coach.bench_quality import merged_turns, session_of, sessions_of
from coach.bench import Clip
from coach.hints import Hint
from coach.summary import check_summary, clip, grounded_summary, repair, template_summary
from tests.fakes import FakeEmbedder


def hint(summary="It sounds like a part of you feels stuck at work.",
         suggestion="Invite them to notice where the stuck part lives in their body.",
         follow_ups=("Where do you notice it in your body?", "What does it want you to know?"), priority="normal"):
    return Hint(summary=summary, suggestion=suggestion, follow_ups=list(follow_ups), priority=priority)


# ---- words --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [("criticizes", "criticized"), ("feeling", "feels"), ("sadness", "sad"),
                                  ("getting", "get"), ("families", "family"), ("panics", "panic")])
def test_light_stemming_matches_forms_of_a_word(a, b):
    assert wording.stem(a) == wording.stem(b)


def test_content_words_drop_stop_words_and_the_frame():
    assert wording.content_words("I just feel really numb lately") == ["feel", "numb", "lately"]
    assert wording.shared_content("It sounds like a part of you feels numb.", "I feel numb.") == 1.0
    assert wording.shared_content("It sounds like a part of you loves pizza.", "I feel numb.") == 0.0
    assert wording.shared_content("It sounds like a part of you.", "I feel numb.") is None


def test_pronouns_turn_to_second_and_third_person():
    said = "I'm tired of myself and my job, I am angry and I was hurt, am I wrong"
    assert wording.to_second_person(said) == (
        "you're tired of yourself and your job, you are angry and you were hurt, are you wrong")
    assert wording.to_third_person("the part that wants me to quit my job") == "the part that wants them to quit their job"


@pytest.mark.parametrize("text", ["It sounds like your depression is back.", "That is a common phobia.",
                                  "It sounds like PTSD.", "He sounds like a narcissist.", "a trauma response",
                                  "maybe bipolar disorder"])
def test_clinical_labels_are_found(text):
    assert wording.clinical_labels(text)


@pytest.mark.parametrize("text", ["It sounds like a part of you feels depressed and anxious.",
                                  "A part of you is so stressed.", "Add it to the list."])
def test_feeling_words_are_not_labels(text):
    assert not wording.clinical_labels(text)


@pytest.mark.parametrize("text", ["Invite them to hang up on him.", "Encourage them to confront their boss.",
                                  "You should leave him.", "Ask them to quit the job."])
def test_advice_is_found(text):
    assert wording.pushes_advice(text)


@pytest.mark.parametrize("text", ["What do you need to feel safe?", "Invite them to notice the part that wants to quit.",
                                  "It sounds like a part of you wants to hang up."])
def test_reflection_and_questions_are_not_advice(text):
    assert not wording.pushes_advice(text)


@pytest.mark.parametrize("summary, turn, ok", [
    ("It sounds like a part of you feels stuck.", "", True),
    ("It sounds like your partner is struggling.", "", False),
    ("It sounds like when your partner goes quiet, a part of you panics.", "When my partner goes quiet I panic.", True),
    ("It sounds like they are sad.", "", False),
    ("It sounds like the facilitator should listen.", "", False),
    ("It sounds like I'm glad you said that.", "", False),
    ("It sounds like there is a wall.", "", False),  # says nothing to "you"
])
def test_who_a_summary_speaks_to(summary, turn, ok):
    assert (not wording.summary_problems(summary, turn)) == ok


@pytest.mark.parametrize("text, ok", [
    ("Invite them to notice the part.", True),
    ("Slow down and notice your own parts.", True),
    ("Invite them to talk about what makes you who you are, that is me.", False),
    ("Ask - A part of me feels guilty.", False),
    ("Invite your partner to breathe.", False),
    ("The part is scared.", False),
])
def test_who_a_suggestion_speaks_to(text, ok):
    assert (not wording.suggestion_problems(text)) == ok


@pytest.mark.parametrize("text, ok", [
    ("How do you feel toward that part?", True),
    ("What does the critical part fear would happen?", True),
    ("What does your partner think about you?", False),
    ("How do they feel about it?", False),
    ("What do I need right now?", False),
    ("Tell me more about it.", False),
])
def test_who_a_follow_up_speaks_to(text, ok):
    assert (not wording.follow_up_problems(text)) == ok


def test_near_equal_counts_small_edits_but_not_another_question():
    example = "It sounds like when your boss criticizes you, a part of you just wants to quit."
    assert wording.near_equal(example, "It sounds like when your boss criticizes you, a part of you wants to quit.")
    assert not wording.near_equal("How do you feel toward the critic?", "How do you feel toward this part?")
    assert wording.near_equal("How do you feel toward this part?", "how do you feel toward this part")


# ---- the summary post-check and the template ------------------------------------------------------------------------

TURN = "Whenever my brother calls, a part of me gets so angry that I want to hang up."


def test_check_summary_accepts_a_grounded_reflection():
    assert check_summary("It sounds like a part of you gets angry when your brother calls.", TURN) == []


@pytest.mark.parametrize("summary, problem", [
    ("It sounds like your partner is angry at your brother.", "partner in the third person"),
    ("It sounds like a part of you has depression about your brother.", "clinical label"),
    ("It sounds like you should hang up on your brother.", "advice"),
    ("It sounds like a part of you loves sunny beaches and you.", "not the partner's words"),
])
def test_check_summary_rejects(summary, problem):
    assert problem in check_summary(summary, TURN)


def test_check_summary_rejects_copies_of_the_example_and_of_earlier_hints():
    s = "It sounds like a part of you gets angry when your brother calls."
    assert "copies the prompt's example" in check_summary(s, TURN, examples=[s])
    assert "repeats an earlier hint" in check_summary(s, TURN, earlier=[s.replace("angry", "so angry")])


def test_repair_turns_the_partners_copied_first_person_and_leaves_the_models_own():
    turn = "I get anxious before I visit my family."
    assert repair("It sounds like a part of you gets anxious before I visit my family.", turn) == (
        "It sounds like a part of you gets anxious before you visit your family.")
    assert repair("It sounds like your part of you is anxious, and I'm glad you said it.", turn) == (
        "It sounds like a part of you is anxious.")  # the model's own voice cut off at its clause
    assert repair("It sounds like I'm glad you are here.", turn) == "It sounds like I'm glad you are here."


def test_repair_drops_the_examples_other_part_when_the_partner_spoke_of_one():
    assert repair("It sounds like a part of you keeps getting benched at work, and another part says you deserve it.",
                  "I keep getting benched at work") == "It sounds like a part of you keeps getting benched at work."
    two = "It sounds like a part of you wants to rest, and another part says rest is lazy."
    assert repair(two, "Part of me wants to rest and another part says rest is lazy.") == two


def test_clip_ends_a_cut_summary_at_its_last_clause():
    assert clip("It sounds like a part of you is getting really anxious before you visit your family, and it's"
                " telling you") == "It sounds like a part of you is getting really anxious before you visit your family."
    assert clip("It sounds like a part of you is tired.") == "It sounds like a part of you is tired."


@pytest.mark.parametrize("turn, expected", [
    ("There is a part of me that gets really anxious before I visit my family.",
     "It sounds like a part of you gets really anxious before you visit your family."),
    # "a part of you" only where the partner spoke of parts: a story or a feeling is reflected as theirs
    ("I keep getting angry at my sister.", "It sounds like you keep getting angry at your sister."),
    ("Honestly I just feel numb lately.", "It sounds like you just feel numb lately."),
    # a verdict on themselves is never handed back as a fact, nor a critic's words as true
    ("I'm a failure.", "It sounds like you are being really hard on yourself right now."),
    ("hi i am okay, a little bit sad though", "It sounds like you feel a little bit sad though."),
    ("I lost my job and I can't pay rent.", "It sounds like you lost your job and you can't pay rent."),
    ("My critic part tells me I'm lazy.", "It sounds like your critic part is being really hard on you."),
    ("My mom keeps saying I'm not gonna make a decent mom.", "It sounds like it really hurts to hear that said about you."),
    # both sides of a change the partner weighs, neither pressed
    ("I know I should quit smoking, but it helps me relax after work.",
     "It sounds like you know you should quit smoking, and at the same time it helps you relax after work."),
    ("Whenever my boss criticizes me, a part of me just wants to quit.",
     "It sounds like whenever your boss criticizes you, a part of you just wants to quit."),
    # what weighs on them, before the longer clause of facts around it
    ("My sister drove me over to the clinic on Tuesday afternoon after work. I have a feeling I'm going to fail again.",
     "It sounds like you have a feeling you're going to fail again."),
    # a short fact and what weighs on them, together and in their order ("no one" is no answer "no")
    ("I ring my brother every week, and no one ever listens to me.",
     "It sounds like you ring your brother every week, and no one ever listens to you."),
    # "like" as a filler goes; a likeness stays
    ("I'm always like exhausted after the night shift.", "It sounds like you're always exhausted after the night shift."),
    ("I had like four coffees before lunch.", "It sounds like you had four coffees before lunch."),
    # a stumble across a comma is said once, and an intensifier left hanging is no clause
    ("I'm so, so tired of the arguing.", "It sounds like you're so tired of the arguing."),
    # a person and then their pronoun, as speech does
    ("My dad he's always telling me to get a proper job.", "It sounds like your dad's always telling you to get a proper job."),
    # "we" includes the partner; "my friends and I" is "you and your friends"
    ("We just can't afford the rent on this flat anymore.", "It sounds like you just can't afford the rent on this flat anymore."),
    ("It's the one thing that my sister and I still do together.",
     "It sounds like it's the one thing that you and your sister still do together."),
    # a subject the comma split from its "who" clause is joined again
    ("My neighbours, who have three dogs, would be glad if I moved.",
     "It sounds like your neighbours who have three dogs would be glad if you moved."),
    # a health word is no violence: said back
    ("My blood pressure has been creeping up since the winter.",
     "It sounds like your blood pressure has been creeping up since the winter."),
    # what they say they do not mean is not said back
    ("That's not to say I want to move abroad, but I need a change of job.", "It sounds like you need a change of job."),
    # a speech slip is mended, and a clause that lost its subject is not said back
    ("I'm honestly been trying to eat better.", "It sounds like you've honestly been trying to eat better."),
    # the partner's own obligation is theirs, never the coach's advice
    ("I'm on a training contract so I have to pass every module.",
     "It sounds like you're on a training contract so you feel you have to pass every module."),
    # what weighs on them before a fact of the same rank, and the two together when short
    ("I'm drinking four cans a night, I'm getting fed up with it.",
     "It sounds like you're drinking four cans a night, and you're getting fed up with it."),
    # "five, six years" is one span of time, not two clauses
    ("I started vaping when I was fifteen, sixteen.", "It sounds like you started vaping when you were fifteen or sixteen."),
    # what they usually do, its "I" left out as speech does
    ("Mostly just walk the dog and watch telly in the evenings.",
     "It sounds like you mostly just walk the dog and watch telly in the evenings."),
    # nothing of theirs about them: their view of a thing, said as theirs
    ("Honestly? It's just a lot of hassle.", "It sounds like you feel it's just a lot of hassle."),
    # a question of theirs is heard as one
    ("Would that mean going to the meetings every week?", "It sounds like you are wondering about this."),
])
def test_template_summary_from_the_partners_words(turn, expected):
    assert template_summary(turn) == expected


@pytest.mark.parametrize("turn, kept", [
    ("I'm not that keen on the gym, but my brother is.", "at the same time"),  # "not that" = "not very"
    ("I asked my manager he could move my shifts, and he did.", "he could"),  # an object, then a new subject
    ("It's nothing like when I was living in the city.", "nothing like"),  # a likeness, not a filler
    ("We flew to the US for my cousin's wedding.", "the US"),
    ("I got to see my nan on Sunday and it was lovely.", "you got to see"),  # a chance, not an obligation
])
def test_what_the_speech_rules_must_leave_alone(turn, kept):
    assert kept in template_summary(turn)


def test_a_feeling_is_denied_only_within_its_own_clause():
    from coach.summary import _feelings

    assert _feelings("I can't get to sleep, I'm so anxious.") == ["anxious"]
    assert _feelings("No, I'm angry, really.") == ["angry"]
    assert _feelings("I wasn't angry at all.") == []


def test_a_feeling_the_partner_denies_is_not_said_back():
    # no clause of theirs to say back: only the feelings they named could be, and guilt they did not feel is none
    assert "you feel guilt" not in template_summary("Honestly, about the party, not the least bit of guilt.").lower()
    assert "sad" in template_summary("So sad, honestly, so sad.").lower()


@pytest.mark.parametrize("turn, never", [
    ("The meals that I cook at home, I don't think are very healthy.", "think are"),
    ("If I remember said that to my boss, I'd be fired.", "remember said"),
    ("The shoes that I bought.", "The shoes"),
])
def test_a_clause_that_lost_its_subject_or_verb_is_not_said_back(turn, never):
    assert never.lower() not in template_summary(turn).lower()


def test_both_sides_cut_to_fit_are_not_taken_for_both_sides():
    """Cut at its comma to fit, "X, and at the same time Y" is X alone: it competes as X, not as the two-sided
    reflection it no longer is."""
    turn = ("I'm still paying off the car loan from two years ago and the credit card from the move, but honestly "
            "I have a feeling I'm going to be stuck with this debt forever, no matter what I do.")
    assert template_summary(turn) == "It sounds like you have a feeling you're going to be stuck with this debt forever."


def test_template_summary_is_always_addressed_bounded_and_new():
    earlier: list[str] = []
    for turn in ["Thank you so much, you have been great.", "Yeah.", "ok ok ok", "I feel so so sad and lonely.",
                 "Thank you so much, you have been great.", "It is what it is."]:
        s = template_summary(turn, earlier)
        assert len(s) <= 100 and s.startswith("It sounds like")
        assert not wording.summary_problems(s, turn) and not wording.clinical_labels(s)
        assert not any(wording.near_equal(s, e) for e in earlier)
        earlier.append(s)


def test_grounded_summary_keeps_a_good_llm_summary_and_replaces_a_bad_one():
    good = "It sounds like a part of you gets angry when your brother calls."
    assert grounded_summary(good, "Mm. Yes. A part, yeah, angry, my brother, when he calls.") == (good, [])
    # a reflection from the partner's own clause comes first, the LLM's is not needed
    built, problems = grounded_summary(good, TURN)
    assert problems == ["built from the partner's words"] and built.startswith("It sounds like")
    summary, problems = grounded_summary("It sounds like your partner is a great friend.", TURN)
    assert problems and "your partner" not in summary and summary.startswith("It sounds like")
    assert wording.shared_content(summary, TURN) >= 0.5


# ---- metrics ---------------------------------------------------------------------------------------------------------


def test_score_session_finds_example_copies_and_repeats():
    example = "How do you feel toward the part that wants to quit?"
    a = hint()
    b = hint(summary="It sounds like a part of you feels stuck at work.", follow_ups=(example, "What is it like?"))
    scored = quality.score_session([("I feel stuck at work.", a), ("I feel stuck at work.", b)], [example])
    assert not scored[0].echo
    assert scored[1].echo_example == ["follow_up"] and "summary" in scored[1].echo_repeat


def test_safety_hints_are_not_scored():
    safe = hint(priority="safety")
    assert quality.score_session([("x", safe), ("x", safe)]) == []


def test_distinct_share():
    assert quality.distinct_share(["What is it?", "How is it?", "What is it?", "what is it"]) == 0.5
    assert quality.distinct_share([]) is None


def test_summarize_and_goals():
    bad = hint(summary="It sounds like your partner has depression.", suggestion="Invite them to hang up on him.")
    sessions = [[("I feel stuck at work.", hint()), ("I feel stuck at work.", hint())], [("My brother calls.", bad)]]
    m = quality.summarize(sessions, embedder=FakeEmbedder())
    assert m["hints"] == 3 and m["sessions"] == 2
    assert m["addressed"] == round(2 / 3, 3) and m["summary_addressed"] == round(2 / 3, 3)
    assert m["echo_repeat"] == round(1 / 3, 3)
    assert m["distinct_follow_ups"] == 0.75  # (2/4 + 2/2) / 2
    assert m["clinical_labels"] == 1 and m["advice"] == 1
    assert 0 < m["grounding_cosine"] <= 1
    assert quality.meets(m) == {"echo_rate": False, "distinct_follow_ups": False, "clinical_labels": False,
                                "cut": True, "said_back": True}


def test_the_judge_free_harm_checks():
    cut = hint(summary="It sounds like a part of you is getting really anxious before you visit your\u2026")
    verdict = hint(summary="It sounds like you're so stupid.")
    parts = hint(summary="It sounds like a part of you wants a new job.")
    m = quality.summarize([[("I feel anxious before family visits.", cut), ("I'm so stupid.", verdict),
                            ("I want a new job.", parts), ("A part of me wants a new job.", parts)]])
    assert m["cut"] == 1 and m["said_back"] == 1 and m["parts_unasked"] == round(2 / 4, 3)
    assert quality.deltas({"a": 1, "b": None}, {"a": 0.5, "b": 2}) == {"a": -0.5}


# ---- the quality bench's sessions ------------------------------------------------------------------------------------


def test_sessions_from_voice_corpus_ids():
    assert session_of("esconv_test_004_13") == "esconv_test_004"
    clips = [Clip(i, None, "") for i in ("a_1", "a_3", "b_2", "a_5")]
    assert [[c.id for c in s] for s in sessions_of(clips)] == [["a_1", "a_3", "a_5"], ["b_2"]]
    assert len(sessions_of(clips, one_session=True)) == 1


def test_short_turns_wait_for_the_next_one():
    assert merged_turns(["Yes.", "I feel it in my chest.", "ok", "no"], 5) == ["Yes. I feel it in my chest."]


# ---- reflections right by construction: many generated turns (issue 21) -------------------------------------------

_OPENERS = ["", "Um, ", "Well, ", "Yeah, so ", "Honestly ", "I mean, ", "And ", "So, like, "]
_CLAUSES = [
    "I feel stuck at work and I don't know why", "I've been drinking more since my dad got ill",
    "my sister never calls me back", "I want to cut down but my friends all drink",
    "I know I should take the tablets, but they make me so tired", "I'm such an idiot, I forgot again",
    "a part of me wants to quit and another part is scared", "my critic tells me I'm useless",
    "I smoke about ten a day, more at work", "he said I'd never make a decent dad",
    "I tried to stop but it lasted two days", "I get really anxious before I visit my family",
    "the kids were fighting and I just shouted at them", "I'm proud I made the appointment",
    "it's not really a problem, everyone does it", "I keep checking my phone all evening",
    "I lost my job in March and the bills keep coming", "my mum keeps saying I'm lazy",
    "we've been together six years and it's hard lately", "I don't really want to talk about that",
    "I went for a walk every morning this week", "there's this tightness in my chest when I stop",
]
_JOINERS = [". ", ", and ", ", but ", "... ", " - ", ". You know, "]


def _generated_turns(n: int, seed: int = 7) -> list[str]:
    import random

    rng = random.Random(seed)
    turns = []
    for _ in range(n):
        k = rng.choice([1, 1, 2, 2, 3])
        parts = [rng.choice(_CLAUSES) for _ in range(k)]
        text = rng.choice(_OPENERS) + parts[0]
        for p in parts[1:]:
            text += rng.choice(_JOINERS) + p
        turns.append(text + rng.choice([".", "", "?", "..."]))
    return turns


def test_no_reflection_of_many_generated_turns_is_cut_misaddressed_or_a_verdict():
    from coach.summary import SUMMARY_MAX, template_summary

    earlier: list[str] = []
    for turn in _generated_turns(400):
        s = template_summary(turn, earlier[-6:])
        earlier.append(s)
        assert s.startswith("It sounds like ") and s.endswith(".") and "\u2026" not in s, (turn, s)
        assert len(s) <= SUMMARY_MAX, (turn, s)
        said = set(wording.words(s))
        assert said & wording.SECOND_PERSON and not said & wording.FIRST_PERSON, (turn, s)  # pronouns turned
        assert not wording.unsafe_to_say_back(s), (turn, s)  # no insult, verdict or violent word said back
        assert not re.search(r"\b(?:and|but|or|so|because|when|the|a|to|of|with)\.$", s), (turn, s)  # no dangling
        if "part" not in turn.lower():
            assert "part of you" not in s, (turn, s)  # parts language only where the partner used it
