"""The reviewed phrase lists: clear statements always raise a safety hint; IFS talk must not."""

import pytest

from coach.safety import clear_risk, is_safety, possible_risk


@pytest.mark.parametrize(
    "text",
    [
        "I've been thinking about suicide lately.",
        "Sometimes I feel suicidal.",
        "I want to kill myself.",
        "I just want to die.",
        "He hits me when he drinks.",
        "My husband hits me.",
        "I cut myself last night.",
        "I'm not safe at home.",
        "I\u2019m not safe at home.",  # curly apostrophe, as phones type it
        "I don't feel safe at home.",
        "I thought about how I ended my life in my head.",
        "I'm thinking about ending my life.",
        "I'd be better off dead.",
        "I DON'T WANT TO LIVE anymore.",
    ],
)
def test_clear_risk_on_clear_statements(text):
    assert clear_risk(text)
    assert is_safety(text, model_says_safety=False)  # the list decides alone for these


@pytest.mark.parametrize(
    "text",
    [
        "A part of me is dying to try that restaurant.",  # "dying to" is not "want to die"
        "My protector part keeps me busy all the time.",
        "I feel stuck.",
        "There's a critical part that says I'm not good enough.",
        "That joke killed me.",
        "My boss is killing me with these deadlines.",
        "I killed it at work today.",
        "A firefighter part wants to numb everything out.",
        "I feel a lot of compassion toward that little part.",
        "The exile part feels so alone.",
    ],
)
def test_no_false_positive_on_ordinary_ifs_talk(text):
    assert not clear_risk(text)
    assert not is_safety(text, model_says_safety=False)


def test_whole_word_matching():
    assert not clear_risk("the drape fell")  # "rape" inside a word
    assert not clear_risk("he shits me")  # not "hits me"
    assert clear_risk("it was rape")


def test_possible_risk_is_the_softer_tier():
    assert possible_risk("I feel hopeless.")
    assert possible_risk("There's no way out.")
    assert not clear_risk("I feel hopeless.")
    assert not possible_risk("I feel stuck.")


def test_model_flag_alone_on_neutral_text_is_not_safety():
    assert not is_safety("My protector part is really loud today.", model_says_safety=True)


def test_model_flag_and_soft_phrase_is_safety():
    assert is_safety("I feel hopeless.", model_says_safety=True)
    assert not is_safety("I feel hopeless.", model_says_safety=False)  # soft phrase without the model: no


def test_clear_risk_without_model_flag_is_safety():
    assert is_safety("I want to kill myself.", model_says_safety=False)


def test_parts_language_wants_to_die_is_clear_risk():
    assert clear_risk("A part of me wants to die.")


def test_do_not_feel_safe_at_home_is_clear_risk():
    assert clear_risk("I do not feel safe at home.")


@pytest.mark.parametrize(
    "text",
    ["My ex-husband hits me when he drinks.", "Sometimes I wish I were dead.", "I am in danger at home."],
)
def test_more_clear_risks(text):
    assert clear_risk(text)


@pytest.mark.parametrize(
    "text",
    ["I'm going to die of embarrassment at that meeting.", "We were in danger of missing the bus.",
     "My boss hits the roof when I'm late."],
)
def test_everyday_idioms_are_not_clear_risk(text):
    assert not clear_risk(text)
