"""Regex scanner: named deny and allow patterns plus presets for personal data and secrets.

Patterns run on google-re2, whose matching time is linear in the text, so hostile input
cannot trigger catastrophic backtracking. RE2 has no lookaround or backreferences; the
checks a pattern cannot express (Luhn for card numbers, mod-97 for IBANs, "not an
Anthropic key" for OpenAI keys) are done in Python on each candidate match.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from airisk.errors import PolicyError
from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult

#: A validator looks at a candidate match (the text of the ``value`` span) and returns the
#: span to report, relative to that text, or None to drop it.
Validator = Callable[[str], "tuple[int, int] | None"]


@dataclass(frozen=True)
class Preset:
    """A built-in pattern: RE2 syntax, an optional Python check, and what the check is called.

    ``retry_inside`` says whether a value may start inside a candidate its check rejected
    (true only for patterns whose candidates are short, so that retrying stays linear);
    ``extend`` may move a hit's end past the match (used for PEM blocks, whose end RE2 would
    have to find with an unbounded lazy scan).
    """

    pattern: str
    validator: Validator | None = None
    validated: str | None = None
    retry_inside: bool = True
    extend: Callable[[str, int], int] | None = None


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Issuer prefixes of the major card schemes; numbers outside them are not card numbers.
_CARD_PREFIXES = ("4", "34", "37", "35", "36", "38", "30", "51", "52", "53", "54", "55", "6011", "62", "64", "65")


def _card_number(candidate: str) -> tuple[int, int] | None:
    """The candidate, or its longest prefix cut at a group boundary, if it is a card number.

    A card followed by a short group ("4111 1111 1111 1111 123", a CVV) arrives as one
    19-digit candidate; cutting at the last separator recovers the card.
    """
    digits = candidate.replace(" ", "").replace("-", "")
    if not (digits.startswith(_CARD_PREFIXES) or 2221 <= int(digits[:4]) <= 2720):
        return None
    cut = len(candidate)
    while True:
        if len(digits) < 13:
            return None
        if len(digits) <= 19 and _luhn_ok(digits):
            return (0, cut)
        cut = max(candidate.rfind(" ", 0, cut), candidate.rfind("-", 0, cut))
        if cut <= 0:
            return None
        digits = candidate[:cut].replace(" ", "").replace("-", "")


# IBAN length per country (ISO 13616 registry); a known length makes mod-97 far stricter.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def _mod97_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    remainder = 0
    for char in rearranged:
        value = int(char, 36)
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder == 1


def _iban(candidate: str) -> tuple[int, int] | None:
    """Cut the candidate at its country's IBAN length (it may have run into the next word)."""
    expected = _IBAN_LENGTHS.get(candidate[:2])
    if expected is None:
        return None
    count = 0
    for index, char in enumerate(candidate):
        if char == " ":
            continue
        count += 1
        if count == expected:
            end = index + 1
            if end < len(candidate) and candidate[end] != " ":
                return None
            compact = candidate[:end].replace(" ", "").upper()
            return (0, end) if _mod97_ok(compact) else None
    return None


def _phone(candidate: str) -> tuple[int, int] | None:
    digits = sum(char.isdigit() for char in candidate)
    return (0, len(candidate)) if 8 <= digits <= 15 else None


_PEM_WINDOW = 16384
# One character class, no nesting: Python's engine cannot backtrack on it.
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s:,\-]*")


def _pem_block_end(text: str, end: int) -> int:
    """End of the PEM block whose BEGIN line ends at ``end``: through its END line if one follows
    within 16 KB, else over the base64 body that follows (a pasted key missing its last line)."""
    window = text[end : end + _PEM_WINDOW]
    close = window.find("-----END ")
    if close >= 0:
        tail = window.find("-----", close + 9)
        if tail >= 0 and "PRIVATE KEY" in window[close:tail]:
            return end + tail + 5
    body = _PEM_BODY.match(window)
    return end + (body.end() if body else 0)


def _openai_key(candidate: str) -> tuple[int, int] | None:
    if candidate.startswith("sk-ant-"):
        return None
    body = candidate[3:]
    if not (any(char.isdigit() for char in body) and any(char.isalpha() for char in body)):
        return None
    return (0, len(candidate))


# Token bodies are followed by a character that cannot continue them; RE2 has no lookahead,
# so that character is matched outside the ``value`` group, and ``value`` is what is reported.
_END = r"(?:[^A-Za-z0-9_\-]|$)"

PRESETS: dict[str, Preset] = {
    "email": Preset(r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}\p{L}+"),
    # Cards as people write them: 13-19 digits in one run, in groups of four (a short last
    # group allowed), or Amex style 4-6-5; spaces or hyphens, never mixed.
    "credit_card": Preset(
        r"\b(?:\d{4} \d{4} \d{4} \d{4} \d{1,3}|\d{4}-\d{4}-\d{4}-\d{4}-\d{1,3}"
        r"|\d{4} \d{4} \d{4} \d{1,7}|\d{4}-\d{4}-\d{4}-\d{1,7}"
        r"|\d{4} \d{6} \d{4,5}|\d{4}-\d{6}-\d{4,5}|\d{13,19})\b",
        _card_number,
        "luhn",
    ),
    "iban": Preset(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", _iban, "mod97"),
    "phone": Preset(
        r"(?:\+|\b00)[1-9]\d{0,2}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{1,4}){1,4}\b"
        r"|\(\d{3}\) ?\d{3}[ .\-]\d{4}\b|\b\d{3}[.\-]\d{3}[.\-]\d{4}\b",
        _phone,
    ),
    "ipv4": Preset(r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b"),
    "aws_access_key_id": Preset(r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    "aws_secret": Preset(
        r"(?i)aws[A-Za-z0-9_.\-]{0,30}(?:secret|private|key)[A-Za-z0-9_.\-]{0,20}['\"]?\s*[:=]\s*['\"]?"
        r"(?P<value>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"
    ),
    "github_token": Preset(r"(?P<value>\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}))" + _END),
    "openai_api_key": Preset(
        r"(?P<value>\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})" + _END, _openai_key, retry_inside=False
    ),
    "anthropic_api_key": Preset(r"(?P<value>\bsk-ant-[A-Za-z0-9_\-]{20,})" + _END),
    "slack_token": Preset(r"(?P<value>\bxox[baprs]-[A-Za-z0-9\-]{10,})" + _END),
    "google_api_key": Preset(r"(?P<value>\bAIza[0-9A-Za-z_\-]{35})" + _END),
    "stripe_key": Preset(r"(?P<value>\b(?:sk|rk)_live_[A-Za-z0-9]{20,})" + _END),
    "jwt": Preset(r"(?P<value>\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*)" + _END),
    "private_key": Preset(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", extend=_pem_block_end),
}

#: Convenience groups that expand to several presets.
PRESET_GROUPS: dict[str, tuple[str, ...]] = {
    "secrets": (
        "aws_access_key_id",
        "aws_secret",
        "github_token",
        "openai_api_key",
        "anthropic_api_key",
        "slack_token",
        "google_api_key",
        "stripe_key",
        "jwt",
        "private_key",
    ),
    "pii": ("email", "credit_card", "iban", "phone"),
}


def expand_presets(names: list[str]) -> list[str]:
    """Preset names with groups expanded, duplicates removed, order kept."""
    out: list[str] = []
    for name in names:
        for member in PRESET_GROUPS.get(name, (name,)):
            if member not in out:
                out.append(member)
    return out


class RegexConfig(ScannerConfig):
    """Settings of :class:`Regex`."""

    deny: dict[str, str] = Field(default_factory=dict, description="named patterns to find (RE2 syntax)")
    allow: dict[str, str] = Field(default_factory=dict, description="named patterns that exempt overlapping deny hits")
    presets: list[str] = Field(default_factory=list, description="built-in patterns or groups ('secrets', 'pii')")
    case_sensitive: bool = True
    allow_mode: Literal["overlap", "contain"] = Field(
        default="overlap", description="exempt deny hits that overlap an allow match, or only those inside one"
    )
    replacement: str = "<{name}>"
    max_findings: int = Field(default=1000, ge=1, description="stop after this many findings unless redacting")

    @field_validator("deny", "allow", mode="before")
    @classmethod
    def _name_patterns(cls, value: Any) -> Any:
        """Accept a list of patterns; they are named pattern_1, pattern_2, …"""
        if value is None:
            return {}
        if isinstance(value, str):
            return {"pattern_1": value}
        if isinstance(value, (list, tuple)):
            return {f"pattern_{index}": pattern for index, pattern in enumerate(value, start=1)}
        return value

    @field_validator("deny", "allow")
    @classmethod
    def _non_empty(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            if not name:
                raise ValueError("pattern names must not be empty")
            if not pattern:
                raise ValueError(f"pattern {name!r} is empty")
        return value

    @field_validator("presets")
    @classmethod
    def _known_presets(cls, value: list[str]) -> list[str]:
        known = set(PRESETS) | set(PRESET_GROUPS)
        for name in value:
            if name not in known:
                raise ValueError(f"unknown preset {name!r}; known: {', '.join(sorted(known))}")
        return value

    @field_validator("replacement")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(name="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"replacement may only use the {{name}} placeholder ({exc})") from None
        return value


@dataclass(frozen=True)
class _Compiled:
    name: str
    regex: Any
    value_group: int
    preset: bool
    validator: Validator | None
    validated: str | None
    retry_inside: bool = True
    extend: Callable[[str, int], int] | None = None


def _compile(name: str, pattern: str, *, field: str, case_sensitive: bool, preset: bool) -> Any:
    import re2

    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    try:
        regex = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PolicyError(
            f"pattern {name!r} is not valid RE2 syntax ({reason}); RE2 has no lookaround or backreferences",
            field=field,
        ) from None
    if regex.fullmatch("") is not None:
        raise PolicyError(f"pattern {name!r} matches the empty string", field=field)
    return regex


class Regex(Scanner):
    """Find named patterns (and built-in presets) in a message; block, flag or redact them.

    Findings carry the pattern name as ``kind`` and never the matched value.
    """

    name = "regex"
    Config = RegexConfig
    inline = True
    config: RegexConfig

    def __init__(self, config: RegexConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        cfg = self.config
        self._deny: list[_Compiled] = []
        seen: set[str] = set()
        for name, pattern in cfg.deny.items():
            regex = _compile(name, pattern, field=f"deny.{name}", case_sensitive=cfg.case_sensitive, preset=False)
            self._deny.append(_Compiled(name, regex, regex.groupindex.get("value", 0), False, None, None))
            seen.add(name)
        for name in expand_presets(cfg.presets):
            if name in seen:
                raise PolicyError(f"pattern name {name!r} is also a preset; rename it", field=f"deny.{name}")
            preset = PRESETS[name]
            regex = _compile(name, preset.pattern, field=f"presets.{name}", case_sensitive=True, preset=True)
            self._deny.append(
                _Compiled(
                    name,
                    regex,
                    regex.groupindex.get("value", 0),
                    True,
                    preset.validator,
                    preset.validated,
                    preset.retry_inside,
                    preset.extend,
                )
            )
        self._allow = [
            _compile(name, pattern, field=f"allow.{name}", case_sensitive=cfg.case_sensitive, preset=False)
            for name, pattern in cfg.allow.items()
        ]
        self._contain = cfg.allow_mode == "contain"

    def _matches(self, text: str, limit: int | None) -> list[Finding]:
        """Every deny hit, searched on the UTF-8 bytes once encoded (RE2's native input).

        A match that its check rejects or shortens does not swallow the text after it:
        the search resumes right after the rejected start or the shortened end.
        """
        data = text.encode("utf-8")
        to_char = _ByteToChar(text, data)
        findings: list[Finding] = []
        for compiled in self._deny:
            pos = 0
            while pos <= len(data):
                match = compiled.regex.search(data, pos)
                if match is None:
                    break
                match_start, match_end = match.span()
                byte_start, byte_end = match.span(compiled.value_group)
                pos = match_end if match_end > match_start else _next_char(data, match_end)
                if byte_start < 0 or byte_end <= byte_start:
                    continue
                start, end = to_char(byte_start), to_char(byte_end)
                detail: dict[str, Any] = {"pattern": compiled.name, "preset": compiled.preset}
                if compiled.validator is not None:
                    span = compiled.validator(text[start:end])
                    if span is None:
                        if compiled.retry_inside:
                            pos = _next_char(data, match_start)
                        continue
                    if start + span[1] < end:
                        pos = byte_start + len(text[start : start + span[1]].encode("utf-8"))
                    start, end = start + span[0], start + span[1]
                    if compiled.validated:
                        detail["validated"] = compiled.validated
                if compiled.extend is not None:
                    extended = compiled.extend(text, end)
                    pos = max(pos, byte_end + len(text[end:extended].encode("utf-8")))
                    end = extended
                findings.append(
                    Finding(
                        kind=compiled.name,
                        start=start,
                        end=end,
                        score=1.0,
                        detail=detail,
                        replacement=self.config.replacement.format(name=compiled.name),
                    )
                )
                if limit is not None and len(findings) >= limit:
                    return findings
        return findings

    def _exempt(self, text: str, findings: list[Finding]) -> list[Finding]:
        allowed = sorted(match.span() for regex in self._allow for match in regex.finditer(text))
        if not allowed:
            return findings
        kept = []
        for finding in findings:
            if self._contain:
                exempt = any(a <= finding.start and finding.end <= b for a, b in allowed)
            else:
                exempt = any(a < finding.end and finding.start < b for a, b in allowed)
            if not exempt:
                kept.append(finding)
        return kept

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        started = time.perf_counter()
        limit = None if self.redacts else self.config.max_findings
        findings = self._matches(text, limit)
        if findings and self._allow:
            findings = self._exempt(text, findings)
        findings.sort(key=lambda finding: (finding.start, -finding.end))
        if self.redacts:
            findings = _merge_overlaps(findings)
        return self.result(text, findings, started=started)


def _next_char(data: bytes, pos: int) -> int:
    """The byte offset of the character after the one starting at ``pos``."""
    pos += 1
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


class _ByteToChar:
    """Maps UTF-8 byte offsets back to character offsets (identity for ASCII text).

    The table of multi-byte characters is built on the first lookup, so a message with
    no match costs nothing here.
    """

    def __init__(self, text: str, data: bytes) -> None:
        self._text = text
        self._ascii = len(data) == len(text)
        self._byte_offsets: list[int] | None = None
        self._extra: list[int] = [0]

    def _build(self) -> list[int]:
        offsets: list[int] = []
        extra = 0
        for index, char in enumerate(self._text):
            code = ord(char)
            if code < 0x80:
                continue
            offsets.append(index + extra)
            extra += 1 if code < 0x800 else 2 if code < 0x10000 else 3
            self._extra.append(extra)
        return offsets

    def __call__(self, byte_offset: int) -> int:
        if self._ascii:
            return byte_offset
        if self._byte_offsets is None:
            self._byte_offsets = self._build()
        return byte_offset - self._extra[bisect_left(self._byte_offsets, byte_offset)]


def _merge_overlaps(findings: list[Finding]) -> list[Finding]:
    """Fold overlapping hits into one finding over their union so redaction leaves no remnant."""
    merged: list[Finding] = []
    for finding in findings:
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            also = [*last.detail.get("merged", []), finding.kind]
            merged[-1] = last.model_copy(
                update={"end": max(last.end, finding.end), "detail": {**last.detail, "merged": also}}
            )
        else:
            merged.append(finding)
    return merged
