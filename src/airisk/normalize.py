"""One normalisation pass before any scanner looks at a message.

Attackers hide words behind compatibility characters (full-width letters, ligatures),
zero-width characters and bidirectional overrides. NFKC folds the first; the others are
removed, and each removal is reported as a finding so the trick itself is visible.
"""

from __future__ import annotations

import re
import unicodedata

from airisk.errors import InputError
from airisk.types import Finding

MAX_TEXT_CHARS = 1_000_000

# Bidirectional controls: embeddings, overrides, isolates, marks.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Invisible characters with no rendering of their own (zero-width, word joiner, BOM,
# invisible math operators, soft hyphen, Mongolian vowel separator, tag characters).
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f\u115f\u1160\u3164\uffa0"
)
_TAG_RANGE = (0xE0000, 0xE007F)
_VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
_ALLOWED_CONTROLS = frozenset("\n\r\t")
_STRIP_RE = re.compile(
    "["
    + "".join(BIDI_CONTROLS | INVISIBLE)
    + "\U000e0000-\U000e007f\ufe00-\ufe0f\U000e0100-\U000e01ef"
    + "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
    + "]"
)


def _kind_of(char: str) -> str:
    if char in BIDI_CONTROLS:
        return "bidi_control"
    code = ord(char)
    if _TAG_RANGE[0] <= code <= _TAG_RANGE[1]:
        return "tag_character"
    if any(low <= code <= high for low, high in _VARIATION_SELECTORS):
        return "variation_selector"
    if char in INVISIBLE:
        return "invisible_character"
    return "control_character"


def coerce_text(value: str | bytes, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Accept str or UTF-8 bytes; refuse wrongly encoded or oversized input with a clear error."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"text is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    if not isinstance(value, str):
        raise InputError(f"text must be str or bytes, not {type(value).__name__}")
    if len(value) > max_chars:
        raise InputError(f"text has {len(value):,} characters; the limit is {max_chars:,}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"text holds an unpaired surrogate at character {exc.start}") from None
    return value


def normalize(text: str) -> tuple[str, list[Finding]]:
    """NFKC-normalise and strip hidden characters; findings give their spans in the *input*.

    Returns the normalised text and one finding per run of removed characters.
    """
    findings: list[Finding] = []
    if _STRIP_RE.search(text):
        run_start = -1
        run_kinds: set[str] = set()
        kept: list[str] = []
        for index, char in enumerate(text):
            if _STRIP_RE.match(char):
                if run_start < 0:
                    run_start, run_kinds = index, set()
                run_kinds.add(_kind_of(char))
                continue
            if run_start >= 0:
                findings.append(_hidden_run(run_start, index, run_kinds))
                run_start = -1
            kept.append(char)
        if run_start >= 0:
            findings.append(_hidden_run(run_start, len(text), run_kinds))
        text = "".join(kept)
    if not text.isascii():
        folded = unicodedata.normalize("NFKC", text)
        if folded != text:
            findings.append(
                Finding(kind="unicode_compatibility", start=0, end=len(text), score=0.5, detail={"form": "NFKC"})
            )
            text = folded
    return text, findings


def _hidden_run(start: int, end: int, kinds: set[str]) -> Finding:
    return Finding(
        kind="hidden_characters",
        start=start,
        end=end,
        score=1.0,
        detail={"removed": end - start, "types": sorted(kinds)},
    )


def safe_split_point(text: str, *, look_back: int = 256) -> int:
    """Largest index where ``text`` can be cut so that normalising both halves separately
    equals normalising the whole (used while streaming); 0 if no safe cut is known yet."""
    for index in range(len(text) - 1, max(0, len(text) - look_back), -1):
        char = text[index]
        if char.isascii() and not _STRIP_RE.match(char):
            return index
        if unicodedata.combining(char) == 0 and _joins_cleanly(text[:index], text[index:]):
            return index
    return 0


def _joins_cleanly(head: str, tail: str) -> bool:
    window_head = head[-8:]
    window_tail = tail[:8]
    return unicodedata.normalize("NFKC", window_head) + unicodedata.normalize("NFKC", window_tail) == (
        unicodedata.normalize("NFKC", window_head + window_tail)
    )
