"""The words and patterns `coach/parts.py` reads parts language with: determiners and adjectives around "part",
idioms that are not parts, IFS role words, cue words for each role's guess, and the people and workplaces that make
"my manager" or "a protector" a person rather than a part. Lists only; no logic."""

import re

DETS = {"a", "an", "the", "this", "that", "my", "one", "another", "some", "other"}
ADVERBS = {"really", "very", "so", "kind", "sort", "of", "just", "more", "quite", "super", "bit", "little"}
# Adjectives that name a part ("the angry part") ...
PART_ADJ = set("""
angry scared frightened afraid terrified anxious nervous worried sad lonely hurt wounded ashamed guilty young
younger little small tiny critical judgmental judging harsh mean cruel strict perfectionist protective controlling
responsible busy exhausted tired numb frozen stuck hopeless desperate jealous needy vulnerable fragile rebellious
defiant stubborn fearful panicky rageful furious mad cynical skeptical sceptical sceptic skeptic wise playful
curious caring loving kind soft tender wild reckless impulsive hidden quiet loud inner teenage teenaged wounded
depressed grieving grumpy bossy pushy shy dark shamed unloved confused overwhelmed rational logical emotional
sensitive trusting hopeful doubting doubtful worrying planning pleasing achieving striving ambitious smart clever
sensible adult grown-up mature strong brave healthy hurting broken hungry lost insecure competitive lazy
""".split())
# ... and adjectives of a story's parts ("the best part was", "the hard part is"): never a part, except "other".
STORY_ADJ = set("""
best worst hard hardest harder easy easiest easier good bad funny funniest weird weirdest strange odd tricky
difficult interesting main first second third last next final middle big biggest bigger important crazy annoying
frustrating fun boring only whole same favorite favourite tough toughest scariest saddest nice great cool sweet
fascinating confusing upsetting exciting surprising lovely beautiful awful terrible real top bottom back front early
later latter former opening end ending rest technical large larger huge small-ish minor major key essential
necessary integral fair certain greater larger smallest best-ish
""".split())
SIZE_ADJ = {"big", "bigger", "huge", "large", "larger", "major", "good", "great", "whole"}
ADJ_SUFFIX = re.compile(r"(?:ful|ous|ive|ish|less|ic|ical|ant|ent|y)$")
NOT_ADJ = set("""body family story party city country company history army baby journey day way key money
therapy energy early only any many every everybody somebody nobody anybody""".split())
QUANTIFIERS = {"every", "each", "any", "no", "all", "both", "what", "which", "whatever", "whichever", "most", "either"}
# Verbs that make "part of me <verb>..." a part speaking or acting.
PART_VERBS = set("""
wants want feels feel thinks believes knows needs tries keeps gets worries hates loves likes wishes hopes says tells
yells screams whispers shouts insists warns reminds criticizes criticises judges pushes protects hides numbs drinks
binges scrolls shuts panics freezes freaks jumps takes comes shows goes starts refuses fears doubts remembers carries
holds longs craves runs is was 's doesn't won't can't isn't wasn't didn't would will might could just really still
always also never kind sort actually even definitely totally seems sees expects blames watches waits calls asks
""".split())
IT_WORDS = set("""
wants feels says tells thinks believes knows needs tries trying keeps worries hates protects
protecting hides hiding remembers carries holds yells whispers screams pushes numbs jumps shows comes takes wishes
panics criticizes criticises judges reminds insists warns freaks freezes shuts blames longs craves
scared afraid terrified angry furious sad lonely ashamed hurt tired exhausted worried anxious desperate frantic young
little small protective loud harsh mean critical overwhelmed frightened stuck frozen cries cry crying
""".split())
IT_AFTER_NEGATION = {"want", "let", "trust", "believe", "allow", "like", "care"}
STOP = set("""
i me my myself you your it its it's the a an to of and or but that this these those who which is are was were be been
's 'm 're am just really so very always never still also kind sort like want wants wanted feel feels felt think thinks
know knows need needs get gets got keep keeps kept say says said tell tells told try tries trying go goes do does did
doesn't don't didn't have has had can can't will won't would could should all time thing things something about at in
on for with up out off some one part parts side inner inside there here now then when whenever if because too much more
lot other another own make makes made same way even actually literally probably maybe bit quite
""".split())
SYNONYMS = {
    "critical": "critic", "criticize": "critic", "criticise": "critic", "criticizing": "critic", "judgmental": "critic",
    "protective": "protector", "protect": "protector", "protecting": "protector",
    "little": "young", "younger": "young", "small": "young", "tiny": "young", "child": "young", "kid": "young",
    "childhood": "young", "teenage": "young", "teenaged": "young",
    "afraid": "scared", "frightened": "scared", "terrified": "scared", "fearful": "scared",
    "mad": "angry", "furious": "angry", "rageful": "angry", "nervous": "anxious", "worried": "worry",
    "fire fighter": "firefighter", "people-pleaser": "pleaser", "people pleaser": "pleaser",
}
ROLE_NOUNS = {"critic": "manager", "manager": "manager", "perfectionist": "manager", "pleaser": "manager",
              "worrier": "manager", "firefighter": "firefighter", "exile": "exile", "protector": None}

PERSON = (r"(?:he|she|they|you|we|i|mom|mum|mother|dad|father|brother|sister|husband|wife|boyfriend|girlfriend|"
          r"partner|boss|friend|teacher|coach|uncle|aunt|grandma|grandmother|grandpa|grandfather|son|daughter|"
          r"cousin|colleague|coworker|neighbor|neighbour|therapist|doctor|family|parents?)")
PERSON_BEFORE = re.compile(r"\b" + PERSON + r"(?:'s|'re|'m|\s+is|\s+am|\s+are|\s+was|\s+were|\s+has been|\s+had been|"
                           r"\s+became|\s+acted as|\s+acts as|\s+used to be)\s+(?:(?:such|really|always|like|kind of)\s+)*$")
PERSON_AFTER = re.compile(r"^\s*(?:is|was|'s|are|were)\s+(?:(?:my|our|the|his|her)\s+)?" + PERSON + r"\b")
WORKPLACE = re.compile(r"\b(?:work|job|office|boss|company|team|meeting|e-?mail\w*|colleagues?|co-?workers?|hired|fired|"
                       r"promot\w*|salary|shift|clients?|projects?|deadlines?|hr|store|restaurant|he|she|him|her|his)\b")
STORY_AFTER = re.compile(r"^\s*(?:(?:is|was|'s)\s+(?:that|when|where|how|if|because|the|getting|going|seeing|hearing|"
                         r"waiting|knowing|realizing|realising|not)\b|where\b|about\b|of\s+(?!me\b|myself\b))")
SPATIAL_BEFORE = re.compile(r"\b(?:on|to|at|by|from|beside|next to)\s+(?:\w+\s+){0,2}$")
COPULA_BEFORE = re.compile(r"(?:\b(?:is|are|was|were|be|been|become|became|becomes|becoming)|'s)\s*$")
THERE_BEFORE = re.compile(r"\bthere(?:'s|\s+is|\s+was|\s+are)\s*$")
OF_ME = re.compile(r"\s+(?:of|in|inside(?:\s+of)?|within)\s+(?:me|myself)\b|\s+inside\b|\s+of\s+my\s+(?:mind|brain|head)\b")
REL = re.compile(r"\s*,?\s*(?P<rel>that|who|which)(?P<clause>'s\b.*|\s+.*)")
VERB_CLAUSE = re.compile(r"\s+(?P<clause>(?:(?:just|really|still|always|also|never|often|sometimes|actually|even|"
                         r"totally|definitely|kind of|sort of)\s+)*(?P<verb>[a-z']+)\b.*)")
SUBJECT_PRONOUN = re.compile(r"^\s*(?:i|you|he|she|we|they|it)\b(?!')|^\s*(?:i'm|i've|i'd|you're|we're|they're)")
CLAUSE_SUBJECTS = {"i", "we", "you", "he", "she", "they", "it", "that", "i'm", "i'd", "i'll", "nobody", "everyone"}
MAIN_VERBS = {"wants", "feels", "says", "tells", "thinks", "needs", "keeps", "is", "was", "gets", "won't", "doesn't",
              "can't", "isn't", "has", "knows", "believes", "tries", "goes", "comes", "shows", "takes", "makes", "starts",
              "kicks", "jumps", "stops", "hates", "loves"}
NAME_STOP = re.compile(r"^(?:and|but|because|or|though|although|since|until|unless|cause|'cause|whereas|while|when|"
                       r"whenever|if|after|before|every)$", re.I)
NEGATION = re.compile(r"\b(?:not|never|no|don't|doesn't|isn't|wasn't|didn't|won't|can't|hardly)\s+(?:\w+\s+)?$")

PART_NOUN = re.compile(r"\b(part|side)(s)?\b")
ROLE_RE = re.compile(
    r"\b(?:(?P<det>my|the|this|that|a|an|our|one)\s+)?(?P<mod>(?:(?:inner|internal|own|little|harsh|harshest|loud|"
    r"mean|big|old|strict|fierce|tough|angry|main|usual|resident|scared|hidden|wounded)\s+){0,2})"
    r"(?P<noun>critic|protector|manager|firefighter|fire fighter|exile|perfectionist|people[- ]pleaser|pleaser|worrier)\b"
    r"(?P<suffix>\s+parts?\b|\s+(?:in|inside(?:\s+of)?|within)\s+(?:me|myself)\b|\s+inside\b)?")
YOUNG_RE = re.compile(
    r"\b(?:(?P<det>the|this|that|a|an|my|our)\s+)?(?P<adj>(?:little|young|younger|small|tiny|inner|wounded|scared|"
    r"frightened|lonely|hurt|teenage|(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen)[- ]year[- ]old)\s+)?(?P<noun>girl|boy|kid|child|one|self|me|teenager|teen|"
    r"version of me)\b(?P<loc>\s+(?:inside(?:\s+of)?(?:\s+me)?|in me|within(?:\s+me)?|in there|part)\b)?")
YOUNG_ADJ = re.compile(r"^(?:little|young|younger|small|tiny|teenage|.*year[- ]old)$")
CHILDHOOD_BEFORE = re.compile(r"(?:\bi\s+was|\bi'm|\bi\s+am|\bas|\bused to be|\bwe\s+were|\bbeing)\s+$")
LITERAL_AFTER = re.compile(r"^\s+(?:next door|at\b|in the\b|from\b|who lives|across|down the|on the|with the|"
                           r"in my class|at school)")
VOICE_RE = re.compile(
    r"\b(?P<det>a|an|the|this|that|my|one)\s+(?P<adj>(?:(?:little|small|tiny|quiet|loud|nagging|critical|mean|harsh|"
    r"inner|angry|scared|scary|cruel|constant|familiar)\s+){0,2})voice\b(?P<loc>\s+(?:in my head|in the back of my "
    r"(?:head|mind)|inside(?:\s+me|\s+my head)?|in me)\b)?")
VOICE_VERBS = set("""says tells keeps whispers yells screams shouts goes reminds asks wants thinks insists warns
criticizes criticises nags repeats calls judges shames says""".split())
ONE_RE = re.compile(r"\bthe one\b(?P<loc>\s+(?:in me|inside(?:\s+of)?(?:\s+me)?))?(?=\s*,?\s*(?:that|who)\b)")
SOME_RE = re.compile(r"\b(?:some|most) of me\b")
IT_RE = re.compile(r"(?:^|[,;:]\s*|\b(?:and|but|so|because|then|cause|like|now|maybe|i think|i guess|i feel like|"
                   r"i know|i suppose|i believe|i sense)\s+)(?P<it>it|she|he)(?P<cop>'s|\s+is|\s+was|\s+gets|\s+got|\s+feels|"
                   r"\s+seems)?\s+(?:(?:just|really|so|always|still|also|never|kind of|sort of|very|totally|actually|even|"
                   r"only)\s+)*(?:(?P<neg>doesn't|won't|can't|didn't|does not|will not|never)\s+(?=want|let|trust|believe|"
                   r"allow|like|care)\b)?(?P<w>[a-z']+)")
ASSIGN_RE = re.compile(r"\b(?:it|that|this|which|that part|this part|the part)\s*(?:'s|\s+is|\s+was|\s+might be|"
                       r"\s+may be|\s+could be|\s+must be|\s+seems(?:\s+to be)?|\s+sounds like|\s+feels like|\s+acts like|"
                       r"\s+is like|'s like)\s+(?P<pre>(?:(?:a|an|my|like|kind of|sort of|probably|maybe|definitely|more of|"
                       r"more like|the|again)\s+)*)(?P<role>manager|firefighter|fire fighter|exile|protector|critic)\b")

CUES: dict[str, list[str]] = {
    "manager": [
        r"critic\w*", r"criticiz\w*", r"criticis\w*", r"judg\w*", r"perfect\w*", r"plan(?:s|ner|ners|ning|ned)?",
        r"control\w*", r"keeps? me busy", r"busy", r"push(?:es|ing|ed|y)?", r"worr(?:y|ies|ying|ied|ier)",
        r"keeps? me safe", r"in charge", r"responsible", r"organi[sz]\w*", r"schedul\w*", r"to-do lists?",
        r"should", r"ha(?:s|ve) to be", r"productive", r"work(?:s|ing)? harder", r"on top of", r"prepar\w*",
        r"careful", r"cautious", r"hyper-?vigilant", r"vigilant", r"people[- ]pleas\w*",
        r"pleas(?:e|es|ing) (?:everyone|people|others)", r"nag\w*", r"strict", r"rules?", r"manag\w*", r"pressure\w*",
        r"achiev\w*", r"overthink\w*", r"analy[sz]\w*", r"lazy", r"pleaser",
    ],
    "firefighter": [
        r"numb\w*", r"drink\w*", r"drunk", r"alcohol", r"wine", r"beer", r"binge\w*", r"binging", r"scroll\w*",
        r"rag(?:e|es|ing)", r"explod\w*", r"explosive", r"blow(?:s|ing)? up", r"blew up", r"lash(?:es|ed|ing)? out",
        r"snap(?:s|ped|ping)?", r"shut(?:s|ting)? (?:\w+ )?down", r"check(?:s|ed|ing)? out", r"zon(?:e|es|ed|ing) out",
        r"dissociat\w*", r"distract\w*", r"escap\w*", r"runs? away", r"ran away", r"bolt\w*", r"smok\w*", r"gambl\w*",
        r"shopping", r"netflix", r"video games?", r"porn", r"comfort[- ]eat\w*", r"eat(?:s|ing)? (?:everything|junk)",
        r"impulsiv\w*", r"reckless", r"takes? over", r"hijack\w*", r"fire ?fighter\w*", r"pills?", r"slam\w*",
        r"sleeps? all day", r"tantrum\w*", r"punch\w*",
    ],
    "exile": [
        r"little", r"young(?:er)?", r"child\w*", r"kid", r"boy", r"girl", r"baby", r"scared", r"afraid", r"terrified",
        r"frightened", r"asham\w*", r"shame\w*", r"alone", r"lonely", r"abandon\w*", r"hurt\w*", r"wound\w*",
        r"unloved", r"not loved", r"unwanted", r"worthless", r"not good enough", r"invisible", r"hidden", r"hid(?:e|es|ing)",
        r"locked (?:away|up)", r"buried", r"sad(?:ness)?", r"cr(?:y|ies|ying)", r"tears", r"griev\w*", r"grief",
        r"reject\w*", r"broken", r"helpless", r"exile\w*", r"vulnerable", r"unseen", r"needy", r"fragile", r"tiny",
        r"teen(?:age|aged|ager)?", r"[a-z0-9]+-year-old",
    ],
}
CUE_RES = {role: [re.compile(r"\b" + c + r"\b") for c in cues] for role, cues in CUES.items()}
