"""Small helpers every adapter uses to map our message format to a vendor's."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from airisk.errors import BadRequestError
from airisk.providers.base import EngineRequest
from airisk.types import ContentPart, Message


def system_text(request: EngineRequest) -> str | None:
    """The request's system prompt plus any system-role messages, for vendors that take it apart."""
    pieces = [request.system] if request.system else []
    pieces.extend(m.text for m in request.messages if m.role == "system" and m.text)
    return "\n\n".join(pieces) if pieces else None


def alternating_turns(
    messages: Sequence[Message], blocks_of: Callable[[Message], list[dict[str, Any]]]
) -> list[tuple[str, list[Message], list[dict[str, Any]]]]:
    """(role, messages, content blocks) per turn, for vendors whose turns must alternate
    user/assistant: system messages are left out (they go in the system prompt), and tool
    results and consecutive same-role messages join one turn."""
    turns: list[tuple[str, list[Message], list[dict[str, Any]]]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1][0] == role:
            turns[-1][1].append(message)
            turns[-1][2].extend(blocks_of(message))
        else:
            turns.append((role, [message], blocks_of(message)))
    return turns


def tool_names_by_id(messages: list[Message]) -> dict[str, str]:
    """Tool call id -> function name, for vendors whose tool results need the name."""
    return {call.id: call.name for message in messages for call in message.tool_calls}


def arguments_object(arguments: str, *, engine: str, model: str) -> dict[str, Any]:
    """A tool call's JSON argument text as a dict (vendors that want objects, not text)."""
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        raise BadRequestError("tool call arguments are not valid JSON", engine=engine, model=model) from None
    if not isinstance(value, dict):
        raise BadRequestError("tool call arguments must be a JSON object", engine=engine, model=model)
    return value


def tool_result_value(text: str) -> dict[str, Any]:
    """A tool result as a JSON object: the parsed result when it is one, else ``{"result": text}``."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def data_url(part: ContentPart) -> str:
    """The part as a URL: its own URL, or a base64 ``data:`` URL of its bytes."""
    if part.url:
        return part.url
    if part.data is None:
        raise ValueError("content part has neither url nor data")
    media_type = part.media_type or "application/octet-stream"
    return f"data:{media_type};base64,{base64.b64encode(part.data).decode('ascii')}"


def unsupported_part(part: ContentPart, *, engine: str, model: str, why: str = "") -> BadRequestError:
    detail = f": {why}" if why else ""
    return BadRequestError(f"{engine} cannot send a {part.type} content part{detail}", engine=engine, model=model)
