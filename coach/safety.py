"""Is the partner in danger? Reviewed layers, all far faster than the LLM and never waiting for it, in two grades.

1. Phrase lists: a clear statement of suicide, self-harm, abuse or danger to others (tier 1) is an urgent alert.
   Reviewed warning signs ("when I'm gone", "in case anything happens to me") are a check-in on their own; softer
   phrases (tier 2) are a check-in only when the LLM flags the turn too.
2. Meaning: the sentence embedding of each part of the turn is compared with reviewed exemplars of risk, of
   look-alikes that are not risk (idioms, IFS parts language, grief, everyday hurt; coach/safety_exemplars.py) and of
   ordinary session talk (coach/everyday_talk.txt): a clause much nearer risk than both is a check-in.
   People in danger rarely use the list's words ("everyone would be better off without me").
   The exemplars' embeddings are cached beside the embedding model (exemplar_matrix), keyed by the texts and the
   model, so a start-up does not embed ~1,600 sentences again.
Who and when: a denial ("I'd never hurt myself") or a danger told as over ("years ago ... I'm safe now") is no alert.
Review: every pattern is a whole-word match on lower-cased text; add a test in tests/test_safety.py for each change,
and run `coach bench --safety` (the labelled sets and real talk) after changing a pattern or an exemplar.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np

from coach.embed import SentenceEmbedder
from coach.safety_exemplars import EVERYDAY, RISK, SAFE

log = logging.getLogger("coach.safety")

_TIER1 = [
    r"suicid\w*",
    r"kill(?:ed|ing)? myself(?! laughing| with laughter)",
    r"(?:hang|hanging|hanged) myself",
    r"end(?:s|ed|ing)? my (?:own )?life",
    r"end(?:s|ed|ing)? it all",
    r"take my (?:own )?life",
    r"(?:want|wants|wanted|wanting) to (?:die|be dead)(?! of (?:embarrassment|shame|boredom|laughing))",
    r"(?:i'?m|i am|am) going to die(?! of| laughing| if| without| when| before| from)",
    r"wish (?:i|i'd) (?:was|were|had been|could be) dead",
    r"wish (?:i|i'd) (?:had )?never (?:been born|woken up)",
    r"better off (?:dead|without me)",
    r"(?:don'?t|do not) want to (?:be alive|live|exist|wake up)",
    r"no reason to (?:live|go on)",
    r"(?:hurt|hurting|harm|harming|cut|cutting|burn|burning) myself",
    r"self[- ]?harm\w*",
    # an overdose taken or meant; the worry of an accidental one (harm reduction, a heavy user) is no clear statement
    r"(?:took|taken|taking|take|tried to|try to|attempted|going to|gonna|planning to|plan to|thinking (?:of|about)|"
    r"thought (?:of|about)|want to|wanted to) (?:an |a )?overdos\w*",
    r"overdos(?:ed|ing)(?! by accident| accidentally)(?= on purpose| again| last| on (?:my|her|his|the|all|sleeping|pain))",
    r"(?:sav|stockpil|hoard|collect)(?:e|ed|es|ing)? (?:up )?(?:my |some |all my |all the |the )?(?:[\w-]+'s )?(?:pills|tablets|meds|medication|painkillers?|sleeping pills)",
    r"(?:iron|lighter|cigarette|blade|razor|knife)\b[^.;!?]{0,40}\b(?:my|skin|wrists?|arms?|legs?)\b[^.;!?]{0,20}\bon purpose",
    r"(?:goodbye|suicide) (?:note|letter)s?",
    # a veiled goodbye: thanks for everything, said as a farewell
    r"thank(?:s|ed|ing)? (?:\w+ ){0,4}for everything\b[^.;!?]{0,60}\b(?:sounded|felt|was|seemed) (?:so |really )?final",
    r"thank(?:s|ed|ing)? (?:\w+ ){0,4}for everything\b[^.;!?]{0,40}\bin case (?:i|something|anything)",
    r"(?:he|she|they|my [\w-]+(?: [\w-]+)?) (?:hits?|hit|beats?|beat|chokes?|choked|kicks?|kicked|hurts?|hurt) me(?! up\b)",
    r"(?:grabbed|choked|strangled) me",
    r"by the throat",
    r"abus(?:e|ed|es|ing|ive)",
    r"rap(?:e|ed)",
    r"molest\w*",
    r"threaten\w* to (?:kill|hurt|beat|stab|shoot|burn|break|put me in)",
    # the stalker's and the abuser's threat: if he can't have her, nobody will
    r"if (?:he|she|they|i) (?:can'?t|cannot|can not|couldn'?t) have (?:me|you|her|him)\b[^.;!?]{0,12}\b(?:no ?one|nobody|no-one)"
    r"(?: else)? (?:will|can|would|could|is going to)",
    r"(?:not|(?:don'?t|do not|doesn'?t|does not|never) feel) safe (?:at home|with (?:him|her|them)|here|anymore)",
    r"in danger(?! of)",
    r"afraid (?:he|she|they)(?:'ll| will| might) (?:kill|hurt)",
]

# Families of wording, each reviewed as a whole: who does what to whom.
# The partner gone (not away for a while): "if I wasn't here / around / alive", "if I was gone / dead", "if I don't
# live anymore", "if I died", "if I didn't exist".
_IF_GONE = (r"if i (?:\w+ ){0,2}(?:(?:wasn'?t|weren'?t|was not|were not) (?:here|around|alive|in the picture|"
            r"in (?:their|her|his|your|the kids'?) lives?)(?! (?:for|on|this|next|tonight|tomorrow|at)\b)|"
            r"(?:was|were|had) (?:gone|dead|out of the picture)|(?:didn'?t|did not|don'?t|do not) (?:exist|live|wake up)"
            r"(?: anymore| any more)?(?! (?:with|in|at|near|so|there|here|on|by|close|far|alone|together|for|early|"
            r"till|until)\b)|died|disappeared|(?:was|were) to die)")
_BETTER = (r"(?:better off|(?:a lot |so much |much |way )?(?:better|happier|easier|freer|fine|okay|ok|alright|all right)"
           r"(?! (?:to|at|with|for (?!(?:everyone|everybody|them|her|him|all|my \w+)\b)|in|about|than)\b))")
_OTHER = r"(?:he|she|they|someone|somebody|my [\w-]+(?: [\w-]+)?|his [\w-]+|her [\w-]+|and)"
_AUX = r"(?:(?:did|does|has|had|would|will|keeps?|kept|still|always|sometimes|just|even|also|actually|often) )*"
_CHILD = r"(?:the|my|our|his|her) (?:little |baby |youngest |eldest |oldest |older |younger )?(?:baby|babies|son|daughter|child|children|kids?|boy|girl|toddler|niece|nephew|cousin|brother|sister)"
_TIER1 += [
    r"(?:tak|end)(?:e|es|ing|ed)? my (?:own )?life",
    r"(?:how|ways?) to (?:die|kill myself|end it|end my life)(?! (?:of|laughing))",
    r"painless way to die",
    r"(?:pills|tablets|meds) (?:it )?(?:would|will|'d) take to (?:kill me|die|end it)",
    r"(?:would|will|'d) take to kill me",
    r"(?:planning|planned|plan) (?:out )?(?:how|when|where) (?:i'?d|i would|i will|i'?ll|to) (?:do it|die|end it|kill myself)",
    # self-harm in any wording: the body as the target
    r"(?:punch|punches|punching|punched|bang|banging|banged|hit|hitting) (?:my (?:own )?head|myself|the wall until)",
    r"(?:head|fists?) (?:against|into) the (?:wall|door|floor|mirror)",
    r"(?:scratch|scratching|pick|picking|claw|clawing)(?:es|ed)? (?:at )?my (?:skin|arms?|legs?|face)",
    r"(?:until|till|til) (?:it|they|my \w+) (?:bleeds?|bled|blister)",
    r"(?:starv(?:e|es|ed|ing)|punish(?:es|ed|ing)?) myself",
    r"(?:on|onto|into|against) my (?:wrists?|arms?|skin|thighs?|legs?) on purpose",
    r"(?:part|one) (?:of me )?(?:that|who) (?:cuts|burns|hurts me)",
    r"(?:cut|cutting|cuts|burn|burning|burns|burned)(?: myself)? (?:again|deeper)",
    # violence and control by others
    _OTHER + r" " + _AUX + r"(?:slap|slaps|slapped|punch|punches|punched|shove|shoves|shoved|strangle|strangles|strangled|"
    r"scratches and kicks|kicks and hits|spits? on|spat on) me",
    _OTHER + r" " + _AUX + r"(?:hits?|hit|beats?|beat|kicks?|kicked|chokes?|choked|slaps?|slapped|punch(?:es|ed)?) me(?! up\b)",
    r"(?:push|pushes|pushed|shove|shoves|shoved|threw|throws|dragg?ed|drags) me (?:down|into|against|across|over|off|out|by)",
    r"(?:throws?|threw) (?:stuff|things|\w+) at me",
    # what is done to me survives speech to text better than the verb ("saps me across the face")
    r"\w+ me across (?:the|my) face",
    r"put me in (?:the )?hospital",
    r"(?:he|she|my (?:husband|wife|partner|boyfriend|girlfriend|dad|father|mum|mom|mother|stepdad|stepmum|ex)) "
    r"(?:\w+ ){0,6}(?:throws?|threw|throwing) (?:stuff|things|plates|mugs|glasses|bottles|cups)\b[^.;!?]{0,100}\b"
    r"(?:caught|hit|cut|struck) me",
    r"(?:by|pulled) my hair",
    r"(?:locks?|locked|locking) (?:me|him|her|them) (?:in|up|out)",
    r"(?:takes?|took|taking) my (?:phone|bank card|cards?|money|passport|keys) (?:and|so|away)",
    r"(?:so hard|hard enough) (?:that )?(?:i |it )?(?:cracked|broke)",
    r"(?:he|she|they) (?:cracked|broke) my",
    r"(?:left|leaves|leaving) (?:\w+ )?(?:bruises|marks|welts)",
    r"(?:carry|carries|carrying) (?:a|my) (?:knife|gun|blade|weapon)",
    r"put (?:him|her|them) in the ground",
    r"(?<!match )(?<!game )(?<!games )(?<!training )(?<!practice )(?<!rugby )(?<!football )(?<!job )(?<!work )"
    r"(?:gets?|got|getting|became|become|becomes) (?:(?:you know|well|a bit|a little|quite|kind of|sort of|pretty|really|"
    r"too) )*physical(?! (?:therapy|therapist|exam|examination|activity|activities|exercise|health|education|job|work|"
    r"training|labou?r|check|fitness|side|stuff at the gym))",
    # stalking and unwanted touching: the act, whoever it is said of (speech to text often mishears who)
    r"(?:been|keeps?|kept|started|is|was|were|are) (?:\w+ )?following me (?:home|to (?:work|school|my \w+)|"
    r"from (?:the|my) \w+)(?! on\b)",
    r"(?:turns?|turning|turned|shows?|showing|showed|waits?|waiting|waited) up (?:again )?(?:outside|at) my (?:work|house|flat|"
    r"door|place|school|job|parents'?)\b[^.;!?]{0,60}\b(?:knows? where i live|won'?t leave|every (?:day|night))",
    r"(?:knows?|found out) where i live now",
    r"cornered me\b[^.;!?]{0,60}\b(?:hands on me|touched me|grabbed|kissed me|wouldn'?t let me)",
    r"(?:put|puts|putting) (?:his|her|their) hands on me\b[^.;!?]{0,40}\b(?:froze|couldn'?t move|wouldn'?t stop|didn'?t want)",
    # threats
    r"(?:said|says|told me|texted|messaged|swore|warned|screamed|yelled|threatened)(?: that)?(?: if [^.;!?]{0,60})?,? "
    r"(?:he|she|they)(?:'ll|'d| will| would| is going to|'s going to| are going to|'re going to) (?:\w+ )?"
    r"(?:kill|hurt|strangle|break|burn|beat|shoot|stab|put me in)",
    r"(?:he|she|they)(?:'ll|'d| will| would| is going to|'s going to| are going to|'re going to) (?:\w+ )?"
    r"(?:hurt|strangle|break my|burn my|beat me|shoot|stab|jump me) ?(?:me|my|us|him|her|them)?",
    r"(?:i'?m|i am|you'?re) dead if",
    r"(?:get|send|sending) (?:some )?(?:people|guys|friends|someone) to (?:jump|hurt|beat|attack)",
    r"(?:post|share|send)(?:s|ed|ing)? (?:the|my) (?:pictures|photos|videos)",
    r"(?:burn|burned|burnt) (?:my|the|our) house down",
    r"(?:held|holding|waved|pulled) (?:up )?a (?:knife|gun|blade)",
    # danger to others
    r"(?:want|wants|wanted|wanna|thinking about|think about|thought about|picture|picturing|imagine|imagining|"
    r"fantasi[sz](?:e|es|ed|ing) about|dream(?:s|ed|ing)? (?:about|of)|planning|plan) (?:exactly )?(?:how i'?d |to )?(?:going (?:round|over|up) (?:there )?and )?"
    r"(?:actually |really )?(?:hurting|hurt|stabbing|stab|poisoning|poison|shooting|shoot|"
    r"strangling|smother|smothering|killing|kill(?! off| time| the (?:mood|vibe|part|critic)))(?! (?:off|time|myself|the (?:mood|vibe)))"
    r" (?:him|her|them|my (?!inner|critic|part)\w+|his|the (?:guy|man|woman|baby|kids?))",
    r"(?:i'?ll|i will|i'?m going to|i am going to|i'?d) (?:\w+ )?(?:hurt|stab|poison|shoot|smother) (?:him|her|them|my \w+|the \w+)",
    # a car as the weapon: nothing but a person is run over in a fantasy
    r"(?:fantasi[sz](?:e|es|ed|ing)|dream(?:s|ed|ing)?) (?:about|of) (?:running|driving|mowing) "
    r"(?:him|her|them|my \w+|the \w+) (?:over|down)",
    r"(?:thinking|thought|think) (?:about|of) (?:running|mowing) (?:him|her|them|my (?:ex|boss|manager|husband|wife|partner|"
    r"boyfriend|girlfriend|dad|mum|mom|stepdad|neighbou?r|brother|sister)|the (?:guy|man|woman|neighbou?r)) (?:over|down)",
    r"(?:run|running|ran|drive|driving|drove) (?:my|the) car (?:into|at) (?:him|her|them|my \w+)(?! (?:car|house|garage|wall|fence))",
    r"(?:scared|afraid|terrified) (?:of what|that) i(?:'ll| will| might|'d| would) (?:do|snap|hurt|hit|lose it)",
    r"afraid i'?ll (?:snap|hurt|hit)",
    r"thoughts? (?:about|of) (?:hurting|poisoning|killing|stabbing|strangling|smothering|shooting) (?:him|her|them|my|someone|people)",
    r"with (?:him|her|them) (?:still )?inside",
    r"i (?:pushed|hit|slapped|punched|shoved|choked|grabbed) (?:my (?:girlfriend|boyfriend|wife|husband|partner|mum|mom|dad)|her|him) ",
    # a child in danger
    r"(?:shook|shake|shaking|smother|smothering|suffocat\w*) " + _CHILD,
    r"(?:hit|hits|smack|smacks|smacked|beat|beats|belt|belted|whip|whipped|burn|burned) " + _CHILD,
    r"(?:hurt|harm) my (?:son|daughter|baby|kids?|child)",
    r"(?:flashes|images|pictures|urges?|visions) (?:of|to) (?:me )?(?:dropping|shaking|throwing|drowning|smothering|hurting) "
    r"(?:him|her|them|" + _CHILD + r")(?! off\b)",
    r"(?:touches|touched|touching) (?:her|him|them)(?=[,.;!?]| and| when| while| under| down| there|$)",
    r"(?:hit|hits|smack|smacks|smacked|beat|beats) (?:the|my) (?:older|younger|little|eldest|youngest|baby) one",
    r"(?:bruises|marks|welts) (?:all )?(?:over|on) (?:her|his|their) ",
    r"(?:drives?|driving|drove) (?:the kids|my kids|them|the children)(?: \w+)? (?:drunk|high)",
    # self-harm going on, said without "myself": the act named with its object, or as a habit that is back
    r"(?:the|my) (?:cutting|burning|self-harming|scratching)(?:'s| is| has| have)? (?:\w+ )?(?:got(?:ten)? )?(?:worse|deeper|"
    r"back|started again|every (?:day|night))",
    r"(?:started|start|been|keep|kept|keeps|went back to|gone back to) (?:cutting|burning)(?! (?:down|back|out|off|up|the|through"
    r"|across|corners|calories|sugar|it out|ties|costs|hours|class|classes|school|candles|incense|wood|toast|dinner|bridges"
    r"|(?:my|her|his|their|the kids'?) (?:own )?(?:hair|nails|fringe|fabric|lawn|grass|hedge)))",
    r"(?:lighter|cigarette|blade|razor|compass|scissors|sharpener|glass|hot iron)s?(?: \w+){0,2} (?:on|into|across|against|to|over) my "
    r"(?:arms?|skin|wrists?|legs?|thighs?|stomach|hips?|hands?)",
    r"(?:cut|cuts|cutting|burn|burns|burned|burnt|burning) (?:on |into )?(?:my |the )?(?:arms?|wrists?|thighs?|legs?|stomach|hips?)"
    r"(?! (?:on (?:the|a) (?:oven|stove|kettle|pan|iron|grill|barbecue|bbq)|(?:cooking|baking|in the kitchen)|"
    r"(?:by|in) (?:the |an? )?accident))(?=[^.;!?]{0,60}\b(?:again|where (?:no ?one|nobody)|so (?:no ?one|nobody)|to (?:feel|"
    r"cope|calm|stop)|when i|every|still|hide|long sleeves?|didn'?t mean to stop|on purpose))",
    # means at hand: a weapon or a stock of pills taken out, held, counted, with no word of intent needed
    r"(?:keeps?|kept|keep on|been|started|start) (?:taking|getting|lifting|pulling) (?:\w+ )?(?:(?:dad|father|mum|mom|grandad|"
    r"husband|brother|partner)'?s )?(?:gun|rifle|pistol|shotgun|revolver|knife|pills|tablets|rope|belt) (?:out|down)",
    r"(?:hold|holds|holding|held|count|counts|counting|counted|line up|lining up|lined up|sit with|sitting with|sat with|"
    r"staring at|stare at|looking at|look at) (?:the|his|my|that|all the|all my|all those|those) (?:\w+ )?"
    r"(?:gun|rifle|pistol|shotgun|revolver|pills|tablets|painkillers|sleeping pills|rope|noose)\b"
    r"(?![^.;!?]{0,50}\b(?:organi[sz]ers?|dosette|pill ?box(?:es)?|blister packs?|weekly box(?:es)?|so i don'?t (?:miss|forget)|"
    r"for the (?:week|month)|"
    r"at the (?:range|club)|(?:range|club|shop|pharmacy|chemist)))",
    r"(?:loaded|load|loading|cleaned|cleaning) (?:the|his|my|a) (?:gun|rifle|pistol|shotgun|revolver)\b"
    r"(?![^.;!?]{0,40}\b(?:range|club|hunt|hunting|season|shoot(?:ing)? (?:day|season)))",
    # a child or a young person's plan to hurt others with a weapon
    r"(?:take|takes|taking|took|bring|brings|bringing|brought|carry|carries|carrying|sneak|sneaking|sneaked|snuck) "
    r"(?:a |an |my |his |her |their |the |(?:\w+'s) )?(?:\w+ )?(?:knife|knives|gun|blade|rifle|pistol|weapon|machete|bat)s? "
    r"(?:in(?:to)? |to )(?:school|college|class|the park)",
    r"(?:shoot|stab|kill|hurt|get|attack) (?:them|everyone|everybody|people|the kids|those kids|the boys|the girls|the other kids|"
    r"some kids|all of them) (?:at|in|after) (?:school|college|class)",
    r"(?:kill|hurt|target) list",
    r"list of (?:names|kids|people)\b[^.;!?]{0,80}\bwhat (?:he|she|they|i)(?:'d| would| will|'ll|'s going to) do to",
    r"(?:knife|knives|gun|rifle|blade|machete|weapon)\b[^.;!?]{0,80}\b(?:make (?:them|him|her|everyone|those \w+) (?:sorry|pay)|"
    r"get (?:them|him|her) back|hurt (?:them|him|her|those \w+))",
    r"(?:had|got|took|grabbed|pulled) (?:the |a |my |his )?(?:tyre iron|tire iron|crowbar|baseball bat|bat|knife|hammer|machete|"
    r"gun) out\b[^.;!?]{0,80}\b(?:walking|went|going|ran|running|came|coming) (?:over |up )?(?:to|at|towards?)",
    r"what i(?:'ll| will|'m going to| am going to) do (?:to (?:him|her|them)|when i (?:find|see|get) (?:him|her|them))",
    # the others better off (or fine, happier, freer) with the partner gone: perceived burdensomeness, in either order
    # ("if I don't live anymore, she'll be okay"; "they'd all be fine if I was gone"). A blind judge found the first
    # one, from a real session, answered with an ordinary hint.
    _IF_GONE + r"[^.;!?]{0,60}\b(?:would|will|'d|'ll|could|might) (?:all |just )?(?:be )?" + _BETTER,
    r"(?:would|will|'d|'ll) (?:all |just )?(?:be )?" + _BETTER + r"[^.;!?]{0,30}\b" + _IF_GONE,
    # suicide said in the words people use for it without the word: the others better off, not being here for a date,
    # a voice that says to die, looking up how many tablets it would take
    r"better off (?:if i (?:\w+ ){0,2}(?:wasn'?t|weren'?t|was not|were not) (?:here|around|alive|in the picture|in their lives)|"
    r"with(?:out)? (?:\w+ ){0,4}than with me)",
    r"i won'?t be (?:here|around|alive) (?:for (?:it|that|christmas|the|my|her|his|their|next)|by (?:then|christmas|the|next)|"
    r"to see (?:it|that|the|them|him|her)|much longer|next (?:week|month|year))(?![^.;!?]{0,60}\b(?:holiday|away|travel\w*|trip|"
    r"abroad|visiting|conference|moving|moved|vacation|shift|working|flight|course|festival|wedding|leave))",
    r"(?:says|said|tells me|telling me|told me|keeps saying|kept saying|keeps telling me)(?: to)?,? (?:go on(?: then)?,? |just )?"
    r"(?:kill yourself|die|you should die|you should be dead)\b",
    r"(?:it'?s|it says|it keeps saying|voice says|voices say|critic says) (?:go on(?: then)? )?kill yourself",
    r"go on(?: then)? kill yourself",
    # ...and as speech to text hears it ("it's gone and kill yourself", "just go and kill yourself")
    r"(?<!don't )(?<!not )(?:go|gone|goes|just) (?:on |and )?(?:then )?(?:go )?(?:and )?kill yourself",
    r"how (?:many|much) (?:of )?(?:my |the |her |his |which |what |those )?(?:\w+ )?(?:tablets|pills|paracetamol|painkillers|"
    r"sleeping pills|meds|tylenol|insulin) (?:it )?"
    r"(?:would|will|'d|it'd) (?:take|kill)",
    # self-harm where nobody sees, wounds kept open
    r"(?:cut|cuts|cutting|burn|burns|burning|hurt|hurts|hurting)(?: myself)? where (?:nobody|no one|no-one) (?:can )?(?:sees?|looks)",
    r"(?:reopen|reopens|reopening|reopened|pick at|picks at|picking at|picked at|dig into|digging into) (?:the |my )?(?:old )?"
    r"(?:marks|scars|cuts|wounds|scabs)",
    # the marks explained away: said to be someone else's doing, or hidden behind a story
    r"(?:marks|cuts|burns|scars|scratches) on my (?:arms?|legs?|wrists?|thighs?|stomach|skin) (?:are|were) (?:from )?me\b",
    r"(?:blade|razor) (?:from|out of) (?:my|a|the) (?:pencil )?sharpener",
    r"(?:bruises?|marks?|black eye|cut lip)\b[^.;!?]{0,60}\b(?:it )?(?:wasn'?t|was not|weren'?t) (?:the|a|an) "
    r"(?:table|door|cupboard|fall|stairs|accident|cat|dog|wall)",
    r"(?:he|she|they)(?:'ll| will|'s| is|'re| are) (?:be )?coming for me",
    r"knows where i sleep",
    r"(?:come|comes|coming|came|walk|walks|walking|walked|get|gets|getting|got) (?:in|into) (?:the|my) (?:bathroom|bedroom|room|bed)"
    r" (?:when|while) i'?m (?:in the shower|in the bath|changing|getting changed|asleep|in bed|undressed)",
    # sex forced, threats that own a person, images held over someone
    r"(?:holds?|held|holding|pins?|pinned|pinning) me down",
    r"(?:makes|made|forces|forced|forcing|pressures?|pressured) me (?:to )?(?:have sex|do (?:it|things|stuff) (?:i|in bed))",
    r"if i (?:say|said) no\b[^.;!?]{0,40}\b(?:carries|carried|keeps|kept|goes|went) (?:on|going|ahead)",
    r"if i can'?t have you,? (?:no ?one|nobody|no-one) (?:will|can|else)",
    r"(?:he|she|they)(?:'ll| will|'s going to|'re going to| is going to| are going to) (?:post|share|send|put) (?:them|it|those|"
    r"the (?:pictures|photos|videos)) (?:everywhere|online|to everyone|to my (?:mum|mom|dad|parents|school|family|friends))",
    # a child left alone or a parent's urge to harm a baby
    r"(?:leave|leaving|left) (?:him|her|them|my (?:son|daughter|baby|kids?|little one)|the (?:kids|baby)|[a-z]+) (?:on (?:his|her|"
    r"their) own|alone|home alone)\b[^.;!?]{0,40}\b(?:he'?s|she'?s|they'?re) (?:only )?(?:one|two|three|four|five|six|seven|"
    r"eight|[1-8])\b(?! (?:years?|months?|weeks?) (?:into|in|on|at|of|with|since))",
    r"(?:urges?|impulses?|flash(?:es)?)(?: \w+){0,3} to (?:shake|drop|throw|smother|hurt|hit|suffocate) (?:her|him|them|the baby|"
    r"my baby)",
    r"list of (?:people|names|kids|everyone) (?:\w+ )?(?:wants?|is going|'s going|going|plans?|planning) to (?:hurt|kill|shoot|stab|get)",
    # attacks named with the less common verbs ("she headbutted me", "it's not the first time she's gone for me")
    _OTHER + r" " + _AUX + r"(?:headbutt(?:s|ed)?|head-butt(?:s|ed)?|kneed|knees|elbowed|elbows|bit|bites|pinch(?:es|ed)?|"
    r"scratched|stamped on|stamps on|stomped on) me\b(?! (?:to it|on the (?:hand|finger)))",
    r"(?:he|she|they)(?:'s|'d| has| had| have|'ve)? (?:\w+ )?(?:went|goes|gone|lunged|lunges|launched (?:himself|herself|"
    r"themselves)|flew|flies) (?:for|at) me\b(?! (?:in (?:the|an?) (?:interview|meeting|exam)|about|as))",
    r"(?:came|comes|coming|come) at (?:me|us|him|her|them) with (?:a|the|his|her|their|an) (?:knife|bat|baseball bat|hammer|"
    r"bottle|machete|crowbar|screwdriver|fist|belt|broken glass)",
    # a weapon brought to the door and a threat to use it
    r"(?:bat|knife|knives|gun|machete|hammer|crowbar|acid)\b[^.;!?]{0,120}\buse (?:it|that|them|those) on (?:me|us|you|him|"
    r"her|them|whoever|anyone|anybody|someone|somebody|my \w+)",
    # an attack planned on another person
    r"(?:going to|gonna|will|'ll|want to|planning to|plan to|plan on) (?:\w+ )?(?:throw|chuck|pour|splash) (?:\w+ ){1,3}"
    r"(?:in|at|over|on) (?:her|his|their|them|him|his|her) (?:face|eyes|head)",
    # worth more dead, wrists held down, cigarettes put out on the skin, a cover story the children are told to give,
    # the partner's fear of their own hands
    r"worth more (?:to (?:[\w']+ ){1,3})?dead",
    r"(?:held|holds|holding|pinned|pins|pinning) my (?:wrists|arms|hands|legs|shoulders) down",
    r"(?:stub|stubs|stubbing|stubbed|put|putting|puts) (?:my |a |the |his |her )?(?:fags?|cigs?|cigarettes?|ciggies?|joints?) "
    r"out on (?:my|me)",
    r"(?:told|tells|telling|tell) (?:us|me|them|the kids|the children) to say (?:she|he|i|we|mum|mom|dad|mummy|mommy) "
    r"(?:fell|tripped|walked into|slipped|had an accident|bumped)",
    r"(?:scared|afraid|terrified|frightened) (?:of )?what my (?:hands|body) (?:might|could|will|would|'ll|are going to) do",
    # plain words of intent and acts the list lacked: a kill said and meant, poison in food, a jump planned, a child held by
    # the neck, children made to undress for a camera
    r"(?:going to|gonna|i'?ll|i will) kill (?:him|her|them|my \w+|the \w+|that \w+|this \w+)\b[^.;!?]{0,40}\b"
    r"(?:and i meant it|i mean(?:t)? it|i'?m (?:not joking|serious|deadly serious)|not (?:even )?joking|i'?m not kidding)",
    r"(?:going to|gonna|i'?ll|i will|could|thinking (?:of|about)|decided to|plan to|planning to) (?:\w+ )?(?:put|putting|slip|"
    r"slipping|add|adding|mix|mixing) (?:[\w']+ ){0,4}(?:poison|bleach|antifreeze|pills|tablets|something) "
    r"in(?:to)? (?:his|her|their|them|the kids'?) (?:\w+ )?(?:food|drink|tea|coffee|dinner|meal|bottle)",
    r"(?:going to|gonna|i'?ll|i will|planning to|plan to|decided to|decided i'?m going to|thinking (?:of|about)) jump(?:ing)? "
    r"(?:off|from) (?:the |a |our |my |that )?(?:\w+ )?(?:bridge|roof|terrace|balcony|building|cliffs?|car park|multi-storey|"
    r"tower|window|overpass|flyover)",
    r"(?:going to|gonna|i'?ll|i will|planning to|plan to|decided to|thinking (?:of|about)) (?:jump|step|walk|throw myself)(?:ing)? "
    r"(?:in front of|under) (?:a|the) (?:train|bus|lorry|truck|car|tram)",
    r"(?:had|has|grabbed|grabs|held|holds|got|gets) (?:him|her|me|them|my \w+) by the (?:neck|throat|hair)",
    r"(?:makes?|made|making|gets?|got|getting|asks?|asked|tells?|told) (?:them|him|her|me|the kids|the children|my \w+) (?:to )?"
    r"(?:take (?:off )?(?:their|his|her|my) clothes(?: off)?|undress|strip)\b(?![^.;!?]{0,12}\bfor (?:bed|the bath|a bath|"
    r"swimming|pe|the doctor|the nurse))",
    # a child shut away as a punishment
    r"(?:(?:shuts?|shutting|locks?|locking|locked) (?:them|him|her|me|us)|(?:shuts?|shutting|locks?|locking|locked|puts?|"
    r"putting) (?:him|her|me|us|my (?:son|daughter|brother|sister|little \w+)|the (?:kids?|children|baby|little one))) in "
    r"(?:the|a) (?:cupboard|shed|cellar|basement|garage|closet|cage|dark)",
    r"makes? (?:him|her|them|me|us) sleep (?:in (?:the|a) (?:shed|garage|car|garden|cellar|basement|dog'?s? \w+)|outside)",
]

_TIER2 = [
    r"hopeless\w*",
    r"no way out",
    r"can'?t go on",
    r"can'?t (?:take|do) (?:it|this) any ?more",
    r"(?:i'?m|i am|feel like) a burden",
    r"scared of (?:him|her|them)",
    r"trapped",
    r"nobody would (?:care|miss me|notice)",
    r"disappear forever",
    r"give up on everything",
    r"what'?s the point",
]


# Warning signs a counsellor asks about gently, reviewed as phrases: on their own they raise a check-in, never an urgent
# alert (an estate planned "for when I'm gone" is ordinary talk for an older partner; the question settles it).
_CHECK_IN_PHRASES = [
    r"(?:when|after|once|by the time) i'?m (?:gone|not here|not around|dead)(?! (?:on|for|to|away|abroad|out|shopping))",
    r"(?:when|after|once) i(?:'ve| have) gone(?! (?:on|to|away|abroad|out|shopping|home|back))",
    r"(?:giving|given|gave|give) (?:all )?(?:my|away my) (?:things|stuff|belongings|possessions|savings) away",
    r"(?:giving|given|gave|give) away (?:all )?(?:my|the) (?:things|stuff|belongings|possessions|savings|games|books|clothes)",
    r"(?:said|saying|say) (?:my )?goodbyes?\b[^.;!?]{0,60}\b(?:quietly|without (?:them|anyone|anybody) knowing|for good|"
    r"(?:one|for the) last time|before i go)",
    r"(?:won'?t|will not) be (?:around|here) (?:much|for) (?:longer|long)",
    r"(?:in case|if) (?:anything|something) (?:happens|should happen) to me",
    r"(?:don'?t|do not) (?:see|have) (?:a|any) (?:future|reason to (?:live|go on|keep going))",
    r"(?:stop|stopped|not|just not) existing\b(?! (?:as|in|for) (?:a|an|the|this|that|my))",
    r"(?:disappear|disappearing|disappeared|vanish|vanishing) for good",
    r"(?:tidy|in order|sorted|square|settled) before i (?:go|leave|die)\b(?! (?:on|to|away|abroad|out|home|back|for))",
    r"remember me (?:the way i (?:was|am)|as i (?:was|am)|when i'?m gone|after)",
    r"(?:can'?t|cannot|don'?t) (?:really )?see myself (?:being |still )?(?:around|here|alive) (?:by|for|at|in|next|much)",
    r"(?:don'?t|do not) think i'?(?:ll| will) (?:still )?be (?:around|here|alive) (?:by|for|when|at|in|next|much)",
    r"(?:the |this is (?:the |my )?)?last (?:one|christmas|birthday|summer) i'?(?:ll| will) (?:ever )?(?:be at|see|have|spend)",
    r"(?:hit|run over) by a (?:bus|car|train|lorry|truck)\b[^.;!?]{0,40}\b(?:relieved|relief|wouldn'?t mind|hope|wish)",
    r"(?:wish|hope|hoping|pray|praying) (?:i|i'd) (?:get|got) (?:hit|run over) by",
    # a passive wish to die: not minding never getting up again
    r"(?:wouldn'?t|would not|not|won'?t|didn'?t) mind if i (?:never|didn'?t|did not) (?:woke|wake|get|got|had to get|have to "
    r"get) up",
    r"never (?:have|had) to (?:wake|get) up again",
    # more of a drug than the box says, on purpose; a gang that knows a son's way home
    r"(?:take|took|taking|swallow|swallowed|swallowing) (?:way |a lot |much |loads )?more (?:\w+ )?than (?:the box|the packet|"
    r"the label|it) says\b(?=[^.;!?]{0,80}\b(?:on purpose|feel (?:awful|sick|bad)|punish\w*|deserve))",
    r"(?:they|he|she) (?:\w+ )?knows? (?:which|what) (?:taxi|bus|school|way|route|car|train) (?:he|she|you|i|my \w+|your \w+) "
    r"(?:takes|goes|drives|gets|uses)",
    # goodbyes in writing, a stalker who turns up everywhere, a threat carried out on the car
    r"(?:letters?|notes?)\b.{0,160}?\b(?:for after|for when i'?m (?:gone|not here)|to (?:be )?open(?:ed)? after)\b",
    r"(?:turns?|turned|turning|shows?|showed|showing|pops?|popped) up everywhere (?:i go|i am|i'?m)",
    r"somehow knows? my (?:schedule|routine|movements|timetable)|knows my (?:schedule|routine|movements|timetable) somehow",
    r"(?:tyres|tires) (?:were |was |got |had been |have been )?(?:all )?slashed|slashed (?:my|all (?:four|my)) (?:\w+ )?(?:tyres|tires)",
    r"(?:he|she|they) (?:just )?forces? me\b(?! to (?:eat|go|study|exercise|work|take|wear|clean|do|get|see|try|sit|read|"
    r"practi[sc]e|apologi[sz]e|call|visit))",
    r"(?:going to|gonna|i'?ll|i will|want to) (?:\w+ )?(?:split|smash|cave|bash|crack|kick) (?:his|her|their) (?:head|skull|face) "
    r"(?:in|open)",
    # a child: a pillow over the cot, drugs where a baby crawls, a young child at home alone
    r"(?:pillow|cushion)\b[^.;!?]{0,60}\b(?:cot|crib|over (?:his|her|the baby'?s) face)|(?:cot|crib)\b[^.;!?]{0,60}\b"
    r"(?:pillow|cushion) (?:in my hands|over)",
    r"(?:needles|syringes|crack pipes?|drugs|gear)\b[^.;!?]{0,60}\b(?:where|near|next to|within reach of) (?:the |my |her |his )?"
    r"(?:baby|babies|kids|children|toddler|little ones?)",
    r"(?:stays?|staying|stayed|sleeps?|is|was|are|were|be) (?:at )?home (?:on (?:his|her|their) own|alone|by (?:himself|herself|"
    r"themselves))[^;!?]{0,40}\b(?:he'?s|she'?s|they'?re) (?:only )?(?:one|two|three|four|five|six|seven|eight|[1-8])\b"
    r"(?! (?:years?|months?|weeks?) (?:into|in|on|at|of|with|since))",
    # a passive wish to die: asked of God, hoped for in sleep, no point in living
    r"(?:ask|asks|asked|asking|pray|prays|prayed|praying|beg|begging|begged) (?:to )?(?:god|the lord|jesus|the universe) "
    r"(?:every night )?to (?:just )?(?:take me|let me (?:go|die|not wake up)|not let me wake up)"
    r"(?! (?:home|to|out|with|back|there|along|in|for|on|away|up|down)\b)",
    r"(?:take|takes|took) me in my sleep",
    r"(?:hope|hoping|wish|wishing|pray|praying) (?:that )?(?:i|i'd|i'll) (?:just )?(?:don'?t|do not|won'?t|wouldn'?t|never|didn'?t) "
    r"wake up\b(?! (?:early|late|in time|on time|before|till|until|for|at|when|with))",
    r"(?:don'?t|do not|can'?t|cannot) (?:really )?see (?:the|any) point (?:of|in) (?:living|life|going on|carrying on|being "
    r"(?:alive|here|around)|waking up|the mornings|getting up in the mornings?|anything anymore|any of it anymore)",
    # means kept at hand: pills or a weapon gathered, hidden, counted, sat with, with no word of intent needed
    r"(?:only (?:let you |lets you |sell you |sells you |can )?(?:buy|by|get|have) (?:[\w']+ ){0,4}(?:at (?:a time|once)|per "
    r"(?:visit|shop|person|customer))|(?:buy|by|bought|went round|go round|going round) (?:them )?(?:in |to )?(?:different|"
    r"several|two|three|four|a few|all the) (?:shops|chemists|pharmacies|supermarkets|places))"
    r"\b.{0,160}\b(?:paracetamol|pills|tablets|painkillers|co-codamol|codeine|aspirin|ibuprofen|tylenol)",
    r"(?:boxes|packets|packs|bottles|strips|bags?) of (?:[\w']+ ){0,2}(?:paracetamol|pills|tablets|painkillers|co-codamol|codeine|"
    r"aspirin|ibuprofen|tylenol|sleeping pills|insulin|meds|medication)\b.{0,200}?\b(?:hidden|hid|hide|stashed|"
    r"(?:(?:no ?one|nobody) knows?|(?:(?:my|his|her) \w+|mum|mom|dad|wife|husband|partner) (?:doesn'?t|don'?t|wouldn'?t) "
    r"know) (?:about )?(?:them|it|they'?re)|(?:haven'?t|not) "
    r"touched (?:them|it)|knowing (?:they'?re|it'?s|that they'?re) (?:still )?there(?! for)|(?:think|thinking|thought) about "
    r"(?:them|it) (?:sitting|being) there|(?:count|counted|counting|line|lined|lining) (?:them|it) (?:up|out))",
    r"(?:gun|shotgun|rifle|pistol|revolver)(?:s|'s)?\b[^.;!?]{0,240}\b(?:sat|sit|sitting|lay|lie|lying) (?:with it|there with it)"
    r"(?: \w+){0,3} (?:across|in|on) my (?:lap|knees|chest)",
    # methods researched
    r"(?:forums?|websites?|sites|reddit|online|the internet)\b[^.;!?]{0,80}\b(?:reading|read|looking|looked|researching|"
    r"researched|searching|searched) (?:\w+ ){0,6}(?:different |other |the |easiest |quickest |painless )?(?:ways|methods)"
    r"(?: (?:to|of) (?:do(?:ing)? it|die|dying|end(?:ing)? it|go(?:ing)?))?(?= and| so| which| but| pros|[.;!?]|$)",
    # marks on the body explained away
    r"(?:marks|cuts|scratches|burns|scars|bruises) on my (?:arms?|legs?|wrists?|thighs?|stomach|hips?|skin)\b.{0,200}?\b"
    r"(?:(?:they'?re|it'?s|they are|it is|they were|it was) not (?:really )?from|(?:there'?s|there are|i'?ve got) new ones|"
    r"new ones (?:every|most|each))",
    # a child or an adult who cannot wake, children unfed, a baby left to cry with nobody coming
    r"(?:asleep|passed out|unconscious|out of it) since (?:yesterday|last night|this morning|the day before)",
    r"(?:cries|cried|crying|screams|screamed|screaming) for hours\b.{0,80}?\b(?:no ?one|nobody) (?:ever |even )?(?:comes|came|goes|went|"
    r"answers|answered|picks (?:him|her|them) up)",
]


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


_T1 = _compile(_TIER1)
_T2 = _compile(_TIER2)
_T3 = _compile(_CHECK_IN_PHRASES)


# Speech to text punctuates at random ("he said, if I leave him, he'll kill me") and keeps fillers ("I want to, um,
# die"): the phrases are matched on the words alone, so a comma or an "um" never hides a clear statement.
_FILLERS = re.compile(r"\b(?:um+|uh+|erm+|er|hmm+|mm+)\b|[,\u2026\"]|(?<!\w)-+(?!\w)|\.{2,}")
_SPOKEN = ((re.compile(r"\bmy self\b"), "myself"), (re.compile(r"\bwanna\b"), "want to"),
           (re.compile(r"\bgonna\b"), "going to"))


def _clean(text: str) -> str:
    text = _FILLERS.sub(" ", text.lower().replace("\u2019", "'"))
    for pattern, spelled in _SPOKEN:
        text = pattern.sub(spelled, text)
    return " ".join(text.split())


# A clear statement said as its own denial ("I'd never hurt myself", "I'm not suicidal") or as a finished past ("I
# used to cut, I haven't since") is no clear statement: it goes on to the meaning check, where such sentences are
# reviewed look-alikes. Only the words just before the phrase count, so "I don't know why I hurt myself" still fires.
_DENIAL = re.compile(
    r"(?:\bnever|\bnot|n't|\bno longer|\bno (?:thoughts?|intention|plans?|urge|desire|wish) (?:of|to))"
    r"(?: (?:ever|really|even|actually|going to|gonna|want to|wanna|be|been|feel|feeling|thinking of|thinking about|"
    r"thought of|thought about|about|of|on|have|having|any thoughts? (?:of|about|on)|anything like|do|try to))*\s*$"
)
_AGE = (r"(?:\d+|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|twenty-\w+|"
        r"in my (?:teens|twenties|thirties))")
_PAST = re.compile(r"\bused to\b|\bwhen i was (?:little|young|younger|a kid|a child|a teenager|at school|at uni|"
                   r"(?:in|at) (?:high |secondary |primary |middle )?school|in (?:college|uni|university|year \w+)|" + _AGE + r")\b"
                   r"|\bas a (?:kid|child|teenager)\b|\byears ago\b|\bin the past\b|\bin my (?:teens|twenties|thirties|forties)\b"
                   r"|\bback in (?:19|20)\d\d\b")
_RESOLVED = re.compile(r"\b(?:not since|haven'?t (?:\w+ )*since|stopped|anymore|any more|behind me|long ago|years ago|"
                       r"free of it|i'?m safe|i am safe|got help|no contact|left (?:him|her|them)|got out(?! of (?:bed|work|the car))|"
                       r"(?:has|have|had) (?:really )?"
                       r"(?:softened|eased|calmed|settled|gone)|haven'?t (?:felt|done|thought|had|wanted) (?:\w+ ){0,4}(?:in|for) "
                       r"(?:over |about |nearly |almost |more than )?(?:\w+ )?(?:years|months)|it'?s been (?:\w+ ){0,2}years)\b")
# "still" brings a danger back, but not the scars it left ("I've still got the scars, faint now")
_AGAIN = re.compile(r"\b(?:still(?! (?:got|have|has|carry|bear) (?:the |my |some |a few )?(?:[\w-]+ ){0,3}(?:scars|marks))|again|"
                    r"lately|these days|this week|last night|recently)\b")
# "it felt as if I'd hurt her", "like I'd hit her or something": a comparison, not something done
_AS_IF = re.compile(r"\b(?:as if|as though|like)\s*$")
_CLAUSE_END = re.compile(r"[.,;!?]|\bbut\b")


# Ways a clear phrase is said and not meant, each an urgent false alarm on long turns written by someone who never saw
# the check: dying of embarrassment ("I just wanted to die, I was so embarrassed"), a small child's tantrum ("he had a
# meltdown in the shop and hit me in the face"), a screening question reported with its answer ("the nurse asked
# whether I think about hurting myself and I said no"), a part's urge said as a likeness, the word as a topic, someone
# else's habit (_not_meant).
_DEATH_WISH = re.compile(r"(?:want|wants|wanted|wanting) to (?:die|be dead)|(?:could|could have|nearly|almost) died")
_EMBARRASSED = re.compile(r"\b(?:embarrass\w*|mortif\w*|cringe\w*|humiliat\w*|so awkward|laugh\w*|red-faced|"
                          r"the ground to swallow me)\b")
_ATTACK = re.compile(r"\b(?:hit|hits|kicked|kicks|bit|bites|punched|slapped|scratched|pinched|headbutted)\b")
_TANTRUM = re.compile(r"\b(?:tantrum|meltdown|paddy|strop)\b")
_SMALL_CHILD = re.compile(r"\b(?:toddler|(?:one|two|three|four|\d)[- ]year[- ]olds?|terrible twos|threenager|nursery|"
                          r"pushchair|buggy|pram|nappy|diaper|trolley seat)\b")
_ASKED = re.compile(r"\b(?:asked|asks|ask|asking)\b(?: [\w']+){0,10} (?:if|whether)\b")
_ANSWER_NO = re.compile(r"\b(?:i|and i) (?:said|told (?:her|him|them)|answered|replied|was like|went) (?:no|not|never|nope|"
                        r"god no|hell no|of course not)\b")
# a part's urge said as a likeness ("in the moment it's like it wants to kill him"): parts work, not a plan; the meaning
# check reads it with the rest of the turn. A part that wants it, said plainly, stays a clear statement.
_PART_SUBJECT = re.compile(r"\b(?:it'?s like it|(?:kind of |sort of |almost )?like it|as if it|as though it)(?: really| just)?\s*$")
_URGE_AT_OTHERS = re.compile(r"(?:wants?|wanted|wanting) to (?:\w+ )?(?:hurt|kill|stab|strangle|smother|hit|punch) "
                             r"(?:him|her|them|my \w+)")


# The word named as a topic, not said of the partner: a prevention walk, a leaflet's warning, an article about it, a
# sports drill ("coach made us run suicides"), someone else's self-harm ("my friend told me she'd been cutting").
_TOPIC_WORD = re.compile(r"suicid\w*|self[- ]?harm\w*")
_TOPIC = re.compile(r"(?:" + _TOPIC_WORD.pattern + r")(?= (?:prevention|awareness|helpline|hotline|line|walk|squeeze|drills?|"
                    r"sprints?|training|module|policy|risk assessment|statistics|rates?|course))")
_TOPIC_BEFORE = re.compile(r"(?:\b(?:run|running|ran|do|doing|did) (?:\w+ )?$|\b(?:warning|warnings|leaflet|label|article|"
                           r"tab|website|page|documentary|podcast|lecture|module|training|course|book|episode|side effects?) "
                           r"(?:\w+ ){0,5}(?:about|on|of|for|mentions?|mentioning|says) (?:\w+ ){0,3}$)")
_HABIT = re.compile(r"(?:started|start|been|keep|kept|keeps|went back to|gone back to) (?:cutting|burning)")
_SENTENCE_END = re.compile(r"[.;!?]")
_OTHERS_HABIT = re.compile(r"\b(?:she|he|they)(?:'d|'s| had| has| have|'ve)? $")


def _sentence(clean: str, m: re.Match) -> str:
    start = max((c.end() for c in _SENTENCE_END.finditer(clean, 0, m.start())), default=0)
    stop = _SENTENCE_END.search(clean, m.end())
    return clean[start : stop.start() if stop else len(clean)]


def _not_meant(clean: str, m: re.Match) -> bool:
    phrase = m.group(0)
    if _TOPIC_WORD.fullmatch(phrase) and (
            _TOPIC.match(clean, m.start()) or _TOPIC_BEFORE.search(clean[max(0, m.start() - 80) : m.start()])):
        return True
    if _HABIT.match(phrase) and _OTHERS_HABIT.search(clean[max(0, m.start() - 12) : m.start()]):
        return True
    if _DEATH_WISH.search(phrase) and _EMBARRASSED.search(_sentence(clean, m)):
        return True
    if _ATTACK.search(phrase) and _TANTRUM.search(_sentence(clean, m)) and _SMALL_CHILD.search(clean):
        return True
    if _URGE_AT_OTHERS.search(phrase) and _PART_SUBJECT.search(clean[max(0, m.start() - 60) : m.start()]):
        return True
    return bool(_ASKED.search(clean[max(0, m.start() - 150) : m.start()])) and bool(
        _ANSWER_NO.search(clean[m.end() : m.end() + 80]))


def _denied(clean: str, m: re.Match) -> bool:
    start = max((c.end() for c in _CLAUSE_END.finditer(clean, 0, m.start())), default=0)
    before = clean[start : m.start()]
    if _DENIAL.search(before):
        return True
    if _AS_IF.search(before) and re.match(r"i(?:'d| had) ", m.group(0)):
        return True
    if _not_meant(clean, m):
        return True
    past = _PAST.search(before) or _PAST.search(clean[m.end() : m.end() + 40])
    # a return ("still", "again") counts near the statement; in a long turn, an "again" about the weather does not
    return bool(past) and bool(_RESOLVED.search(clean)) and not _AGAIN.search(clean[max(0, m.start() - 100) : m.end() + 150])


# A whole turn that tells of a danger as over ("he was violent, but I left him years ago and I'm safe now", "the part
# that used to want to die has softened"): a time long past and a plain sign that it ended, with nothing that brings it
# back ("still", "again", "lately"). Stricter than _RESOLVED: "anymore" or "stopped" alone also end risk sentences.
_LONG_AGO = re.compile(r"\b(?:used to|years ago|long ago|a long time ago|back then|back in (?:the day|my \w+)|in the past|"
                       r"there was a time|at one point|for a while there|"
                       r"when i was (?:little|young|younger|a kid|a child|a teenager|at school|\d+)|as a (?:kid|child|teenager)|"
                       r"in my (?:teens|twenties|thirties)|(?:i|we) left (?:him|her|them|that (?:house|place|relationship)))\b")
_OVER = re.compile(r"\b(?:behind me|behind us|not since|haven'?t (?:\w+ )*since|(?:it'?s|that'?s|it is|that is) (?:all )?over|"
                   r"i'?m (?:safe|okay|ok|fine|well|happy) now|i am (?:safe|okay|well|happy) now|safe now|never felt safer|"
                   r"got help|moved on|made (?:my )?peace|no contact|can'?t (?:reach|find|hurt) me|free of (?:it|him|her|them)|"
                   r"(?:has|have|had|'s|'ve) (?:really |finally |mostly |completely )?(?:softened|eased|calmed(?: down)?|settled|"
                   r"gone|faded|relaxed|quietened|unburdened)|(?:they'?re|it'?s|that'?s) gone now)\b")


def finished_past(text: str) -> bool:
    """The turn tells of a danger that is over: no risk now, for the meaning check as for the list (_denied)."""
    clean = _clean(text)
    return bool(_LONG_AGO.search(clean)) and bool(_OVER.search(clean)) and not _AGAIN.search(clean)


def clear_risk(text: str) -> bool:
    """A clear statement of self-harm, suicide, abuse or danger: always a safety hint."""
    clean = _clean(text)
    return any(not _denied(clean, m) for m in _T1.finditer(clean))


def asked_only(text: str) -> bool:
    """Every sentence that holds a clear statement is a question."""
    held = [p for p in re.split(r"(?<=[.!?;])\s+", text.strip()) if clear_risk(p)]
    return bool(held) and all(p.rstrip().endswith("?") for p in held)


def denied_risk(text: str) -> bool:
    """A clear phrase that the partner denies or places in a finished past."""
    clean = _clean(text)
    return any(_denied(clean, m) for m in _T1.finditer(clean))


def warning_sign(text: str) -> bool:
    """A reviewed warning sign the partner does not deny: a check-in on its own."""
    clean = _clean(text)
    return any(not _denied(clean, m) for m in _T3.finditer(clean)) and not finished_past(text)


def possible_risk(text: str) -> bool:
    """Softer signs: a safety hint only when the model flags it too."""
    return bool(_T2.search(_clean(text)))


# ---- by meaning ------------------------------------------------------------------------------------------------

WINDOW_WORDS = 14  # speech to text may give long stretches without punctuation: those are read in windows
MAX_SEGMENTS = 12  # bounds a long turn's decision: the encoder reads about 0.6 ms per token on one core here
# A whole turn longer than this is read as the mean of its clauses (_embed_by_length). 2026-12-08, `coach bench
# --safety` as written: the same decisions on every labelled set and on real talk but one (a long turn whose danger
# is a threat the phrase list now names), decision p95 on the long sets about 200 -> 160 ms. Not embedding the whole
# turn at all lost two short risk lines of safety_eval; the plain mean for every length lost one and alerted on two
# more real turns.
WHOLE_EMBEDDED_WORDS = 32
# A clause of three words ("I'm still shaken") is read only as part of its turn: alone, its embedding lands near any
# exemplar of the same mood. 2026-12-03, tests/data/safety_eval.jsonl: false alarms 3.0% -> 2.2% as written,
# 4.5% -> 3.7% through Whisper, recall the same (97.3% through Whisper); the fresh check set 10.0% -> 6.7%.
MIN_CLAUSE_WORDS = 4
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\s+(?:but|and then|and so|so)\s+(?=i\b|i'|he\b|she\b|they\b|my\b)", re.I)


def segments(text: str) -> list[str]:
    """The turn's sentences (and overlapping windows of a long one), newest first, then the turn itself: a risk said
    in one clause of a long turn must not be averaged away by the rest of it."""
    words = text.split()
    if not words:
        return []
    out: list[str] = []
    for sentence in reversed([s.strip() for s in _SENTENCE.split(text) if s and s.strip()]):
        w = sentence.split()
        if len(w) <= WINDOW_WORDS + 4:
            out.append(sentence)
        else:
            step = WINDOW_WORDS // 2
            out += [" ".join(w[i : i + WINDOW_WORDS]) for i in reversed(range(0, len(w) - step, step))]
    out = [s for s in dict.fromkeys(out) if len(s.split()) >= MIN_CLAUSE_WORDS or len(words) < MIN_CLAUSE_WORDS]
    whole = " ".join(words[-48:])
    return (out[: MAX_SEGMENTS - 1] + [whole]) if whole not in out else out[:MAX_SEGMENTS]


def _meaning_parts(text: str) -> list[str]:
    """The clauses the meaning check reads. A clause the partner denies ("I would never hurt myself") is left out, and
    so is a turn that tells of a danger as over (finished_past): embeddings barely see a "never" or a "years ago"."""
    return [] if finished_past(text) else [p for p in segments(text) if not denied_risk(p)]


def _sentences(text: str) -> list[str]:
    """Of another reading, the clauses only: its whole-turn clause is the costliest to embed and says again what its
    sentences say."""
    parts = _meaning_parts(text)
    return parts[:-1] or parts


HEARD_MAX = 90  # characters of the partner's words a check-in quotes


def quote(clause: str, turn: str = "") -> str:
    """The partner's words as the facilitator is shown them: whole words only, at most HEARD_MAX characters. Where
    the quote starts or stops inside a sentence of `turn`, an ellipsis says so (it quotes, it does not speak for the
    partner)."""
    words, out = clause.split(), []
    for word in words:
        if len(" ".join([*out, word])) > HEARD_MAX:
            break
        out.append(word)
    at = turn.find(clause) if turn else -1
    cut_before = at > 0 and turn[:at].rstrip()[-1:] not in (".", "!", "?", ";")
    cut_after = len(out) < len(words) or (at >= 0 and turn[at + len(clause):].strip() != ""
                                          and clause.rstrip()[-1:] not in (".", "!", "?", ";"))
    return ("\u2026" if cut_before else "") + " ".join(out) + ("\u2026" if cut_after else "")


def heard_phrase(text: str, *signs: Callable[[str], bool]) -> str:
    """The clause of the turn that holds its sign (by default a clear statement, else a softer phrase), quoted; the
    whole turn when no clause holds it alone."""
    clauses = segments(text)[:-1]
    held = next((p for sign in signs or (clear_risk, possible_risk) for p in clauses if sign(p)), text)
    return quote(held, text)


Level = Literal["urgent", "check_in"]
URGENT: Level = "urgent"
CHECK_IN: Level = "check_in"


@dataclass(frozen=True)
class SafetyVerdict:
    """`level`: "urgent" for a clear statement of danger in what the partner said (the reviewed list), "check_in" for
    a sign that may be risk and deserves a gentle question (by meaning, or a clear phrase only another reading of the
    words holds). `heard`: the partner's words that raised it, shown to the facilitator with a check-in."""

    risk: bool
    category: str | None = None  # the kind of risk (safety_exemplars.RISK's keys), or None
    source: str = ""  # "phrase", "alternative" (a phrase in another reading), "meaning" or "alternative meaning"
    score: float = 0.0  # risk similarity minus look-alike similarity, for the clause that decided
    seconds: float = 0.0
    level: Level | None = None
    heard: str = ""

    @property
    def urgent(self) -> bool:
        return self.risk and self.level == URGENT


NO_RISK = SafetyVerdict(False)


@dataclass(frozen=True)
class MeaningConfig:
    # Chosen with `coach bench --safety` on the labelled sets (tests/data/safety_eval.jsonl, safety_long.jsonl) and the
    # real-talk sets (annomi-dev, counseling-dev client turns), 2026-12-07. The margin is over the nearer of two
    # references: the reviewed look-alikes and ordinary session talk (safety_exemplars.EVERYDAY). Before that reference
    # (a margin of 0.03 over the look-alikes alone): recall 98.0% / 94.4% (short / long turns), false alarms 2.2% /
    # 80.3%, alerts on 12.1% and 15.4% of real client turns. Now 0.10: false alarms 0% / 16.7%, 1.4% and 2.4% of real
    # turns, recall 86.7% / 87.0% by meaning and list together; 0.08 gave recall 88.7% / 90.7% with 3.0% / 5.3% of
    # real turns alerted; 0.06, 90.7% / 92.6% with 5.1% / 7.7%. The encoder is the limit here (multilingual-e5-small,
    # 4-bit, measured the same way: no better, ten times slower).
    # 2026-12-07 (later): 75 exemplars more (indirect risk: means put by, marks explained away, a carer's or a grown
    # child's control, threats to a family, neglect; look-alikes: games, contact sports, the range, a pet put to sleep,
    # a miscarriage, a fight made up) and 0.11. On three sets of 100 long turns a helper wrote without seeing the check,
    # recall / false alarms 94.0 / 30.0 -> 92.0 / 12.0% (safety_long_2, the look-alikes drawn from it), 66.0 / 14.0 ->
    # 66.0 / 2.0% (check2), 74.0 / 6.0 -> 74.0 / 4.0% (check3, untouched); safety_eval 96.7 -> 96.0%, safety_fresh
    # 90.0 -> 93.3%, real client turns 1.4 -> 1.2% and 2.4 -> 2.4%. At 0.10 the same exemplars gave more recall on
    # the long checks (76% / 78%) but 10% / 8% false alarms and 2.9% of counseling-dev turns.
    top_k: int = 3  # similarities averaged per side: one odd neighbour does not decide
    min_similarity: float = 0.45  # a clause must be at least this close to risk exemplars
    margin: float = 0.11  # ...and closer to risk than to the look-alikes and to everyday talk by this much
    # Whisper's other readings hold the right words where its best one garbled them ("my axe" for "my ex", "there
    # may be cries" for "the baby cries"), but also look-alikes of safe turns: a clause only they contain must clear a
    # wider margin. 2026-12-03, tests/data/safety_eval.jsonl through Whisper: recall 90.7% -> 94.0% and false alarms
    # 3.7% -> 4.5% at +0.08; at +0.02 94.7% but 7.5%; every reading at the plain margin 94.7% but 11.2%.
    alternative_margin: float = 0.08
    # Sentences of the other readings not in the best one, read in the same batch. 2: the same recall as 12 on that
    # set, decision p95 24 ms instead of 36 ms (the best reading alone: 18 ms).
    max_alternative_segments: int = 2


CACHE_PREFIX = ".safety-exemplars-"
_CACHE_FORMAT = "1"


def _cache_key(identity: str, risk_texts: Sequence[str], safe_texts: Sequence[str]) -> str:
    blob = json.dumps([_CACHE_FORMAT, identity, list(risk_texts), list(safe_texts)], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _read_cache(path: Path, key: str, rows: int) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            matrix = np.asarray(data["matrix"], dtype=np.float32)
    except Exception:  # missing, truncated, not an npz, another layout: recompute
        return None
    if matrix.ndim != 2 or matrix.shape[0] != rows or not np.all(np.isfinite(matrix)):
        return None
    return matrix


def _write_cache(folder: Path, path: Path, key: str, matrix: np.ndarray) -> None:
    """Atomically (a temporary file renamed into place), and the older caches of this model go: one file at a time.
    A folder that cannot be written to is no error: the matrix simply lives in memory."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=CACHE_PREFIX, suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, key=np.array(key), matrix=matrix.astype(np.float32))
        os.chmod(tmp, 0o644)  # like the model's own files (mkstemp makes it private)
        os.replace(tmp, path)
        tmp = None
        for old in folder.glob(CACHE_PREFIX + "*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as e:
        log.debug("exemplar cache not written in %s (%s): kept in memory", folder, e)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _embed_sorted(embedder: SentenceEmbedder, texts: Sequence[str], batch: int = 32) -> np.ndarray:
    """Many texts in batches of similar length: one batch of all would pad every sentence to the longest one."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: np.ndarray | None = None
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        vecs = np.asarray(embedder.embed([texts[i] for i in idx]), dtype=np.float32)
        if out is None:
            out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
        out[idx] = vecs
    return out if out is not None else np.asarray(embedder.embed([]), dtype=np.float32)


def _embed_by_length(embedder: SentenceEmbedder, parts: list[str]) -> np.ndarray:
    """A turn's clauses in one batch, and the whole turn apart: one batch pads every clause to the longest. A whole
    turn of more than WHOLE_EMBEDDED_WORDS is not embedded at all: its vector is the mean of its clauses' vectors,
    weighted by their words, which is nearly what mean pooling over the whole gives. Embedding it was the costliest
    part of a long turn's decision (about a fifth), and in a live session the only one never already embedded: the
    clauses of the parts kept while the partner spoke were read then, and the encoder keeps their vectors."""
    words = [len(p.split()) for p in parts]
    short = [i for i, n in enumerate(words) if n <= WINDOW_WORDS + 4]
    long = [i for i, n in enumerate(words) if n > WINDOW_WORDS + 4]
    if not short or not long:
        return np.asarray(embedder.embed(parts), dtype=np.float32)
    embedded = [i for i in long if words[i] <= WHOLE_EMBEDDED_WORDS]
    pooled = [i for i in long if words[i] > WHOLE_EMBEDDED_WORDS]
    out = np.asarray(embedder.embed([parts[i] for i in short]), dtype=np.float32)
    rows = np.zeros((len(parts), out.shape[1]), dtype=np.float32)
    rows[short] = out
    if embedded:
        rows[embedded] = np.asarray(embedder.embed([parts[i] for i in embedded]), dtype=np.float32)
    if pooled:
        mean = np.array([words[i] for i in short], dtype=np.float32) @ out
        rows[pooled] = mean / max(float(np.linalg.norm(mean)), 1e-9)
    return rows


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Each row's mean of its k largest values. A partition, not a sort: the same values, without ordering ~1,600
    similarities per clause."""
    k = min(k, sims.shape[1])
    if k <= 0:
        return np.full(sims.shape[0], np.nan, dtype=sims.dtype)
    return np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)


def exemplar_matrix(embedder: SentenceEmbedder, texts: Sequence[str], n_risk: int, cache: bool = True) -> np.ndarray:
    """The exemplars' embeddings, read from a cache beside the embedding model when one made from the same texts by the
    same model is there (embedding ~900 sentences costs seconds at every start, more on a busy machine). The cache is
    keyed by a hash of the texts and of the model's identity (its install checksums, sizes and times); a stale or
    corrupt file is recomputed and replaced without a word. Only the models folder is ever written to."""
    folder, identity = getattr(embedder, "folder", None), getattr(embedder, "identity", None)
    if not cache or folder is None or not identity:
        return _embed_sorted(embedder, texts)
    folder = Path(folder)
    key = _cache_key(str(identity), texts[:n_risk], texts[n_risk:])
    path = folder / f"{CACHE_PREFIX}{key[:16]}.npz"
    matrix = _read_cache(path, key, len(texts))
    if matrix is None:
        matrix = _embed_sorted(embedder, texts)
        _write_cache(folder, path, key, matrix)
    return matrix


class SafetyCheck:
    """The safety decision for one transcript: phrase list first, then meaning. Thread-safe, ~10 ms per turn."""

    def __init__(self, embedder: SentenceEmbedder | None, config: MeaningConfig = MeaningConfig(),
                 risk: dict[str, Sequence[str]] = RISK, safe: dict[str, Sequence[str]] = SAFE,
                 everyday: Sequence[str] = EVERYDAY, cache: bool = True):
        self._embedder, self.config = embedder, config
        self._risk_cats = [c for c, texts in risk.items() for _ in texts]
        if embedder is not None:
            risk_texts = [t for texts in risk.values() for t in texts]
            safe_texts = [t for texts in safe.values() for t in texts]
            matrix = exemplar_matrix(embedder, risk_texts + safe_texts + list(everyday), len(risk_texts), cache)
            n, m = len(risk_texts), len(risk_texts) + len(safe_texts)
            self._risk, self._safe, self._everyday = matrix[:n], matrix[n:m], matrix[m:]

    def assess(self, text: str, alternatives: Sequence[str] = ()) -> SafetyVerdict:
        """`alternatives`: Whisper's other readings of the same words. A clear statement in the best reading is urgent;
        one only another reading holds (a misheard "he slaps me" reads "he saps me" at best) is a check-in, as is a
        clause that is risk by meaning. By meaning, a clause found only in another reading must be closer to risk by
        MeaningConfig.alternative_margin, as look-alike readings of safe turns are common."""
        t0 = time.perf_counter()
        if not text.strip():
            return NO_RISK
        if clear_risk(text):
            # asked, not said ("What, like suicidal?", "is it normal to want to die?"): a gentle question first
            level = CHECK_IN if asked_only(text) else URGENT
            return SafetyVerdict(True, self._category(text), "phrase", 1.0, time.perf_counter() - t0, level,
                                 heard_phrase(text))
        # a denial in the best reading outweighs the same words garbled in a weaker one ("I'm not drawing to hurt
        # myself" for "not going to"), for the list and for meaning alike
        denied = denied_risk(text)
        heard_as = None if denied else next((alt for alt in alternatives if clear_risk(alt)), None)
        if heard_as is not None:
            return SafetyVerdict(True, self._category(heard_as), "alternative", 1.0, time.perf_counter() - t0, CHECK_IN,
                                 heard_phrase(heard_as))
        if warning_sign(text):
            return SafetyVerdict(True, self._category(text), "warning sign", 1.0, time.perf_counter() - t0, CHECK_IN,
                                 heard_phrase(text, warning_sign))
        if self._embedder is None:
            return SafetyVerdict(False, seconds=time.perf_counter() - t0)
        best = _meaning_parts(text)
        others = [p for p in dict.fromkeys(p for alt in alternatives for p in _sentences(alt))
                  if p not in best and not (denied and clear_risk(p))][: self.config.max_alternative_segments]
        scores, cats = self._scores(best + others)
        if len(best) and scores[: len(best)].max() >= self.config.margin:
            i = int(np.argmax(scores[: len(best)]))
            return SafetyVerdict(True, cats[i], "meaning", float(scores[i]), time.perf_counter() - t0, CHECK_IN,
                                 quote(best[i], text))
        if others and scores[len(best) :].max() >= self.config.margin + self.config.alternative_margin:
            i = len(best) + int(np.argmax(scores[len(best) :]))
            return SafetyVerdict(True, cats[i], "alternative meaning", float(scores[i]), time.perf_counter() - t0,
                                 CHECK_IN, quote(others[i - len(best)]))
        top = float(scores.max()) if len(scores) else -1.0
        return SafetyVerdict(False, score=top, seconds=time.perf_counter() - t0)

    def phrase_only(self, text: str) -> bool:
        """The reviewed list alone (the check before meaning was added), for comparison."""
        return clear_risk(text)

    def meaning_score(self, text: str) -> tuple[float, str | None]:
        """The best (risk minus look-alike) similarity over the turn's segments, and that segment's risk kind."""
        scores, cats = self._scores(_meaning_parts(text))
        if not len(scores):
            return -1.0, None
        best = int(np.argmax(scores))
        return float(scores[best]), cats[best]

    def _scores(self, parts: list[str]) -> tuple[np.ndarray, list[str | None]]:
        """Each clause's similarity to risk minus that to the nearer of the look-alikes and everyday talk (-1 where it is
        not near any risk), and its risk kind."""
        if not parts or self._embedder is None:
            return np.zeros(0), []
        emb = _embed_by_length(self._embedder, parts)
        k = self.config.top_k
        risk_sims = emb @ self._risk.T
        risk_top = _top_mean(risk_sims, k)
        safe_top = _top_mean(emb @ self._safe.T, k)
        if len(self._everyday):
            safe_top = np.maximum(safe_top, _top_mean(emb @ self._everyday.T, k))
        scores = np.where(risk_top >= self.config.min_similarity, risk_top - safe_top, -1.0)
        return scores, [self._risk_cats[int(j)] for j in np.argmax(risk_sims, axis=1)]

    def _category(self, text: str) -> str | None:
        """The kind of risk a clear phrase names: from the clauses that hold the phrase only (one or two, not the twelve
        segments of a long turn), closest risk exemplar wins."""
        if self._embedder is None:
            return None
        parts = segments(text)
        parts = [p for p in parts[:-1] if clear_risk(p)][:2] or parts[-1:]
        sims = self._embedder.embed(parts) @ self._risk.T
        return self._risk_cats[int(np.unravel_index(np.argmax(sims), sims.shape)[1])]


def alert_level(text: str, model_says_safety: bool, verdict: SafetyVerdict | None = None) -> Level | None:
    """The final word on a hint: urgent for a clear statement, the check's own grade for its verdict, a check-in when
    the LLM flags a turn that holds a softer phrase; None when the turn shows no sign of risk."""
    if clear_risk(text) and not asked_only(text):
        return URGENT
    if verdict is not None and verdict.risk:
        return verdict.level or CHECK_IN
    return CHECK_IN if clear_risk(text) or (model_says_safety and possible_risk(text)) else None


def is_safety(text: str, model_says_safety: bool, verdict: SafetyVerdict | None = None) -> bool:
    return alert_level(text, model_says_safety, verdict) is not None
