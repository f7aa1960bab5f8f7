"""A reviewed library of IFS moves: what the facilitator can do next, and what they can ask.

Each move is one step of IFS practice (the 6 F's with a protector: find, focus, flesh out, feel toward, befriend, ask
its fear; plus unblending, witnessing an exile, appreciating a protector, and respecting one that blocks). A move has
- suggestions, said to the facilitator about "them" (at most 90 characters);
- follow-ups, questions the facilitator can read to the partner as they are, to "you" (at most 64, ending with "?");
- exemplars: things a partner might say when this move fits, in many wordings (written for this project), which the
  embedding classifier in coach/move_choice.py compares each turn with.
`{part}` is the part in the partner's own words when one is clear ("the critic", "the part that wants to quit"),
said about them in a suggestion ("the part that wants them to quit") and to them in a follow-up ("... you to quit");
without one it reads DEFAULT_PART_FACILITATOR / DEFAULT_PART_PARTNER. A `{part}` never starts a sentence and is never
followed by "'s", so any noun phrase fits it.

Review: a change here is a change to what facilitators read aloud. Keep tests/test_moves.py passing (bounds, who
each line speaks to, no labels, no advice) and re-run `coach bench --quality`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PART_FACILITATOR = "the part"
DEFAULT_PART_PARTNER = "this part"
SUGGESTION_MAX = 90
FOLLOW_UP_MAX = 64


@dataclass(frozen=True)
class Move:
    key: str
    name: str
    when: str  # when this move fits: the reviewer's note
    suggestions: tuple[str, ...]
    follow_ups: tuple[str, ...]
    exemplars: tuple[str, ...]


FIND = Move(
    "find", "find the part",
    "The partner tells of a feeling, a reaction or a situation, with no part in view yet.",
    (
        "Reflect the feeling, then invite them to look for the part that holds it.",
        "Invite them to notice which part of them is most present right now.",
        "Slow down and invite them to sense where this lives inside them.",
        "Get curious with them about which part of them is reacting to this.",
        "Invite them to pause and notice what happens inside as they say this.",
    ),
    (
        "Is there a part of you that feels this most strongly?",
        "Where does this feeling live in your body?",
        "If this feeling could speak, what would it say to you?",
        "What part of you is most here with us right now?",
        "When you feel this, what happens inside you?",
        "Is there a part of you that has carried this a long time?",
        "What do you notice inside as you talk about this?",
        "Does this feeling remind you of a part you know?",
        "Which part of you reacts most strongly to this?",
        "What is the first thing you notice inside right now?",
        "Where in your body do you feel this the most?",
        "What would you call the part of you that feels this?",
    ),
    (
        "I've been really stressed at work lately and I don't know why.",
        "I feel sad all the time and I can't explain it.",
        "My husband and I keep fighting about money.",
        "I lost my job and I'm worried about paying the rent.",
        "Things have been hard since the pandemic started.",
        "I've been lonely since I moved to a new city.",
        "I'm nervous about my exams next week.",
        "Every time my mom calls I end up upset.",
        "I've been feeling down for a few weeks now.",
        "My best friend stopped talking to me and it really hurts.",
        "I can't stop worrying about the future.",
        "I don't know, I just feel off today.",
        "Hi, I'm okay, a little sad though.",
        "My girlfriend broke up with me last month.",
        "Work is piling up and I feel like I'm falling behind everyone.",
        "I get irritated with my kids so easily these days.",
        "I'm not sleeping well because my mind keeps racing.",
        "My family doesn't understand why I changed careers.",
        "I feel like nobody at school really likes me.",
        "I keep comparing myself to my friends on social media.",
    ),
)

FOCUS = Move(
    "focus", "focus on it",
    "A part, a voice or a body sensation is in view: invite attention to turn toward it and stay there.",
    (
        "Invite them to turn their attention inward, toward {part}.",
        "Slow down and let them stay with {part} for a moment, just noticing.",
        "Invite them to notice where {part} shows up in their body.",
        "Gently help them keep their attention on {part}, without changing it.",
        "Invite them to take a breath and turn toward {part} with curiosity.",
    ),
    (
        "Where do you notice {part} in or around your body?",
        "What happens when you turn your attention to {part}?",
        "Can you stay with {part} for a moment and just notice it?",
        "What do you sense as you focus on {part}?",
        "Is {part} more of a feeling, an image, or a voice for you?",
        "How close or far away does {part} seem to you right now?",
        "What is {part} doing as you notice it?",
        "What do you notice about {part} when you slow down?",
        "Can you let {part} know that you are paying attention?",
        "Where is {part} strongest in you right now?",
    ),
    (
        "There's a part of me that gets jittery before every family dinner.",
        "I feel a tightness in my chest when I think about it.",
        "There's this heavy feeling in my stomach right now.",
        "I notice a part of me that just wants to hide.",
        "Something in me freezes whenever he raises his voice.",
        "I have a knot in my throat as I say this.",
        "There's a voice in my head that keeps telling me to hurry up.",
        "A part of me goes into a panic when my wife stops answering.",
        "My shoulders get so tense when I open my email.",
        "There is a part of me that wants to run away from all of it.",
        "I can feel something pulling me back whenever I try.",
        "Part of me is really scared about this and another part is excited.",
        "I hear a harsh voice the moment I get something wrong.",
        "A heavy weight settles on me whenever the house gets quiet.",
        "My jaw clenches whenever my sister brings up the past.",
    ),
)

FLESH_OUT = Move(
    "flesh_out", "flesh it out",
    "The partner is in touch with a part: help them get to know it (how it looks, sounds, what it does, its age).",
    (
        "Invite them to get to know {part}: how it looks, sounds or feels.",
        "Help them describe {part} in more detail, in their own words.",
        "Stay curious with them about what {part} does and how long it has done it.",
        "Invite them to ask {part} what it wants them to know.",
        "Slow down and let them find out more about {part}, one detail at a time.",
    ),
    (
        "What does {part} look or sound like to you?",
        "How old does {part} seem to you?",
        "What does {part} want you to know?",
        "How long has {part} been doing this for you?",
        "What does {part} say to you when it's here?",
        "What does {part} do when it shows up?",
        "When do you remember first noticing {part}?",
        "Is there anything else you sense about {part}?",
        "If {part} had a shape or a color, what would it be?",
        "What does {part} usually do to get your attention?",
    ),
    (
        "It feels like a tight fist in my chest, really heavy.",
        "It's like a little voice that keeps telling me I'm not good enough.",
        "It looks like a dark cloud sitting on my shoulders.",
        "It's been there for as long as I can remember.",
        "I can see it, it's like a guard standing at a door.",
        "It feels hot and it wants to push everyone away.",
        "It's loud and harsh and it never stops talking.",
        "The critic sounds a lot like my old teacher.",
        "It feels young, maybe five or six years old.",
        "It's like a buzzing energy that won't sit still.",
        "The anxious part is small and it keeps pacing around.",
        "It shows up right before I have to speak in a meeting.",
        "It kind of looks like a wall of grey fog in front of me.",
        "That part speaks really fast and it's always in a hurry.",
    ),
)

FEEL_TOWARD = Move(
    "feel_toward", "feel toward it",
    "A part is known: check how the partner feels toward it (curiosity and calm mean Self is present).",
    (
        "Check for Self: invite them to notice how they feel toward {part}.",
        "Slow down and ask how they feel toward {part} right now.",
        "Invite them to notice whether they can be curious about {part}.",
        "Gently check whether they can be with {part} without taking sides.",
    ),
    (
        "How do you feel toward {part} right now?",
        "As you notice {part}, how do you feel toward it?",
        "Are you curious about {part}, or is something else there?",
        "What comes up in you as you sit with {part}?",
        "How open is your heart to {part} right now?",
        "Is there any warmth or curiosity in you toward {part}?",
        "How do you feel about {part} being here with you?",
        "What is it like for you to be with {part} now?",
    ),
    (
        "I can see the angry part clearly now.",
        "I know that part well, it's the one that pushes me so hard.",
        "I'm noticing that the scared part is right here with me.",
        "Now I can picture the little girl sitting in the corner.",
        "I think I can sense it now, it's in my chest.",
        "It's the critic again, I'd know that voice anywhere.",
        "I can feel the part that wants to run, it's very present.",
        "Okay, I see it, it's the part that gets defensive.",
        "The worried part is right in front of me now.",
        "I found it, it's the one that tightens my stomach.",
        "Yes, that's the part that always wants to be in control.",
        "I can hear the voice that tells me to work harder.",
    ),
)

BEFRIEND = Move(
    "befriend", "befriend it",
    "The partner feels curiosity, calm or compassion toward a part: help that connection grow.",
    (
        "Invite them to let {part} know they are here with it.",
        "Stay with this openness: invite them to keep {part} company.",
        "Invite them to find out what {part} needs from them now.",
        "Gently let them offer {part} the care they are feeling now.",
        "Invite them to notice how {part} responds to their attention.",
    ),
    (
        "What would you like {part} to know about you?",
        "How does {part} respond when you're with it like this?",
        "What does {part} need from you right now?",
        "Can you let {part} know that you're here with it?",
        "What happens as {part} feels your care?",
        "Is there anything {part} wants from you?",
        "How does it feel to be with {part} in this way?",
        "What would help {part} feel a little safer with you?",
    ),
    (
        "Looking at the frightened part now, I feel a kind of compassion for it.",
        "I feel curious about it, I want to know more.",
        "I feel kind of soft toward it now.",
        "I just want to give that little one a hug.",
        "I'm not scared of it anymore, I feel calm.",
        "I feel warm toward that little boy.",
        "I feel sorry for it, it's been working so hard.",
        "I want to understand why it does what it does.",
        "Honestly I feel some tenderness toward that part.",
        "I'm more open to it than I was before.",
        "I'd like to get to know it better.",
        "It makes sense to me now, and I care about it.",
    ),
)

ASK_FEAR = Move(
    "ask_fear", "ask its fear",
    "A protector's job is in view (pushing, criticizing, keeping busy, avoiding): learn what it fears would happen.",
    (
        "Invite them to ask {part} what it's afraid would happen if it stopped.",
        "Get curious with them about what {part} is protecting them from.",
        "Invite them to ask {part} what it fears, without arguing with it.",
        "Slow down and help them learn what {part} is worried about.",
        "Invite them to ask {part} what it is trying to prevent.",
    ),
    (
        "What is {part} afraid would happen if it stopped?",
        "What is {part} trying to protect you from?",
        "What does {part} fear would happen if it let go?",
        "If {part} relaxed a little, what is it worried you'd feel?",
        "If {part} stepped aside, what does it expect to happen?",
        "What is {part} most afraid of for you?",
        "What would {part} have to feel if it stopped?",
        "What does {part} want to keep from happening?",
    ),
    (
        "The part that keeps me busy all the time won't let me rest.",
        "My critic pushes me to work harder and harder.",
        "Part of me always tells me to stay home.",
        "A part of me binge-watches shows until two in the morning.",
        "It tells me I'm lazy and stupid every morning.",
        "This part won't let me get close to anyone.",
        "Something in me always wants to fix everything right away.",
        "Whenever I start to relax, something makes me get up and clean.",
        "A part of me reaches for a drink whenever I'm stressed.",
        "The voice says I have to be perfect or people will leave.",
        "My inner critic never lets anything slide.",
        "I want to start the essay, but something keeps making me put it off.",
        "It makes me check the locks again and again.",
        "Something in me shuts down whenever people argue.",
        "A part of me always says yes, even when I want to say no.",
    ),
)

UNBLEND = Move(
    "unblend", "unblend",
    "The partner is flooded by a feeling or speaks as a part (\"I am so angry\", \"I hate myself\"), or is against a "
    "part: help them get a little space from it.",
    (
        "Slow down and invite them to ask this feeling for a little space.",
        "Help them see this as a part of them: invite it to step back a little.",
        "Invite them to breathe and see if this part would give them some room.",
        "Gently help them notice the feeling as a part, not all of them.",
        "Invite them to ask the part that is upset with {part} to step back.",
    ),
    (
        "Could you ask this feeling to give you a little space?",
        "What happens if this part steps back just a little?",
        "Can you notice this as a part of you, not all of you?",
        "If there were a little space, what would you notice?",
        "Would the part that is upset be willing to step back?",
        "How much of you is feeling this right now?",
        "Could you take a breath and notice who is feeling this?",
        "What would it be like to see this part from a step away?",
        "Can this part let you be here with it, just for a moment?",
    ),
    (
        "I am so angry I can't even think straight.",
        "I hate myself.",
        "I'm worthless and nothing I do matters.",
        "I'm such a failure at everything.",
        "I hate that part of me, I want it gone.",
        "That critic is so annoying, I wish it would shut up.",
        "I'm completely overwhelmed.",
        "Everything is just too much right now.",
        "I'm so stupid, I always mess things up.",
        "I can't stand that part anymore.",
        "I'm furious with my mother right now.",
        "I'm so stressed out I can barely breathe.",
        "I am terrified and I can't calm down.",
        "I just want that anxious part to go away.",
        "I'm drowning in all of this.",
    ),
)

WITNESS = Move(
    "witness", "witness",
    "An exile's story or a loss is coming: slow down, let it be told and witnessed, without fixing.",
    (
        "Slow down and let them tell this at their own pace; just witness.",
        "Stay with them and reflect what that was like, without fixing.",
        "Invite them to let the young part show them what happened.",
        "Gently let them know it makes sense that this part hurts so much.",
        "Make room for this: let them be heard before anything else.",
    ),
    (
        "What would this part like you to see about what happened?",
        "How old were you when this began?",
        "What was that like for you back then?",
        "What else is this part ready to show you?",
        "What does this part need you to understand?",
        "How is it for you to share this right now?",
        "What did you need most back then?",
        "What is it like to have someone hear this with you?",
    ),
    (
        "When I was a kid my dad would yell and I would hide in my room.",
        "I remember eating lunch alone at school every day.",
        "My mother never came to any of my games.",
        "There is a small part of me that still waits by the window for my dad.",
        "My grandmother died last year and I never got to say goodbye.",
        "I was bullied for years and nobody helped me.",
        "I lost my dog last week and I can't stop crying.",
        "Growing up I always felt invisible.",
        "My parents divorced when I was seven and I thought it was my fault.",
        "My husband passed away in the spring and the house feels so empty.",
        "There's a little girl in me who was never allowed to cry.",
        "My brother was always the favorite and I was left out.",
        "I was so scared at night when my parents fought.",
        "My best friend died in an accident and I still miss her every day.",
    ),
)

APPRECIATE = Move(
    "appreciate", "appreciate the protector",
    "The partner sees a protector's good intention: invite appreciation before asking anything of it.",
    (
        "Invite them to thank {part} for how hard it has worked.",
        "Invite them to appreciate what {part} has been trying to do for them.",
        "Help them acknowledge the good intention of {part} before asking anything.",
        "Slow down and let them notice how long {part} has been on the job.",
    ),
    (
        "How does {part} take in your thanks?",
        "What has {part} been doing for you all this time?",
        "Could you let {part} know you see how hard it works?",
        "What words of thanks would {part} like to hear?",
        "When did {part} first take on this job for you?",
        "What would {part} like you to appreciate about it?",
    ),
    (
        "I think it's trying to protect me from getting hurt.",
        "I guess the anger keeps people from walking all over me.",
        "It has been keeping me safe since I was little.",
        "The critic just wants me to do well.",
        "It's exhausted from working so hard all these years.",
        "Maybe the part that overworks is scared of what I would feel if I stopped.",
        "It's trying to stop me from being rejected again.",
        "I can see it's only trying to help in its own way.",
        "It's been looking out for me my whole life.",
        "I think the worrying is how it tries to keep us prepared.",
        "It believes that if it stops, everything will fall apart.",
    ),
)

PERMISSION = Move(
    "permission", "respect the blocking part",
    "A wall, blankness, numbness or \"I don't know\": a protector may not want to go on; get curious about it.",
    (
        "Slow down and invite them to get curious about the block itself.",
        "Invite them to check what the blocking part needs before going on.",
        "Respect the pace: ask if a part of them would rather not go there now.",
        "Let the not-knowing be okay, and invite them to notice it with curiosity.",
    ),
    (
        "What does {part} need before you go any further?",
        "Is there a part of you that would rather not go there?",
        "What would {part} need to feel okay letting you closer?",
        "What is {part} worried would happen if you went further?",
        "Would it be okay to just be with the not-knowing for a bit?",
        "What is it like to notice this blankness with curiosity?",
        "Could you ask {part} if it is protecting something?",
    ),
    (
        "Whenever I look inward I hit something like a wall.",
        "I don't know, I just feel numb.",
        "I go blank whenever I try to think about it.",
        "Nothing comes up, it's just empty.",
        "I don't really want to talk about that.",
        "It feels foggy, I can't see anything.",
        "I feel nothing at all.",
        "Lately everything feels muted, like I am watching my life through glass.",
        "Every time I get close to it my mind goes somewhere else.",
        "I'm not sure, it's like there's a curtain in the way.",
        "I can't get to it, something keeps pulling me away.",
        "I just feel flat, like nothing matters.",
    ),
)

# ---- meeting the partner where they are: before any part is in view -------------------------------------------

EXPLORE = Move(
    "explore", "reflect and invite more",
    "The partner is telling their story, describing a habit, or answering a question: reflect it and invite more.",
    (
        "Reflect what they said in their own words, then invite them to say more.",
        "Stay with their story and let them tell it at their own pace.",
        "Reflect the heart of what they said and leave a little silence.",
        "Get curious with them about what this is like from the inside.",
        "Invite them to say more about what matters most to them here.",
        # a session is mostly this move: enough words that a long one does not repeat itself or borrow a misfit
        "Follow their lead and reflect the words that seem to matter most.",
        "Reflect back briefly the main thing they said, and pause.",
        "Let them feel heard first, then ask an open question.",
        "Reflect what they have said so far in a short summary, and check it with them.",
        "Stay warm and unhurried: reflect, then leave room for more.",
        "Reflect the feeling under what they said, if one is showing.",
        "Ask one open question about what they just told, and listen.",
        "Let a short silence do some of the work after reflecting.",
        "Reflect what they said, then ask what stands out for them.",
    ),
    (
        "Could you say a bit more about that?",
        "What is that like for you?",
        "What feels most important to you about this?",
        "How has that been for you lately?",
        "What else comes up as you talk about it?",
        "How do you feel about that now?",
        "What would you most like to be understood about this?",
        "What goes through your mind when that happens?",
        "What stands out to you most about that?",
        "How did that come about?",
        "What was that like at the time?",
        "What do you make of it now?",
        "Where would you like to start with this?",
        "What matters to you most in all of this?",
        "How does that sit with you?",
        "What do you notice as you say that out loud?",
        "What has that been like day to day?",
        "How are you with it today?",
        "Is there more to that story?",
        "What would be most useful to talk about next?",
        "What did you notice in yourself when that happened?",
        "How long has it been like this?",
        "What would you like to be different about it?",
        "Who else is in this with you?",
        "What was the hardest bit of that?",
        "What helps, even a little, when it is like that?",
        "What do you wish others understood about it?",
        "How do you make sense of it yourself?",
        "What would a good week look like for you?",
        "When did you first notice this?",
    ),
    (
        "I usually have a couple of drinks after work, maybe three on a Friday.",
        "We moved here last year for my husband's job.",
        "I smoke about ten a day, more when I'm at work.",
        "My doctor changed my tablets last month.",
        "I go to the gym twice a week, when I can.",
        "Well, it started when I got the new job and the hours got longer.",
        "My son is fifteen and he's at that age where he doesn't talk much.",
        "I've been on the waiting list for three months now.",
        "It's mostly at weekends, when I'm out with my friends.",
        "I live with my mum and my little brother.",
        "I take the medication most days, sometimes I forget.",
        "The court said I have to do the programme, so here I am.",
        "We've been together six years, married for two.",
        "I work nights at the warehouse, so I sleep in the day.",
    ),
)

AFFIRM = Move(
    "affirm", "affirm the effort",
    "The partner names a step they took, an effort, a strength or a reason to change: affirm it in their words.",
    (
        "Affirm the effort they are making, in their own words.",
        "Reflect the strength it took to do this.",
        "Name the step they have taken, and let it land.",
        "Reflect what this change means to them, and let them savour it.",
    ),
    (
        "What helped you do that?",
        "How does it feel to have done that?",
        "What does this step say about what matters to you?",
        "What would you like to build on from here?",
        "Who noticed the difference?",
        "What was the hardest part, and how did you get through it?",
    ),
    (
        "I've cut down to two drinks on a weeknight.",
        "I haven't smoked for five days now.",
        "I went for a walk every morning this week.",
        "I finally made the appointment with the doctor.",
        "I told my sister how I really felt, for the first time.",
        "I've been taking my tablets every day since we last spoke.",
        "I want to be around for my kids, that's why I'm doing this.",
        "I managed to say no to my boss without feeling guilty.",
        "I've been going to the meetings every week.",
        "I threw the last pack away and I haven't bought another one.",
        "I'm proud of myself, I didn't drink at the party.",
        "I got through the exam even though I was so nervous.",
    ),
)

WEIGH = Move(
    "weigh", "reflect both sides",
    "The partner weighs a change (\"I should, but...\"): reflect both sides without pushing either.",
    (
        "Reflect both sides of what they said, without pushing either.",
        "Stay curious about what makes this change hard, and what makes it matter.",
        "Let both sides have their say; there is no need to resolve it now.",
        "Reflect the part of them that wants things to change, and the part that is not sure.",
    ),
    (
        "What matters most to you as you weigh this up?",
        "What would be different if things changed?",
        "What makes it hard to change right now?",
        "What do you like about the way things are?",
        "What worries you about things staying the same?",
        "How much does this matter to you, from one to ten?",
    ),
    (
        "I know I should quit, but it's the only thing that helps me relax.",
        "Part of me wants to cut down, but all my friends drink.",
        "I've tried to stop before and it never lasts.",
        "I want to lose weight but I just love food too much.",
        "I know the tablets help, but I hate how they make me feel.",
        "It's not really a problem, I mean, everyone does it.",
        "I'd like to exercise more but I never have the time.",
        "My wife wants me to stop, but I don't see the big deal.",
        "I could go to the meetings, I'm just not sure they're for me.",
        "Sometimes I think I should change things, other times I think it's fine.",
        "I don't want to give it up completely, maybe just less.",
        "It helps with the stress, but I know it's not good for me.",
    ),
)

# Three moments of a real session that are neither a story to invite nor parts work (blind judges, 2026-12-07: "reflect
# and invite more" on every turn is harmless but rarely the best next move): someone close is worried about them,
# something practical stands in the way, or they say what they hope for.
OTHERS_VIEW = Move(
    "others_view", "hear how others' worry lands",
    "The partner reports what someone close says or worries about them: reflect how it lands, take no side.",
    (
        "Reflect how it is for them to hear this from someone close, without taking a side.",
        "Stay with what they make of the other person's worry; no need to agree with it.",
        "Reflect the other person's view and their own, side by side.",
    ),
    (
        "What do you make of what they said?",
        "How is it for you to hear that from them?",
        "Where do you agree with them, and where not?",
        "What do you think worries them most?",
        "What would you like them to understand?",
        "How do you see it yourself?",
    ),
    (
        "My wife keeps telling me I drink too much.",
        "The doctor says my blood pressure is up because of the smoking.",
        "My mum is always on at me about my weight.",
        "My friends think I'm drinking more than I used to.",
        "My son told me he hates it when I smoke in the house.",
        "The nurse said I need to cut down on salt.",
        "My boss says I've been late too many times this month.",
        "My girlfriend wants me to stop going out every weekend.",
        "My probation officer says I have to keep going to school.",
        "My sister reckons I spend too much time gaming.",
        "My husband worries when I drive after a couple of drinks.",
        "Everyone at home keeps saying I should talk to someone.",
    ),
)

OBSTACLES = Move(
    "obstacles", "reflect what stands in the way",
    "The partner names practical things in the way (money, time, getting there, a fear of needles or calls).",
    (
        "Reflect what stands in the way, then ask which of it feels biggest.",
        "Reflect each thing in the way before anything else, and take it seriously.",
        "Stay with what makes this hard in practice, without solving it for them.",
    ),
    (
        "Which of these feels like the biggest hurdle?",
        "What has helped you get past something like this before?",
        "What would make this a little easier?",
        "Who could help you with some of this?",
        "What part of this feels most doable?",
        "What would you need to make a start?",
    ),
    (
        "I hate making phone calls, so I keep putting off the appointment.",
        "I don't know how I'd get to the clinic without a car.",
        "We just don't have the money for a gym right now.",
        "I never have time to cook, so I end up with takeaways.",
        "The meetings are at night and I can't get a babysitter.",
        "I don't know where to start with all those forms.",
        "Everyone at work smokes on the break, it's hard not to join in.",
        "I'm scared of needles, so I keep skipping the blood tests.",
        "The waiting list is months long.",
        "My shifts change every week, so I can't plan anything.",
        "I can't afford the patches.",
        "There's nowhere safe to walk round here.",
    ),
)

HOPE = Move(
    "hope", "reflect their hope",
    "The partner says what they hope for or would like to do: reflect the hope and let them picture it.",
    (
        "Reflect the hope in what they said, and let them picture it.",
        "Stay with what they want for themselves; let them say it in full.",
        "Reflect what this hope says about what matters to them.",
    ),
    (
        "What would that look like for you?",
        "What would be a first small step toward it?",
        "What makes this important to you right now?",
        "How would you know you were getting there?",
        "Who would notice first if things changed?",
        "What do you picture when you imagine it?",
    ),
    (
        "I'd like to go back to college and train as a nurse.",
        "I hope I can be there for my kids when they're older.",
        "One day I want to run a half marathon.",
        "I'd love to be able to play football with my son again.",
        "My goal is to be off the tablets by the summer.",
        "I want to be well enough to travel next year.",
        "I'm hoping to get my licence back.",
        "I wish I could enjoy a night out without drinking.",
        "I want to be someone my daughter can rely on.",
        "If I stop, I'd like to save up for a holiday.",
        "I hope my friends will back me up with this.",
        "I'm looking forward to feeling fitter.",
    ),
)

# Two more, from blind judges reading whole sessions (2026-12-07): "Are you sure?", "What health problems?" and "are
# you saying I drink too much?" were each answered with a stock question, as if not heard.
ROLL_WITH = Move(
    "roll_with", "step back from pushback",
    "The partner pushes back or feels judged: do not argue; reflect their view and that the choice is theirs.",
    (
        "Reflect their view without any debate, and that the choice is theirs.",
        "Reflect what they object to, without defending the point.",
        "Acknowledge it may have sounded like judgement, and let them lead.",
    ),
    (
        "How did that come across to you?",
        "What would you rather we talk about?",
        "What do you think about it yourself?",
        "What would feel fair to you here?",
        "What would be most helpful for you right now?",
        "Which way would you like this conversation to go?",
    ),
    (
        "Are you saying I drink too much?",
        "You don't understand, it's not like that at all.",
        "I'm not an alcoholic, if that's what you're thinking.",
        "It's my life, I can do what I want with it.",
        "Everyone keeps lecturing me and I'm sick of it.",
        "That's not fair, I've been trying.",
        "Why does everyone think there's something wrong with me?",
        "I didn't come here to be told off.",
        "You sound just like my mother.",
        "So you think I'm a bad parent?",
        "I don't need anyone telling me what to do.",
        "Is this going to be another lecture?",
    ),
)

ANSWER = Move(
    "answer", "answer their question",
    "The partner asks the facilitator something: answer simply (or say you do not know), then hand it back.",
    (
        "Offer a simple, honest answer to their question, then hand it back to them.",
        "Be honest when the answer is not known; ask what prompted the question.",
        "Ask if they would like some information, give it briefly, and check how it lands.",
    ),
    (
        "What made you wonder about that?",
        "What do you make of that?",
        "What would you like to know more about?",
        "How does that fit with what you already know?",
        "Would it help to look at that together?",
        "What is your own sense of it?",
    ),
    (
        "What kind of health problems are we talking about?",
        "Is that really true, about the liver?",
        "How much is too much, then?",
        "Do you think I should stop completely?",
        "What would you do in my place?",
        "Is it normal to still feel like this after a year?",
        "How long does it take for the cravings to go?",
        "Does everyone who drinks get that?",
        "Are the patches any good?",
        "Can you cut down, or is it all or nothing?",
        "What happens at the group, exactly?",
        "Would that count as binge drinking?",
    ),
)

# A number given on a scale ("about a five"): what it holds is the partner's own reasons (a blind judge saw the coach
# ask "from one to ten?" again right after the answer "five").
SCALE = Move(
    "scale", "ask what the number holds",
    "The partner gives a number on a scale: ask why it is that number and not lower, and what would move it up.",
    (
        "Ask why it is that number and not a lower one: the answer is their reasons.",
        "Reflect the number, then ask what would move it up one point.",
        "Stay with what already makes it as high as it is.",
    ),
    (
        "What makes it that number, and not a lower one?",
        "What would it take to move it up one point?",
        "What would a higher number look like for you?",
        "What has already brought it this far?",
        "What would help it go up a little?",
        "Where would you like it to be?",
    ),
    (
        "I'd say about a five.",
        "Maybe a seven out of ten.",
        "Probably a three, if I'm honest.",
        "Six.",
        "I'm at about an eight now.",
        "Somewhere around a four, I suppose.",
        "It's a ten, definitely.",
        "Two, maybe three.",
        "I'd give it a six.",
        "Honestly? A five.",
        "About halfway, so a five.",
        "A solid seven, I reckon.",
    ),
)

MOVES: tuple[Move, ...] = (FIND, FOCUS, FLESH_OUT, FEEL_TOWARD, BEFRIEND, ASK_FEAR, UNBLEND, WITNESS, APPRECIATE,
                           PERMISSION, EXPLORE, AFFIRM, WEIGH, OTHERS_VIEW, OBSTACLES, HOPE, ROLL_WITH, ANSWER, SCALE)
# Moves that work with a part: they fit once the partner speaks of one (or stays with the one of an earlier turn).
# Before that, the facilitator meets them where they are: reflect and invite more, affirm, weigh both sides, notice a
# feeling that may be a part (find), witness a story of loss, respect a wall.
PARTS_WORK = frozenset({"focus", "flesh_out", "feel_toward", "befriend", "ask_fear", "unblend", "appreciate"})
BY_KEY = {m.key: m for m in MOVES}

# The 6 F's in order, then appreciation: when the partner stays with one part, the session moves along this line.
PROGRESSION = ("find", "focus", "flesh_out", "feel_toward", "befriend", "ask_fear", "appreciate")
