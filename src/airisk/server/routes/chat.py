"""The Chat API: agents the caller may use, conversations, turns (JSON or SSE) and files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from airisk.server.auth import Principal, context, require
from airisk.server.limits import check_files, check_text
from airisk.server.routes import ERRORS
from airisk.server.schemas import (
    AskRequest,
    ChatRequest,
    ConversationCreate,
    ConversationDetail,
    FilesIn,
    TurnOut,
    public_reply,
)
from airisk.workspace import AgentOut, ConversationFilter, ConversationOut, FileOut, MessageOut, Page, UserOut

router = APIRouter(tags=["chat"], responses=ERRORS)

Limit = Query(default=20, ge=1, le=100, description="page size (at most 100)")
After = Query(default=None, max_length=2000, description="the `next_cursor` of the previous page")

EXAMPLE_PAGE = {
    "data": [{"id": "cnv_1f0c…", "title": "Why was my card declined?", "message_count": 2}],
    "has_more": True,
    "next_cursor": "eyJsIjoiY29udmVyc2F0aW9ucyIsImsiOlsuLi5dfQ",
}


@router.get("/agents", response_model=Page[AgentOut], summary="List the agents the caller may use")
def list_agents(
    principal: Principal = Depends(require("chat")), limit: int = Limit, after: str | None = After
) -> Page[AgentOut]:
    return principal.actor.agents.available(limit=limit, cursor=after)


@router.get("/agents/{agent_id}", response_model=AgentOut, summary="Get an agent")
def get_agent(agent_id: str, principal: Principal = Depends(require("chat"))) -> AgentOut:
    return principal.actor.agents.get(agent_id)


@router.post("/agents/{agent_id}/ask", response_model=TurnOut, summary="Ask an agent a single question (no history)")
def ask_agent(
    agent_id: str, body: AskRequest, request: Request, principal: Principal = Depends(require("chat"))
) -> TurnOut:
    check_text(context(request), body.text)
    conversation = principal.actor.conversations.open(agent_id, client_ip=body.client_ip, title=body.text[:80])
    return TurnOut(conversation_id=conversation.id, reply=conversation.ask(body.text))


@router.post("/conversations", response_model=ConversationOut, status_code=201, summary="Start a conversation")
def create_conversation(body: ConversationCreate, principal: Principal = Depends(require("chat"))) -> ConversationOut:
    conversation = principal.actor.conversations.open(body.agent_id, client_ip=body.client_ip, title=body.title)
    return principal.actor.conversations.get(conversation.id)


@router.get(
    "/conversations",
    response_model=Page[ConversationOut],
    summary="List conversations (one's own; staff see the company's)",
    responses={200: {"content": {"application/json": {"example": EXAMPLE_PAGE}}}},
)
def list_conversations(
    principal: Principal = Depends(require("chat")),
    limit: int = Limit,
    after: str | None = After,
    agent_id: str | None = Query(default=None, max_length=64),
    user_id: str | None = Query(default=None, max_length=64, description="staff: one user's conversations"),
    blocked_only: bool = False,
    flagged_only: bool = False,
) -> Page[ConversationOut]:
    filters = ConversationFilter(
        agent_id=agent_id, user_id=user_id, blocked_only=blocked_only, flagged_only=flagged_only
    )
    return principal.actor.conversations.list(filters, limit=limit, cursor=after)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    summary="Get a conversation and a page of its messages with their scan reports",
)
def get_conversation(
    conversation_id: str, principal: Principal = Depends(require("chat")), limit: int = Limit, after: str | None = After
) -> ConversationDetail:
    conversations = principal.actor.conversations
    page = conversations.messages(conversation_id, limit=limit, cursor=after)
    return ConversationDetail(
        conversation=conversations.get(conversation_id),
        messages=page.data,
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


@router.delete("/conversations/{conversation_id}", status_code=204, summary="Delete a conversation (admin)")
def delete_conversation(conversation_id: str, principal: Principal = Depends(require("admin"))) -> Response:
    principal.actor.conversations.delete(conversation_id)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, summary="The user the token acts as")
def me(principal: Principal = Depends(require("chat"))) -> UserOut:
    return principal.actor.users.me()


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=Page[MessageOut],
    summary="List a conversation's messages",
)
def list_messages(
    conversation_id: str, principal: Principal = Depends(require("chat")), limit: int = Limit, after: str | None = After
) -> Page[MessageOut]:
    return principal.actor.conversations.messages(conversation_id, limit=limit, cursor=after)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _stream_turn(conversation: Any, text: str, files: list[Any]) -> Iterator[str]:
    from airisk.errors import AiriskError

    try:
        for event in conversation.stream(text, files=files):
            if event.type == "text":
                yield _sse("text", {"text": event.text})
            elif event.type == "blocked":
                report = event.report.to_dict(include_text=False) if event.report else None
                yield _sse("blocked", {"text": event.text, "report": report})
            else:
                reply = public_reply(event.reply).model_dump(mode="json") if event.reply else None
                yield _sse("done", {"conversation_id": conversation.id, "reply": reply})
    except AiriskError as exc:
        yield _sse("error", {"type": type(exc).__name__, "message": str(exc)})


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=TurnOut,
    summary="Chat: one guarded turn in a conversation (JSON, or Server-Sent Events with stream=true)",
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "example": 'event: text\ndata: {"text":"You said"}\n\nevent: done\ndata: {"reply":{}}\n\n',
                }
            },
            "description": "the reply; with `stream: true` (or Accept: text/event-stream) events "
            "`text` (released, already scanned text), `blocked` (with the report) and `done` (the reply)",
        }
    },
)
def chat(
    conversation_id: str, body: ChatRequest, request: Request, principal: Principal = Depends(require("chat"))
) -> Any:
    ctx = context(request)
    check_text(ctx, body.text)
    check_files(ctx, len(body.files))
    files = [file.attachment() for file in body.files]
    conversation = principal.actor.conversations.resume(conversation_id, client_ip=body.client_ip)
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if wants_stream:
        return StreamingResponse(
            _stream_turn(conversation, body.text, files),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    return TurnOut(conversation_id=conversation.id, reply=conversation.ask(body.text, files=files))


@router.post(
    "/conversations/{conversation_id}/files",
    response_model=list[FileOut],
    status_code=201,
    summary="Add files to a conversation (checked by the agent's file scanners)",
)
def add_conversation_files(
    conversation_id: str, body: FilesIn, request: Request, principal: Principal = Depends(require("chat"))
) -> list[FileOut]:
    check_files(context(request), len(body.files))
    conversations = principal.actor.conversations
    live = conversations.resume(conversation_id)
    return [conversations.add_file(live, file.name, file.decoded(), media_type=file.media_type) for file in body.files]


@router.get(
    "/conversations/{conversation_id}/files", response_model=Page[FileOut], summary="List a conversation's files"
)
def list_conversation_files(
    conversation_id: str, principal: Principal = Depends(require("chat")), limit: int = Limit, after: str | None = After
) -> Page[FileOut]:
    return principal.actor.conversations.files(conversation_id, limit=limit, cursor=after)


@router.delete(
    "/conversations/{conversation_id}/files/{file_id}",
    status_code=204,
    summary="Delete a conversation's file (its owner, or an admin)",
)
def delete_conversation_file(
    conversation_id: str, file_id: str, principal: Principal = Depends(require("chat"))
) -> Response:
    principal.actor.conversations.remove_file(conversation_id, file_id)
    return Response(status_code=204)


@router.post(
    "/agents/{agent_id}/files", response_model=list[FileOut], status_code=201, summary="Add files to an agent (admin)"
)
def add_agent_files(
    agent_id: str, body: FilesIn, request: Request, principal: Principal = Depends(require("admin"))
) -> list[FileOut]:
    check_files(context(request), len(body.files))
    return [
        principal.actor.agents.add_file(agent_id, file.name, file.decoded(), media_type=file.media_type)
        for file in body.files
    ]


@router.get("/agents/{agent_id}/files", response_model=Page[FileOut], summary="List an agent's files (staff)")
def list_agent_files(
    agent_id: str, principal: Principal = Depends(require("admin")), limit: int = Limit, after: str | None = After
) -> Page[FileOut]:
    return principal.actor.agents.files(agent_id, limit=limit, cursor=after)


@router.delete("/agents/{agent_id}/files/{file_id}", status_code=204, summary="Delete an agent's file (admin)")
def delete_agent_file(agent_id: str, file_id: str, principal: Principal = Depends(require("admin"))) -> Response:
    principal.actor.agents.remove_file(agent_id, file_id)
    return Response(status_code=204)
