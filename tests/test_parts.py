"""The live parts map: mentions in many wordings, idioms that are not parts, merging, "it" and "that part", role
guesses, and what the page gets. Every utterance here is written for these tests."""

from __future__ import annotations

import pytest

from coach.parts import LATEST_MAX, PartsMap


def parts_of(*turns: str) -> list[dict]:
    m = PartsMap()
    for turn_id, text in enumerate(turns, start=1):
        m.update(turn_id, text)
    return m.snapshot()


def names(*turns: str) -> list[str]:
    return [p["name"] for p in parts_of(*turns)]


# ---- one mention, many wordings ---------------------------------------------------------------------------------

MENTIONS = [
    ("There's a part of me that tightens my chest whenever my phone buzzes.", "the part that tightens my chest"),
    ("A part of me that nobody sees is exhausted.", "the part that nobody sees"),
    ("Part of me wants to quit the whole thing.", "the part that wants to quit the whole thing"),
    ("I guess part of me feels like a failure.", "the part that feels like a failure"),
    ("Honestly part of me just wants to hide under the covers.", "the part that just wants to hide under"),
    ("There's this part of me that's really scared of being left.", "the part that's really scared of being left"),
    ("The angry part shows up whenever my sister calls.", "the angry part"),
    ("This angry part of me wants to scream at everyone.", "this angry part"),
    ("My anxious part has been loud all week.", "my anxious part"),
    ("The scared part of me goes quiet around him.", "the scared part"),
    ("My inner critic tells me I'm pathetic.", "my inner critic"),
    ("The critic part never lets up on me.", "the critic part"),
    ("I have a protector that keeps everyone at arm's length.", "a protector"),
    ("My manager part makes lists all night.", "my manager part"),
    ("I think my manager runs the whole show in here, keeping me busy.", "my manager"),
    ("There is an exile who carries all the shame.", "an exile"),
    ("My firefighter grabs the wine before I even notice.", "my firefighter"),
    ("The little girl inside is terrified of the dark.", "the little girl inside"),
    ("The little boy in me still waits by the window.", "the little boy in me"),
    ("My inner child needs someone to stay.", "my inner child"),
    ("A younger me is still standing in that kitchen.", "a younger me"),
    ("My younger self had no one to call.", "my younger self"),
    ("The younger part of me thinks it's her fault.", "the younger part"),
    ("There's a voice that says I'll never be enough.", "the voice that says I'll never be enough"),
    ("A little voice in my head keeps whispering that I'm a fraud.", "a little voice in my head"),
    ("Some of me wants to forgive him.", "the part that wants to forgive him"),
    ("One side of me wants to stay in this marriage.", "the side that wants to stay in this marriage"),
    ("Another part of me wants to burn it all down.", "the part that wants to burn it all down"),
    ("The perfectionist in me won't let me hand it in.", "the perfectionist in me"),
    ("The part of me that hides wants to be seen.", "the part that hides"),
    ("There's a part of me that feels so small.", "the part that feels so small"),
    ("Part of me wants to leave so I can breathe.", "the part that wants to leave"),
    ("I don't like this part of me.", "this part of me"),
]


@pytest.mark.parametrize("text, name", MENTIONS)
def test_one_mention_gives_one_part_in_the_partners_words(text, name):
    parts = parts_of(text)
    assert [p["name"] for p in parts] == [name]
    assert parts[0]["latest"] == text and parts[0]["mentions"] == 1


# ---- idioms and ordinary words: never a part ---------------------------------------------------------------------

IDIOMS = [
    "Honestly I think I'm part of the problem.",
    "For my part, I tried to call her every week.",
    "I took a part-time job at the bakery.",
    "I work part time at the library now.",
    "The best part was seeing my niece again.",
    "The hard part is that nobody believes me.",
    "The sad part is that he never called back.",
    "The scary part was when the car started sliding.",
    "That was the worst part of the whole trip.",
    "It's part of my job to be calm.",
    "I was part of a choir for years.",
    "Music has always been a big part of my life.",
    "Music is part of me.",
    "She played a part in the school play.",
    "We decided to part ways in the spring.",
    "I did my part and he didn't do his.",
    "In part it was the money.",
    "For the most part the week went fine.",
    "I need some spare parts for the bike.",
    "Every part of my body hurts after the gym.",
    "I really liked the part where they sing.",
    "The part that I liked most was the ending.",
    "When I was a little girl we lived by the sea.",
    "When I was a little boy my dad worked nights.",
    "My little girl started school on Monday.",
    "There was a little boy at the park crying.",
    "My manager at work yelled at me in the meeting.",
    "My manager told me I might lose my job.",
    "My brother is a firefighter in Leeds.",
    "He was my protector when we were kids.",
    "My harshest critic is my mother.",
    "She's a film critic for the paper.",
    "I'm a perfectionist about my kitchen.",
    "I said it in a quiet voice.",
    "I raised my voice at the kids.",
    "She's the one who always calls me first.",
    "I bought the one that was cheaper.",
    "On one side of me was my brother.",
    "It wants to rain all day.",
    "I need a little me time this weekend.",
    "My favorite part of the day is the morning walk.",
    "I lived in exile for a decade.",
    "We drove through the eastern part of the country.",
    "It's part and parcel of getting older.",
]


@pytest.mark.parametrize("text", IDIOMS)
def test_idioms_and_plain_words_are_not_parts(text):
    assert parts_of(text) == []


@pytest.mark.parametrize("text", IDIOMS)
def test_idioms_add_nothing_once_parts_are_known(text):
    """With parts already in the map, "that part", "the little girl" etc. are read more readily: idioms still aren't."""
    m = PartsMap()
    m.update(1, "There's a part of me that wants to quit.")
    m.update(2, "Anyway, we went to the coast.")
    m.update(3, "Nothing much happened there.")
    m.update(4, "The weather was fine.")
    before = m.snapshot()
    m.update(5, text)
    assert m.snapshot() == before


def test_update_says_whether_the_map_changed():
    m = PartsMap()
    assert m.update(1, "We had pasta for dinner.") is False
    assert m.update(2, "My inner critic hated the pasta.") is True
    assert m.update(3, "Then we watched a film.") is False
    assert m.update(4, "") is False
    assert len(m) == 1


# ---- the same part again ------------------------------------------------------------------------------------------


def test_the_critic_after_my_inner_critic_is_one_part():
    parts = parts_of("My inner critic is brutal today.", "The critic says I wasted the weekend.",
                     "That critical part never sleeps.")
    assert [p["name"] for p in parts] == ["my inner critic"]
    assert parts[0]["mentions"] == 3 and parts[0]["first_turn"] == 1 and parts[0]["last_turn"] == 3
    assert parts[0]["latest"] == "That critical part never sleeps."


def test_a_part_described_again_in_other_words_is_merged():
    parts = parts_of("Part of me wants to run away.", "The part that wants to run away is loud tonight.")
    assert len(parts) == 1 and parts[0]["mentions"] == 2


def test_an_adjective_and_a_clause_with_it_are_one_part():
    parts = parts_of("The angry part is back.", "Yeah, the part that's angry wants him to apologise.")
    assert [p["name"] for p in parts] == ["the angry part"]


def test_different_parts_stay_apart():
    parts = parts_of("Part of me wants to stay.", "Part of me wants to leave.", "And the angry part wants revenge.",
                     "The little girl inside just wants a hug.")
    assert len(parts) == 4


def test_another_part_is_a_new_part():
    parts = parts_of("The scared part wants to hide.", "But another part wants to fight back.")
    assert len(parts) == 2
    assert parts[1]["name"] == "the part that wants to fight back"


def test_younger_words_join_the_young_part():
    parts = parts_of("The little girl inside me is scared.", "That younger part of me just wants to be held.")
    assert len(parts) == 1 and parts[0]["name"] == "the little girl inside me"


def test_the_little_girl_counts_once_parts_are_being_spoken_of():
    assert parts_of("The little girl is still hiding.") == []  # could be anyone
    parts = parts_of("There's a part of me that wants to run.", "And the little girl, she's hiding.")
    assert len(parts) == 2 and parts[1]["name"] == "the little girl"


def test_a_small_part_and_the_little_girl_may_be_one():
    parts = parts_of("There's a part of me that feels so small.", "Maybe that's the little girl, she's hiding.")
    assert len(parts) == 1 and parts[0]["mentions"] == 2


# ---- "it", "that part", "this part" --------------------------------------------------------------------------------


def test_it_refers_to_the_part_just_spoken_of():
    parts = parts_of("There's a part of me that watches everything.", "It wants me to be ready for anything.")
    assert len(parts) == 1
    assert parts[0]["latest"] == "It wants me to be ready for anything." and parts[0]["mentions"] == 2


def test_that_part_refers_to_the_part_just_spoken_of():
    parts = parts_of("My inner critic is relentless.", "I don't know why that part is so harsh.")
    assert len(parts) == 1 and parts[0]["latest"] == "I don't know why that part is so harsh."


def test_it_and_that_part_long_after_refer_to_nothing():
    m = PartsMap()
    m.update(1, "My inner critic was loud this morning.")
    for turn in range(2, 8):
        m.update(turn, "Then I went to the shop and bought some bread.")
    assert m.update(8, "It wants me to leave.") is False
    assert m.update(9, "I loved that part.") is False
    assert m.snapshot()[0]["mentions"] == 1


def test_it_in_the_same_sentence_refers_to_the_new_part():
    [part] = parts_of("There's a part of me that's tired, and it just wants to drink for a week.")
    assert part["mentions"] == 1  # one sentence, one mention
    assert part["role"] == "firefighter"  # what "it" does counts for the part


def test_she_and_he_refer_only_to_a_girl_or_a_boy_part():
    parts = parts_of("The little girl inside is scared.", "She hides under the bed.")
    assert parts[0]["mentions"] == 2 and parts[0]["latest"] == "She hides under the bed."
    parts = parts_of("My inner critic is loud.", "She wants me to call her back.")  # "she" is someone else
    assert parts[0]["mentions"] == 1


def test_it_doesnt_want():
    parts = parts_of("My inner critic is loud.", "It doesn't want me to fail again.", "It doesn't matter.")
    assert parts[0]["mentions"] == 2 and parts[0]["latest"] == "It doesn't want me to fail again."


def test_it_with_no_part_is_nothing():
    assert parts_of("It feels like the week will never end.") == []


def test_this_part_of_me_starts_a_part_when_none_is_near():
    parts = parts_of("This part of me is so tired.")
    assert [p["name"] for p in parts] == ["the part that is so tired"]


def test_role_named_for_the_part_just_spoken_of():
    parts = parts_of("There's a part of me that keeps a list of everything.", "I think it's a manager.")
    assert len(parts) == 1 and parts[0]["role"] == "manager" and parts[0]["role_confidence"] == "medium"
    parts = parts_of("Part of me goes straight for the fridge.", "Maybe that part is more of a firefighter.")
    assert len(parts) == 1 and parts[0]["role"] == "firefighter"


def test_thats_the_critic_again_names_the_known_critic():
    parts = parts_of("My inner critic woke up early.", "Part of me wants to rest.", "Oh, that's the critic again.")
    assert len(parts) == 2 and parts[0]["mentions"] == 2 and parts[1]["mentions"] == 1


# ---- role guesses -------------------------------------------------------------------------------------------------

ROLE_CASES = [
    ("Part of me plans every minute of the day so nothing goes wrong.", "manager"),
    ("There's a part of me that worries about everything and keeps me busy.", "manager"),
    ("The perfectionist part pushes me to redo every email.", "manager"),
    ("My inner critic says I should be further along.", "manager"),
    ("There's a part that controls what I eat.", "manager"),
    ("A part of me just wants to numb out with a bottle of wine.", "firefighter"),
    ("Part of me binges on chips at midnight.", "firefighter"),
    ("Part of me scrolls for hours until I can't think.", "firefighter"),
    ("The angry part explodes when I feel cornered.", "firefighter"),
    ("Part of me shuts down suddenly when he raises his voice.", "firefighter"),
    ("The little boy inside feels completely alone.", "exile"),
    ("There's a part of me that feels ashamed and worthless.", "exile"),
    ("A younger part of me still feels unloved.", "exile"),
    ("There's a part of me that is hidden away and scared.", "exile"),
    ("My firefighter takes over when things get bad.", "firefighter"),
    ("There is an exile in there somewhere.", "exile"),
    ("Part of me wants to go to the beach.", "unclear"),
    ("I have a protector that stands guard.", "unclear"),  # a manager or a firefighter: not yet clear
    ("There's a part of me that's not scared at all.", "unclear"),  # a negated cue is no cue
]


@pytest.mark.parametrize("text, role", ROLE_CASES)
def test_role_is_guessed_from_cue_words(text, role):
    [part] = parts_of(text)
    assert part["role"] == role
    if role == "unclear":
        assert part["role_label"] == "guess: not yet clear" and part["role_confidence"] == "none"
    else:
        assert part["role_label"] == f"guess: {role}" and part["role_confidence"] in ("low", "medium")


def test_role_guess_follows_what_the_partner_says_about_the_part():
    m = PartsMap()
    m.update(1, "Part of me wants to go out tonight.")
    assert m.snapshot()[0]["role"] == "unclear"
    m.update(2, "It wants to drink until I stop feeling anything.")
    assert m.snapshot()[0]["role"] == "firefighter"
    assert "drink" in m.snapshot()[0]["role_cues"]


def test_cue_words_before_a_part_belong_to_the_sentence_not_the_part():
    [part] = parts_of("When I'm alone and scared at night, part of me starts planning tomorrow.")
    assert part["role"] == "manager"


# ---- what the page gets -------------------------------------------------------------------------------------------


def test_snapshot_fields():
    [part] = parts_of("We talked.", "My inner critic says I'm lazy.")
    assert set(part) == {"id", "name", "role", "role_label", "role_confidence", "role_cues", "first_turn",
                         "last_turn", "latest", "mentions"}
    assert part["id"] == 1 and part["first_turn"] == 2 and part["last_turn"] == 2


def test_latest_is_the_latest_sentence_trimmed():
    long_tail = " and then".join(["it goes on"] * 40)
    text = f"We ate. My inner critic says I'm lazy {long_tail}. Then we slept."
    [part] = parts_of(text)
    assert part["latest"].startswith("My inner critic says I'm lazy")
    assert len(part["latest"]) <= LATEST_MAX and part["latest"].endswith("…")


def test_names_are_short():
    [part] = parts_of("There's a part of me that wants to pack a bag and drive to the coast and never come back.")
    assert part["name"] == "the part that wants to pack a bag"


def test_curly_apostrophes_and_casing():
    [part] = parts_of("There’s a part of me that’s furious with Tom.")
    assert part["name"] == "the part that's furious with Tom"


def test_a_repeated_turn_replaces_its_reading():
    m = PartsMap()
    m.update(1, "My inner critic is loud.")
    m.update(2, "Part of me wants to cry.")
    assert m.update(2, "Part of me wants to sleep.") is True
    parts = m.snapshot()
    assert [p["name"] for p in parts] == ["my inner critic", "the part that wants to sleep"]
    assert parts[1]["mentions"] == 1


def test_many_parts_keep_the_most_recent():
    m = PartsMap(max_parts=3)
    for turn, word in enumerate(["stay", "leave", "shout", "sleep"], start=1):
        m.update(turn, f"Part of me wants to {word}.")
    assert [p["name"] for p in m.snapshot()] == ["the part that wants to leave", "the part that wants to shout",
                                                  "the part that wants to sleep"]


def test_clear_forgets_everything():
    m = PartsMap()
    m.update(1, "My inner critic is loud.")
    m.clear()
    assert m.snapshot() == [] and len(m) == 0
    assert m.update(2, "It wants me to stop.") is False


def test_a_conversation():
    turns = [
        "I've been really stressed at work lately.",
        "There's a part of me that keeps pushing me to answer emails at midnight.",
        "It says if I stop, everything falls apart.",
        "And then another part just wants to scroll on my phone for hours.",
        "Underneath it all there's a little girl inside who feels like she's never enough.",
        "She's so alone.",
        "The part that pushes me is exhausted too, honestly.",
    ]
    parts = parts_of(*turns)
    assert [(p["name"], p["role"]) for p in parts] == [
        ("the part that keeps pushing me to answer emails", "manager"),
        ("the part that just wants to scroll", "firefighter"),
        ("a little girl inside", "exile"),
    ]
    assert parts[0]["last_turn"] == 7 and parts[0]["mentions"] == 3


# ---- in the room: to the facilitator only, on coach.parts, dropped at the end ---------------------------------------


@pytest.fixture
async def coach():
    from types import SimpleNamespace

    from coach import room
    from tests.fakes_room import FakeLive, FakeRoom

    session = SimpleNamespace(id="s1", consented_at=1.0, partner_identity="partner-1",
                              facilitator_identity="facilitator-1")
    return room.CoachParticipant(session, FakeRoom, FakeLive(), lambda: ("ws://x", "t"))


async def test_room_sends_the_parts_map_to_the_facilitator_only(coach, caplog):
    import asyncio
    import logging

    from coach.events import Transcript

    caplog.set_level(logging.DEBUG)
    await asyncio.sleep(0)  # the coach joins its (fake) room
    said = ["We had a long day.", "My inner critic kept at me all day.", "It says I'm lazy."]
    for turn_id, text in enumerate(said, start=1):
        await coach._deliver(Transcript(turn_id, text, turn_id * 5.0, turn_id * 5.0 + 3, turn_id * 5.0 + 3.5, 0.3))
    await coach._outbox.flush()  # messages go out through the coach's own sending task
    room = coach._room
    topics = [topic for topic, _, _ in room.sent]
    assert topics == ["coach.transcript", "coach.transcript", "coach.parts", "coach.transcript", "coach.parts"]
    assert all(dest == ["facilitator-1"] for _, dest, _ in room.sent)
    last = [payload for topic, _, payload in room.sent if topic == "coach.parts"][-1]
    assert last["turn_id"] == 3
    assert [(p["name"], p["role"], p["latest"], p["mentions"]) for p in last["parts"]] == [
        ("my inner critic", "manager", "It says I'm lazy.", 2)]
    for record in caplog.records:  # the partner's words never reach a log message
        assert not any(words.lower() in record.getMessage().lower() for words in ["inner critic", "lazy"])

    await coach.aclose()
    assert coach._parts is None  # the session's map is gone
    room.sent.clear()
    await coach._deliver(Transcript(4, "My inner critic again.", 30.0, 32.0, 32.5, 0.3))
    await asyncio.sleep(0.05)
    assert room.sent == []  # the session is over: nothing more goes out
