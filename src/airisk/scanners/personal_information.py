"""Personal information: find names, contacts, card and account numbers, and act on each kind.

Built on Microsoft Presidio. Two NLP engines:

* ``pattern`` (default): a blank spaCy pipeline, so only pattern recognizers run (e-mail,
  phone, credit card, IBAN, SSN, IP, URL, dates, …). It needs no model and never
  downloads anything. **It does not find PERSON, LOCATION, ORGANIZATION or NRP**: those
  need a named-entity model.
* ``spacy``: a spaCy NER model (``spacy_model``) must already be installed; a missing one is
  a clear :class:`~airisk.errors.ConfigurationError`, never a download.

Each entity kind has its own threshold and action: ``block``, ``redact`` (typed placeholder
``<PERSON_1>``, kept in the conversation's vault so the user sees the original in the
reply), ``mask`` (``**** **** **** 1111``), ``hash`` (``<EMAIL_ADDRESS#3f9a…>``, salted
HMAC-SHA256) or ``flag``. Every finding explains itself (recognizer, pattern or model,
context words, score) and never carries the value it found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airisk.errors import ConfigurationError, MissingDependencyError
from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Direction, Finding, ScanContext, ScanResult, Verdict

EntityAction = Literal["block", "redact", "mask", "hash", "flag"]
NlpEngineName = Literal["pattern", "spacy"]

_ENTITY_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_ACTION_VERDICT: dict[str, Verdict] = {
    "block": Verdict.BLOCK,
    "redact": Verdict.REDACT,
    "mask": Verdict.REDACT,
    "hash": Verdict.REDACT,
    "flag": Verdict.FLAG,
}
_REPLACING = {"redact", "mask", "hash"}
HASH_SALT_ENV = "AIRISK_PII_HASH_SALT"
_PROCESS_SALT = secrets.token_bytes(32)
# Presidio's phone recognizer gives every plausible number 0.4 unless a context word is near;
# below the general 0.5 that would miss most phone numbers (recall 0.30 vs 0.70 on the dev set).
DEFAULT_ENTITY_THRESHOLDS: dict[str, float] = {"PHONE_NUMBER": 0.4}
# Left out unless listed in ``entities``: they match ordinary prose (dates, links,
# nationalities), so redacting them by default would blind the model to harmless text.
OPT_IN_ENTITIES = frozenset({"DATE_TIME", "URL", "NRP"})


class CustomRecognizer(BaseModel):
    """An organisation's own detector, as policy data: a regex or a deny list for one entity.

    ``context`` words near a match raise its score (Presidio's context enhancement), so a
    weak pattern such as ``\\d{6}`` counts only next to "employee" or "badge".
    """

    model_config = ConfigDict(extra="forbid")

    entity: str = Field(description="entity kind it reports, e.g. EMPLOYEE_ID")
    name: str | None = Field(default=None, description="recognizer name shown in findings")
    regex: str | None = None
    deny: list[str] | None = Field(default=None, description="exact terms (case-insensitive, whole words)")
    score: float = Field(default=0.6, ge=0.0, le=1.0)
    context: list[str] = Field(default_factory=list)

    @field_validator("entity")
    @classmethod
    def _entity_name(cls, value: str) -> str:
        value = value.upper()
        if not _ENTITY_NAME.match(value):
            raise ValueError(f"entity names are upper-case words joined by underscores, got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> CustomRecognizer:
        if (self.regex is None) == (not self.deny):
            raise ValueError("a custom recognizer has either `regex` or a non-empty `deny` list")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from None
        return self

    @property
    def display_name(self) -> str:
        return self.name or f"custom_{self.entity.lower()}"


class PersonalInformationConfig(ScannerConfig):
    """Settings of the personal information scanner (``action``/``threshold`` are the defaults per entity)."""

    action: Literal["block", "flag", "redact"] = "redact"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    timeout_s: float | None = Field(default=10.0, gt=0)
    entities: list[str] | None = Field(
        default=None, description="entity kinds to look for; None = every supported one but DATE_TIME, URL and NRP"
    )
    thresholds: dict[str, float] = Field(default_factory=dict, description="per-entity score thresholds")
    actions: dict[str, EntityAction] = Field(default_factory=dict, description="per-entity actions")
    language: str = "en"
    nlp_engine: NlpEngineName = "pattern"
    spacy_model: str | None = Field(default=None, description="installed spaCy package name or path (nlp_engine=spacy)")
    recognizers: list[CustomRecognizer] = Field(default_factory=list)
    mask_char: str = Field(default="*", min_length=1, max_length=1)
    mask_keep_last: int = Field(default=4, ge=0, description="characters left visible at the end of a masked value")
    hash_salt_env: str = Field(
        default=HASH_SALT_ENV,
        description="environment variable holding the salt for `hash` (policies name it, never contain it)",
    )

    @field_validator("entities")
    @classmethod
    def _upper_entities(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [name.upper() for name in value]
        bad = [name for name in names if not _ENTITY_NAME.match(name)]
        if bad:
            raise ValueError(f"bad entity names: {bad}")
        return names

    @field_validator("thresholds", "actions")
    @classmethod
    def _upper_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        return {key.upper(): item for key, item in value.items()}

    @field_validator("thresholds")
    @classmethod
    def _threshold_range(cls, value: dict[str, float]) -> dict[str, float]:
        for key, item in value.items():
            if not 0.0 <= item <= 1.0:
                raise ValueError(f"threshold for {key} must be between 0 and 1, got {item}")
        return value

    @model_validator(mode="after")
    def _model_for_spacy(self) -> PersonalInformationConfig:
        if self.nlp_engine == "spacy" and not self.spacy_model:
            raise ValueError("nlp_engine 'spacy' needs spacy_model (an installed model package, e.g. en_core_web_sm)")
        return self


# engines: built once per configuration, shared by every scanner instance --------------

_ENGINES: dict[str, Any] = {}
_SPACY_MODELS: dict[tuple[str, str], Any] = {}
_BUILD_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def _engine_key(config: PersonalInformationConfig) -> str:
    return json.dumps(
        {
            "nlp": config.nlp_engine,
            "model": config.spacy_model if config.nlp_engine == "spacy" else None,
            "language": config.language,
            "recognizers": [r.model_dump(mode="json") for r in config.recognizers],
        },
        sort_keys=True,
    )


def _import_presidio() -> Any:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    try:
        import presidio_analyzer
        import spacy  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("personal information scanning", "pii", "presidio-analyzer and spacy") from exc
    return presidio_analyzer


def _load_spacy(name: str, language: str) -> Any:
    import spacy

    key = (name, language)
    with _GUARD:
        cached = _SPACY_MODELS.get(key)
    if cached is not None:
        return cached
    if name == "blank":
        nlp = spacy.blank(language)
    else:
        from pathlib import Path

        if not (spacy.util.is_package(name) or Path(name).exists()):
            raise ConfigurationError(
                f"spaCy model {name!r} is not installed; install its package first "
                f"(e.g. `python -m spacy download {name}` or pip install the model wheel), "
                "or use nlp_engine='pattern'. airisk never downloads models at scan time."
            )
        try:
            nlp = spacy.load(name)
        except OSError as exc:
            raise ConfigurationError(f"spaCy model {name!r} could not be loaded: {exc}") from None
    with _GUARD:
        return _SPACY_MODELS.setdefault(key, nlp)


_ARTIFACT_HELPERS = ("_get_entities", "_get_scores_for_entities", "_get_updated_entities")


def _lemma_fallback_engine(presidio: Any) -> Any:
    """A spaCy NLP engine that uses lower-cased tokens as lemmas when the pipeline has no
    lemmatizer (the blank one), so context words still boost pattern scores."""
    base = presidio.nlp_engine.SpacyNlpEngine

    class _Engine(base):  # type: ignore[misc, valid-type]
        def artifacts_for(self, texts: list[str], language: str) -> Iterator[Any]:
            """NLP artifacts of each text, in order, from one ``nlp.pipe`` pass. presidio's own
            ``process_batch`` also yields each ``doc.text``, re-joined from Token objects (about
            5 % of this scanner's batch time), though the caller holds the texts."""
            for doc in self.nlp[language].pipe(texts, batch_size=64):
                yield self._doc_to_nlp_artifact(doc, language)

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> Any:
            if not all(hasattr(self, name) for name in _ARTIFACT_HELPERS):  # another presidio: the slow way
                for token in doc:
                    if not token.lemma_:
                        token.lemma_ = token.lower_
                return super()._doc_to_nlp_artifact(doc, language)
            # What presidio's own method builds, read from one array instead of three passes of
            # spaCy Token objects (most of this scanner's time); presidio reads lemmas only
            # from the artifact, so the doc's tokens are left as they are.
            from spacy.attrs import IDX, LEMMA, LOWER

            strings = doc.vocab.strings
            rows = doc.to_array([LEMMA, LOWER, IDX]).tolist() if len(doc) else []
            lemmas = [(strings[lemma] if lemma else "") or strings[lower] for lemma, lower, _ in rows]
            entities, scores = self._get_updated_entities(
                self._get_entities(doc), self._get_scores_for_entities(doc)
            )
            return presidio.nlp_engine.NlpArtifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=[row[2] for row in rows],
                lemmas=lemmas,
                nlp_engine=self,
                language=language,
                scores=scores,
            )

    return _Engine


def _token_ends(tokens: Any, starts: list[int]) -> list[int]:
    """Where each token ends: read from one spaCy array for a Doc, else from the tokens' starts
    and lengths as presidio itself reads them."""
    if hasattr(tokens, "to_array"):
        from spacy.attrs import IDX, LENGTH

        return [start + length for start, length in tokens.to_array([IDX, LENGTH]).tolist()] if len(tokens) else []
    return [start + len(token) for start, token in zip(starts, tokens, strict=False)]


def _indexed_context_enhancer(presidio: Any) -> Any:
    """Presidio's lemma context enhancer, except that the token of each match is found by binary
    search instead of a walk from the first token, and context keywords looked up in a set, not
    a list: with thousands of values in one message both were quadratic (a 40,000-character log
    dump spent 20 of its 21 s in the walk)."""
    base = presidio.context_aware_enhancers.LemmaContextAwareEnhancer
    local = threading.local()

    class _Enhancer(base):  # type: ignore[misc, valid-type]
        def _find_index_of_match_token(self, word: str, start: int, tokens: Any, tokens_indices: list[int]) -> int:
            # presidio's answer: the first token that starts at ``start`` or ends after it (ends only
            # grow, as spaCy tokens are never empty)
            if getattr(local, "tokens", None) is not tokens:
                local.tokens, local.ends = tokens, _token_ends(tokens, tokens_indices)
            index = bisect_right(local.ends, start)
            if index < len(local.ends) and (tokens_indices[index] == start or start < local.ends[index]):
                return index
            return int(base._find_index_of_match_token(word, start, tokens, tokens_indices))

        def _add_n_words(
            self, index: int, n_words: int, lemmas: list[str], keywords: list[str], is_backward: bool
        ) -> list[str]:
            # presidio tests ``lemma in keywords`` on the message's whole keyword list for every
            # word near every match; a set answers the same in constant time
            if getattr(local, "keywords", None) is not keywords:
                local.keywords, local.keyword_set = keywords, frozenset(keywords)
            return list(base._add_n_words(index, n_words, lemmas, local.keyword_set, is_backward))

    return _Enhancer()


def _build_engine(config: PersonalInformationConfig) -> Any:
    presidio = _import_presidio()
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry

    model_name = config.spacy_model if config.nlp_engine == "spacy" and config.spacy_model else "blank"
    engine_cls = _lemma_fallback_engine(presidio)
    nlp_engine = engine_cls(models=[{"lang_code": config.language, "model_name": model_name}])
    nlp_engine.nlp = {config.language: _load_spacy(model_name, config.language)}
    registry = RecognizerRegistry(supported_languages=[config.language])
    registry.load_predefined_recognizers(languages=[config.language], nlp_engine=nlp_engine)
    if config.nlp_engine == "pattern":
        registry.remove_recognizer("SpacyRecognizer")
    for custom in config.recognizers:
        patterns = [Pattern(name=custom.display_name, regex=custom.regex, score=custom.score)] if custom.regex else None
        registry.add_recognizer(
            PatternRecognizer(
                supported_entity=custom.entity,
                name=custom.display_name,
                supported_language=config.language,
                patterns=patterns,  # type: ignore[arg-type]
                deny_list=custom.deny,  # type: ignore[arg-type]
                deny_list_score=custom.score,
                context=custom.context or None,  # type: ignore[arg-type]
            )
        )
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[config.language],
        context_aware_enhancer=_indexed_context_enhancer(presidio),
    )


def analyzer_for(config: PersonalInformationConfig) -> Any:
    """The Presidio AnalyzerEngine for a configuration, built once and shared (thread-safe)."""
    key = _engine_key(config)
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    with _GUARD:
        lock = _BUILD_LOCKS.setdefault(key, threading.Lock())
    with lock:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _build_engine(config)
            _ENGINES[key] = engine
    return engine


# the scanner ---------------------------------------------------------------------------


@dataclass
class _Hit:
    entity: str
    start: int
    end: int
    score: float
    detail: dict[str, Any]


def _strength(hit: _Hit) -> tuple[float, int]:
    return hit.score, hit.end - hit.start


def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
    """Drop a hit lying inside a stronger (or equally strong, longer) one: the domain of an
    e-mail address is not a second URL.

    A sweep in text order that compares each hit only with the earlier hits still reaching
    past its start, so a message with thousands of separate values costs n log n, not n²."""
    order = sorted(hits, key=lambda h: (h.start, -(h.end - h.start), -h.score))
    reaching: list[_Hit] = []
    inside: set[int] = set()
    for hit in order:
        reaching = [other for other in reaching if other.end > hit.start]
        if any(other.end >= hit.end and _strength(other) > _strength(hit) for other in reaching):
            inside.add(id(hit))
        reaching.append(hit)
    return [hit for hit in hits if id(hit) not in inside]


class _SpanIndex:
    """Disjoint spans kept in text order, each with its hit: which ones overlap a span is a
    binary search, not a pass over all of them (thousands of values in one message stay cheap)."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._hits: list[_Hit] = []

    def overlapping(self, start: int, end: int) -> list[_Hit]:
        first = bisect_right(self._ends, start)  # disjoint and sorted: the ends are sorted too
        last = first
        while last < len(self._starts) and self._starts[last] < end:
            last += 1
        return self._hits[first:last]

    def hits(self) -> list[_Hit]:
        """Every hit held, in text order."""
        return list(self._hits)

    def add(self, hit: _Hit) -> None:
        """Add a hit overlapping none of the spans held."""
        where = bisect_right(self._starts, hit.start)
        self._starts.insert(where, hit.start)
        self._ends.insert(where, hit.end)
        self._hits.insert(where, hit)

    def remove(self, hit: _Hit) -> None:
        where = bisect_left(self._starts, hit.start)
        while self._hits[where] is not hit:
            where += 1
        del self._starts[where], self._ends[where], self._hits[where]


class PersonalInformation(Scanner):
    """Personal information (Presidio). The default ``pattern`` engine finds structured values
    only (e-mail, phone, card, IBAN, SSN, IP, URL, dates…) and NOT names or places (PERSON,
    LOCATION): set ``nlp_engine='spacy'`` with an installed ``spacy_model`` for those."""

    name: ClassVar[str] = "personal_information"
    Config: ClassVar[type[ScannerConfig]] = PersonalInformationConfig
    inline: ClassVar[bool] = False
    supported_actions: ClassVar[tuple[str, ...]] = ("block", "flag", "redact")
    config: PersonalInformationConfig

    def __init__(self, config: ScannerConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._supported: set[str] | None = None

    # configuration -----------------------------------------------------------------

    @property
    def redacts(self) -> bool:
        """True when any entity's action replaces text (redact, mask or hash)."""
        return self.config.action == "redact" or any(action in _REPLACING for action in self.config.actions.values())

    def action_for(self, entity: str) -> EntityAction:
        return self.config.actions.get(entity, self.config.action)

    def threshold_for(self, entity: str) -> float:
        if entity in self.config.thresholds:
            return self.config.thresholds[entity]
        return DEFAULT_ENTITY_THRESHOLDS.get(entity, self.config.threshold)

    def applies(self, finding: Finding) -> bool:
        return finding.replacement is not None and finding.score >= self.threshold_for(finding.kind)

    def supported_entities(self) -> list[str]:
        """Entity kinds this configuration can find (loads the engine)."""
        return sorted(self._check_entities())

    def warm_up(self) -> None:
        self._check_entities()

    def _check_entities(self) -> set[str]:
        if self._supported is None:
            analyzer = analyzer_for(self.config)
            supported = set(analyzer.get_supported_entities(self.config.language))
            if self.config.nlp_engine == "pattern":
                supported -= {"PERSON", "LOCATION", "ORGANIZATION", "NRP"} - {r.entity for r in self.config.recognizers}
            unknown = sorted(set(self.config.entities or []) - supported)
            if unknown:
                hint = ""
                if self.config.nlp_engine == "pattern" and set(unknown) & {"PERSON", "LOCATION", "ORGANIZATION", "NRP"}:
                    hint = " (names, places and organisations need nlp_engine='spacy' with a spaCy NER model)"
                raise ConfigurationError(
                    f"personal_information cannot detect {', '.join(unknown)}{hint}; "
                    f"supported: {', '.join(sorted(supported))}"
                )
            self._supported = supported
        return self._supported

    def _entities_to_analyze(self) -> list[str]:
        if self.config.entities:
            return sorted(self.config.entities)
        return sorted(self._check_entities() - OPT_IN_ENTITIES)

    # scanning ----------------------------------------------------------------------

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        started = time.perf_counter()
        self._check_entities()
        analyzer = analyzer_for(self.config)
        raw = analyzer.analyze(
            text,
            language=self.config.language,
            entities=self._entities_to_analyze(),
            score_threshold=self._min_threshold(),
            return_decision_process=True,
        )
        return self._result(text, ctx, raw, started)

    def scan_batch(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[ScanResult]:
        """Batch scan: the spaCy pipeline runs once over all texts (``nlp.pipe``)."""
        if len(texts) != len(contexts):
            raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        self._check_entities()
        analyzer = analyzer_for(self.config)
        entities = self._entities_to_analyze()
        artifacts = analyzer.nlp_engine.artifacts_for(list(texts), self.config.language)
        results = []
        for text, nlp_artifacts, ctx in zip(texts, artifacts, contexts, strict=True):
            started = time.perf_counter()
            raw = analyzer.analyze(
                text,
                language=self.config.language,
                entities=entities,
                score_threshold=self._min_threshold(),
                nlp_artifacts=nlp_artifacts,
                return_decision_process=True,
            )
            results.append(self._result(text, ctx, raw, started))
        return results

    def _min_threshold(self) -> float:
        return min([self.config.threshold, *self.config.thresholds.values(), *DEFAULT_ENTITY_THRESHOLDS.values()])

    def _result(self, text: str, ctx: ScanContext, raw: list[Any], started: float) -> ScanResult:
        hits = [self._hit(item) for item in raw]
        hits = [hit for hit in hits if hit.score >= self.threshold_for(hit.entity) and hit.end > hit.start]
        hits = _drop_contained(hits)
        findings = self._findings(text, ctx, hits)
        verdict = Verdict.most_severe(_ACTION_VERDICT[f.detail["action"]] for f in findings)
        replacing = [f for f in findings if f.replacement is not None]
        sanitized = None
        if verdict is Verdict.REDACT:
            from airisk.scanners.base import apply_replacements

            sanitized = apply_replacements(text, replacing)
        return ScanResult(
            scanner=self.name,
            verdict=verdict,
            score=max((f.score for f in findings), default=0.0),
            findings=findings,
            sanitized_text=sanitized,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def _hit(self, item: Any) -> _Hit:
        explanation = item.analysis_explanation
        metadata = item.recognition_metadata or {}
        recognizer = metadata.get("recognizer_name") or (explanation.recognizer if explanation else "unknown")
        detail: dict[str, Any] = {"entity": item.entity_type, "recognizer": recognizer, "score": round(item.score, 4)}
        if explanation is not None:
            if explanation.pattern_name:
                detail["pattern"] = explanation.pattern_name
            detail["original_score"] = round(explanation.original_score, 4)
            context_word = explanation.supportive_context_word
            detail["context_words"] = [context_word] if context_word else []
            if explanation.validation_result is not None:
                detail["validated"] = bool(explanation.validation_result)
        if recognizer == "SpacyRecognizer":
            detail["model"] = self.config.spacy_model
        return _Hit(item.entity_type, item.start, item.end, float(item.score), detail)

    def _findings(self, text: str, ctx: ScanContext, hits: list[_Hit]) -> list[Finding]:
        """Findings in text order. Overlapping replaced spans are merged so no part of a
        detected value survives; the strongest hit names the merged span. A value found
        once is also replaced wherever else it appears as a whole word in the message."""
        if ctx.vault is not None:
            ctx.vault.claim(ctx.conversation_id)
        hits = sorted(hits, key=lambda h: (-h.score, -(h.end - h.start), h.start))
        # replaced hits in the order they were first taken (strongest first), and by position
        rank: dict[int, int] = {}
        spans = _SpanIndex()
        kept: list[_Hit] = []
        for hit in hits:
            if self.action_for(hit.entity) not in _REPLACING:
                kept.append(hit)
                continue
            overlapping = spans.overlapping(hit.start, hit.end)
            if not overlapping:
                rank[id(hit)] = len(rank)
                spans.add(hit)
                continue
            winner = min(overlapping, key=lambda other: rank[id(other)])
            for other in overlapping:
                spans.remove(other)
            winner.start = min(winner.start, hit.start, *(o.start for o in overlapping))
            winner.end = max(winner.end, hit.end, *(o.end for o in overlapping))
            spans.add(winner)
            winner.detail.setdefault("merged", []).append(hit.entity)
        replaced = sorted(spans.hits(), key=lambda h: rank[id(h)])
        replaced.extend(self._repeats(text, replaced, spans))
        local: dict[tuple[str, str], str] = {}
        findings = []
        for hit in sorted([*replaced, *kept], key=lambda h: (h.start, -(h.end - h.start))):
            action = self.action_for(hit.entity)
            detail = hit.detail | {"action": action, "threshold": self.threshold_for(hit.entity)}
            replacement = None
            if action in _REPLACING:
                replacement = self._replacement(action, hit.entity, text[hit.start : hit.end], ctx, local)
            findings.append(
                Finding(
                    kind=hit.entity,
                    start=hit.start,
                    end=hit.end,
                    score=min(1.0, max(0.0, hit.score)),
                    detail=detail,
                    replacement=replacement,
                )
            )
        return findings

    @staticmethod
    def _repeats(text: str, replaced: list[_Hit], taken: _SpanIndex) -> list[_Hit]:
        """Other whole-word occurrences of each replaced value that overlap nothing taken; each
        distinct value is searched once (the first, strongest hit with it names them)."""
        extra: list[_Hit] = []
        searched: set[str] = set()
        for hit in list(replaced):
            value = text[hit.start : hit.end]
            if not value.strip() or value in searched:
                continue
            searched.add(value)
            for match in re.finditer(re.escape(value), text):
                start, end = match.span()
                if taken.overlapping(start, end):
                    continue
                before = text[start - 1] if start else " "
                after = text[end] if end < len(text) else " "
                if before.isalnum() or after.isalnum():
                    continue
                detail = hit.detail | {"repeat_of": [hit.start, hit.end]}
                repeat = _Hit(hit.entity, start, end, hit.score, detail)
                taken.add(repeat)
                extra.append(repeat)
        return extra

    def _replacement(
        self, action: str, entity: str, value: str, ctx: ScanContext, local: dict[tuple[str, str], str]
    ) -> str:
        if action == "mask":
            return self._mask(value)
        if action == "hash":
            digest = hmac.new(self._salt(), f"{entity}\x00{value}".encode(), hashlib.sha256).hexdigest()
            return f"<{entity}#{digest[:16]}>"
        vault = ctx.vault
        if vault is not None:
            if ctx.direction is Direction.INPUT:
                return str(vault.placeholder(entity, value))
            # Output: a value the user gave keeps its placeholder (and is restored for them);
            # a value the model produced gets an unnumbered one that the vault never restores.
            known = vault.find(entity, value)
            return str(known) if known is not None else f"<{entity}>"
        key = (entity, value)
        if key not in local:
            local[key] = f"<{entity}_{sum(1 for kind, _ in local if kind == entity) + 1}>"
        return local[key]

    def _mask(self, value: str) -> str:
        keep = self.config.mask_keep_last
        visible = sum(ch.isalnum() for ch in value)
        if visible <= 2 * keep:
            keep = 0
        out = []
        remaining = visible
        for ch in value:
            if ch.isalnum():
                out.append(ch if remaining <= keep else self.config.mask_char)
                remaining -= 1
            else:
                out.append(ch)
        return "".join(out)

    def _salt(self) -> bytes:
        salt = os.environ.get(self.config.hash_salt_env)
        return salt.encode("utf-8") if salt else _PROCESS_SALT


__all__ = ["CustomRecognizer", "PersonalInformation", "PersonalInformationConfig", "analyzer_for"]
