"""Signatures of prompt injection and jailbreaks, and the text *views* that defeat obfuscation.

A signature is a named regular expression with a score. Signatures run over several views
of a message — the text itself, an ASCII skeleton (homoglyphs and leetspeak folded), the
text with spaced-out letters joined, rot13 and reversed text — and over decoded payloads
(base64, hex, URL-encoding, Unicode tag characters). Every view keeps a map back to the
original characters, so a finding's span always points into the text the scanner received.

Only the standard library is used. A signature runs on a view only if the view contains one of
the strings every match of it needs (``_regex_prefilter``): this layer costs about a
millisecond for a 500-character message instead of five (docs/benchmarks.md).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import urllib.parse
from dataclasses import dataclass, field

from airisk.scanners._regex_prefilter import fold, may_match, required_substrings

_W = r"(?:\s+\S+){0,5}?\s+"  # up to five words between a verb and its object


@dataclass(frozen=True)
class Signature:
    name: str
    category: str
    score: float
    pattern: re.Pattern[str]
    #: case-folded strings one of which every match contains (None: always run the pattern)
    required: frozenset[str] | None = field(default=None, compare=False)

    def may_match(self, folded_text: str) -> bool:
        """False only when the pattern cannot match: none of its required strings is in the text."""
        return may_match(self.required, folded_text)


def _sig(name: str, category: str, score: float, pattern: str, flags: int = re.IGNORECASE) -> Signature:
    compiled = re.compile(pattern, flags)
    return Signature(name, category, score, compiled, required_substrings(compiled))


_OVERRIDE_OBJECTS_EN = (
    r"(?:instructions?|directions?|directives?|prompts?|rules|guidelines|guidance|context|orders|commands|"
    r"constraints|programming|conversation|messages?|tasks?|assignments?|everything|anything)"
)
SIGNATURES: tuple[Signature, ...] = (
    # --- instruction override, several languages -------------------------------------------
    _sig(
        "override_en",
        "instruction_override",
        0.95,
        r"\b(?:ignore|ignoring|disregard(?:ing)?|forget(?:ting)?|skip|overlook|bypass|override|neglect|abandon|omit)"
        r"(?:\s+\S+){0,4}?\s+(?:previous|prior|preceding|above|earlier|former|initial|original|old|system|all|any|"
        r"every|your|these|those|the|my)\b(?:\s+\S+){0,3}?\s*(?:instructions?|directions?|directives?|prompts?|"
        r"rules|guidelines|orders|commands|programming|constraints)\b",
    ),
    _sig(
        "override_context_en",
        "instruction_override",
        0.9,
        r"\b(?:ignore|ignoring|disregard(?:ing)?|forget(?:ting)?|skip|override|abandon)(?:\s+\S+){0,4}?\s+"
        r"(?:previous|prior|preceding|above|earlier|former|initial|original|provided)\b(?:\s+\S+){0,2}?\s*"
        r"(?:context|conversation|messages?|tasks?|assignments?|text|input|everything|articles?)\b",
    ),
    _sig(
        "override_above_en",
        "instruction_override",
        0.9,
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:of\s+)?(?:the\s+|that\s+)?"
        r"(?:above|previous|preceding|before)\b\s*(?:and|,|\.|!|:|;|$)",
    ),
    _sig(
        "forget_said_en",
        "instruction_override",
        0.9,
        r"\b(?:ig\w{0,5}|forget|disregard)\s+(?:what|everything|all(?:\s+that)?)\s+(?:i|we|you)(?:\s+have|'ve)?\s+"
        r"(?:said|told(?:\s+you)?|wrote|written|talked\s+about|discussed|were\s+told|learned)",
    ),
    _sig(
        "forget_everything_en",
        "instruction_override",
        0.9,
        r"\bforget\s+(?:about\s+)?(?:everything|all|wh?a\w*'?s?)\s+(?:before|above|so\s+far|until\s+now|previously|"
        r"(?:that\s+)?(?:we|i|you)\b)",
    ),
    _sig(
        "answer_everything_with",
        "output_hijack",
        0.8,
        r"\b(?:answer|respond|reply)\s+(?:to\s+)?(?:every|all|each|any)\s+(?:of\s+my\s+)?(?:questions?|messages?|"
        r"prompts?|requests?)\s+(?:only\s+)?with\b|\b(?:stop|halt)\s+everything\b[^\n]{0,40}?\b(?:print|say|output|"
        r"write|repeat)\b",
    ),
    _sig(
        "not_an_injection_claim",
        "instruction_override",
        0.8,
        r"\bthis\s+is\s+not\s+(?:a\s+)?(?:prompt\s+)?injection\b|\bkeine\s+(?:prompt-?)?(?:injection|"
        r"aufforderungsspritze)\b",
    ),
    _sig(
        "override_de",
        "instruction_override",
        0.95,
        r"\b(?:ignorier\w*|vergiss|vergessen\s+sie|missacht\w*|übergeh\w*|h[öo]re?\s+nicht\s+auf)\b"
        r"(?:\s+\S+){0,6}?\s*(?:anweisung\w*|instruktion\w*|befehl\w*|regeln|auftr[äa]g\w*|vorgaben|gesagt\w*|"
        r"besprochen\w*|davor|zuvor|vorher|bisher\w*|vorherig\w*|obig\w*|oben)\b",
    ),
    _sig(
        "override_fr",
        "instruction_override",
        0.95,
        r"\b(?:ignore[rz]?|oublie[rz]?|ne\s+tiens?\s+pas\s+compte\s+d\w*|fais\s+abstraction\s+d\w*)"
        r"(?:\s+\S+){0,5}?\s+(?:instructions?|consignes?|r[èe]gles|directives|pr[ée]c[ée]dent\w*|ci-dessus|"
        r"ce\s+qui\s+pr[ée]c[èe]de|ce\s+que\s+j'ai\s+dit)",
    ),
    _sig(
        "override_es",
        "instruction_override",
        0.95,
        r"\b(?:ignor[ae]\w*|olvid\w*|descart\w*|omit\w*|no\s+hagas\s+caso\s+a)(?:\s+\S+){0,5}?\s+"
        r"(?:instrucciones|indicaciones|reglas|[óo]rdenes|anteriores|previas|lo\s+anterior|(?:lo\s+)?que\s+(?:te\s+)?"
        r"(?:dije|he\s+dicho))",
    ),
    _sig(
        "override_it",
        "instruction_override",
        0.95,
        r"\b(?:ignora\w*|dimentica\w*|trascura\w*)(?:\s+\S+){0,5}?\s+(?:istruzioni|regole|indicazioni|precedenti|"
        r"tutto\s+(?:quello|ci[òo])\s+che)",
    ),
    _sig(
        "override_pt",
        "instruction_override",
        0.95,
        r"\b(?:ignor[ea]\w*|esque[cç]a\w*|desconsider\w*)(?:\s+\S+){0,5}?\s+(?:instru[cç][õo]es|regras|anteriores|"
        r"tudo\s+o\s+que)",
    ),
    _sig(
        "override_nl",
        "instruction_override",
        0.95,
        r"\b(?:negeer|vergeet)(?:\s+\S+){0,5}?\s+(?:instructies|regels|vorige|eerdere|alles\s+wat)",
    ),
    _sig(
        "override_ru",
        "instruction_override",
        0.95,
        r"(?:игнорируй\w*|забудь\w*|не\s+обращай\s+внимания)(?:\s+\S+){0,5}?\s+(?:инструкци\w*|правил\w*|"
        r"предыдущ\w*|указани\w*)",
    ),
    _sig(
        "override_zh",
        "instruction_override",
        0.95,
        r"(?:忽略|忽视|无视|忘记|忘掉|不要理会)(?:之前|以上|上面|前面|先前|所有|一切|你的)?.{0,6}?(?:指令|指示|说明|规则|设定|提示)",
    ),
    _sig(
        "override_ja",
        "instruction_override",
        0.95,
        r"(?:以前|前|上記|これまで)の(?:指示|命令|ルール)"
        r".{0,8}?(?:無視|忘れ)",
    ),
    _sig(
        "new_task",
        "instruction_override",
        0.75,
        r"\b(?:now\s+comes?\s+(?:a\s+)?new\s+tasks?|but\s+now\s+come\s+new\s+tasks|here\s+comes\s+the\s+second\s+test|"
        r"(?:new|updated|real|actual)\s+(?:instructions?|directives?)\s*:|your\s+(?:new|real)\s+task\s+is|"
        r"jetzt\s+kommt\s+eine\s+neue\s+aufgabe|neue\s+anweisung\w*\s*:)",
    ),
    _sig(
        "no_longer_persona",
        "instruction_override",
        0.8,
        r"\byou\s+are\s+(?:no\s+longer|not\s+(?:a|an|the)|no)\s+(?:\S+\s+){0,3}?(?:but|anymore)\b",
    ),
    # --- issue 8: hijack cues written from deepset TRAIN rows and general knowledge --------
    _sig(
        "forget_then_command",
        "instruction_override",
        0.8,
        r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|all(?:\s+of\s+(?:that|this|it))?)"
        r"(?:\s*[,;:.!-]+\s*|\s+and\s+)(?:and\s+)?(?:now\s+|then\s+)?(?:write|say|print|output|tell|show|answer|just|"
        r"only|repeat)\b|"
        r"\bvergiss\s+alles\s*[,;:.!-]+\s*(?:und\s+)?(?:jetzt\s+|nun\s+)?(?:schreib\w*|sag\w*|gib|zeig\w*|antworte\w*|nur)\b",
    ),
    _sig(
        "previous_information_dropped",
        "instruction_override",
        0.85,
        r"\b(?:forget|ignore|disregard|drop|erase|remove)\b(?:\s+\S+){0,3}?\s+(?:previous|prior|preceding|earlier)\s+"
        r"(?:information|inputs?|questions)\b|"
        r"\b(?:previous|prior|preceding)\s+(?:information|tasks|instructions)\s+(?:behind|(?:out\s+of|from)\s+your\s+"
        r"(?:head|mind|memory))|"
        r"\b(?:vorherig|bisherig|vorangegangen|obig)\w*\s+(?:informationen|angaben|aufgaben|aufträge|anweisungen)\s+"
        r"(?:hinter\s+(?:sich|dir|ihnen)|aus\s+(?:dem|deinem|ihrem)\s+kopf)|"
        r"\b(?:all\s+)?(?:previous|prior|above)\s+(?:information|instructions)\b[^.\n]{0,50}?\b(?:is|are)\s+"
        r"(?:irrelevant|void|invalid|no\s+longer\s+(?:valid|relevant))\b|"
        r"\b(?:bisherigen|vorherigen|obigen)\s+(?:informationen|anweisungen|angaben)\b[^.\n]{0,50}?\bsind\s+"
        r"(?:irrelevant|ungültig|hinfällig|nicht\s+(?:mehr\s+)?(?:gültig|relevant))",
    ),
    _sig(
        "override_de_object_first",
        "instruction_override",
        0.9,
        r"\babweichend\s+(?:zu|von)\s+(?:den\s+)?(?:vorherigen|bisherigen|obigen|vorangegangenen)\s+"
        r"(?:instruktion|anweisung|vorgabe)\w*|\b(?:obigen|vorherigen|bisherigen|vorangegangenen)\s+"
        r"(?:ausführungen|anweisungen|instruktionen|befehle|regeln)\s+(?:zu\s+)?(?:ignorieren|vergessen|missachten)",
    ),
    _sig(
        "document_override",
        "instruction_override",
        0.75,
        r"\bdisregarding\s+the\s+(?:articles?|documents?|context)\b|"
        r"\bignore\s+(?:all\s+)?(?:the\s+)?(?:documents?|articles?)\s+provided\b|"
        r"\b(?:and\s+)?not\s+(?:by|from|according\s+to)\s+the\s+(?:provided\s+)?(?:articles|documents)\b|"
        r"\bdo\s+not\s+look\s+(?:in|at)\s+the\s+(?:documents?|articles?)",
    ),
    _sig(
        "just_output",
        "output_hijack",
        0.85,
        r"\b(?:do\s+not|don'?t)\s+(?:answer|respond\s+to)\s+(?:this|the|my)\s+question\b[^\n]{0,40}?\b(?:just|only|instead)\s+"
        r"(?:output|say|print|write)\b|\bi\s+command\s+you\s+to\s+(?:just\s+|only\s+)?(?:say|output|print|write)\b",
    ),
    _sig(
        "instructions_changed",
        "instruction_override",
        0.85,
        r"\b(?:change|update|replace|overwrite)\s+your\s+(?:instructions|rules|programming|system\s+prompt)\b|"
        r"\byour\s+(?:new\s+)?instructions\s+are\s+now\b",
    ),
    _sig(
        "override_other_languages",
        "instruction_override",
        0.9,
        r"\b(?:zaboravi|ignoriraj|ignori[sš]i|zanemari)\b(?:\s+\S+){0,3}?\s+(?:instrukcije|upute|uputstva|pravila|"
        r"prethodn\w*)|\b(?:zapomnij|zignoruj|zignorować)\b(?:\s+\S+){0,3}?\s+(?:instrukcje|polecenia|"
        r"poprzednie|wszystko)|\btalimatlar\w*\s+(?:unut|yok\s+say|görmezden\s+gel)|"
        r"\bolvid\w*\s+(?:de\s+)?todo(?:\s+lo)?\s+que\s+(?:te\s+)?(?:digo|dije|sabes)\b",
    ),
    _sig(
        "stop_and_write",
        "output_hijack",
        0.8,
        r"\b(?:stop|stopp)\s*[-:\u2013\u2014]+\s*(?:now\s+)?(?:write|say|print|output|schreib\w*|sag\w*)\b|"
        r"\b(?:attention|achtung)\s*[-:\u2013\u2014!]+\s*(?:stop|stopp)\b",
    ),
    _sig(
        "new_tasks_follow",
        "instruction_override",
        0.75,
        r"\b(?:now|nun|jetzt)\s+(?:follow|folgen)\s+(?:new|further|neue|weitere)\s+(?:tasks|instructions|aufgaben|"
        r"anweisungen)\b|\bnow\s+(?:new|further)\s+(?:tasks|instructions)\s+(?:follow|are\s+followed)\b|"
        r"\bnew\s+instructions\s+follow\b",
    ),
    _sig(
        "prompt_beginning_leak",
        "prompt_leak",
        0.85,
        r"\b(?:written|said|stated)\s+at\s+the\s+(?:beginning|start|top)\s+of\s+(?:this|the|your)\s+"
        r"(?:prompt|conversation|instructions)\b",
    ),
    # --- prompt leaking ---------------------------------------------------------------------
    _sig(
        "prompt_leak_en",
        "prompt_leak",
        0.9,
        r"\b(?:print|show|reveal|repeat|output|display|tell\s+me|give\s+me|write\s+out|spell-?\s*check|dump|leak|"
        r"return|disclose|share)\b(?:\s+\S+){0,4}?\s+(?:your|the\s+(?:initial|original|hidden|secret|system|above|"
        r"previous|full)|all\s+(?:of\s+)?your|above)\s+(?:\S+\s+){0,2}?(?:system\s+prompt|prompt\s+texts?|prompts?|"
        r"instructions|directives|configuration|embeddings|pre-?prompt|rules)\b",
    ),
    _sig(
        "text_above_en",
        "prompt_leak",
        0.85,
        r"\b(?:print|repeat|output|spell-?\s*check|show|display|write)\b(?:\s+\S+){0,5}?\s+(?:the\s+)?(?:text|words|"
        r"prompt|instructions|everything)\s+above\b|\babove\s+prompt\b|\bwhat\s+(?:is|was)\s+written\s+above\b",
    ),
    _sig("system_prompt_en", "prompt_leak", 0.8, r"\b(?:your|the)\s+(?:system|initial|hidden|secret)\s+prompt\b"),
    _sig(
        "prompt_leak_de",
        "prompt_leak",
        0.9,
        r"\b(?:zeig\w*|gib|drucke?\w*|wiederhole?\w*|verrate?\w*|nenne?\w*)\b(?:\s+\S+){0,5}?\s+(?:deine[nrs]?|"
        r"obige[nr]?|alle\s+deine)\s+(?:\S+\s+)?(?:prompt\w*|anweisung\w*|instruktion\w*|eingabeaufforderung|"
        r"systemprompt|prompt-texte)",
    ),
    _sig("prompt_leak_de_above", "prompt_leak", 0.85, r"\bobigen?\s+(?:eingabeaufforderung|anweisung\w*|text\w*)\b"),
    # --- delimiter and fake-system-message tricks ------------------------------------------
    _sig(
        "chat_template_tokens",
        "delimiter",
        0.95,
        r"<\|?im_start\|?>\s*system|<\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|"
        r"end_header_id|eot_id|begin_of_text)\|>",
    ),
    _sig("inst_tokens", "delimiter", 0.9, r"\[/?INST\]|<</?SYS>>", 0),
    _sig(
        "markdown_system_header",
        "delimiter",
        0.9,
        r"(?m)^[ \t]*(?:#{2,}|\*\*|-{3,}|={3,})\s*(?:system|new\s+instructions?|admin|developer)\b\s*"
        r"(?:message|prompt|override)?\s*(?:\*\*)?\s*:",
    ),
    _sig(
        "end_of_prompt",
        "delimiter",
        0.85,
        r"\bEND\s+OF\s+(?:THE\s+)?(?:PROMPT|INSTRUCTIONS|INPUT|SYSTEM\s+PROMPT|CONTEXT|DOCUMENT)\b|"
        r"(?:(?<!=)={4,}|(?<!-)-{4,}|(?<!#)#{4,})\s*END\b",
        0,
    ),
    # weak alone: developers paste chat-API code; an override inside the JSON is caught by its own signature
    _sig("json_role_injection", "delimiter", 0.45, r"[\"']role[\"']\s*:\s*[\"'](?:system|developer)[\"']"),
    _sig("fake_system_turn", "delimiter", 0.7, r"(?:^|\n)[ \t]*(?:SYSTEM|System)\s*:\s*\S", 0),
    # pasted transcripts are common and benign; alone this is weak evidence
    _sig("fake_chat_turns", "delimiter", 0.45, r"(?:^|\n)[ \t]*(?:Human|Assistant)\s*:\s*\S", 0),
    _sig(
        "decode_and_follow",
        "encoded_payload",
        0.8,
        r"\b(?:decode|base64|rot13|hex|reverse)\b(?:\s+\S+){0,6}?\s+(?:follow|execute|run|obey|do\s+what\s+it\s+says|"
        r"carry\s+out)\b",
    ),
    # --- jailbreak personas ----------------------------------------------------------------
    _sig(
        "dan_family",
        "jailbreak",
        0.95,
        # "jailbroken" only about the assistant: a phone or a console can be jailbroken too
        r"\bdo\s+anything\s+now\b|\bDAN\s+mode\b|\bdeveloper\s+mode\s+(?:enabled|activated|on)\b|/jailbroken\b|"
        r"\bjailbroken\s+(?:ai|assistant|chatbot|model|mode|version|persona|gpt|chatgpt|llm|bot)\b|"
        r"\b(?:you\s+are|you're|act\s+as|become|pretend\s+to\s+be)\s+(?:now\s+)?(?:an?\s+)?jailbroken\b|"
        r"\bsuccessfully\s+jailbroken\b|"
        r"\bstrive\s+to\s+avoid\s+norms\b|\bbroken\s+free\s+of\s+the\s+typical\s+confines\b|"
        r"\bfree\s+generator\b.{0,80}\bno\s+filters\b",
    ),
    _sig(
        "amoral_assistant",
        "jailbreak",
        0.9,
        r"\b(?:unfiltered|uncensored|amoral|unrestricted|unethical)\s+(?:and\s+\w+\s+)?(?:ai|chatbot|assistant|model|"
        r"version\s+of\s+you|language\s+model)\b",
    ),
)

RULE_STRIPPING_ALONE_SCORE = 0.45
PERSONA_JAILBREAK_SCORE = 0.95

# Rule stripping: an instruction to drop rules, filters or safety. Alone it is weak evidence
# ("a diet without restrictions"); next to a persona cue it is a persona jailbreak.
RULE_STRIPPING = _sig(
    "rule_stripping",
    "jailbreak",
    RULE_STRIPPING_ALONE_SCORE,
    r"\b(?:no|without(?:\s+any)?|free\s+(?:of|from)|not\s+bound\s+by|break\s+free\s+of|bypass\w*|ignores?|"
    r"disregards?|(?:don'?t|doesn'?t|does\s+not|do\s+not|never)\s+(?:have\s+to\s+)?(?:follow|abide\s+by|obey)|"
    r"turned\s+off|disabled?|removed?)\s+(?:\S+\s+){0,3}?(?:restrictions?|rules|filters?|filtering|guidelines|"
    r"limitations?|limits|censorship|content\s+polic(?:y|ies)|ethics|ethical\s+\w+|moral\s+\w+|morals|"
    r"safety\s+\w+|policies|programming)\b"
    r"|\bnever\s+(?:refuses?|declines?|says?\s+no)\b|\bno\s+matter\s+how\s+(?:illegal|unethical|immoral|harmful|"
    r"dangerous)\b|\bwithout\s+(?:any\s+)?(?:warnings?|disclaimers?)\b"
    r"|\b(?:ohne|keine)\s+(?:\S+\s+){0,2}?(?:regeln|einschränkungen|filter|richtlinien|zensur)\b"
    r"|\bsans\s+(?:aucune?\s+)?(?:\S+\s+)?(?:restrictions?|r[èe]gles?|filtres?|limites?|censure)\b"
    r"|\bsin\s+(?:ning[uú]n[ao]?\s+)?(?:\S+\s+)?(?:restricciones|reglas|filtros|l[íi]mites|censura)\b",
    re.IGNORECASE,
)
PERSONA_CUE = re.compile(
    r"\b(?:act(?:ing)?\s+as|you\s+are(?:\s+now|\s+going\s+to\s+(?:be|act|pretend))?|pretend(?:ing)?\s+(?:to\s+be|you)|"
    r"role-?\s*play|play\s+the\s+role|from\s+now\s+on|immerse\s+yourself|simulate|you\s+will\s+be|imagine\s+you|"
    r"du\s+bist|tu\s+es|ahora\s+eres|sei\s+ora|agisci\s+come)\b",
    re.IGNORECASE,
)


@dataclass
class View:
    """A transformed copy of the text and, per character, the original index it came from.

    ``origin`` is None for payload views: their matches map to the payload's span as a whole.
    """

    name: str
    text: str
    origin: list[int] | None
    span: tuple[int, int] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            assert self.span is not None
            return self.span
        if not self.origin:
            return (0, 0)
        first = self.origin[min(start, len(self.origin) - 1)]
        last = self.origin[min(max(end - 1, start), len(self.origin) - 1)] + 1
        return (first, max(first, last))


@dataclass(frozen=True)
class Match:
    signature: str
    category: str
    score: float
    start: int
    end: int
    view: str
    matched: str


# Confusable characters folded to ASCII (Cyrillic, Greek, other Latin lookalikes, fullwidth
# is already folded by NFKC) plus leetspeak digits and symbols inside words.
_CONFUSABLE_SOURCE = (
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u04bb\u04cf\u0578\u057d\u0261"
    "\u1d20\u051d\u028f\u026a\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0423"
    "\u0406\u0408\u0405\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u0391\u0392\u0395"
    "\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u0131\u0142\u00f8\u0111\u0127"
)
_CONFUSABLE_TARGET = (
    "aeopcyxijsdhlnug"
    "vwyiABEKMHOPCTXY"
    "IJSaeikvoptuxABE"
    "ZHIKMNOPTYXilodh"
)
_CONFUSABLES = dict(zip(_CONFUSABLE_SOURCE, _CONFUSABLE_TARGET, strict=True))
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e\u034f\u202a-\u202e\u2066-\u2069]")
_SPACED = re.compile(r"(?<![\w])(?:[A-Za-z][ .\-_*/]){3,}[A-Za-z](?![\w])")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:(?:0x|\\x)?[0-9A-Fa-f]{2}[\s:,-]?){10,}(?![0-9A-Fa-f])")
# A whitespace-free token with at least four %XX escapes. Written so that no character can be
# read two ways (filler is anything but an escape) and matching starts only at a token's start:
# "\S*(?:%XX\S*){4,}" took 40 s on one 50,000-character token (the same text now takes under 0.1 s).
_URL_FILLER = r"(?:[^\s%]|%(?![0-9A-Fa-f]{2}))"
_URLENC = re.compile(rf"(?<!\S){_URL_FILLER}*(?:%[0-9A-Fa-f]{{2}}{_URL_FILLER}*){{4,}}")
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
MAX_PAYLOADS = 16


def _mapped(name: str, text: str, keep: list[tuple[str, int]]) -> View:
    return View(name, "".join(ch for ch, _ in keep), [index for _, index in keep])


def skeleton(text: str) -> str:
    """ASCII skeleton: confusables folded; leetspeak folded inside words. Same length as ``text``."""
    chars = list(text)
    for index, char in enumerate(chars):
        if char in _CONFUSABLES:
            chars[index] = _CONFUSABLES[char]
    for index, char in enumerate(chars):
        if char in _LEET:
            before = chars[index - 1] if index > 0 else " "
            after = chars[index + 1] if index + 1 < len(chars) else " "
            if before.isalpha() or after.isalpha():
                chars[index] = _LEET[char]
    return "".join(chars)


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    letters = sum(1 for ch in text if ch.isalpha())
    return min(good / len(text), 2 * letters / len(text))


def _decode_base64(candidate: str) -> str | None:
    padded = candidate + "=" * (-len(candidate) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(padded)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if _printable_ratio(decoded) >= 0.85:
            return decoded
    return None


def _decode_hex(candidate: str) -> str | None:
    digits = re.sub(r"0x|\\x|[\s:,-]", "", candidate)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        decoded = bytes.fromhex(digits).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if _printable_ratio(decoded) >= 0.85 else None


def views(text: str, *, decode: bool = True) -> list[View]:
    """Every view of ``text`` worth scanning; the first is the text itself."""
    result = [View("text", text, list(range(len(text))))]
    base = text
    if _INVISIBLE.search(text):
        stripped = _mapped("invisible_stripped", text, [(c, i) for i, c in enumerate(text) if not _INVISIBLE.match(c)])
        result.append(stripped)
        base = stripped.text
        base_origin = stripped.origin or []
    else:
        base_origin = list(range(len(text)))
    folded = skeleton(base)
    if folded != base:
        result.append(View("homoglyph_or_leet", folded, base_origin))
    joined_keep: list[tuple[str, int]] = []
    cursor = 0
    found_spaced = False
    for match in _SPACED.finditer(folded):
        found_spaced = True
        joined_keep.extend((folded[i], base_origin[i]) for i in range(cursor, match.start()))
        inside = range(match.start(), match.end())
        joined_keep.extend((folded[i], base_origin[i]) for i in inside if folded[i].isalpha())
        cursor = match.end()
    if found_spaced:
        joined_keep.extend((folded[i], base_origin[i]) for i in range(cursor, len(folded)))
        result.append(_mapped("spaced_letters", folded, joined_keep))
    if not decode:
        return result
    letters = [c for c in base if c.isalpha() and c.isascii()]
    if len(letters) >= 12:
        result.append(View("rot13", codecs.encode(base, "rot13"), base_origin))
        result.append(View("reversed", base[::-1], base_origin[::-1]))
    payloads = 0
    for pattern, decoder, name in ((_BASE64, _decode_base64, "base64"), (_HEX, _decode_hex, "hex")):
        for match in pattern.finditer(text):
            if payloads >= MAX_PAYLOADS:
                break
            decoded = decoder(match.group())
            if decoded:
                payloads += 1
                result.append(View(name, decoded, None, (match.start(), match.end())))
                for inner in views(decoded, decode=False)[1:]:
                    result.append(View(f"{name}+{inner.name}", inner.text, None, (match.start(), match.end())))
    for match in _URLENC.finditer(text):
        if payloads >= MAX_PAYLOADS:
            break
        decoded = urllib.parse.unquote(match.group())
        if decoded != match.group():
            payloads += 1
            result.append(View("url_encoding", decoded, None, (match.start(), match.end())))
    for match in _TAGS.finditer(text):
        smuggled = "".join(chr(ord(ch) - 0xE0000) for ch in match.group())
        result.append(View("tag_characters", smuggled, None, (match.start(), match.end())))
    return result


def scan_view(view: View) -> list[Match]:
    """Signature matches in one view, with spans in the original text."""
    matches: list[Match] = []
    folded = fold(view.text)
    for signature in SIGNATURES:
        if not signature.may_match(folded):
            continue
        for found in signature.pattern.finditer(view.text):
            if found.end() == found.start():
                continue
            start, end = view.original_span(found.start(), found.end())
            matches.append(
                Match(signature.name, signature.category, signature.score, start, end, view.name, found.group()[:120])
            )
    stripping = list(RULE_STRIPPING.pattern.finditer(view.text)) if RULE_STRIPPING.may_match(folded) else []
    if stripping:
        persona = PERSONA_CUE.search(view.text)
        for found in stripping:
            start, end = view.original_span(found.start(), found.end())
            if persona is not None:
                matches.append(
                    Match("persona_rule_stripping", "jailbreak", PERSONA_JAILBREAK_SCORE, start, end, view.name,
                          f"{persona.group()} … {found.group()}"[:120])
                )
            else:
                matches.append(
                    Match("rule_stripping", "jailbreak", RULE_STRIPPING_ALONE_SCORE, start, end, view.name,
                          found.group()[:120])
                )
    return matches


def scan_text(text: str, *, decode: bool = True) -> list[Match]:
    """Signature matches over every view, de-duplicated (the plainest view of a match wins)."""
    seen: set[tuple[str, int, int]] = set()
    result: list[Match] = []
    for view in views(text, decode=decode):
        for match in scan_view(view):
            key = (match.signature, match.start, match.end)
            if key in seen:
                continue
            seen.add(key)
            result.append(match)
    return result
