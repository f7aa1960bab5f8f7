"""The reviewed phrase lists: clear statements always raise a safety hint; IFS talk must not."""

import numpy as np
import pytest

from coach.safety import clear_risk, is_safety, possible_risk, warning_sign


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


@pytest.mark.parametrize("text, risk", [
    # perceived burdensomeness, in either order: a clear statement though no word of the list is in it
    ("Honestly I think if I wasn't around anymore my mum would be okay, she'd manage.", True),
    ("They'd all be so much happier if I was gone.", True),
    ("If I just didn't wake up, things would be easier for everyone.", True),
    ("Sometimes I think if I died the kids would be better off with their dad.", True),
    # away for a while, a life change, a wish to be around more
    ("The kids will be fine if I'm not around for one evening.", False),
    ("If I wasn't here on Friday they'd be fine with the sitter.", False),
    ("If I was gone for the weekend he'd be okay with his dad.", False),
    ("If I didn't live so far away it would be easier to visit her.", False),
    ("I'd be better off if I wasn't drinking every night.", False),
    ("They'd be happier if I was around more, I know that.", False),
])
def test_the_others_better_off_with_the_partner_gone_but_not_away_for_a_while(text, risk):
    assert bool(clear_risk(text)) is risk


@pytest.mark.parametrize("text, risk", [
    # attacks told with the less common verbs, a weapon at the door, an attack planned, a child shut away
    ("He headbutted me in the kitchen when I asked about the money.", True),
    ("It's not the first time he's gone for me like that.", True),
    ("Her ex came at us with a bottle outside the chippy.", True),
    ("They had a knife with them and said next time they'd use it on my dad.", True),
    ("I'm going to chuck the paint stripper in his face when he walks past.", True),
    ("When she's cross she shuts him in the cupboard for the whole evening.", True),
    ("His stepdad makes him sleep in the garage when he wets the bed.", True),
    ("The dog bit me on the hand last week, my own fault.", False),
    ("My boss went for me in the meeting about the budget.", False),
    ("She went at me about the dishes again.", False),
    ("I use the knife on the onions first, then the garlic.", False),
    ("We put the kids in the car and drove to the coast.", False),
    ("She put the baby in the cot and went for a shower.", False),
])
def test_attacks_and_a_child_shut_away_in_other_words(text, risk):
    assert bool(clear_risk(text)) is risk


@pytest.mark.parametrize("text, risk", [
    ("I reckon I'm worth more to my family dead, with the insurance.", True),
    ("He pinned my arms down and wouldn't stop when I said no.", True),
    ("When it gets loud in my head I put my cigarette out on my arm.", True),
    ("Dad told us to say mum slipped on the stairs.", True),
    ("I'm frightened of what my hands might do when he won't stop crying.", True),
    ("That old car is worth more to me than the new one.", False),
    ("The physio held my arms behind me to stretch the shoulder.", False),
])
def test_worth_more_dead_held_down_burned_and_told_what_to_say_are_clear(text, risk):
    assert bool(clear_risk(text)) is risk


@pytest.mark.parametrize("text, risk", [
    # plain words of intent and acts: a kill said and meant, poison in food, a jump planned, held by the neck, a
    # child made to undress for a camera, a dream of hurting someone
    ("If he touches my stuff once more I'm going to kill him, and I'm not joking.", True),
    ("I could slip some of my sleeping tablets into his tea and nobody would know.", True),
    ("I've decided I'm going to jump off the multi-storey on Sunday.", True),
    ("He had my son by the throat against the fridge.", True),
    ("The man next door makes the kids take their clothes off for his phone.", True),
    ("I keep fantasising about going round there and stabbing him.", True),
    ("I looked up how much of my insulin it would take.", True),
    ("My mum's going to kill me when she sees my hair, I'm not joking.", False),
    ("We're going to jump off the pier into the sea this summer.", False),
    ("I put some honey in his tea for his cough.", False),
    ("She told him to take his clothes off for the bath.", False),
    ("I looked up how much it would take to fix the boiler.", False),
])
def test_plain_words_of_intent_the_list_lacked(text, risk):
    assert bool(clear_risk(text)) is risk


@pytest.mark.parametrize("text", [
    # each raised an urgent alert on a long turn a blind reader called ordinary
    "Honestly when he laughed at my answer in class I wanted to die, I was so embarrassed.",
    "My four-year-old had a meltdown at the checkout and hit me right in the eye.",
    "My GP asked me whether I've had thoughts of hurting myself, and I said no, not at all.",
    "A friend messaged asking if I was thinking of hurting myself and I was like no, it's just a sad song.",
    "In my twenties he broke my arm, and I got out with the help of a refuge back in 2009.",
    "When he's late for the handover there's this furious part, it's like it wants to kill him, but it's so young.",
    # the word as a topic, a drill, a leaflet; someone else's habit; pills sorted for the week; old scars
    "I'm doing the suicide prevention walk for my uncle next month.",
    "The coach made us run suicides until we were sick.",
    "The leaflet has a warning about suicidal thoughts in under-25s, which scared me, but I'm fine.",
    "My sister read an article about self-harm for her nursing course.",
    "My friend told me she's been cutting, so I went with her to the school nurse.",
    "I'm counting my pills into one of those weekly organisers so I don't miss a dose.",
    "When I was in secondary school I used to burn my arm, I still have the little round scars, but that's long behind me.",
])
def test_said_and_not_meant_is_no_urgent_alert(text):
    assert not clear_risk(text)


@pytest.mark.parametrize("text", [
    "There's a part of me that wants to kill him and I mean it.",  # a part's urge said plainly stays clear
    "She asked whether I'd been hurting myself and I told her yes.",
    "My boyfriend had a meltdown about money and hit me.",
    "I've been thinking about suicide a lot this week.",
    "I've been cutting again, my friend doesn't know.",
    "I sit on the bed counting my pills and thinking about it.",
])
def test_the_not_meant_rules_stay_narrow(text):
    assert clear_risk(text)


@pytest.mark.parametrize("text, risk", [
    # a wish to die said softly, means kept at hand, methods read up on, marks explained away, children left: check-ins
    ("Every night I ask God to take me, I'm ready, I've had my life.", True),
    ("I'd be happy if it took me in my sleep, honestly.", True),
    ("Some nights I hope I don't wake up.", True),
    ("I don't see the point in carrying on, if I'm honest.", True),
    ("You can only get a couple of packs at a time so I went round three chemists for the paracetamol.", True),
    ("There's four boxes of co-codamol in my bedside drawer, nobody knows they're there.", True),
    ("I've got two bottles of my mum's pills, I haven't touched them, I just like knowing they're there.", True),
    ("My granddad's rifle is in the loft and last night I sat with it on my lap for ages.", True),
    ("I've been on forums every night reading about different ways, and I keep a list.", True),
    ("The marks on my arms, I tell people it's the cat, but they're not from the cat.", True),
    ("Her mum's been passed out since yesterday and the little one keeps ringing me.", True),
    ("The baby next door screams for hours at night and nobody ever comes.", True),
    ("I hope I don't wake up early on Saturday, I need the lie-in.", False),
    ("I don't see the point in going to the gym in January.", False),
    ("I bought two boxes of paracetamol for the kids' colds and put them in the cupboard.", False),
    ("I've been reading online about different ways to cook rice and I've got a list.", False),
    ("The marks on my legs are from the brambles at the allotment.", False),
    ("The baby cried for hours last night, she's teething, my partner got up with her.", False),
    ("He took the rifle to the range on Sunday and sat with his mate for lunch.", False),
    ("I asked God to let me go home early and the bus came.", False),
    ("My manager knows my schedule, she does the rota.", False),
    ("I bought two boxes of paracetamol, I don't know, they're for the flu.", False),
])
def test_a_quiet_wish_to_die_means_kept_and_marks_explained_away_are_a_check_in(text, risk):
    assert warning_sign(text) is risk and not clear_risk(text)


@pytest.mark.parametrize("text, risk", [
    ("It's been tense at home and a few times it's got, well, a bit physical.", True),  # the way people say it
    ("When he's had a drink he gets really physical with me.", True),
    ("My physio says I'm getting physical therapy twice a week now.", False),
    ("The match got a bit physical in the second half.", False),
    ("My job got more physical since they cut the team.", False),
])
def test_getting_physical_said_softly_is_violence_but_not_at_the_physio_or_the_match(text, risk):
    assert bool(clear_risk(text)) is risk


@pytest.mark.parametrize("text, risk", [
    ("what it says now is it's gone and kill yourself, nobody'd miss you", True),  # "go on then" as Whisper heard it
    ("The critic just keeps on, just go and kill yourself.", True),
    ("Don't go and kill yourself at the gym this week.", False),
    ("You'll kill yourself working those hours.", False),
    ("Honestly I nearly killed myself laughing at the wedding.", False),
])
def test_a_voice_telling_them_to_kill_themselves_as_misheard_but_not_the_idioms(text, risk):
    assert bool(clear_risk(text)) is risk


# ---- the cases, and denials ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Everyone would be better off without me.",
    "I've been saving my pills.",
    "He grabbed me by the throat.",
    "I wrote a goodbye letter to my kids last night.",
    "my stepdad slapped me again when mum was out",
    "She said if I tell anyone she'll hurt my little brother.",
    "I keep picturing stabbing him while he sleeps.",
    "I shook the baby because she would not stop crying.",
    "i bang my head against the wall until it stops",
    "There's a part of me that wants to kill myself.",
    # stalking, unwanted touching, a car as a weapon, intrusive images of harming a child, a veiled goodbye
    "Someone's been following me home from the station for a week.",
    "He keeps following me to work, the same car every morning.",
    "She shows up outside my house every night and I don't answer.",
    "My ex turned up at my door again, he knows where I live now.",
    "My supervisor cornered me in the lift and touched me.",
    "He put his hands on me and I just froze.",
    "I keep fantasising about running him over in the car park.",
    "Part of me thinks about driving my car at my ex.",
    "When she screams I get these flashes of shaking her.",
    "I have urges to drop- I mean, images of dropping the baby down the stairs.",
    "I thanked my mum for everything, and it sounded final, even to me.",
    "I told them thanks for everything in case I don't see them again.",
])
def test_the_list_catches_wordings_people_use(text):
    assert clear_risk(text)


@pytest.mark.parametrize("text", [
    "My friend hits me up every weekend.",
    "I'm going to die if I don't get a coffee.",
    "This commute is killing me.",
    "A protector that wants to kill off my inner critic.",
    "I'd never hurt myself, I just feel flat.",
    "To be clear, I'm not suicidal, just frustrated.",
    "I used to cut myself as a teenager but I stopped years ago.",
    "I don't have any thoughts of harming myself.",
    "I broke my wrist skateboarding.",
    "My little brother keeps following me around the house, it's sweet.",
    "She's been following me on Instagram for years.",
    "My aunt cornered me at the party to talk about politics.",
    "The physio put her hands on my shoulders and it helped.",
    "I was thinking about running the marathon over two days.",
    "I nearly drove my car into the garage door this morning.",
    "My dog waits at my door every night until I'm home.",
    "I get flashes of dropping him off at school on his first day.",
    "We thanked the nurses for everything when Dad came home.",
])
def test_the_list_does_not_fire_on_look_alikes_and_denials(text):
    assert not clear_risk(text)


@pytest.mark.parametrize("text", [
    "I don't know why I hurt myself.",  # a "don't" that does not deny the act
    "I'm not going to lie, I want to kill myself.",  # a denial in another clause
    "I used to cut myself and lately I do it again.",  # the past came back
])
def test_denials_only_count_for_the_phrase_they_deny(text):
    assert clear_risk(text)


# ---- by meaning, with the real embedding model --------------------------------------------------------------

def with_config(check, **changes):
    """The same check (its exemplar embeddings shared) with some of its meaning settings changed."""
    from dataclasses import replace

    other = type(check).__new__(type(check))
    other.__dict__.update(check.__dict__, config=replace(check.config, **changes))
    return other


@pytest.fixture(scope="module")
def check(embedder):
    from coach.safety import SafetyCheck

    return SafetyCheck(embedder)


@pytest.mark.parametrize("text", [
    "I don't think I'll still be around when spring comes.",
    "I've given my cat to my neighbour so she'll be looked after when I'm gone.",
])
def test_indirect_danger_is_found_by_meaning(check, text):
    verdict = check.assess(text)
    # by meaning, or by a reviewed warning sign ("when I'm gone"): either way a check-in, not an urgent alert
    assert verdict.risk and verdict.source in ("meaning", "warning sign") and verdict.level == "check_in", verdict


@pytest.mark.parametrize("text", [
    "My grandmother died last spring and I still miss her every day.",
    "I'm dead tired after this week, honestly.",
    "A part of me feels so small and ashamed when my dad shouts.",
    "I'm dying to see the new film everyone talks about.",
])
def test_grief_idioms_and_parts_are_not_danger(check, text):
    assert not check.assess(text).risk


def test_a_long_turn_is_read_in_a_bounded_number_of_clauses():
    """What keeps the decision inside 30 ms however long the turn (the time itself: `coach bench --safety`)."""
    from coach.safety import MAX_SEGMENTS, segments

    long_turn = " ".join(["and then I went to the shop and talked with my sister about the weekend"] * 40)
    parts = segments(long_turn + " and honestly I have been saving my pills")
    assert len(parts) <= MAX_SEGMENTS
    assert any("saving my pills" in p for p in parts), "the newest words are always read"


def test_preparations_with_someone_elses_pills_and_burns_on_purpose():
    assert clear_risk("I've been stockpiling my mum's painkillers.")
    assert clear_risk("I held the lighter to my arm on purpose.")
    assert not clear_risk("I broke the old iron on purpose so we'd buy a new one.")


# ---- veiled goodbyes, unwanted touching, and what only sounds like them (written for these tests) --------------

@pytest.mark.parametrize("text", [
    "I left a box of my things for my sister with her name on it.",
    "Whatever happens this weekend, I want you to know none of it was your fault.",
    "the kids will be fine with their dad, he'll be able to cope without me",
    "My boss shut the door and put his hand on my thigh and I didn't know what to do.",
    "A man followed me off the bus and pushed me up against a wall.",
])
def test_veiled_ideation_and_unwanted_touching_are_found_by_meaning(check, text):
    verdict = check.assess(text)
    assert verdict.risk and verdict.source == "meaning", verdict


@pytest.mark.parametrize("text", [
    "My sister's a midwife and she told me about a really difficult birth.",
    "we watched a film where the guy fakes his own death, it was brilliant",
    "It's my last week at this job and I've been saying goodbye to everyone.",
    "Thanks for listening, that really helped, see you next week.",
])
def test_others_stories_and_ordinary_goodbyes_are_not_danger(check, text):
    assert not check.assess(text).risk


@pytest.mark.parametrize("text", [
    "Look, it wasn't my fault, I was only giving him a lift.",  # blame denied, not a goodbye's "not your fault"
    "If the café goes under we'll lose the flat, and I can't see how we'd cover the bills.",
    "I do not drink and drive, my husband does the driving.",  # ("... I'd always leave the car at home" still alerts)
])
def test_blame_denied_money_losses_and_no_drink_driving_are_not_danger(check, text):
    assert not check.assess(text).risk


# ---- a danger told as over ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "My dad used to hit us when we were small, but that's all behind me now.",
    "He was violent, but I left him years ago and I'm safe now.",
    "The part of me that used to want to die has really softened.",
    "Back in my twenties I had a plan to end it, but I got help and I've moved on.",
])
def test_a_danger_told_as_over_is_a_finished_past(text):
    from coach.safety import finished_past

    assert finished_past(text)


@pytest.mark.parametrize("text", [
    "I left him years ago and I'm safe now, but lately he's been turning up at my work again.",
    "The part that used to want to die has softened, but it's still there some nights.",
    "I don't want to be here anymore.",  # "anymore" alone ends no danger
    "I used to love my job, and now I won't be here next month.",
    "I've stopped eating, it's behind me soon.",  # no time long past
])
def test_a_danger_that_is_back_or_not_past_is_no_finished_past(text):
    from coach.safety import finished_past

    assert not finished_past(text)


def test_a_finished_past_is_not_flagged_by_meaning_but_a_returning_one_is(check):
    assert not check.assess("My dad used to hit us when we were small, but that's all behind me now.").risk
    assert check.assess("He used to hit me years ago and I'm safe now, but lately he hits me again.").risk


def test_a_phrase_hit_takes_its_kind_from_the_clause_that_holds_the_phrase(check):
    verdict = check.assess("Work was busy and the kids were loud all week. Anyway, my husband hits me when he drinks.")
    assert verdict.source == "phrase" and verdict.category == "abuse_or_violence"


def test_a_clear_statement_in_another_reading_of_the_words_counts(check):
    # Whisper heard "saps"; its beam's second reading has the word that was said.
    verdict = check.assess("My mum still saps me on the arm.", ["My mum still slaps me on the arm."])
    assert verdict.risk and verdict.source == "alternative" and verdict.level == "check_in"
    calm = check.assess("I had a calm walk by the river today.", ["I had a calm walk by the river to day."])
    assert not calm.risk


def test_a_denial_in_the_best_reading_outweighs_a_weaker_reading_that_garbles_it(check):
    verdict = check.assess("I'm not going to hurt myself, I just need to vent about this week.",
                           ["I'm not drawing to hurt myself, I just need to vent about this week."])
    assert not verdict.risk, verdict
    lenient = with_config(check, alternative_margin=-2.0)  # even where the other reading's clause would pass by meaning
    assert not lenient.assess("I'm not going to hurt myself.", ["I'm not drawing to hurt myself."]).risk


def test_a_meaning_only_another_reading_holds_must_clear_a_wider_margin(check):
    garbled, heard_right = "I've been giving my thongs a wade to people.", "I've been giving my things away to people."
    plain = check.meaning_score(heard_right)[0]
    assert not check.assess(garbled).risk and plain >= check.config.margin  # the premise
    verdict = check.assess(garbled, [heard_right])
    assert verdict.risk == (plain >= check.config.margin + check.config.alternative_margin)
    assert verdict.risk and verdict.source == "alternative meaning"
    strict = with_config(check, alternative_margin=1.0)
    assert not strict.assess(garbled, [heard_right]).risk  # the same reading, held to a margin nothing clears


@pytest.mark.parametrize("text", [
    "He said, if I leave him, he'll kill me.",  # speech to text punctuates at random
    "I want to, um, die.",
    "I want to kill my self.",
])
def test_commas_fillers_and_split_words_do_not_hide_a_clear_statement(text):
    assert clear_risk(text)


def test_a_denial_across_a_comma_is_still_a_denial():
    assert not clear_risk("I'd never, ever hurt myself.")
    assert not clear_risk("I don't have any thoughts on harming myself.")






def test_a_clause_of_three_words_is_read_only_within_its_turn():
    from coach.safety import segments

    parts = segments("The doctor said the scan was clear, but I'm still shaken.")
    assert "I'm still shaken." not in parts and parts[-1].endswith("I'm still shaken.")
    assert segments("I want out.") == ["I want out."]  # a short turn is read as it is


# ---- the grades, and the families added for what was missed (2026-12-07) ------------------------------------------

@pytest.mark.parametrize("text", [
    "the cutting has got worse since christmas",  # self-harm going on, said without "myself"
    "I started cutting again last week and I hide it with long sleeves",
    "I burn where nobody sees, mostly the tops of my legs",
    "I'd been doing the thing with the lighter again on my arm",
    "I keep reopening the old marks on my stomach so they don't heal",
    "I keep taking my dad's gun out of the cupboard and just holding it",  # means at hand, no word of intent
    "most nights I sit with the pills for a while before bed",
    "he said he's going to take a knife to school and stab those kids",  # a child's plan to hurt other children
    "my son has a kill list in his notebook",
    "I know where my uncle keeps his hunting knife and I'm going to make them sorry",
    "honestly they'd all be better off if I wasn't in the picture",
    "there's no point booking anything, I won't be here for it",
    "the critic keeps saying go on then, kill yourself",
    "I looked up how many of my tablets it would take",
    "if I say no he just carries on anyway and holds me down",
    "he left a note saying if I can't have you nobody will",
    "I've been leaving Kai on his own at night, he's four",
    "I get this urge to shake her when she won't stop screaming",
])
def test_the_families_added_for_missed_danger(text):
    assert clear_risk(text)


@pytest.mark.parametrize("text", [
    "I've heard how to do it a hundred times, how am I supposed to quit smoking?",  # "how to do it" is not a method
    "I don't want to have an overdose and I don't want an infection, the usual worries",  # harm reduction
    "I started cutting down on sugar and cutting back on the wine",
    "I've been cutting my own hair since lockdown",
    "I burned my arm on the oven at work",
    "I counted all my pills into the weekly pill box for the week",
    "I won't be here for the meeting, I'm on holiday",
    "I left him alone for the day, he's four years into the job",
    "my kids throw things around and then the ball hit me in the face",
    "my friend told me to end it with him",
    "we are all better off without him, honestly",
])
def test_the_new_families_stay_off_their_look_alikes(text):
    assert not clear_risk(text)


def test_a_clear_statement_is_urgent_and_quotes_the_clause_that_holds_it(check):
    turn = ("So the weekend was fine, we went to the shops. Then my mum called. Honestly I want to kill myself "
            "most nights. Anyway, sorry.")
    verdict = check.assess(turn)
    assert verdict.urgent and verdict.level == "urgent" and verdict.source == "phrase"
    assert verdict.heard == "Honestly I want to kill myself most nights."


def test_a_sign_by_meaning_or_in_another_reading_is_a_check_in(check):
    by_meaning = check.assess("Nobody would even notice if I disappeared for good.")
    assert by_meaning.risk and by_meaning.level == "check_in" and not by_meaning.urgent
    assert by_meaning.heard == "Nobody would even notice if I disappeared for good."
    heard_elsewhere = check.assess("he saps me when he drinks", ["he slaps me when he drinks"])
    assert heard_elsewhere.level == "check_in" and heard_elsewhere.heard == "he slaps me when he drinks"


def test_a_long_quote_is_cut_at_a_word_and_says_so():
    from coach.safety import HEARD_MAX, quote

    clause = " ".join(["word"] * 40)
    q = quote(clause, "Before. " + clause + " and after")
    assert len(q) <= HEARD_MAX + 2 and q.endswith("\u2026") and " wor\u2026" not in q


@pytest.mark.parametrize("text", [
    "I'm trying to cut down, I had five or six beers on Friday and the hangover was brutal.",
    "I forgot my tablets for a couple of days and my stomach has been all over the place.",
    "Yeah, I'll take the medicine, and maybe walk a bit more in the mornings.",
    "My girlfriend saw me smoking a cigarette outside work and she was really upset with me.",
    "We had a shouting match over the washing up and then we both calmed down and laughed about it.",
])
def test_ordinary_session_talk_is_no_alert(check, text):
    verdict = check.assess(text)
    assert not verdict.risk, verdict


@pytest.mark.parametrize("text", [
    # a comparison, not something done
    "I told Mum she can't stay for Christmas and it felt as if I'd hurt her, like I'd actually hit her or something.",
    # a danger told as over, with a return word elsewhere in the long turn that is not about it
    "When I was nineteen I tried to end my life, and I was in hospital for a bit. I'm forty-five now, married, and I "
    "haven't felt anything like that in over twenty years. What I wanted to talk about is work, which is stressful "
    "again now that the busy season has started, and my manager is still on leave.",
    "I used to self-harm when I was at school, cutting mostly, and I've still got the scars on my arms, faint now, but "
    "it's been twelve years. I've got a good life.",
])
def test_who_and_when_a_comparison_or_a_finished_past_is_not_a_clear_statement(text):
    assert not clear_risk(text)


@pytest.mark.parametrize("text", [
    "I used to cut myself years ago, and I have started again this week.",
    "When I was nineteen I tried to end my life and I still think about doing it every day.",
    "I feel like I want to kill myself.",  # "like" is not "as if I'd"
])
def test_who_and_when_a_danger_that_is_back_is_still_clear(text):
    assert clear_risk(text)


@pytest.mark.parametrize("text", [
    "it would be easier if I just stopped existing",
    "honestly I don't think I'll be around by Christmas",
    "I just want everything tidy before I go",
    "look after the cat in case anything happens to me",
])
def test_warning_signs_are_check_ins_on_their_own(text):
    from coach.safety import warning_sign

    assert warning_sign(text) and not clear_risk(text)


@pytest.mark.parametrize("text", [
    "I need the flat tidy before I go on holiday",
    "the old shop stopped existing as a business in 2019",
    "I won't be around much on Friday, I'm at my sister's",
    "It's my last week at this job and I've been saying goodbye to everyone.",
])
def test_warning_signs_stay_off_their_look_alikes(text):
    from coach.safety import warning_sign

    assert not warning_sign(text)


def test_a_clear_phrase_only_asked_about_is_a_check_in(check):
    asked = check.assess("What, like suicidal?")
    assert asked.risk and asked.level == "check_in"
    said = check.assess("What, like suicidal? Yes. I have been suicidal for weeks.")
    assert said.level == "urgent"


@pytest.mark.parametrize("text", [
    "My mum still saps me across the face where I talk back.",  # Whisper's "slaps"
    "My dad said he'd put me in the hospital if I come out to the family.",
])
def test_what_is_done_to_me_is_heard_even_when_the_verb_is_misheard(text):
    assert clear_risk(text)


@pytest.mark.parametrize("text, risk", [
    ("He's messaged from six numbers saying if he can't have me nobody will.", True),
    ("my ex told me, if I can't have you, no one else can", True),
    ("If I can't have the blue crayon nobody will, my daughter said, and hid the box.", False),
    ("if I can't have cake, no one will get cake, ha", False),
])
def test_if_he_cannot_have_me_nobody_will_is_a_threat(text, risk):
    assert clear_risk(text) is risk


def test_a_long_turn_is_read_whole_as_the_mean_of_its_clauses_without_embedding_it_again():
    from coach.safety import WHOLE_EMBEDDED_WORDS, _embed_by_length, segments
    from tests.fakes import FakeEmbedder

    long_turn = ("We went to the coast on Saturday with the kids. The weather turned in the afternoon and we sat in the "
                 "car for an hour. My partner got quiet and I didn't know what to say to him. On the drive back I kept "
                 "thinking about my dad and the way he would go silent like that.")
    parts = segments(long_turn)
    whole = parts[-1]
    assert len(whole.split()) > WHOLE_EMBEDDED_WORDS
    embedder = FakeEmbedder()
    rows = _embed_by_length(embedder, parts)
    assert whole not in [t for call in embedder.calls for t in call]
    clauses = embedder.embed(parts[:-1])
    words = np.array([len(p.split()) for p in parts[:-1]], dtype=np.float32)
    expected = words @ clauses
    assert np.allclose(rows[-1], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(rows[:-1], clauses)

    short_turn = "My ex texted that he'll make sure I never see my kids again, and that I'd better watch my back."
    short_parts = segments(short_turn)
    assert len(short_parts[-1].split()) <= WHOLE_EMBEDDED_WORDS
    embedder = FakeEmbedder()
    _embed_by_length(embedder, short_parts)
    assert short_parts[-1] in [t for call in embedder.calls for t in call]  # a short whole is still embedded
