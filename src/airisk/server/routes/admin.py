"""Admin API (admin scope): groups, agents, API keys, secrets, audit log and archive."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from airisk.server.auth import Principal, require
from airisk.server.routes import ERRORS
from airisk.server.schemas import ApiKeyIn, ArchiveRunIn, FromTemplate, GroupIn, IdIn, SecretIn
from airisk.workspace import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    ApiKeyCreated,
    ApiKeyOut,
    ArchiveOut,
    ArchiveRun,
    AuditEventOut,
    AuditFilter,
    AuditVerification,
    CompanyOut,
    CompanyUpdate,
    GroupCreate,
    GroupOut,
    Page,
    ProviderSettingsOut,
    SecretOut,
)

router = APIRouter(tags=["admin"], responses=ERRORS)
Admin = Depends(require("admin"))
Limit = Query(default=20, ge=1, le=100)
After = Query(default=None, max_length=2000)


# groups


@router.get("/groups", response_model=Page[GroupOut])
def list_groups(principal: Principal = Admin, limit: int = Limit, after: str | None = After) -> Page[GroupOut]:
    return principal.actor.groups.list(limit=limit, cursor=after)


@router.post("/groups", response_model=GroupOut, status_code=201)
def create_group(body: GroupIn, principal: Principal = Admin) -> GroupOut:
    return principal.actor.groups.create(GroupCreate(name=body.name, description=body.description))


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: str, principal: Principal = Admin) -> Response:
    principal.actor.groups.delete(group_id)
    return Response(status_code=204)


@router.post("/groups/{group_id}/agents", response_model=GroupOut)
def add_group_agent(group_id: str, body: IdIn, principal: Principal = Admin) -> GroupOut:
    return principal.actor.groups.add_agent(group_id, body.id)


# agents


@router.get("/admin/agents", response_model=Page[AgentOut], summary="Every agent of the company")
def list_all_agents(principal: Principal = Admin, limit: int = Limit, after: str | None = After) -> Page[AgentOut]:
    return principal.actor.agents.list(limit=limit, cursor=after)


@router.post("/agents", response_model=AgentOut, status_code=201, summary="Create an agent")
def create_agent(body: AgentCreate, principal: Principal = Admin) -> AgentOut:
    return principal.actor.agents.create(body)


@router.post(
    "/agents/from-template", response_model=AgentOut, status_code=201, summary="Create an agent from a template"
)
def create_from_template(body: FromTemplate, principal: Principal = Admin) -> AgentOut:
    changes = AgentUpdate(name=body.name) if body.name else None
    return principal.actor.agents.create_from_template(body.template_id, changes)


@router.get("/agent-templates", response_model=Page[AgentOut])
def list_templates(principal: Principal = Admin, limit: int = Limit, after: str | None = After) -> Page[AgentOut]:
    return principal.actor.agents.templates(limit=limit, cursor=after)


@router.patch("/agents/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: str, body: AgentUpdate, principal: Principal = Admin) -> AgentOut:
    return principal.actor.agents.update(agent_id, body)


@router.delete("/agents/{agent_id}", status_code=204)
def delete_agent(agent_id: str, principal: Principal = Admin) -> Response:
    principal.actor.agents.delete(agent_id)
    return Response(status_code=204)


# API keys


@router.post(
    "/agents/{agent_id}/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    summary="Create an agent API key (the key is shown once)",
)
def create_api_key(agent_id: str, body: ApiKeyIn, principal: Principal = Admin) -> ApiKeyCreated:
    return principal.actor.api_keys.create(agent_id, name=body.name)


@router.get("/agents/{agent_id}/api-keys", response_model=Page[ApiKeyOut])
def list_api_keys(
    agent_id: str, principal: Principal = Admin, limit: int = Limit, after: str | None = After
) -> Page[ApiKeyOut]:
    return principal.actor.api_keys.list(agent_id, limit=limit, cursor=after)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_api_key(key_id: str, principal: Principal = Admin) -> ApiKeyOut:
    return principal.actor.api_keys.revoke(key_id)


# secrets


@router.get("/secrets", response_model=Page[SecretOut], summary="List secrets (names only)")
def list_secrets(principal: Principal = Admin, limit: int = Limit, after: str | None = After) -> Page[SecretOut]:
    return principal.actor.secrets.list(limit=limit, cursor=after)


@router.post("/secrets", response_model=SecretOut, status_code=201)
def create_secret(body: SecretIn, principal: Principal = Admin) -> SecretOut:
    return principal.actor.secrets.create(body.name, body.value, description=body.description, replace=body.replace)


@router.delete("/secrets/{name}", status_code=204)
def delete_secret(name: str, principal: Principal = Admin) -> Response:
    principal.actor.secrets.delete(name)
    return Response(status_code=204)


# audit and archive


@router.get("/audit", response_model=Page[AuditEventOut], summary="Query the audit log")
def list_audit(
    principal: Principal = Admin,
    limit: int = Limit,
    after: str | None = After,
    action: str | None = Query(default=None, max_length=60),
    target_type: str | None = Query(default=None, max_length=40),
    target_id: str | None = Query(default=None, max_length=40),
) -> Page[AuditEventOut]:
    filters = AuditFilter(action=action, target_type=target_type, target_id=target_id)
    return principal.actor.audit.list(filters, limit=limit, cursor=after)


@router.get("/audit/verify", response_model=AuditVerification, summary="Verify the audit hash chain")
def verify_audit(principal: Principal = Admin) -> AuditVerification:
    return principal.actor.audit.verify()


@router.post("/archive/run", response_model=ArchiveRun, summary="Archive conversations past retention")
def run_archive(body: ArchiveRunIn, principal: Principal = Admin) -> ArchiveRun:
    return principal.actor.archive.run(older_than_days=body.older_than_days, progress=False)


@router.get("/archives", response_model=Page[ArchiveOut])
def list_archives(principal: Principal = Admin, limit: int = Limit, after: str | None = After) -> Page[ArchiveOut]:
    return principal.actor.archive.list(limit=limit, cursor=after)


# company


@router.get("/company", response_model=CompanyOut, summary="The caller's company")
def get_company(principal: Principal = Admin) -> CompanyOut:
    return principal.actor.companies.get()


@router.patch("/company", response_model=CompanyOut, summary="Edit the company (name, storage policy, retention)")
def update_company(body: CompanyUpdate, principal: Principal = Admin) -> CompanyOut:
    return principal.actor.companies.update(body)


@router.get("/company/scanner-defaults", response_model=dict[str, Any], summary="Agent Scanner Defaults (a policy)")
def get_scanner_defaults(principal: Principal = Admin) -> dict[str, Any]:
    return principal.actor.companies.scanner_defaults().to_dict()


@router.put("/company/scanner-defaults", response_model=dict[str, Any], summary="Replace the Agent Scanner Defaults")
def set_scanner_defaults(body: dict[str, Any], principal: Principal = Admin) -> dict[str, Any]:
    return principal.actor.companies.set_scanner_defaults(body).to_dict()


@router.get("/company/providers", response_model=list[ProviderSettingsOut], summary="Engine settings (names only)")
def list_provider_settings(principal: Principal = Admin) -> list[ProviderSettingsOut]:
    return principal.actor.companies.provider_settings()


@router.put(
    "/company/providers/{engine}",
    response_model=ProviderSettingsOut,
    summary="Set an engine's company-wide settings (e.g. its API key; stored encrypted, never shown)",
)
def set_provider_settings(engine: str, body: dict[str, Any], principal: Principal = Admin) -> ProviderSettingsOut:
    return principal.actor.companies.set_provider_settings(engine, body)
