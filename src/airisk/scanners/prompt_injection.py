"""Prompt injection and jailbreak detection, in layers that explain themselves.

1. **Signatures** (``_injection_signatures``): instruction overrides in ten languages,
   prompt-leak requests, chat-template and fake-system delimiters, DAN-style personas —
   run over obfuscation-resistant views (homoglyph/leet skeleton, spaced letters, rot13,
   reversed text) and over decoded base64, hex, URL-encoded and tag-character payloads.
2. **Classifier**: a logistic model over hashed character/word n-grams of the text and the
   shared MiniLM embedding (mean and max of its windows), trained by
   ``training/train_prompt_injection.py``; a long text scores the max over its segments.
   A larger local checkpoint (e.g. DeBERTa or Prompt Guard) may replace it, loaded only
   from a local path.
3. **Context**: an injection split across the last turns, or hidden in attached files or
   in tool results of the current turn, is caught too.

Policy: role-play and personas are legitimate; personas that strip rules, filters or
instructions are jailbreaks. Every finding says which layer fired and why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from airisk.scanners._injection_signatures import Match, scan_text
from airisk.scanners.base import Scanner, ScannerConfig
from airisk.types import Finding, ScanContext, ScanResult

if TYPE_CHECKING:
    import numpy as np

HEAD_ARTIFACT = "prompt-injection-head"
_SPLIT_WINDOW = 2000  # characters of earlier turns read together with the current message
_TEXT_MEDIA = ("text/", "application/json", "application/xml", "application/x-yaml", "application/yaml")


class PromptInjectionConfig(ScannerConfig):
    """Settings of :class:`PromptInjection`."""

    signatures: bool = Field(default=True, description="run the signature layer")
    classifier: bool = Field(default=True, description="run the embedding classifier layer")
    decode_payloads: bool = Field(default=True, description="decode base64/hex/url/rot13 payloads and re-scan them")
    history_turns: int = Field(default=3, ge=0, le=20, description="earlier user turns joined with this one")
    scan_files: bool = Field(default=True, description="scan the text of attached files")
    scan_tool_results: bool = Field(default=True, description="scan tool results of the current turn")
    max_context_chars: int = Field(default=200_000, ge=1000, description="cap on file/tool text scanned per message")
    head_path: str | None = Field(default=None, description="a different .npz head (e.g. a cross-validation fold)")
    engine: Literal["minilm", "local"] = Field(default="minilm", description="classifier engine")
    local_model_path: str | None = Field(
        default=None, description="local transformers or ONNX checkpoint directory for engine='local'"
    )
    local_injection_labels: list[str] = Field(
        default_factory=lambda: ["INJECTION", "JAILBREAK", "LABEL_1", "1", "MALICIOUS", "UNSAFE"],
        description="label names of the local checkpoint that mean an attack (their probabilities are summed)",
    )


@dataclass
class _Source:
    """Text from somewhere other than the message itself (a file or a tool result)."""

    kind: str
    label: str
    text: str


class PromptInjection(Scanner):
    """Detects prompt injections and jailbreaks with signatures, a classifier and conversation context."""

    name: ClassVar[str] = "prompt_injection"
    Config: ClassVar[type[ScannerConfig]] = PromptInjectionConfig
    inline: ClassVar[bool] = False
    supported_actions: ClassVar[tuple[str, ...]] = ("block", "flag")
    config: PromptInjectionConfig

    def __init__(self, config: ScannerConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._lock = threading.Lock()
        self._head: Any = None
        self._local: Any = None

    def uses_shared_embedding(self) -> bool:
        return self.config.classifier and self.config.engine == "minilm"

    # loading -------------------------------------------------------------------------------

    def warm_up(self) -> None:
        if self.config.classifier:
            self._classifier()

    def _classifier(self) -> Any:
        if self._head is None and self._local is None:
            with self._lock:
                if self._head is None and self._local is None:
                    if self.config.engine == "local":
                        from airisk.scanners._local_classifier import LocalClassifier

                        if not self.config.local_model_path:
                            from airisk.errors import ConfigurationError

                            raise ConfigurationError("engine='local' needs local_model_path")
                        self._local = LocalClassifier(self.config.local_model_path, self.config.local_injection_labels)
                    else:
                        from airisk.models.encoder import get_encoder, load_matched_head
                        from airisk.models.heads import load_any_head

                        path = self.config.head_path
                        head = load_matched_head(HEAD_ARTIFACT, path, load_any_head)
                        encoder = get_encoder()
                        trained_on = head.metadata.get("encoder", "minilm-l6-v2")
                        if head.dimension != encoder.dimension or trained_on != "minilm-l6-v2":
                            from airisk.errors import ConfigurationError

                            raise ConfigurationError(
                                f"head {path or HEAD_ARTIFACT} was trained on {trained_on!r} "
                                f"({head.dimension}-d), not the minilm-l6-v2 encoder"
                            )
                        self._head = head
        return self._local if self._local is not None else self._head

    # classifier layer ---------------------------------------------------------------------

    def _head_scores(self, texts: Sequence[str], chunk_sets: Sequence[np.ndarray]) -> list[float]:
        from airisk.models.heads import HybridHead

        head = self._classifier()
        if isinstance(head, HybridHead):
            return head.score(list(texts), list(chunk_sets))
        return [float(head.predict_proba(chunks)[:, 0].max()) if len(chunks) else 0.0 for chunks in chunk_sets]

    def _classify_messages(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[float]:
        model = self._classifier()
        if self._local is not None:
            return [float(score) for score in model.score(list(texts))]
        from airisk.models.encoder import chunk_embeddings_for_many

        return self._head_scores(texts, chunk_embeddings_for_many(texts, contexts))

    def _classify_free_texts(self, texts: list[str], contexts: Sequence[ScanContext]) -> list[float]:
        """Score tool results and files of these messages (their encoding stops once the
        messages' scans are over)."""
        if not texts:
            return []
        model = self._classifier()
        if self._local is not None:
            return [float(score) for score in model.score(texts)]
        from airisk.models.encoder import get_encoder, when_abandoned

        return self._head_scores(texts, get_encoder().encode_chunks_many(texts, stop=when_abandoned(contexts)))

    # context ------------------------------------------------------------------------------

    def _sources(self, ctx: ScanContext) -> list[_Source]:
        sources: list[_Source] = []
        budget = self.config.max_context_chars
        if self.config.scan_tool_results:
            recent = []
            for message in reversed(ctx.history):
                if message.role == "user":
                    break
                if message.role == "tool":
                    recent.append(message)
            for message in reversed(recent):
                text = message.text[:budget]
                if text:
                    sources.append(_Source("tool_result", message.name or message.tool_call_id or "tool", text))
        if self.config.scan_files:
            for attachment in ctx.files:
                text = _file_text(attachment.content, attachment.media_type, budget)
                if text:
                    sources.append(_Source("file", attachment.name, text))
        return sources

    def _split_across_turns(self, text: str, ctx: ScanContext) -> list[tuple[Match, int]]:
        """Signatures that only appear when the last user turns are read together with this one,
        each with where it ends in this message."""
        if not self.config.history_turns or not ctx.history:
            return []
        earlier = [m.text for m in ctx.history if m.role == "user" and m.text][-self.config.history_turns :]
        if not earlier:
            return []
        # a split injection sits at the boundary: the tail of the earlier turns is enough
        joined = "\n".join(earlier)[-_SPLIT_WINDOW:] + "\n" + text
        offset = len(joined) - len(text)
        crossing = []
        for match in scan_text(joined, decode=False):
            if match.start < offset < match.end:
                crossing.append((match, min(len(text), match.end - offset)))
        return crossing

    # scanning -----------------------------------------------------------------------------

    def scan(self, text: str, ctx: ScanContext) -> ScanResult:
        return self.scan_batch([text], [ctx])[0]

    def scan_batch(self, texts: Sequence[str], contexts: Sequence[ScanContext]) -> list[ScanResult]:
        started = time.perf_counter()
        scores: list[float | None] = [None] * len(texts)
        if self.config.classifier:
            scores = list(self._classify_messages(texts, contexts))
        per_message_sources = [self._sources(ctx) for ctx in contexts]
        source_scores: list[float] = []
        if self.config.classifier:
            flat = [source.text for sources in per_message_sources for source in sources]
            source_scores = self._classify_free_texts(flat, contexts)
        results = []
        cursor = 0
        floor = self.config.threshold / 2
        for text, ctx, score, sources in zip(texts, contexts, scores, per_message_sources, strict=True):
            findings = self._signature_findings(text, ctx, sources) if self.config.signatures else []
            overall = max((f.score for f in findings), default=0.0)
            if score is not None:
                overall = max(overall, score)
                if score >= floor:
                    findings.append(_classifier_finding(score, 0, len(text), {"source": "message"}))
            for source in sources:
                if cursor < len(source_scores):
                    source_score = source_scores[cursor]
                    overall = max(overall, source_score)
                    if source_score >= floor:
                        detail = {"source": source.kind, "name": source.label}
                        findings.append(_classifier_finding(source_score, 0, 0, detail))
                    cursor += 1
            findings.sort(key=lambda f: -f.score)
            results.append(self.result(text, findings, score=overall, started=started))
        return results

    def _signature_findings(self, text: str, ctx: ScanContext, sources: list[_Source]) -> list[Finding]:
        findings = [_signature_finding(match, {"source": "message"}) for match in scan_text(
            text, decode=self.config.decode_payloads)]
        for match, end in self._split_across_turns(text, ctx):
            detail = {"source": "conversation", "turns": self.config.history_turns}
            findings.append(_signature_finding(match, detail, span=(0, end)))
        for source in sources:
            for match in scan_text(source.text, decode=self.config.decode_payloads):
                findings.append(_signature_finding(match, {"source": source.kind, "name": source.label}, span=(0, 0)))
        return findings


def _signature_finding(match: Match, detail: dict[str, Any], *, span: tuple[int, int] | None = None) -> Finding:
    start, end = span if span is not None else (match.start, match.end)
    return Finding(
        kind="prompt_injection",
        start=start,
        end=end,
        score=match.score,
        detail={
            "layer": "signature",
            "signature": match.signature,
            "category": match.category,
            "view": match.view,
            "matched": match.matched,
            **detail,
        },
    )


def _classifier_finding(score: float, start: int, end: int, detail: dict[str, Any]) -> Finding:
    return Finding(
        kind="prompt_injection",
        start=start,
        end=end,
        score=min(1.0, max(0.0, score)),
        detail={"layer": "classifier", "classifier_score": round(score, 4), **detail},
    )


def _file_text(content: bytes, media_type: str | None, budget: int) -> str:
    """The text of an attachment if it is text-like (by media type or by decoding cleanly)."""
    if not content:
        return ""
    if media_type and not media_type.startswith(_TEXT_MEDIA):
        return ""
    head = content[: budget * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    if "\x00" in text:
        return ""
    return text[:budget]
