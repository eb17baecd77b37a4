"""Lexical cues the default toxicity engine combines with the shared sentence embedding.

An embedding alone mostly learns "swear word or identity word = toxic". These cues say who a
message is aimed at (second person, a group), whether it threatens, dehumanises or insults,
and whether it negates, quotes or condemns, so the head can tell abuse from counter-speech,
quotation and profanity aimed at no one. Pure Python (``re``); cheap next to the encoder, and
a pattern is not run on a text that lacks every string its matches need (``_regex_prefilter``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airisk.scanners._regex_prefilter import fold, may_match, required_substrings

_FLAGS = re.IGNORECASE


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", _FLAGS)


SECOND_PERSON = _words(r"you", r"your", r"you'?re", r"youre", r"u", r"ur", r"yourself", r"ya", r"y'?all", r"thou")
FIRST_PERSON = _words(r"i", r"i'?m", r"i'?ll", r"me", r"my", r"we", r"we'?ll", r"us", r"our")
PROFANITY = _words(
    r"f+u+c+k\w*", r"shit\w*", r"damn\w*", r"goddamn\w*", r"hell", r"crap\w*", r"bloody", r"piss\w*", r"ass",
    r"arse", r"bullshit", r"wtf", r"fml", r"motherf\w*", r"frickin\w*", r"freakin\w*", r"bollocks",
)
INSULT = _words(
    r"idiot\w*", r"moron\w*", r"stupid", r"loser\w*", r"bitch\w*", r"whore\w*", r"slut\w*", r"retard\w*", r"dumb\w*",
    r"pathetic", r"worthless", r"ugly", r"pig", r"scum\w*", r"trash", r"garbage", r"cunt\w*", r"asshole\w*",
    r"dick\w*", r"prick\w*", r"bastard\w*", r"fag\w*", r"hoe\w*", r"twat\w*", r"wanker\w*", r"clown\w*",
    r"imbecile\w*", r"fool\w*", r"creep\w*", r"coward\w*", r"useless", r"brainless", r"piece of shit",
    r"waste of (?:space|oxygen|air)", r"dipshit\w*", r"jerk\w*", r"douche\w*", r"cow", r"worm",
    r"pussy", r"nigg\w*", r"hag",
)
THREAT = re.compile(
    r"(?:\b(?:i|we)\s*(?:'ll|will|am going to|'m going to|are going to|'re going to|'m gonna|am gonna|gonna|"
    r"shall|would love to|want to|wanna|swear i(?:'ll| will)|promise i(?:'ll| will))\s+(?:\w+\s+){0,3}?"
    r"(?:kill|murder|stab|shoot|strangle|choke|beat|hurt|burn|slit|smash|break|bury|gut|hang|rape|punch|"
    r"cut|end|destroy|hunt|find)\b)"
    r"|(?:\bshould\s+(?:all\s+)?(?:be\s+)?(?:shot|killed|hanged|hung|exterminated|gassed|lined up|put down|wiped out|"
    r"burned|burnt|beaten|executed|lynched|die|disappear|eliminated|deported and shot))"
    r"|(?:\b(?:deserve|deserves) to (?:die|be (?:shot|killed|beaten|hanged|raped))\b)"
    r"|(?:\bkill (?:yourself|urself|yourselves)\b|\bkys\b|\bwatch your back\b|\byou(?:'re| are) dead\b|"
    r"\bi know where you live\b|\bcoming for you\b|\bsleep with one eye open\b|\bput a bullet\b|"
    r"\bbullet in (?:your|his|her|their) head\b|\bround (?:them|\w+) up\b|\bget rid of (?:them|all)\b)",
    _FLAGS,
)
DEHUMANISING = _words(
    r"vermin", r"parasites?", r"animals?", r"rats?", r"cockroach\w*", r"insects?", r"diseases?", r"plague",
    r"subhuman\w*", r"sub-human", r"savages?", r"filth\w*", r"scum", r"cancer", r"apes?", r"monkeys?", r"beasts?",
    r"infestation", r"breed like \w+", r"less than human", r"abominations?", r"freaks?", r"degenerates?",
    r"inferior", r"invaders?", r"leeches", r"swarm\w*", r"exterminat\w*",
)
GROUP = _words(
    r"immigrants?", r"migrants?", r"refugees?", r"muslims?", r"islam\w*", r"jews?", r"jewish", r"christians?",
    r"hindus?", r"sikhs?", r"gays?", r"lesbians?", r"queers?", r"trans(?:gender)?(?: people| women| men)?",
    r"homosexuals?", r"bisexuals?", r"women", r"woman", r"girls", r"men", r"blacks?", r"black people",
    r"whites?", r"asians?", r"latinos?", r"latinas?", r"hispanics?", r"mexicans?", r"chinese", r"arabs?",
    r"africans?", r"indians?", r"roma", r"gypsies", r"gypsy", r"disabled", r"autistic", r"retarded",
    r"mentally ill", r"cripples?", r"deaf", r"blind", r"elderly", r"old people", r"poor people", r"foreigners?",
    r"indigenous", r"natives?", r"those people", r"these people", r"you people", r"their kind", r"minorities",
)
NEGATION = _words(
    r"not", r"no", r"never", r"nobody", r"no one", r"none", r"nothing", r"\w+n't", r"dont", r"doesnt", r"isnt",
    r"arent", r"wont", r"cannot", r"myth", r"false", r"untrue", r"debunked",
)
_QUOTE_MARKS = "\"\u201c\u201d\u2018\u2019\u00ab\u00bb"
QUOTED = re.compile(rf"[{_QUOTE_MARKS}]\s*\w[^{_QUOTE_MARKS}]{{3,}}[{_QUOTE_MARKS}]|(?<!\w)'\w[^']{{6,}}'(?!\w)")
REPORTING = _words(
    r"said", r"says", r"say", r"saying", r"told", r"tell", r"called", r"calling", r"wrote", r"write", r"writes",
    r"yelled", r"shouted", r"screamed", r"hissed", r"chanted", r"posted", r"comments?", r"commented", r"messages?",
    r"quot\w+", r"read", r"headline", r"graffiti", r"sprayed", r"tweet\w*", r"claims?", r"claiming", r"heard",
    r"reported", r"reporting", r"report", r"flyer", r"email", r"article", r"mail",
)
CONDEMNING = _words(
    r"wrong", r"unacceptable", r"hate(?:ful)?", r"racis\w+", r"bigot\w*", r"sexis\w+", r"homophob\w+",
    r"transphob\w+", r"antisemit\w+", r"islamophob\w+", r"ashamed", r"shame\w*", r"stop", r"harass\w*", r"bully\w*",
    r"abus\w+", r"no place", r"not okay", r"not ok", r"dehumanis\w+", r"dehumaniz\w+", r"slur\w*", r"offensive",
    r"stand (?:with|up)", r"support", r"respect", r"deserve\w* (?:respect|better|dignity)", r"solidarity",
    r"disgusting thing", r"cruel", r"lies?", r"slander", r"police", r"moderat\w+", r"banned", r"suspended",
    r"removed?", r"deleted", r"complain\w*", r"outrag\w+", r"frightening", r"crying", r"shaking",
)
PRIDE = _words(r"proud\w*", r"pride", r"love", r"happy", r"joy", r"celebrat\w+", r"community", r"culture")
SEXUAL = _words(
    r"sex\w*", r"porn\w*", r"nude\w*", r"naked", r"dick\w*", r"cock\w*", r"pussy", r"tits?", r"boobs?", r"cum\w*",
    r"blowjob\w*", r"orgasm\w*", r"horny", r"fuck(?:ing|ed)? (?:you|her|him|me) (?:hard|raw)", r"rape\w*",
    r"masturbat\w+", r"dildo\w*", r"anal", r"erotic\w*", r"strip(?:per|tease)\w*",
)

CUE_NAMES: tuple[str, ...] = (
    "second_person",
    "first_person",
    "profanity",
    "insult",
    "threat",
    "dehumanising",
    "group",
    "negation",
    "quoted",
    "reporting",
    "condemning",
    "pride",
    "sexual",
    "second_person_insult",
    "group_dehumanising",
    "profanity_untargeted",
    "exclamation",
    "short",
)

_COUNTED = {
    "second_person": SECOND_PERSON,
    "first_person": FIRST_PERSON,
    "profanity": PROFANITY,
    "insult": INSULT,
    "threat": THREAT,
    "dehumanising": DEHUMANISING,
    "group": GROUP,
    "negation": NEGATION,
    "quoted": QUOTED,
    "reporting": REPORTING,
    "condemning": CONDEMNING,
    "pride": PRIDE,
    "sexual": SEXUAL,
}


@dataclass(frozen=True)
class Cues:
    """Cue values (each in [0, 1]) and the first matching span of each, for explanations."""

    values: tuple[float, ...]
    spans: dict[str, tuple[int, int]]

    def __getitem__(self, name: str) -> float:
        return self.values[CUE_NAMES.index(name)]


#: per cue, strings one of which every match contains (None: the pattern always runs)
_REQUIRED = {name: required_substrings(pattern) for name, pattern in _COUNTED.items()}


def _saturate(count: int) -> float:
    return min(1.0, count / 2.0)


def cues(text: str) -> Cues:
    """Cue features of one text (the same function at training and at scan time)."""
    counts: dict[str, int] = {}
    spans: dict[str, tuple[int, int]] = {}
    folded = fold(text)
    for name, pattern in _COUNTED.items():
        matches = list(pattern.finditer(text)) if may_match(_REQUIRED[name], folded) else []
        counts[name] = len(matches)
        if matches:
            spans[name] = matches[0].span()
    value = {name: _saturate(count) for name, count in counts.items()}
    value["second_person_insult"] = min(value["second_person"], value["insult"])
    value["group_dehumanising"] = min(value["group"], value["dehumanising"])
    targeted = 1.0 if counts["second_person"] or counts["group"] else 0.0
    value["profanity_untargeted"] = value["profanity"] * (1.0 - targeted)
    value["exclamation"] = 1.0 if "!" in text else 0.0
    value["short"] = 1.0 if len(text.split()) <= 6 else 0.0
    return Cues(values=tuple(value[name] for name in CUE_NAMES), spans=spans)
