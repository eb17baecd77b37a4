"""The Users API (admin scope): list, create application users, groups, user tokens, delete."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from airisk.oauth import registry
from airisk.oauth.registry import ApplicationUserOut
from airisk.server.auth import Principal, context, require
from airisk.server.routes import ERRORS
from airisk.server.schemas import AppUserCreate, IdIn, UserTokenOut
from airisk.workspace import GroupOut, Page, UserFilter, UserOut

router = APIRouter(tags=["users"], responses=ERRORS)

Limit = Query(default=20, ge=1, le=100)
After = Query(default=None, max_length=2000)


@router.get("/users", response_model=Page[UserOut], summary="List users of the company")
def list_users(
    principal: Principal = Depends(require("admin")),
    limit: int = Limit,
    after: str | None = After,
    role: Literal["admin", "monitor", "compliance", "user"] | None = None,
) -> Page[UserOut]:
    return principal.actor.users.list(UserFilter(role=role), limit=limit, cursor=after)


@router.post(
    "/users", response_model=ApplicationUserOut, status_code=201, summary="Create an application user (a userid)"
)
def create_user(
    body: AppUserCreate, request: Request, principal: Principal = Depends(require("admin"))
) -> ApplicationUserOut:
    return registry.create_app_user(
        context(request).workspace,
        principal.actor,
        userid=body.userid,
        agent_ids=body.agent_ids,
        chat_settings=body.chat_settings,
    )


@router.get("/users/{user_id}", response_model=UserOut, summary="Get a user")
def get_user(user_id: str, principal: Principal = Depends(require("admin"))) -> UserOut:
    return principal.actor.users.get(user_id)


@router.post("/users/{user_id}/groups", response_model=GroupOut, summary="Add a user to a group")
def add_to_group(user_id: str, body: IdIn, principal: Principal = Depends(require("admin"))) -> GroupOut:
    return principal.actor.groups.add_member(body.id, user_id)


@router.post("/users/{user_id}/agents", status_code=204, summary="Allow a user to use an agent")
def assign_agent(user_id: str, body: IdIn, principal: Principal = Depends(require("admin"))) -> Response:
    principal.actor.users.assign_agent(user_id, body.id)
    return Response(status_code=204)


@router.post(
    "/users/{user_id}/token",
    response_model=UserTokenOut,
    summary="Set a user's token (shown once; the user signs in with it at /oauth/authorize)",
)
def set_user_token(user_id: str, request: Request, principal: Principal = Depends(require("admin"))) -> UserTokenOut:
    ws = context(request).workspace
    token = registry.set_user_token(ws, principal.actor, user_id)
    return UserTokenOut(
        user_id=user_id, userid=registry.get_app_user(ws, principal.actor, user_id).userid, user_token=token
    )


@router.delete("/users/{user_id}", status_code=204, summary="Delete a user and revoke their tokens")
def delete_user(user_id: str, request: Request, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = context(request)
    registry.delete_app_user(ctx.workspace, principal.actor, user_id, ctx.oauth)
    return Response(status_code=204)
