"""Required substrings of a regular expression: a cheap test that lets a scan skip a pattern.

Python's ``re`` scans a 500-character message in tens of microseconds per pattern, and the
injection signatures run some forty patterns over three or more views of every message — most
of that layer's cost, spent on messages that contain none of the words any pattern needs. For
each pattern we work out a set of strings of which *every* match contains at least one
("ignore", "disregard", "forget" for ``\\b(?:ignore|disregard|forget)\\s+…``); a pattern whose
strings all miss the message cannot match it and is not run.

Both sides are compared case-folded the way ``re.IGNORECASE`` matches characters (simple
lower case, plus the pairs ``re`` also treats as equal, such as dotless i and i, long s and s), so a
case trick that the pattern matches never slips past the test. When the pattern's structure
gives no such strings (a leading character class, an optional first word, a back-reference)
the result is ``None`` and the pattern always runs: the test can only skip work, never change
a result. ``tests/test_regex_prefilter.py`` checks this against ``re`` itself.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

#: shorter required strings would hardly ever rule a pattern out, so they are not worth testing
MIN_LENGTH = 3

_Items = Iterable[tuple[Any, Any]]

_re_parser: Any
_op: Any
try:  # re's own parser: private, the same modules and names since Python 3.11
    _re_parser = importlib.import_module("re._parser")
    _op = importlib.import_module("re._constants")
except ImportError:  # Python 3.10: the same parser under its older names
    try:
        _re_parser = importlib.import_module("sre_parse")
        _op = importlib.import_module("sre_constants")
    except ImportError:  # pragma: no cover - another Python: no prefilter, patterns always run
        _re_parser = _op = None


def _extra_cases() -> dict[int, tuple[int, ...]]:
    """Lower-case letters ``re.IGNORECASE`` also treats as equal (dotless i and i, long s and s, …).

    ``re`` keeps them in a private table (``re._casefix``; ``sre_compile`` in Python 3.10); without
    it, lower-case letters that share a one-letter upper case are the same classes but for three
    Greek and ligature pairs.
    """
    for module, name in (("re._casefix", "_EXTRA_CASES"), ("sre_compile", "_ignorecase_fixes")):  # 3.11+, 3.10
        try:
            table: dict[int, tuple[int, ...]] = getattr(importlib.import_module(module), name)
            return table
        except (ImportError, AttributeError):
            continue
    by_upper: dict[str, list[int]] = defaultdict(list)
    for code in range(1, 0x10000):
        char = chr(code)
        if char.lower() == char and len(char.upper()) == 1 and char.upper() != char:
            by_upper[char.upper()].append(code)
    classes = [group for group in by_upper.values() if len(group) > 1]
    return {code: tuple(c for c in group if c != code) for group in classes for code in group}


def _cased_characters(extra: dict[int, tuple[int, ...]]) -> list[str]:
    """Every character whose lower or upper case differs from itself, over all of Unicode, and
    the letters of ``extra``. Blocks of 256 code points without case (most of the range) are
    passed over with two whole-string case mappings; about 0.1 s, once per process."""
    cased = [chr(code) for code in extra]
    for start in range(1, 0x110000, 0x100):
        chars = "".join(map(chr, range(start, min(start + 0x100, 0x110000))))  # lone surrogates have no case
        if chars.lower() != chars or chars.upper() != chars:
            cased.extend(char for char in chars if char.lower() != char or char.upper() != char)
    return cased


@functools.cache
def _fold_table() -> dict[int, int]:
    """Code point -> the character ``re.IGNORECASE`` compares it as, where that differs.

    ``re`` matches two characters when their simple lower cases are equal or are listed as
    equivalent (``_extra_cases``). A character therefore folds to its simple lower case (``İ``
    to ``i``: the first character of its full lower case), then to the smallest of that letter's
    equivalents. Checked against ``re`` itself for every cased character by the tests.
    """
    extra = _extra_cases()
    table: dict[int, int] = {}
    for char in _cased_characters(extra):
        lower = ord(char.lower()[0])
        folded = min((lower, *extra.get(lower, ())))
        if folded != ord(char):
            table[ord(char)] = folded
    return table


def fold(text: str) -> str:
    """``text`` with every character replaced by the one ``re.IGNORECASE`` compares it as."""
    return text.translate(_fold_table())


def may_match(required: frozenset[str] | None, folded_text: str) -> bool:
    """False only when a pattern cannot match: none of its ``required`` strings is in the folded text."""
    return required is None or any(text in folded_text for text in required)


def required_substrings(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Folded strings one of which every match of ``pattern`` contains, or None if unknown."""
    if _re_parser is None:  # pragma: no cover
        return None
    try:
        parsed = _re_parser.parse(pattern.pattern, pattern.flags)
    except re.error:  # pragma: no cover - re compiled it, so its own parser accepts it
        return None
    found = _sequence(parsed)
    if found is None or min(len(text) for text in found) < MIN_LENGTH:
        return None
    return frozenset(found)


def _sequence(items: _Items) -> set[str] | None:
    """Every item of a sequence must match, so the most selective item's strings will do.

    Consecutive literal characters form one string; zero-width assertions such as ``\\b`` sit
    between them without breaking it, since they consume nothing.
    """
    candidates: list[set[str]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            candidates.append({fold("".join(run))})
            run.clear()

    for op, argument in items:
        if op is _op.LITERAL:
            run.append(chr(argument))
            continue
        if op is _op.AT:
            continue
        close_run()
        found = _node(op, argument)
        if found is not None:
            candidates.append(found)
    close_run()
    if not candidates:
        return None
    return max(candidates, key=lambda strings: (min(len(text) for text in strings), -len(strings)))


def _node(op: Any, argument: Any) -> set[str] | None:
    if op is _op.SUBPATTERN:
        return _sequence(argument[3])
    if op is getattr(_op, "ATOMIC_GROUP", None):  # Python 3.11+
        return _sequence(argument)
    if op is _op.BRANCH:
        union: set[str] = set()
        for branch in argument[1]:
            found = _sequence(branch)
            if found is None:  # one branch needs nothing we know of: neither does the whole
                return None
            union |= found
        return union
    if op in (_op.MAX_REPEAT, _op.MIN_REPEAT, getattr(_op, "POSSESSIVE_REPEAT", None)):
        least, _, body = argument
        return _sequence(body) if least >= 1 else None
    return None  # character classes, any character, look-arounds, back-references
