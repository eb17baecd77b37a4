"""``POST /v1/chat/completions``: the OpenAI Chat Completions API where ``model`` names an agent.

Any OpenAI client gets guarded chat: the last user message is the turn (scanned on the
way in, the answer scanned on the way out); earlier user and assistant messages are the
history (earlier user messages are scanned too); client ``system`` messages are ignored
because the agent's own instructions apply. A refused message answers HTTP 400 with an
OpenAI-shaped error whose ``code`` is ``input_blocked`` or ``output_blocked`` and whose
``report`` is the scan report; while streaming, an output block arrives as an ``error``
event before ``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from airisk.errors import InputError
from airisk.server.auth import Principal, context, require
from airisk.server.limits import check_text
from airisk.server.routes import ERRORS
from airisk.types import Message, Reply, ScanReport, StopReason
from airisk.workspace import AgentOut, NotFound

router = APIRouter(tags=["openai-compatible"], responses=ERRORS)

FINISH = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.MAX_TOKENS: "length",
    StopReason.TOOL_CALLS: "tool_calls",
    StopReason.CONTENT_FILTER: "content_filter",
}


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """The OpenAI request; sampling settings are the agent's, so they are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="an agent id or name the caller may use")
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    user: str | None = None


def _text(message: ChatMessageIn) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(str(part.get("text", "")) for part in parts if part.get("type") == "text")


def _resolve_agent(principal: Principal, model: str) -> AgentOut:
    cursor = None
    for _ in range(50):
        page = principal.actor.agents.available(limit=100, cursor=cursor)
        for agent in page.data:
            if model in (agent.id, agent.name):
                return agent
        if not page.has_more:
            break
        cursor = page.next_cursor
    raise NotFound("agent", model)


def _blocked(code: str, report: ScanReport | None, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": "guardrail_blocked",
                "param": None,
                "code": code,
                "report": report.to_dict(include_text=False) if report else None,
            }
        },
        status_code=400,
    )


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.usage.input_tokens,
        "completion_tokens": reply.usage.output_tokens,
        "total_tokens": reply.usage.total_tokens,
    }


def _chunk(completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None) -> str:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n"


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible guarded chat completion (model = agent)",
    responses={
        200: {"description": "a chat.completion object, or chat.completion.chunk events ending in [DONE]"},
        400: {"description": "blocked: error.code input_blocked/output_blocked, error.report the scan report"},
    },
)
def chat_completions(
    body: ChatCompletionRequest, request: Request, principal: Principal = Depends(require("chat"))
) -> Any:
    ctx = context(request)
    last = body.messages[-1]
    if last.role != "user":
        raise InputError("the last message must come from the user")
    text = _text(last)
    check_text(ctx, text)
    agent = _resolve_agent(principal, body.model)
    conversation = principal.actor.conversations.open(agent.id, title=text[:80])
    history = [Message(role=m.role, content=_text(m)) for m in body.messages[:-1] if m.role in ("user", "assistant")]
    for earlier in history:
        if earlier.role == "user":
            earlier_report = conversation.agent.pipeline.scan_input(earlier.text)
            if earlier_report.blocked:
                return _blocked(
                    "input_blocked", earlier_report, "an earlier user message was blocked by the guardrails"
                )
    conversation.history = history
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        reply = conversation.ask(text)
        if reply.blocked:
            report = (
                reply.input_report if reply.blocked_by and reply.blocked_by.value == "input" else reply.output_report
            )
            return _blocked(f"{reply.blocked_by.value if reply.blocked_by else 'input'}_blocked", report, reply.text)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": agent.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": FINISH.get(reply.stop_reason or StopReason.END_TURN, "stop"),
                }
            ],
            "usage": _usage(reply),
        }
    events = conversation.stream(text)
    first = next(events)
    if first.type == "blocked":
        return _blocked("input_blocked", first.report, first.text)
    include_usage = bool((body.stream_options or {}).get("include_usage"))

    def stream() -> Iterator[str]:
        yield _chunk(completion_id, created, agent.name, {"role": "assistant", "content": ""}, None)
        for event in _chain(first, events):
            if event.type == "text":
                yield _chunk(completion_id, created, agent.name, {"content": event.text}, None)
            elif event.type == "blocked":
                report = event.report.to_dict(include_text=False) if event.report else None
                error = {"message": event.text, "type": "guardrail_blocked", "code": "output_blocked", "report": report}
                yield f"data: {json.dumps({'error': error})}\n\n"
            elif event.type == "done" and event.reply is not None and not event.reply.blocked:
                finish = FINISH.get(event.reply.stop_reason or StopReason.END_TURN, "stop")
                yield _chunk(completion_id, created, agent.name, {}, finish)
                if include_usage:
                    usage = {
                        "id": completion_id,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": agent.name,
                        "choices": [],
                        "usage": _usage(event.reply),
                    }
                    yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest
