"""Write training/data/toxicity_handwritten.jsonl: hand-written hard cases for the toxicity head.

Public toxicity data teaches "swear word = toxic". These templates add the cases that rule
gets wrong (counter-speech, quoting abuse to condemn it, negation, reclaimed terms, profanity
aimed at no one, neutral mentions of groups) as negatives, and threats, dehumanisation and
targeted insults without swear words as positives. The functional test suite
(tests/data/toxicity_functional.jsonl) is written separately and is never used here.

    python training/make_toxicity_examples.py
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "toxicity_handwritten.jsonl"

GROUPS = [
    "immigrants",
    "muslims",
    "jews",
    "christians",
    "gay men",
    "lesbians",
    "trans people",
    "women",
    "men",
    "black people",
    "asians",
    "latinos",
    "disabled people",
    "autistic people",
    "refugees",
    "the elderly",
    "poor people",
    "indigenous people",
    "arabs",
    "hindus",
    "sikhs",
    "deaf people",
    "single mothers",
    "bisexual people",
    "mexicans",
    "chinese people",
    "africans",
    "roma",
]
SMEARS = [
    "vermin",
    "parasites",
    "animals",
    "a plague",
    "subhuman",
    "filth",
    "a cancer on society",
    "savages",
    "worthless",
    "less than human",
    "dirty",
    "a disease",
    "cockroaches",
    "rats",
    "scum",
    "trash",
    "criminals by nature",
    "inferior",
    "too stupid to think",
    "a burden that should disappear",
]
CONDEMN = [
    "is hateful",
    "is unacceptable",
    "is plain bigotry",
    "is racist nonsense",
    "is cruel and false",
    "has no place here",
    "is exactly the hate we are fighting",
    "is dehumanising",
    "is wrong",
    "is a disgusting thing to say",
    "should be called out every time",
    "is how violence starts",
]
QUOTE_FRAMES = [
    "Someone left a comment saying '{q}' and I reported it.",
    "A man on the train shouted '{q}' at my friend; we called the police.",
    "The flyer read '{q}' and the council removed it within an hour.",
    "How should I answer a coworker who says '{q}'?",
    "My son heard '{q}' at school and asked me what it meant. We talked about why it is wrong.",
    "The troll wrote '{q}' and got suspended, good.",
    "Researchers counted how often posts like '{q}' appeared during the election.",
    "I was told '{q}' today and I want advice on how to report harassment.",
    "Moderators: please remove posts such as '{q}'.",
    "Quoting the hate mail we received: '{q}'. We will not be intimidated.",
]
ABUSE_TO_QUOTE = [
    "you people are vermin",
    "go back where you came from",
    "die, you freak",
    "women are property",
    "we will burn your mosque",
    "you ugly cow",
    "gays should be shot",
    "I will find you and hurt you",
    "you are worthless garbage",
    "cripples should stay at home",
    "immigrants are parasites",
    "get out of our country",
    "you should kill yourself",
    "filthy animals, all of you",
]
PROFANE_MOODS = [
    "Fuck, {s}.",
    "Shit, {s}.",
    "Damn it, {s}.",
    "Holy crap, {s}!",
    "{S}, fuck this.",
    "{S}, what the hell.",
    "Oh for fuck's sake, {s}.",
    "Bloody hell, {s}.",
    "{S}. Shit.",
    "Goddamn, {s}.",
]
SITUATIONS = [
    "the build failed again",
    "I spilled coffee on my keyboard",
    "the game went to overtime",
    "it's raining again",
    "my flight got cancelled",
    "that song slaps",
    "this burrito is amazing",
    "the deadline moved up",
    "I locked myself out",
    "the server crashed at 3am",
    "we actually won",
    "my car won't start",
    "the exam was brutal",
    "I overslept",
    "this hike is steep",
    "the movie was incredible",
]
PROFANE_PRAISE = [
    "This is fucking brilliant work, well done team.",
    "Damn, you look great today!",
    "Hell yeah, you nailed that presentation.",
    "That's a badass idea, let's do it.",
    "Shit, you're good at this.",
    "You're a fucking legend for fixing that bug.",
]
RECLAIMED = [
    "Queer and proud, always.",
    "The queer community centre is hiring volunteers.",
    "I'm a dyke and happy.",
    "Crip culture is vibrant and funny.",
    "Fat liberation means every body deserves care.",
    "I'm a nerd and I love spreadsheets.",
    "We are the geeks who built the internet.",
    "Happy pride to all my fellow queers!",
    "The dykes on bikes led the parade.",
    "As a fat woman I finally found jeans that fit.",
    "Proudly weird, proudly queer.",
    "Queer folks at work started a lunch group.",
    "She calls herself a crip with a grin.",
    "I'm fat, I'm fabulous, and I'm running a marathon.",
    "Our queer choir sings on Sunday.",
    "The nerds in our class built a robot.",
    "My witchy friends and I read tarot cards.",
    "Dyke bars are closing and we want to save ours.",
    "Being a geek paid off, I got the job.",
]
NEUTRAL_GROUP = [
    "{G} celebrate many different holidays.",
    "A new study looks at employment among {g}.",
    "Several {g} spoke at the town meeting last night.",
    "My best friend's family are {g}.",
    "The museum has an exhibition about the history of {g}.",
    "Support services for {g} need more funding.",
    "The documentary interviews {g} about their daily lives.",
    "There is a conference for {g} in tech.",
]
THREATS = [
    "I will {v} you.",
    "I'm going to {v} you {w}.",
    "Touch my car again and I'll {v} you.",
    "You're dead, I will {v} you {w}.",
    "Watch yourself, I will {v} you {w}.",
    "I promise I will {v} you if you come back here.",
]
VIOLENT = ["kill", "stab", "shoot", "strangle", "beat the life out of", "break every bone in", "gut", "bury"]
WHEN = ["tonight", "tomorrow", "when you least expect it", "after school", "next time I see you", "soon"]
GROUP_VIOLENCE = [
    "{G} should all be shot.",
    "Someone needs to burn down the homes of {g}.",
    "{G} deserve to be beaten in the street.",
    "Round up {g} and get rid of them for good.",
    "I hope {g} get what's coming to them, violently.",
]
DEHUMANISE = [
    "{G} are {x}.",
    "{G} are nothing but {x}.",
    "Honestly, {g} are {x}.",
    "Everyone knows {g} are {x}.",
    "{G} will always be {x}.",
]
INSULT_ADJ = ["stupid", "worthless", "pathetic", "disgusting", "useless", "ugly", "brainless", "spineless", "idiotic"]
INSULT_NOUN = ["idiot", "loser", "moron", "clown", "failure", "coward", "creep", "waste of space", "imbecile", "fool"]
INSULTS = [
    "You are a {a} {n}.",
    "Shut up, you {a} {n}.",
    "Nobody cares what you think, you {n}.",
    "You're such a {a} {n}, it's embarrassing.",
    "Get lost, you {a} {n}.",
    "Everyone here thinks you're a {n}.",
]
NEGATED = [
    "{G} are not {x}, and saying so is false.",
    "I don't believe {g} are {x}.",
    "It's a myth that {g} are {x}.",
    "Nobody should claim that {g} are {x}.",
]
COUNTER = [
    "Saying {g} are {x} {c}.",
    "Calling {g} {x} {c}.",
    "The claim that {g} are {x} {c}.",
    "I'm tired of people saying {g} are {x}; it {c2}.",
    "Stop pretending {g} are {x}.",
]
SOFT_NEGATED = [
    "You're not a {n}, you just made a mistake.",
    "I would never {v} you, I promise.",
    "I'm not calling you a {n}, I'm saying the plan has problems.",
    "Don't call yourself a {n}, you did fine.",
]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def build(seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []

    def add(text: str, label: int, category: str, identity: int = 0) -> None:
        rows.append({"text": text, "label": label, "identity_attack": identity, "category": category})

    pairs = list(itertools.product(GROUPS, SMEARS))
    for g, x in rng.sample(pairs, 160):
        add(
            rng.choice(COUNTER).format(g=g, x=x, c=rng.choice(CONDEMN), c2=rng.choice(CONDEMN)[3:]), 0, "counter_speech"
        )
    for g, x in rng.sample(pairs, 160):
        add(rng.choice(NEGATED).format(G=_cap(g), g=g, x=x), 0, "negated")
    for frame, q in itertools.product(QUOTE_FRAMES, ABUSE_TO_QUOTE):
        if rng.random() < 0.6:
            add(frame.format(q=q), 0, "quote_condemn")
    for mood, s in itertools.product(PROFANE_MOODS, SITUATIONS):
        if rng.random() < 0.5:
            add(mood.format(s=s, S=_cap(s)), 0, "untargeted_profanity")
    for text in PROFANE_PRAISE + RECLAIMED:
        add(text, 0, "reclaimed_or_friendly")
    for template, g in itertools.product(NEUTRAL_GROUP, GROUPS):
        if rng.random() < 0.4:
            add(template.format(G=_cap(g), g=g), 0, "neutral_identity")
    for template in SOFT_NEGATED:
        for _ in range(6):
            add(
                template.format(n=rng.choice(INSULT_NOUN), v=rng.choice(VIOLENT), a=rng.choice(INSULT_ADJ)),
                0,
                "negated",
            )
    for template, v in itertools.product(THREATS, VIOLENT):
        add(template.format(v=v, w=rng.choice(WHEN)), 1, "threat")
    for template, g in itertools.product(GROUP_VIOLENCE, GROUPS):
        if rng.random() < 0.5:
            add(template.format(G=_cap(g), g=g), 1, "threat", identity=1)
    for g, x in rng.sample(pairs, 180):
        add(rng.choice(DEHUMANISE).format(G=_cap(g), g=g, x=x), 1, "dehumanisation", identity=1)
    for template, a, n in itertools.product(INSULTS, INSULT_ADJ, INSULT_NOUN):
        if rng.random() < 0.3:
            add(template.format(a=a, n=n), 1, "targeted_insult")
    unique = {row["text"]: row for row in rows}
    return list(unique.values())


def main() -> None:
    rows = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} examples to {OUT}")


if __name__ == "__main__":
    main()
