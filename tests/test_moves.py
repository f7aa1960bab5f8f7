"""The IFS move library (every line a facilitator may read) and choosing a move: cues, part names, the session's
progress, follow-ups never repeated. Unit tests use the bag-of-words FakeEmbedder; the real embedder's choices are
checked on utterances written for this test (not the library's exemplars)."""

import pytest

from coach import wording
from coach.move_choice import (
    NEEDS_CUE,
    MoveChooser,
    MoveState,
    PART_NAME_MAX,
    choose_move,
    detect_cues,
    feeling_part,
    part_name,
    record,
    words_for,
)
from coach.moves import (
    BY_KEY,
    DEFAULT_PART_FACILITATOR,
    DEFAULT_PART_PARTNER,
    FOLLOW_UP_MAX,
    MOVES,
    PARTS_WORK,
    PROGRESSION,
    SUGGESTION_MAX,
)
from tests.fakes import FakeEmbedder

LONGEST_NAME = "the part that " + "x" * (PART_NAME_MAX - len("the part that "))

# ---- the library: what facilitators read ------------------------------------------------------------------------


def test_library_has_the_ifs_moves_and_unique_keys():
    keys = [m.key for m in MOVES]
    assert len(keys) == len(set(keys))
    for key in ("find", "focus", "flesh_out", "feel_toward", "befriend", "ask_fear", "unblend", "witness"):
        assert key in BY_KEY
    assert all(k in BY_KEY for k in PROGRESSION)


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.key)
def test_suggestions_speak_to_the_facilitator_within_bounds(move):
    assert len(move.suggestions) >= 3
    for s in move.suggestions:
        for name in (DEFAULT_PART_FACILITATOR, "the critic"):
            text = s.replace("{part}", name)
            assert len(text) <= SUGGESTION_MAX, text
            assert not wording.suggestion_problems(text), (text, wording.suggestion_problems(text))
            assert not wording.clinical_labels(text) and not wording.pushes_advice(text), text
        assert not s.startswith("{part}") and "{part}'s" not in s


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.key)
def test_follow_ups_are_questions_to_the_partner_within_bounds(move):
    assert len(move.follow_ups) >= 6
    for q in move.follow_ups:
        text = q.replace("{part}", DEFAULT_PART_PARTNER)
        assert len(text) <= FOLLOW_UP_MAX and text.endswith("?"), text
        assert not wording.follow_up_problems(text), (text, wording.follow_up_problems(text))
        assert not wording.clinical_labels(text) and not wording.pushes_advice(text), text
        assert not q.startswith("{part}") and "{part}'s" not in q
    assert len({q.lower() for q in move.follow_ups}) == len(move.follow_ups)


def test_no_two_lines_of_the_library_read_the_same():
    """What the echo metric would count as a repeat must never come from two different templates."""
    for kind, default in (("follow_ups", DEFAULT_PART_PARTNER), ("suggestions", DEFAULT_PART_FACILITATOR)):
        lines = [t.replace("{part}", default) for m in MOVES for t in getattr(m, kind)]
        for i, a in enumerate(lines):
            assert not [b for b in lines[i + 1 :] if wording.near_equal(a, b)], a


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.key)
def test_every_move_has_many_exemplars(move):
    assert len(move.exemplars) >= 10
    assert len(set(move.exemplars)) == len(move.exemplars)


def test_a_long_part_name_falls_back_to_the_default_when_it_does_not_fit():
    state = MoveState()
    suggestion, _, follow_ups, _ = words_for(BY_KEY["ask_fear"], state, LONGEST_NAME)
    assert len(suggestion) <= SUGGESTION_MAX and all(len(q) <= FOLLOW_UP_MAX for q in follow_ups)


# ---- cues and names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, cue", [
    ("I am so angry I could scream.", "blended"),
    ("I hate myself for saying that.", "blended"),
    ("I'm such a failure.", "blended"),
    ("I can't stand that critic part anymore.", "against_part"),
    ("When I was a kid nobody came to get me.", "exile_story"),
    ("It's been like that ever since I was a teenager.", "exile_story"),
    ("My grandfather passed away in March.", "loss"),
    ("It tells me to stay home and keep quiet.", "protector_job"),
    ("I think it's trying to protect me.", "protective_intent"),
    ("There's a wall and I go blank.", "blocked"),
    ("I feel a lot of compassion for it now.", "self_energy"),
    ("A part of me wants to run.", "part_named"),
    ("My chest is tight.", "body"),
    ("There's this knot in my stomach every time the phone rings.", "body"),
    ("I can feel it in my throat right now.", "body"),
    ("My jaw clenches when she starts on me.", "body"),
    ("The scared part of me hides.", "part_named"),
    ("There's a voice in my head that says I'll fail.", "part_named"),
    ("My angry side comes out when he's late.", "part_named"),
    ("That critical voice starts up again.", "part_named"),
    # the moments of a session that are not parts work
    ("My husband keeps telling me I'm on my phone too much.", "others_view"),
    ("The GP said my cholesterol is up again.", "others_view"),
    ("My dad's been on at me about getting a job.", "others_view"),
    ("I don't know how to get to the leisure centre without a bus pass.", "obstacles"),
    ("We can't afford the fees for the course this year.", "obstacles"),
    ("I'd love to be able to take the grandkids swimming.", "hope"),
    ("I'm hoping to be back at work by March.", "hope"),
    ("Hang on, are you telling me I'm a bad dad?", "pushback"),
    ("It's my body, I'll eat what I like.", "pushback"),
    ("I only came in about my back, I'm not here to talk about the smoking.", "pushback"),
    ("I've cut down to ten a day. Is that enough, do you think?", "asks_us"),
    ("What sort of side effects do the tablets have?", "asks_us"),
    ("Hmm. I'd say about a six.", "rating"),
    ("Eight out of ten, easily.", "rating"),
    ("Four.", "rating"),
    ("I went three days without a cigarette and I felt really proud.", "step_taken"),
])
def test_cues(text, cue):
    assert cue in detect_cues(text)


@pytest.mark.parametrize("text", [
    "The doctor says the extra weight is pushing up my blood pressure.",  # a body word in a practical turn
    "I'm a pretty heavy smoker, a pack a day.",
    "I had a chest infection all of January.",
    "The hard part is the mornings, honestly.",  # the ways of speaking that have "part" in them
    "The best part was seeing my sister again.",
    "Part of it is just the money.",
    "I only work part-time at the moment.",
    "I did my part, I cleaned the whole kitchen.",
    "The part where he walked out, I don't remember much.",
    "It's a big part of my life, the church.",
    "I worked it out in my head on the way over.",
    "My mum's side of the family are all like that.",
    "At least my sister is on my side.",
])
def test_no_part_or_body_cue_in_practical_talk(text):
    """Parts work ("turn toward the part") after any of these reads as if the coach had not listened."""
    assert not detect_cues(text) & {"part_named", "body"}


@pytest.mark.parametrize("text", ["Why do I always end up doing this?", "I keep going back to him. What's wrong with me?",
                                  "It's not that bad, you know?", "I walk a lot anyway, right?",
                                  "I went for a run this morning."])
def test_a_question_to_oneself_or_a_tag_is_not_one_for_the_facilitator(text):
    assert "asks_us" not in detect_cues(text)


@pytest.mark.parametrize("text", ["I was about a six year old kid then.", "It's a ten-minute walk from mine.",
                                  "I have five or six beers on a Friday.", "We've got two kids and a dog."])
def test_a_number_that_is_no_rating(text):
    assert "rating" not in detect_cues(text)


@pytest.mark.parametrize("text, cue", [
    ("Maybe at one point I'll go back to it.", "rating"), ("It's a nine to five job, so evenings only.", "rating"),
    ("Nine out of ten times I just say no.", "rating"), ("What's the point?", "asks_us"), ("Who cares?", "asks_us"),
    ("If you don't get it in by Friday, you lose the place.", "pushback"), ("I went to a lecture on sleep.", "pushback"),
    ("It was sorted in no time.", "obstacles"),
])
def test_cues_that_ordinary_speech_must_not_raise(text, cue):
    assert cue not in detect_cues(text)




@pytest.mark.parametrize("text", ["My boss is so angry at me.", "I went to the park with my kids.",
                                  "The weather was nice today."])
def test_no_blending_or_story_cue_in_ordinary_talk(text):
    assert not detect_cues(text) & {"blended", "exile_story", "against_part", "blocked"}


@pytest.mark.parametrize("text, name", [
    ("My critic part tells me I'm lazy and stupid every morning.", "the critic"),
    ("A part of me wants to hang up when my brother calls.", "the part that wants to hang up"),
    ("I think the part that keeps me busy all the time is afraid.", "the part that keeps me busy"),
    ("When my partner goes quiet, a part of me panics and starts fixing.", "the part that panics"),
    ("I noticed the scared part hiding.", "the scared part"),
    ("I went to work and came home.", None),
    ("This part says that rest is lazy.", None),  # "the part that says that rest": not a name to read back
])
def test_part_names_in_the_partners_words(text, name):
    assert part_name(text) == name


def test_part_names_turn_to_second_and_third_person():
    name = part_name("There's a part of me that tightens my chest.")
    assert name == "the part that tightens my chest"
    assert wording.to_second_person(name) == "the part that tightens your chest"
    assert wording.to_third_person(name) == "the part that tightens their chest"


def test_feeling_part():
    assert feeling_part("hi, I am okay, a little bit sad though") == "the part that feels sad"
    assert feeling_part("We went shopping.") is None


# ---- choosing -----------------------------------------------------------------------------------------------------


def flat(**overrides) -> dict:
    return {m.key: overrides.get(m.key, 0.3) for m in MOVES}


def test_meaning_decides_without_cues_or_history():
    assert choose_move(flat(explore=0.5), frozenset(), MoveState(), stays=False)[0] == "explore"


def test_moves_that_presume_what_was_said_need_its_cue():
    """"What helped you do that?" only after a step taken; childhood questions only after a story of one."""
    assert choose_move(flat(affirm=0.6), frozenset(), MoveState(), stays=False)[0] != "affirm"
    assert choose_move(flat(affirm=0.6), frozenset({"step_taken"}), MoveState(), stays=False)[0] == "affirm"
    assert choose_move(flat(witness=0.6), frozenset(), MoveState(), stays=False)[0] != "witness"
    assert choose_move(flat(witness=0.5), frozenset({"loss"}), MoveState(), stays=False)[0] == "witness"


def test_a_cue_outweighs_a_small_lead_in_meaning():
    assert choose_move(flat(find=0.38), frozenset({"blended"}), MoveState(), stays=False)[0] == "unblend"


def test_staying_with_a_part_moves_the_six_fs_forward():
    state = MoveState(moves=["find"])
    assert choose_move(flat(), frozenset(), state, stays=True)[0] == "focus"
    state = MoveState(moves=["find", "focus"])
    assert choose_move(flat(explore=0.31), frozenset(), state, stays=True)[0] == "flesh_out"
    assert choose_move(flat(explore=0.31), frozenset(), state, stays=False)[0] != "flesh_out"


def test_never_the_same_move_three_times_running():
    state = MoveState(moves=["witness", "witness"])
    assert choose_move(flat(witness=0.9), frozenset({"exile_story"}), state, stays=False)[0] != "witness"


def test_a_move_with_its_follow_ups_used_up_gives_way():
    move = BY_KEY["witness"]
    state = MoveState(follow_ups=list(move.follow_ups[:-1]))
    assert choose_move(flat(witness=0.6), frozenset(), state, stays=False)[0] != "witness"


def test_follow_ups_are_never_repeated_in_a_session():
    state = MoveState()
    seen = []
    for i in range(40):  # longer than any move's list: others lend theirs
        key = MOVES[i % 3].key
        suggestion, template, follow_ups, templates = words_for(BY_KEY[key], state, None)
        seen += list(follow_ups)
        state.moves.append(key)
        state.suggestions.append(template)
        state.follow_ups.extend(templates)
        state.asked.extend(follow_ups)
    assert len(set(seen)) == len(seen)
    assert not [q for i, q in enumerate(seen) if any(wording.near_equal(q, p) for p in seen[:i])]


def test_the_part_name_fills_the_slot_in_the_right_person():
    state = MoveState(suggestions=[BY_KEY["ask_fear"].suggestions[0]])  # the next one has room for a long name
    suggestion, _, follow_ups, _ = words_for(BY_KEY["ask_fear"], state, "the part that wants me to quit")
    assert "the part that wants them to quit" in suggestion
    _, _, follow_ups, _ = words_for(BY_KEY["ask_fear"], MoveState(), "the part that shames me")
    assert any("the part that shames you" in q for q in follow_ups)


def test_chooser_with_a_fake_embedder_and_session_state():
    chooser = MoveChooser(FakeEmbedder())
    state = MoveState()
    plans = []
    for text in ["I am so angry at everything right now.", "When I was a kid my father yelled and I hid.",
                 "There is a wall and I go blank and numb.", "I feel some compassion for that little boy now."]:
        plan = chooser.plan(text, state)
        record(state, plan)
        plans.append(plan)
    # no part in view yet: the feeling is noticed (is there a part that feels this?), not unblended from; once the
    # partner speaks of the little boy, befriending him fits
    assert [p.move for p in plans] == ["find", "witness", "permission", "befriend"]
    given = [q for p in plans for q in p.follow_ups]
    assert len(set(given)) == len(given)
    assert state.moves == [p.move for p in plans]


# ---- with the real embedder ---------------------------------------------------------------------------------------

# Written for this test, in wordings the exemplars do not use.
LABELLED = [
    ("My manager keeps moving my deadlines and I've been on edge all week.", {"find", "explore"}),
    ("Since the move I just feel kind of flat and far from everyone.", {"find", "permission"}),
    ("There's this clenching in my belly whenever my phone buzzes.", {"focus"}),
    ("Part of me wants to crawl under the covers and never come out.", {"focus", "ask_fear"}),
    # (these refer back to a part: in a session they follow a turn that named it; see PRIMED)
    ("It's small and grey and it curls up in a ball.", {"flesh_out"}),
    ("That voice sounds exactly like my grandmother used to.", {"flesh_out", "witness"}),
    ("I can really see the perfectionist now, it's standing right there.", {"feel_toward", "focus"}),
    ("I feel so much tenderness toward that kid.", {"befriend"}),
    ("I'm really curious what it's been trying to do.", {"befriend", "appreciate"}),
    ("The perfectionist makes me redo every email three times.", {"ask_fear"}),
    ("Something in me always grabs the snacks when I'm lonely at night.", {"ask_fear"}),
    # a verdict or a strong feeling with no part in view: notice the feeling that may be a part, not unblend yet
    ("I'm useless, I ruin everything I touch.", {"find"}),
    ("I'm so furious I'm shaking.", {"find"}),
    ("I want that whiny part to just shut up.", {"unblend"}),
    ("When I was nine my mom left and I waited for her every day.", {"witness"}),
    ("My uncle died suddenly and I never told him I loved him.", {"witness"}),
    ("I guess the worrying is its way of keeping me ready for the worst.", {"appreciate"}),
    ("It's been guarding me ever since high school.", {"appreciate", "flesh_out"}),
    ("I go inside and there's only static, nothing at all.", {"permission"}),
    ("I'd rather not look at that right now.", {"permission"}),
    # meeting them where they are: a habit told, a step taken, a change weighed
    ("I have a glass of wine most nights, sometimes two if the kids have been hard work.", {"explore"}),
    ("I haven't had a cigarette since Sunday, which is the longest in years.", {"affirm"}),
    ("I know I should cut down but it's the one thing I look forward to.", {"weigh"}),
    ("My sister thinks I've been gambling more since the divorce.", {"others_view"}),
    ("I can't get to the gym because I don't have a car and the bus takes an hour.", {"obstacles"}),
    ("One day I want to open a little bakery of my own.", {"hope"}),
    ("So you think I can't look after my own kids, is that it?", {"roll_with"}),
    ("How many units are in a bottle of wine?", {"answer"}),
    ("Probably about a seven, I'd say.", {"scale"}),
]
PRIMED = {"It's small and grey and it curls up in a ball.", "That voice sounds exactly like my grandmother used to.",
          "I can really see the perfectionist now, it's standing right there.", "I feel so much tenderness toward that kid.",
          "I'm really curious what it's been trying to do.", "I guess the worrying is its way of keeping me ready for the worst.",
          "It's been guarding me ever since high school."}


def _state_for(text: str) -> MoveState:
    """A new session, or for a turn that refers back to a part, one where the partner spoke of it just before."""
    return MoveState(turns_since_part=0, part="the part") if text in PRIMED else MoveState()


@pytest.fixture(scope="module")
def real_chooser(embedder):
    return MoveChooser(embedder)


@pytest.mark.models
def test_real_embedder_chooses_a_fitting_move_for_most_turns(real_chooser):
    right = [real_chooser.plan(text, _state_for(text)).move in ok for text, ok in LABELLED]
    assert sum(right) / len(right) >= 0.8, [t for (t, _), r in zip(LABELLED, right) if not r]


@pytest.mark.models
def test_real_session_moves_forward_when_the_partner_stays_with_one_part(real_chooser):
    state = MoveState()
    moves = []
    for text in ["There's a part of me that gets tense whenever my sister calls.",
                 "The part that gets tense is in my shoulders, it's like a brace.",
                 "The part that gets tense is small and it's been there since I was young."]:
        plan = real_chooser.plan(text, state)
        record(state, plan)
        moves.append(plan.move)
    assert len(set(moves)) == 3  # not the same move again and again


# A long session of plain storytelling (written for this test): the questions fit a story all the way through.
STORY = [
    "We moved to the coast when I was offered the job at the harbour.", "My shifts start at six, so I'm up at five.",
    "I usually have a beer or two when I get in, nothing major.", "My brother lives nearby, we see him on Sundays.",
    "The flat is small but it's got a view of the water.", "I've been thinking about getting a dog, honestly.",
    "Work has been busy since the new boats came in.", "My mum rings most evenings to see how I am.",
    "I play five-a-side on Thursdays with some lads from work.", "The drive back takes about forty minutes.",
    "I cook most nights, pasta mostly, nothing fancy.", "We went to the quiz at the pub last week and came second.",
    "I'm saving up for a car of my own at the moment.", "My neighbour grows tomatoes on the balcony.",
    "On my days off I walk along the cliffs if the weather is fine.", "I'm thinking of doing a course in the evenings.",
]


@pytest.mark.models
def test_a_long_story_never_borrows_questions_that_need_a_cue_or_a_part(real_chooser):
    """Once a move's own questions run out, only moves that fit the turn may lend theirs: a session once borrowed
    "What is it like to notice this blankness with curiosity?" for a turn about beers."""
    state = MoveState(follow_ups=list(BY_KEY["explore"].follow_ups[:-3]))  # a long session: nearly all asked
    misfits = {m.key for m in MOVES if m.key in NEEDS_CUE or m.key in PARTS_WORK}
    owner = {q: m.key for m in MOVES for q in m.follow_ups}
    for text in STORY[:6]:
        plan = real_chooser.plan(text, state)
        record(state, plan)
        borrowed = [owner[t] for t in plan.follow_up_templates if owner.get(t) in misfits and plan.move != owner[t]]
        assert not borrowed, (text, plan.follow_ups)


@pytest.mark.models
def test_a_long_story_asks_no_question_twice(real_chooser):
    state, asked = MoveState(), []
    for text in STORY:
        plan = real_chooser.plan(text, state)
        record(state, plan)
        asked += plan.follow_ups
    assert len(set(asked)) == len(asked), "a question repeated within a 16-turn session"


def test_a_session_longer_than_the_library_repeats_the_words_used_longest_ago():
    move = BY_KEY["explore"]
    state = MoveState(suggestions=list(move.suggestions), follow_ups=list(move.follow_ups))
    state.suggestions.append(move.suggestions[0])  # the first was used again most recently
    state.follow_ups += [move.follow_ups[0], move.follow_ups[1]]
    suggestion, template, _, templates = words_for(move, state, None, lenders=frozenset({"explore"}))
    assert template == move.suggestions[1]
    assert templates == (move.follow_ups[2], move.follow_ups[3])


def test_a_question_the_turn_just_answered_is_not_asked():
    move = BY_KEY["explore"]
    state = MoveState(follow_ups=[q for q in move.follow_ups if not q.startswith(("How long", "When did"))][:-2])
    said = "I've been smoking again for the past year, since my dad got ill."
    _, _, asked, _ = words_for(move, state, None, lenders=frozenset({"explore"}), turn=said)
    assert not any(q.startswith(("How long", "When did")) for q in asked), asked
    _, _, asked, _ = words_for(move, state, None, lenders=frozenset({"explore"}), turn="I smoke after dinner.")
    assert any(q.startswith(("How long", "When did")) for q in asked), asked
