"""What each vendor's wire looks like, so one set of behaviour tests runs on every engine.

A wire builds the engine against the fake server and scripts vendor-shaped answers: a text
reply, a streamed reply, an error. Vendor-specific request details are checked in each
engine's own test module.
"""

from __future__ import annotations

from typing import Any

from airisk.providers.base import Engine

from .aws_eventstream import event
from .fake_server import Answer, Recorded

FAST_RETRY = {"backoff_base_s": 0.01, "backoff_max_s": 0.02}


class Wire:
    name = "wire"
    key = "sk-test-key-0123456789"
    auth_status = 401

    def engine(self, url: str, **settings: Any) -> Engine:
        raise NotImplementedError

    def text(self, text: str, *, input_tokens: int = 7, output_tokens: int = 3, cached: int = 0) -> Answer:
        raise NotImplementedError

    def stream(self, pieces: list[str], *, input_tokens: int = 7, output_tokens: int = 3) -> Answer:
        raise NotImplementedError

    def error(self, status: int, message: str = "nope", headers: dict[str, str] | None = None) -> Answer:
        raise NotImplementedError

    def user_texts(self, record: Recorded) -> list[str]:
        raise NotImplementedError


class OpenAIWire(Wire):
    name = "openai"

    def engine(self, url: str, **settings: Any) -> Engine:
        from airisk.providers.openai import OpenAI

        return OpenAI(model="gpt-4o-mini", api_key=self.key, base_url=f"{url}/v1", **{**FAST_RETRY, **settings})

    @staticmethod
    def completion(
        message: dict[str, Any], finish: str = "stop", *, input_tokens: int = 7, output_tokens: int = 3, cached: int = 0
    ) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }

    def text(self, text: str, *, input_tokens: int = 7, output_tokens: int = 3, cached: int = 0) -> Answer:
        body = self.completion({"content": text}, input_tokens=input_tokens, output_tokens=output_tokens, cached=cached)
        return Answer(json=body, headers={"x-request-id": "req_123"})

    @staticmethod
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def stream_events(
        self, deltas: list[dict[str, Any]], finish: str, *, input_tokens: int, output_tokens: int
    ) -> Answer:
        events: list[tuple[str | None, Any]] = [(None, self.chunk({"role": "assistant", "content": ""}))]
        events += [(None, self.chunk(delta)) for delta in deltas]
        events.append((None, self.chunk({}, finish)))
        usage = {"prompt_tokens": input_tokens, "completion_tokens": output_tokens, "total_tokens": 0}
        events.append((None, {**self.chunk({}), "choices": [], "usage": usage}))
        events.append((None, "[DONE]"))
        return Answer(sse=events)

    def stream(self, pieces: list[str], *, input_tokens: int = 7, output_tokens: int = 3) -> Answer:
        deltas = [{"content": piece} for piece in pieces]
        return self.stream_events(deltas, "stop", input_tokens=input_tokens, output_tokens=output_tokens)

    def error(self, status: int, message: str = "nope", headers: dict[str, str] | None = None) -> Answer:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
        return Answer(status=status, json=body, headers={"x-request-id": "req_err", **(headers or {})})

    def user_texts(self, record: Recorded) -> list[str]:
        out = []
        for message in record.json["messages"]:
            if message["role"] == "user":
                content = message["content"]
                out.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
        return out


class AzureWire(OpenAIWire):
    name = "azure_openai"

    def engine(self, url: str, **settings: Any) -> Engine:
        from airisk.providers.azure_openai import AzureOpenAI

        options = {"endpoint": url, "deployment": "chat-prod", "api_key": self.key, "api_version": "2024-10-21"}
        return AzureOpenAI(model="gpt-4o", **{**options, **FAST_RETRY, **settings})


class LlamaWire(OpenAIWire):
    name = "llama"

    def engine(self, url: str, **settings: Any) -> Engine:
        from airisk.providers.llama import Llama

        options = {"preset": "meta", "base_url": f"{url}/compat/v1/", "api_key": self.key}
        return Llama(model="Llama-3.3-70B-Instruct", **{**options, **FAST_RETRY, **settings})


class AnthropicWire(Wire):
    name = "anthropic"
    key = "sk-ant-api03-test-0123456789"

    def engine(self, url: str, **settings: Any) -> Engine:
        from airisk.providers.anthropic import Anthropic

        return Anthropic(model="claude-sonnet-5-5", api_key=self.key, base_url=url, **{**FAST_RETRY, **settings})

    @staticmethod
    def message(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
        return {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5-20260901",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 7, "output_tokens": 3, **usage},
        }

    def text(self, text: str, *, input_tokens: int = 7, output_tokens: int = 3, cached: int = 0) -> Answer:
        usage = {"input_tokens": input_tokens - cached, "output_tokens": output_tokens}
        if cached:
            usage["cache_read_input_tokens"] = cached
        body = self.message([{"type": "text", "text": text}], **usage)
        return Answer(json=body, headers={"request-id": "req_ant_1"})

    def stream_events(
        self, blocks: list[list[tuple[str, Any]]], stop: str, *, input_tokens: int, output_tokens: int
    ) -> Answer:
        """``blocks``: per content block, (start block, then deltas) as ready-made dicts."""
        start = self.message([], stop=None, input_tokens=input_tokens, output_tokens=1)  # type: ignore[arg-type]
        events: list[tuple[str | None, Any]] = [("message_start", {"type": "message_start", "message": start})]
        for index, block in enumerate(blocks):
            head, *deltas = block
            started = {"type": "content_block_start", "index": index, "content_block": head}
            events.append(("content_block_start", started))
            events.append(("ping", {"type": "ping"}))
            for delta in deltas:
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return Answer(sse=events)

    def stream(self, pieces: list[str], *, input_tokens: int = 7, output_tokens: int = 3) -> Answer:
        block = [{"type": "text", "text": ""}, *({"type": "text_delta", "text": p} for p in pieces)]
        return self.stream_events([block], "end_turn", input_tokens=input_tokens, output_tokens=output_tokens)

    def error(self, status: int, message: str = "nope", headers: dict[str, str] | None = None) -> Answer:
        kinds = {401: "authentication_error", 429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}
        body = {"type": "error", "error": {"type": kinds.get(status, "invalid_request_error"), "message": message}}
        return Answer(status=status, json=body, headers={"request-id": "req_ant_err", **(headers or {})})

    def user_texts(self, record: Recorded) -> list[str]:
        out = []
        for message in record.json["messages"]:
            if message["role"] == "user":
                content = message["content"]
                if isinstance(content, str):
                    out.append(content)
                else:
                    out.append(" ".join(b.get("text", "") for b in content if b["type"] == "text"))
        return out


class MistralWire(OpenAIWire):
    """Mistral's wire is chat-completions shaped; usage rides on the last streamed chunk."""

    name = "mistral"
    key = "mistral-test-key-0123456789"

    def engine(self, url: str, **settings: Any) -> Engine:
        from airisk.providers.mistral import Mistral

        return Mistral(model="mistral-small-latest", api_key=self.key, server_url=url, **{**FAST_RETRY, **settings})

    def text(self, text: str, *, input_tokens: int = 7, output_tokens: int = 3, cached: int = 0) -> Answer:
        body = self.completion({"content": text}, input_tokens=input_tokens, output_tokens=output_tokens, cached=cached)
        body["model"] = "mistral-small-2503"
        return Answer(json=body)

    def stream_events(
        self, deltas: list[dict[str, Any]], finish: str, *, input_tokens: int, output_tokens: int
    ) -> Answer:
        events: list[tuple[str | None, Any]] = [(None, self.chunk({"role": "assistant", "content": ""}))]
        events += [(None, self.chunk(delta)) for delta in deltas]
        usage = {"prompt_tokens": input_tokens, "completion_tokens": output_tokens, "total_tokens": 0}
        events.append((None, {**self.chunk({"content": ""}, finish), "usage": usage}))
        events.append((None, "[DONE]"))
        return Answer(sse=events)

    def error(self, status: int, message: str = "nope", headers: dict[str, str] | None = None) -> Answer:
        body = {"object": "error", "message": message, "type": "invalid_request", "code": str(status)}
        return Answer(status=status, json=body, headers=headers or {})


class GoogleWire(Wire):
    name = "google"
    key = "AIzaSyTestKey0123456789abcdef"

    def engine(self, url: str, **settings: Any) -> Engine:
        from airisk.providers.google import Google

        return Google(model="gemini-3.5-flash", api_key=self.key, base_url=url, **{**FAST_RETRY, **settings})

    @staticmethod
    def response(
        parts: list[dict[str, Any]],
        finish: str | None = "STOP",
        *,
        input_tokens: int = 7,
        output_tokens: int = 3,
        cached: int = 0,
    ) -> dict[str, Any]:
        usage = {
            "promptTokenCount": input_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": input_tokens + output_tokens,
        }
        if cached:
            usage["cachedContentTokenCount"] = cached
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": "gemini-3.5-flash-001",
            "responseId": "resp-g-1",
        }

    def text(self, text: str, *, input_tokens: int = 7, output_tokens: int = 3, cached: int = 0) -> Answer:
        body = self.response([{"text": text}], input_tokens=input_tokens, output_tokens=output_tokens, cached=cached)
        return Answer(json=body)

    def stream_chunks(self, chunks: list[list[dict[str, Any]]], *, input_tokens: int, output_tokens: int) -> Answer:
        events: list[tuple[str | None, Any]] = []
        for index, parts in enumerate(chunks):
            last = index == len(chunks) - 1
            body = self.response(
                parts, "STOP" if last else None, input_tokens=input_tokens, output_tokens=output_tokens if last else 1
            )
            events.append((None, body))
        return Answer(sse=events)

    def stream(self, pieces: list[str], *, input_tokens: int = 7, output_tokens: int = 3) -> Answer:
        return self.stream_chunks(
            [[{"text": p}] for p in pieces], input_tokens=input_tokens, output_tokens=output_tokens
        )

    def error(self, status: int, message: str = "nope", headers: dict[str, str] | None = None) -> Answer:
        names = {401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
        body = {"error": {"code": status, "message": message, "status": names.get(status, "INVALID_ARGUMENT")}}
        return Answer(status=status, json=body, headers=headers or {})

    def user_texts(self, record: Recorded) -> list[str]:
        return [
            " ".join(p["text"] for p in content["parts"] if "text" in p)
            for content in record.json["contents"]
            if content["role"] == "user"
        ]


class BedrockWire(Wire):
    name = "bedrock"
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTKEY"
    auth_status = 403
    model = "anthropic.claude-sonnet-5-5-v1:0"

    def engine(self, url: str, **settings: Any) -> Engine:
        from airisk.providers.bedrock import Bedrock

        options = {
            "region": "us-east-1",
            "endpoint_url": url,
            "aws_access_key_id": "AKIDTESTEXAMPLE",
            "aws_secret_access_key": self.key,
        }
        return Bedrock(model=self.model, **{**options, **FAST_RETRY, **settings})

    @staticmethod
    def response(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
        tokens = {"inputTokens": 7, "outputTokens": 3, **usage}
        tokens["totalTokens"] = tokens["inputTokens"] + tokens["outputTokens"]
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": tokens,
            "metrics": {"latencyMs": 12},
        }

    def text(self, text: str, *, input_tokens: int = 7, output_tokens: int = 3, cached: int = 0) -> Answer:
        usage = {"inputTokens": input_tokens - cached, "outputTokens": output_tokens}
        if cached:
            usage["cacheReadInputTokens"] = cached
        return Answer(json=self.response([{"text": text}], **usage), headers={"x-amzn-RequestId": "bedrock-req-1"})

    def stream_events(
        self, blocks: list[list[tuple[str, dict[str, Any]]]], stop: str, *, input_tokens: int, output_tokens: int
    ) -> Answer:
        """``blocks``: per content block, a list of (event type, body without contentBlockIndex)."""
        chunks = [event("messageStart", {"role": "assistant"})]
        for index, block in enumerate(blocks):
            for event_type, body in block:
                chunks.append(event(event_type, {**body, "contentBlockIndex": index}))
            chunks.append(event("contentBlockStop", {"contentBlockIndex": index}))
        chunks.append(event("messageStop", {"stopReason": stop}))
        usage = {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        }
        chunks.append(event("metadata", {"usage": usage, "metrics": {"latencyMs": 5}}))
        return Answer(chunks=chunks, content_type="application/vnd.amazon.eventstream")

    def stream(self, pieces: list[str], *, input_tokens: int = 7, output_tokens: int = 3) -> Answer:
        block = [("contentBlockDelta", {"delta": {"text": p}}) for p in pieces]
        return self.stream_events([block], "end_turn", input_tokens=input_tokens, output_tokens=output_tokens)

    def error(self, status: int, message: str = "nope", headers: dict[str, str] | None = None) -> Answer:
        kinds = {
            401: (403, "UnrecognizedClientException"),
            403: (403, "AccessDeniedException"),
            404: (404, "ResourceNotFoundException"),
            400: (400, "ValidationException"),
            429: (429, "ThrottlingException"),
            500: (500, "InternalServerException"),
            503: (503, "ServiceUnavailableException"),
        }
        code, kind = kinds[status]
        error_headers = {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        error_headers["x-amzn-RequestId"] = "bedrock-err-1"
        return Answer(status=code, json={"message": message}, headers={**error_headers, **(headers or {})})

    def user_texts(self, record: Recorded) -> list[str]:
        return [
            " ".join(block["text"] for block in message["content"] if "text" in block)
            for message in record.json["messages"]
            if message["role"] == "user"
        ]


WIRES: list[Wire] = [
    OpenAIWire(),
    AzureWire(),
    LlamaWire(),
    AnthropicWire(),
    MistralWire(),
    GoogleWire(),
    BedrockWire(),
]
