"""Topics: keep conversations away from banned topics, or inside allowed ones.

A topic is a name, a description and a handful of example sentences (a bare name works too:
common names such as "weapons" or "medical advice" come with built-in examples, others are
expanded into short descriptive sentences). A description listing what the topic covers,
separated by commas or semicolons, adds each part as a prototype too. Each message's shared
MiniLM embedding is compared with every topic's prototypes; the similarity is turned into a
score that is 0.5 exactly at the topic's calibrated similarity threshold, so the scanner's
``threshold`` (0.5) keeps its meaning. When allowed topics are given, a banned topic matches
only if the message is closer to it than to every allowed topic (contrast sharpens the line
between neighbouring topics). Findings say which topic matched, how closely, and the nearest
example.
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
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airisk.errors import ConfigurationError
from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult, Verdict

if TYPE_CHECKING:
    import numpy as np

#: similarity (cosine, MiniLM) at which a message counts as on a topic given by examples;
#: tuned on the CLINC150 train split, evaluated on its val split (docs/scanners/topics.md)
EXAMPLE_THRESHOLD = 0.35
#: the same when allowed topics compete with the banned one (the message must also be closer to it)
CONTRASTIVE_THRESHOLD = 0.22
#: the same for a topic known only by its name (expanded into generic sentences)
NAME_ONLY_THRESHOLD = 0.40
#: how sharply the score rises around the threshold (similarity units per logit)
SCORE_TEMPERATURE = 0.05
#: how many nearest examples are averaged into a topic's similarity
TOP_K = 2

_NAME_TEMPLATES = (
    "{name}",
    "a question about {name}",
    "tell me about {name}",
    "I need help with {name}",
    "let's talk about {name}",
)


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

    def similarity_threshold(self, *, contrastive: bool = False) -> float:
        """The calibrated similarity at which a message is on this topic."""
        if self.threshold is not None:
            return self.threshold
        if not self.examples and not self.description.strip():
            return NAME_ONLY_THRESHOLD
        return CONTRASTIVE_THRESHOLD if contrastive else EXAMPLE_THRESHOLD


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
    """Embeddings of every topic's sentences, grouped per topic."""

    def __init__(self, topics: Sequence[Topic], *, contrastive: bool = False) -> None:
        import numpy as np

        from airisk.models.encoder import get_encoder

        self.topics = list(topics)
        self.sentences = [topic.sentences() for topic in self.topics]
        flat = [sentence for sentences in self.sentences for sentence in sentences]
        matrix = np.asarray(get_encoder().encode(flat), dtype=np.float32) if flat else np.zeros((0, 384), np.float32)
        self.matrix = matrix
        self.owner = np.repeat(np.arange(len(self.topics)), [len(s) for s in self.sentences])
        self.thresholds = np.asarray(
            [topic.similarity_threshold(contrastive=contrastive) for topic in self.topics], dtype=np.float32
        )

    def similarities(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per message and topic: the similarity (mean of the top-k examples) and the nearest example index."""
        import numpy as np

        sims = np.asarray(embeddings, dtype=np.float32) @ self.matrix.T
        count = sims.shape[0]
        topic_sims = np.zeros((count, len(self.topics)), dtype=np.float32)
        nearest = np.zeros((count, len(self.topics)), dtype=np.int64)
        for index in range(len(self.topics)):
            columns = np.flatnonzero(self.owner == index)
            block = sims[:, columns]
            k = min(TOP_K, block.shape[1])
            top = -np.sort(-block, axis=1)[:, :k]
            topic_sims[:, index] = top.mean(axis=1)
            nearest[:, index] = columns[np.argmax(block, axis=1)]
        return topic_sims, nearest


def _per_text(prototypes: _Prototypes, chunks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Similarities per text: each 256-token window is compared and the closest window counts,
    so a long message that touches a topic in one paragraph is not averaged away."""
    import numpy as np

    owner = np.repeat(np.arange(len(chunks)), [len(c) for c in chunks])
    sims, nearest = prototypes.similarities(np.vstack(chunks))
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
        try:
            super().__init__(config, **settings)
        except ValueError as exc:
            if isinstance(exc, ConfigurationError):
                raise
            raise ConfigurationError(str(exc)) from None
        self.config: TopicsConfig
        self._banned: _Prototypes | None = None
        self._allowed: _Prototypes | None = None
        self._lock = threading.Lock()

    def uses_shared_embedding(self) -> bool:
        return True

    def _prototypes(self) -> tuple[_Prototypes | None, _Prototypes | None]:
        with self._lock:
            if self._banned is None and self.config.banned:
                self._banned = _Prototypes(self.config.banned, contrastive=bool(self.config.allowed))
            if self._allowed is None and self.config.allowed:
                self._allowed = _Prototypes(self.config.allowed)
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
        results = []
        for row, text in enumerate(texts):
            findings: list[Finding] = []
            score = 0.0
            closest_allowed = float(allowed_sims[0][row].max()) if allowed_sims is not None else -1.0
            if banned is not None and banned_sims is not None:
                sims, nearest = banned_sims
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
