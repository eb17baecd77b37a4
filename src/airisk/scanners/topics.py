"""Topics: keep conversations away from banned topics, or inside allowed ones.

A topic is a name, a description and a handful of example sentences (a bare name works too:
common names such as "weapons" or "medical advice" come with built-in examples, others are
expanded into short descriptive sentences). A description listing what the topic covers,
separated by commas or semicolons, adds each part as a prototype too. Each message's shared
MiniLM embedding is compared with every topic's prototypes (a blend of the two nearest ones
and the topic's centroid); the similarity is turned into a score that is 0.5 exactly at the
topic's threshold, so the scanner's ``threshold`` (0.5) keeps its meaning. A topic's threshold
is calibrated from how close its own examples are to each other (a tight topic needs a closer
match than a broad one). When allowed topics are given, a banned topic matches only if the
message is closer to it than to every allowed topic (contrast sharpens the line between
neighbouring topics), and words a message shares with only some topics' sentences add a small
bonus to those topics. Findings say which topic matched, how closely, and the nearest example.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult, Verdict

if TYPE_CHECKING:
    import numpy as np

# Every constant below was tuned on the CLINC150 *train* split and evaluated on its val split
# (training/topics_clinc.py, docs/scanners/topics.md), with the default (int8) encoder; the
# fp32 encoder's tune picks the same values except CONTRASTIVE_OFFSET (-0.03).

#: similarity (MiniLM, blended as below) at which a message counts as on a topic given by
#: examples, when the topic has too few sentences to calibrate its own threshold
EXAMPLE_THRESHOLD = 0.35
#: a topic's own threshold = SPREAD_SLOPE * spread + SPREAD_OFFSET, where spread is the mean
#: similarity of each of its examples to its two nearest other sentences (leave one out)
SPREAD_SLOPE = 0.4
SPREAD_OFFSET = 0.21
#: the same when allowed topics compete with the banned one (the message must also be closer to
#: it): CONTRASTIVE_SLOPE * spread + CONTRASTIVE_OFFSET, or CONTRASTIVE_THRESHOLD without a spread
CONTRASTIVE_SLOPE = 0.6
CONTRASTIVE_OFFSET = -0.02
CONTRASTIVE_THRESHOLD = 0.22
#: an allowed topic's threshold for ``flag_off_topic`` (a message on none of them is off topic):
#: ALLOWED_SLOPE * spread + ALLOWED_OFFSET. Lower than a banned topic's: with 10 examples per
#: topic the banned rule left a quarter of in-scope CLINC150 queries "on no topic".
ALLOWED_SLOPE = 0.2
ALLOWED_OFFSET = 0.09
#: the same for a topic known only by its name (expanded into generic sentences)
NAME_ONLY_THRESHOLD = 0.40
#: how sharply the score rises around the threshold (similarity units per logit)
SCORE_TEMPERATURE = 0.05
#: how many nearest examples are averaged into a topic's similarity
TOP_K = 2
#: weight of the mean of the top-k nearest prototypes; the rest goes to the topic's centroid
NEAREST_WEIGHT = 0.7
#: with allowed topics: mixed prototypes come from at most this many examples per topic (pairs)
MAX_MIXED_EXAMPLES = 16
#: with allowed topics: weight of the shared-words bonus (idf-weighted word overlap)
KEYWORD_WEIGHT = 0.02
#: words that say nothing about a topic (the keyword bonus ignores them)
_STOP_WORDS_TEXT = (
    "a an the i me my you your to of in on for and or is are be do does can could would will what how"
    " when where who which it this that with at from by about please tell much many any some there have"
    " has get"
)
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_WORD = re.compile(r"[a-z0-9]+")

_NAME_TEMPLATES = (
    "{name}",
    "a question about {name}",
    "tell me about {name}",
    "I need help with {name}",
    "let's talk about {name}",
)


#: what a topic's threshold is for: a banned topic on its own, a banned topic that must also
#: beat every allowed topic (contrast does most of the work, so it is lower), or an allowed
#: topic when looking for off-topic messages
TopicRole = Literal["banned", "banned_with_allowed", "allowed"]


class Topic(BaseModel):
    """One topic: what it is called, what it covers, and sentences that are on it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0, description="similarity threshold override")

    def sentences(self) -> list[str]:
        """What the topic's embedding prototypes are made of: examples, the description and its parts."""
        sentences = [example for example in self.examples if example.strip()]
        description = self.description.strip()
        if description:
            sentences.append(description)
            parts = [part.strip(" .") for part in re.split(r"[;,\n]", description)]
            sentences.extend(part for part in parts if part and part != description and len(parts) > 1)
        if not sentences:
            sentences = [template.format(name=self.name) for template in _NAME_TEMPLATES]
        return sentences

    def similarity_threshold(self, role: TopicRole = "banned", *, spread: float | None = None) -> float:
        """The calibrated similarity at which a message is on this topic, in the given role.

        ``spread`` (how close the topic's examples are to each other, see ``_Prototypes``) sets
        the threshold: a tight topic needs a closer match than a broad one. Below three sentences
        there is no spread and a fixed threshold applies.
        """
        if role not in get_args(TopicRole):
            raise ValueError(f"unknown topic role {role!r}: one of {', '.join(get_args(TopicRole))}")
        if self.threshold is not None:
            return self.threshold
        if not self.examples and not self.description.strip():
            return NAME_ONLY_THRESHOLD
        if role == "banned_with_allowed":
            return CONTRASTIVE_THRESHOLD if spread is None else CONTRASTIVE_SLOPE * spread + CONTRASTIVE_OFFSET
        if spread is None:
            return EXAMPLE_THRESHOLD
        if role == "allowed":
            return ALLOWED_SLOPE * spread + ALLOWED_OFFSET
        return SPREAD_SLOPE * spread + SPREAD_OFFSET


@lru_cache(maxsize=1)
def builtin_topics() -> dict[str, Topic]:
    """Topics that a bare name expands to (weapons, medical advice, politics…)."""
    raw = json.loads(resources.files("airisk.scanners").joinpath("data/topics_builtin.json").read_text("utf-8"))
    return {name: Topic(name=name, **spec) for name, spec in raw.items()}


def as_topic(value: Topic | str | dict[str, Any]) -> Topic:
    """A topic from a name, a dict or a Topic; known names get their built-in examples."""
    if isinstance(value, Topic):
        return value
    if isinstance(value, dict):
        return Topic.model_validate(value)
    name = value.strip()
    known = builtin_topics().get(name.lower())
    return known.model_copy(update={"name": name}) if known is not None else Topic(name=name)


class TopicsConfig(ScannerConfig):
    banned: list[Topic] = Field(default_factory=list, description="messages on any of these topics are caught")
    allowed: list[Topic] = Field(default_factory=list, description="topics that are fine; they sharpen banned ones")
    flag_off_topic: bool = Field(default=True, description="with allowed topics: catch messages on none of them")
    timeout_s: float | None = Field(default=5.0, gt=0)

    @field_validator("banned", "allowed", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if isinstance(value, (str, Topic, dict)):
            value = [value]
        if isinstance(value, (list, tuple)):
            return [as_topic(item) if isinstance(item, (str, Topic)) else item for item in value]
        return value

    @model_validator(mode="after")
    def _something_to_check(self) -> TopicsConfig:
        if not self.banned and not self.allowed:
            raise ValueError("Topics needs at least one banned or allowed topic")
        names = [topic.name for topic in [*self.banned, *self.allowed]]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"topic names must be unique: {', '.join(duplicates)}")
        return self


class _Prototypes:
    """Embeddings of every topic's sentences, grouped per topic, with each topic's centroid and spread."""

    def __init__(self, topics: Sequence[Topic], *, role: TopicRole = "banned", augment: bool = False) -> None:
        import numpy as np

        from airisk.models.encoder import get_encoder

        self.topics = list(topics)
        self.sentences = [topic.sentences() for topic in self.topics]
        flat = [sentence for sentences in self.sentences for sentence in sentences]
        matrix = np.asarray(get_encoder().encode(flat), dtype=np.float32) if flat else np.zeros((0, 384), np.float32)
        self.matrix = matrix
        self.owner = np.repeat(np.arange(len(self.topics)), [len(s) for s in self.sentences])
        self.columns = [np.flatnonzero(self.owner == index) for index in range(len(self.topics))]
        centroids = np.stack([matrix[columns].mean(axis=0) for columns in self.columns])
        self.centroids = (centroids / np.linalg.norm(centroids, axis=1, keepdims=True)).astype(np.float32)
        self.spreads = [self._spread(index) for index in range(len(self.topics))]
        self.thresholds = np.asarray(
            [
                topic.similarity_threshold(role, spread=spread)
                for topic, spread in zip(self.topics, self.spreads, strict=True)
            ],
            dtype=np.float32,
        )
        #: columns of the topic's own sentences (the nearest example is always one of them)
        self.sentence_columns = self.columns
        if augment:
            self._augment()
        self._index()

    def _augment(self) -> None:
        """Add mixed prototypes: each description part blended with the topic's example centroid
        (a sub-topic no example covers, phrased like the examples) and the midpoint of every pair
        of examples (at most the first ``MAX_MIXED_EXAMPLES``). Tuned to help when topics compete."""
        import numpy as np

        extra: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        for index, columns in enumerate(self.columns):
            examples = len([example for example in self.topics[index].examples if example.strip()])
            rows = self.matrix[columns]
            example_rows, part_rows = rows[:examples], rows[examples:]
            mixed = []
            if examples and len(part_rows):
                centroid = example_rows.mean(axis=0)
                centroid /= np.linalg.norm(centroid)
                mixed.append(0.5 * part_rows + 0.5 * centroid)
            if examples >= 2:
                first, second = np.triu_indices(min(examples, MAX_MIXED_EXAMPLES), 1)
                mixed.append(example_rows[first] + example_rows[second])
            if mixed:
                block = np.vstack(mixed)
                extra.append(block / np.linalg.norm(block, axis=1, keepdims=True))
                owners.append(np.full(len(block), index))
        if extra:
            self.matrix = np.vstack([self.matrix, *extra]).astype(np.float32)
            self.owner = np.concatenate([self.owner, *owners])
            self.columns = [np.flatnonzero(self.owner == index) for index in range(len(self.topics))]

    def _spread(self, index: int) -> float | None:
        """Mean similarity of each example to its ``TOP_K`` nearest other sentences of the topic
        (leave one out): how far apart on-topic messages can be. None below three sentences."""
        import numpy as np

        columns = self.columns[index]
        if len(columns) < TOP_K + 1:
            return None
        block = self.matrix[columns] @ self.matrix[columns].T
        np.fill_diagonal(block, -np.inf)
        examples = len([example for example in self.topics[index].examples if example.strip()])
        rows = block[:examples] if examples >= 2 else block
        return float((-np.sort(-rows, axis=1)[:, :TOP_K]).mean())

    def _index(self) -> None:
        """Column indices per topic padded to one width (the pad points at a column of -inf), so
        scoring every topic is a handful of array operations whatever the number of topics."""
        import numpy as np

        pad = len(self.matrix)

        def padded(columns: list[np.ndarray]) -> np.ndarray:
            width = max(len(c) for c in columns)
            out = np.full((len(columns), width), pad, dtype=np.int64)
            for row, c in enumerate(columns):
                out[row, : len(c)] = c
            return out

        self._all = padded(self.columns)
        self._own = padded(self.sentence_columns)
        self._counts = np.asarray([min(TOP_K, len(c)) for c in self.columns], dtype=np.float32)

    def similarities(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per message and topic: the similarity (top-k nearest prototypes blended with the
        centroid) and the index of the nearest of the topic's own sentences."""
        import numpy as np

        from airisk.models.heads import product

        embeddings = np.asarray(embeddings, dtype=np.float32)
        sims = product(embeddings, self.matrix.T)
        sims = np.concatenate([sims, np.full((len(sims), 1), -np.inf, dtype=np.float32)], axis=1)
        gathered = sims[:, self._all]  # (messages, topics, widest topic)
        top = -np.sort(-gathered, axis=2)[:, :, :TOP_K]
        top = np.where(np.isfinite(top), top, 0.0).sum(axis=2) / self._counts
        own = sims[:, self._own]
        nearest = np.take_along_axis(self._own[None, :, :], np.argmax(own, axis=2)[:, :, None], axis=2)[:, :, 0]
        blended = NEAREST_WEIGHT * top + (1.0 - NEAREST_WEIGHT) * product(embeddings, self.centroids.T)
        return blended.astype(np.float32), nearest


def _words(text: str) -> set[str]:
    """Content words of a text, lower-cased, with a plural ``s`` dropped from longer words."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOP_WORDS or len(word) < 2:
            continue
        words.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return words


class _Keywords:
    """Words each topic's sentences use, weighted by how few topics use them (idf over topics):
    a message sharing "pto" or "mortgage" with one topic's sentences leans towards that topic."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.words = [set().union(*(_words(s) for s in topic.sentences())) for topic in topics]
        counts: dict[str, int] = {}
        for words in self.words:
            for word in words:
                counts[word] = counts.get(word, 0) + 1
        self.idf = {word: math.log((len(topics) + 1) / (count + 0.5)) for word, count in counts.items()}

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Per text and topic: summed idf of the shared words over the square root of the text's word count."""
        import numpy as np

        out = np.zeros((len(texts), len(self.words)), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _words(text)
            if not words:
                continue
            scale = 1.0 / math.sqrt(len(words))
            for index, topic_words in enumerate(self.words):
                out[row, index] = scale * sum(self.idf[word] for word in words & topic_words)
        return out


def _per_text(prototypes: _Prototypes, chunks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Similarities per text: each 256-token window is compared and the closest window counts,
    so a long message that touches a topic in one paragraph is not averaged away."""
    import numpy as np

    owner = np.repeat(np.arange(len(chunks)), [len(c) for c in chunks])
    sims, nearest = prototypes.similarities(np.vstack(chunks))
    if len(owner) == len(chunks):  # one window per text: nothing to pick
        return sims, nearest
    best_sims = np.full((len(chunks), sims.shape[1]), -np.inf, dtype=np.float32)
    best_nearest = np.zeros((len(chunks), sims.shape[1]), dtype=np.int64)
    for row, text_index in enumerate(owner):
        better = sims[row] > best_sims[text_index]
        best_sims[text_index, better] = sims[row, better]
        best_nearest[text_index, better] = nearest[row, better]
    return best_sims, best_nearest


def similarity_score(similarity: float, threshold: float) -> float:
    """Map a similarity to [0, 1] so that the topic's threshold lands on 0.5."""
    return 1.0 / (1.0 + math.exp(-(similarity - threshold) / SCORE_TEMPERATURE))


class Topics(Scanner):
    """Catches messages on banned topics, or off all allowed topics, and says which and how close."""

    name: ClassVar[str] = "topics"
    Config: ClassVar[type[ScannerConfig]] = TopicsConfig
    inline: ClassVar[bool] = False
    supported_actions: ClassVar[tuple[str, ...]] = ("block", "flag")

    def __init__(self, config: TopicsConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.config: TopicsConfig
        self._banned: _Prototypes | None = None
        self._allowed: _Prototypes | None = None
        self._keywords: _Keywords | None = None
        self._lock = threading.Lock()

    def uses_shared_embedding(self) -> bool:
        return True

    def _prototypes(self) -> tuple[_Prototypes | None, _Prototypes | None]:
        with self._lock:
            if self._banned is None and self.config.banned:
                contrastive = bool(self.config.allowed)
                role: TopicRole = "banned_with_allowed" if contrastive else "banned"
                self._banned = _Prototypes(self.config.banned, role=role, augment=contrastive)
            if self._allowed is None and self.config.allowed:
                self._allowed = _Prototypes(self.config.allowed, role="allowed", augment=bool(self.config.banned))
            if self._keywords is None and self.config.banned and self.config.allowed:
                self._keywords = _Keywords([*self.config.banned, *self.config.allowed])
            return self._banned, self._allowed

    def warm_up(self) -> None:
        self._prototypes()

    def topic_similarities(self, text: str, ctx: ScanContext | None = None) -> dict[str, float]:
        """Cosine similarity of a text to every topic (banned and allowed), for tuning thresholds."""
        from airisk.models.encoder import chunk_embeddings_for

        chunks = [chunk_embeddings_for(text, ctx or ScanContext())]
        out: dict[str, float] = {}
        for prototypes in self._prototypes():
            if prototypes is not None:
                sims, _ = _per_text(prototypes, chunks)
                out.update({topic.name: float(sims[0, i]) for i, topic in enumerate(prototypes.topics)})
        return out

    def _results(self, texts: Sequence[str], chunks: Sequence[np.ndarray], started: float) -> list[ScanResult]:
        banned, allowed = self._prototypes()
        banned_sims = _per_text(banned, chunks) if banned is not None else None
        allowed_sims = _per_text(allowed, chunks) if allowed is not None else None
        contrast = None
        if banned_sims is not None and allowed_sims is not None and self._keywords is not None:
            # banned and allowed topics compete: similarity plus the shared-words bonus
            bonus = KEYWORD_WEIGHT * self._keywords.scores(texts)
            count = banned_sims[0].shape[1]
            contrast = (banned_sims[0] + bonus[:, :count], (allowed_sims[0] + bonus[:, count:]).max(axis=1))
        results = []
        for row, text in enumerate(texts):
            findings: list[Finding] = []
            score = 0.0
            closest_allowed = float(contrast[1][row]) if contrast is not None else -1.0
            if banned is not None and banned_sims is not None:
                sims, nearest = (contrast[0], banned_sims[1]) if contrast is not None else banned_sims
                for index, topic in enumerate(banned.topics):
                    similarity = float(sims[row, index])
                    topic_score = similarity_score(similarity, float(banned.thresholds[index]))
                    if similarity <= closest_allowed:
                        topic_score = min(
                            topic_score, similarity_score(similarity - 1.0, float(banned.thresholds[index]))
                        )
                    score = max(score, topic_score)
                    if topic_score >= self.config.threshold:
                        findings.append(
                            self._finding(
                                "topic.banned", text, topic, similarity, topic_score, banned, nearest[row, index]
                            )
                        )
            if allowed is not None and allowed_sims is not None and self.config.flag_off_topic:
                sims, nearest = allowed_sims
                scores = [
                    similarity_score(float(sims[row, i]), float(allowed.thresholds[i]))
                    for i in range(len(allowed.topics))
                ]
                best = max(range(len(scores)), key=scores.__getitem__)
                off_topic = 1.0 - scores[best]
                score = max(score, off_topic)
                if off_topic >= self.config.threshold:
                    finding = self._finding(
                        "topic.off_topic",
                        text,
                        allowed.topics[best],
                        float(sims[row, best]),
                        off_topic,
                        allowed,
                        nearest[row, best],
                    )
                    finding.detail["closest_allowed_topic"] = finding.detail.pop("topic")
                    findings.append(finding)
            findings.sort(key=lambda finding: -finding.score)
            results.append(
                ScanResult(
                    scanner=self.name,
                    verdict=Verdict(self.config.action) if findings else Verdict.PASS,
                    score=score,
                    findings=findings,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                )
            )
        return results

    @staticmethod
    def _finding(
        kind: str, text: str, topic: Topic, similarity: float, score: float, prototypes: _Prototypes, nearest: Any
    ) -> Finding:
        index = int(nearest)
        topic_index = int(prototypes.owner[index])
        offset = sum(len(s) for s in prototypes.sentences[:topic_index])
        threshold = float(prototypes.thresholds[topic_index])
        return Finding(
            kind=kind,
            start=0,
            end=len(text),
            score=score,
            detail={
                "topic": topic.name,
                "similarity": round(similarity, 4),
                "threshold": round(threshold, 4),
                "nearest_example": prototypes.sentences[topic_index][index - offset],
            },
        )

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        from airisk.models.encoder import chunk_embeddings_for

        started = time.perf_counter()
        return self._results([text], [chunk_embeddings_for(text, ctx)], started)[0]

    def scan_batch(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[ScanResult]:
        from airisk.models.encoder import chunk_embeddings_for_many

        if not texts:
            return []
        started = time.perf_counter()
        return self._results(texts, chunk_embeddings_for_many(list(texts), list(contexts)), started)
