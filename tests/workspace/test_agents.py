"""Agents: templates, server defaults, group-derived access, credentials as secrets only,
scanner settings layered on company defaults, API keys, files."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from airisk.errors import GuardrailBlocked, InputError
from airisk.store.models import ApiKey, Blob
from airisk.workspace import (
    AgentCreate,
    AgentUpdate,
    GroupCreate,
    InvalidApiKey,
    NotFound,
    PermissionDenied,
)


def test_agent_from_template(world: Any) -> None:
    root, admin = world.root, world.actors["admin"]
    template = root.agents.create_server_agent(
        AgentCreate(
            name="Support template",
            system_prompt="Be kind.",
            engine="echo",
            temperature=0.3,
            max_messages=10,
            scanner_policy={"input": [{"type": "test_keyword", "words": ["x"]}]},
        ),
        kind="template",
    )
    company_template = admin.agents.create(AgentCreate(name="Sales template", max_messages=6), kind="template")
    listed = {a.id for a in admin.agents.templates().data}
    assert {template.id, company_template.id} <= listed
    assert template.id not in {a.id for a in world.other_admin.agents.list(kind=None).data}

    agent = admin.agents.create_from_template(template.id, AgentUpdate(name="Support", temperature=0.1))
    assert agent.kind == "agent" and agent.company_id == world.company_id and agent.template_id == template.id
    assert (agent.system_prompt, agent.temperature, agent.max_messages) == ("Be kind.", 0.1, 10)
    assert agent.scanner_policy == template.scanner_policy
    assert world.other_admin.agents.create_from_template(template.id).company_id == world.other_company_id
    with pytest.raises(NotFound):
        world.other_admin.agents.create_from_template(company_template.id)
    with pytest.raises(InputError):
        admin.agents.create_from_template(world.agent.id)


def test_server_default_agents_are_offered_to_every_company(world: Any) -> None:
    default = world.root.agents.create_server_agent(AgentCreate(name="General assistant"))
    for actor in (world.actors["user"], world.actors["admin"], world.other_admin):
        assert default.id in {a.id for a in actor.agents.available().data}
    conversation = world.other_admin.conversations.open(default.id)
    assert conversation.ask("hi").text == "You said: hi"
    assert world.other_admin.conversations.get(conversation.id).company_id == world.other_company_id
    with pytest.raises(PermissionDenied):
        world.actors["admin"].agents.update(default.id, AgentUpdate(name="mine now"))


def test_group_derived_agent_access(world: Any) -> None:
    admin, ws = world.actors["admin"], world.ws
    member = world.new_user("user")
    as_member = ws.as_actor(member)
    research = admin.agents.create(AgentCreate(name="Research"))
    assert research.id not in {a.id for a in as_member.agents.available().data}
    with pytest.raises(NotFound):
        as_member.conversations.open(research.id)

    group = admin.groups.create(GroupCreate(name="Analysts"))
    admin.groups.add_member(group.id, member.id)
    admin.groups.add_agent(group.id, research.id)
    assert admin.groups.get(group.id).member_ids == [member.id]
    assert research.id in {a.id for a in as_member.agents.available().data}
    assert as_member.agents.get(research.id).name == "Research"
    as_member.conversations.open(research.id).ask("hello")

    admin.groups.remove_member(group.id, member.id)
    assert research.id not in {a.id for a in as_member.agents.available().data}
    admin.groups.add_member(group.id, member.id)
    admin.groups.remove_agent(group.id, research.id)
    with pytest.raises(NotFound):
        as_member.conversations.open(research.id)
    admin.groups.add_agent(group.id, research.id)
    admin.groups.delete(group.id)
    with pytest.raises(NotFound):
        as_member.agents.get(research.id)


def test_credentials_only_as_secret_references(world: Any) -> None:
    admin = world.actors["admin"]
    with pytest.raises(InputError, match="credential"):
        admin.agents.create(AgentCreate(name="leaky", engine="openai", engine_settings={"api_key": "sk-plain"}))
    with pytest.raises(InputError, match="does not exist"):
        admin.agents.create(AgentCreate(name="dangling", engine="openai", engine_settings={"api_key": "secret:NOPE"}))
    with pytest.raises(InputError, match="credential"):
        admin.agents.create(
            AgentCreate(name="aws", engine="bedrock", engine_settings={"aws": {"aws_secret_access_key": "plain"}})
        )
    with pytest.raises(InputError, match="env: references"):
        admin.agents.create(AgentCreate(name="env", engine="openai", engine_settings={"api_key": "env:OPENAI_API_KEY"}))
    assert admin.agents.create(AgentCreate(name="limits", engine_settings={"max_tokens": 50})).engine_settings == {
        "max_tokens": 50
    }
    with pytest.raises(InputError, match="unknown engine"):
        admin.agents.create(AgentCreate(name="odd", engine="nonesuch"))
    admin.secrets.create("OPENAI_KEY", "sk-test-123")
    agent = admin.agents.create(
        AgentCreate(
            name="ok", engine="openai", engine_settings={"model": "gpt-4o-mini", "api_key": "secret:OPENAI_KEY"}
        )
    )
    assert agent.engine_settings["api_key"] == "secret:OPENAI_KEY"


@pytest.mark.parametrize(
    ("setting", "credential"),
    [
        ("api_key", True),
        ("apiKey", True),
        ("aws_session_token", True),
        ("aws_access_key_id", True),
        ("client_secret", True),
        ("password", True),
        ("credentials", True),
        ("max_tokens", False),
        ("max_output_tokens", False),
        ("model", False),
        ("base_url", False),
        ("temperature", False),
    ],
)
def test_credential_names(setting: str, credential: bool) -> None:
    from airisk.workspace.agents import looks_like_credential

    assert looks_like_credential(setting) is credential


def test_engine_receives_resolved_secrets_and_provider_settings(world: Any) -> None:
    from airisk.providers.echo import Echo

    received: list[dict[str, Any]] = []

    def factory(name: str, settings: dict[str, Any]) -> Any:
        received.append(settings)
        return Echo(prefix=settings["prefix"])

    world.ws.engine_factory = factory
    admin = world.actors["admin"]
    admin.secrets.create("GREETING", "Secretly: ")
    admin.companies.set_provider_settings("echo", {"prefix": "company: ", "api_key": "company-wide-credential"})
    assert admin.companies.provider_settings()[0].keys == ["api_key", "prefix"]
    assert "company-wide-credential" not in repr(admin.companies.provider_settings())
    plain = admin.agents.create(AgentCreate(name="plain"))
    assert admin.conversations.open(plain.id).ask("a").text == "company: a"
    assert received[-1]["api_key"] == "company-wide-credential"
    agent = admin.agents.create(AgentCreate(name="secretive", engine_settings={"prefix": "secret:GREETING"}))
    assert admin.conversations.open(agent.id).ask("b").text == "Secretly: b"


def test_scanner_settings_layer_on_company_defaults(world: Any) -> None:
    admin = world.actors["admin"]
    admin.companies.set_scanner_defaults(
        {"input": [{"type": "test_keyword", "words": ["banana"], "action": "block", "locked": ["action"]}]}
    )
    agent = admin.agents.create(
        AgentCreate(
            name="layered",
            scanner_policy={"input": [{"type": "test_keyword", "action": "flag", "words": ["banana", "cherry"]}]},
        )
    )
    policy = admin.agents.effective_policy(agent.id)
    settings = policy.input[0].settings
    assert settings["action"] == "block" and settings["words"] == ["banana", "cherry"]
    reply = admin.conversations.open(agent.id).ask("one cherry please")
    assert reply.blocked


def test_api_key_hashing_use_and_revocation(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    created = admin.api_keys.create(world.agent.id, name="backend")
    assert created.key.startswith(f"ak_{created.prefix}_") and created.key not in repr(created)
    with ws.store.read() as session:
        row = session.get(ApiKey, created.id)
        assert row is not None
        assert row.key_hash == hashlib.sha256(created.key.encode()).hexdigest()
        assert created.key.split("_", 2)[2] not in row.key_hash + row.prefix
    assert all(not hasattr(k, "key") for k in admin.api_keys.list(world.agent.id).data)
    assert admin.api_keys.list(world.agent.id).data[-1].last_used_at is None

    as_key = ws.as_api_key(created.key)
    conversation = as_key.conversations.open(world.agent.id)
    conversation.ask("hello from a backend")
    assert [c.id for c in as_key.conversations.list().data] == [conversation.id]
    other_agent = admin.agents.create(AgentCreate(name="not for keys"))
    with pytest.raises(NotFound):
        as_key.conversations.open(other_agent.id)
    listed = {k.id: k for k in admin.api_keys.list(world.agent.id).data}
    assert listed[created.id].last_used_at is not None

    with pytest.raises(InvalidApiKey):
        ws.as_api_key(created.key[:-2] + "xx")
    with pytest.raises(InvalidApiKey):
        ws.as_api_key("garbage")
    revoked = admin.api_keys.revoke(created.id)
    assert revoked.revoked_at is not None
    with pytest.raises(InvalidApiKey):
        ws.as_api_key(created.key)
    assert any(e.action == "api_keys.revoke" for e in admin.audit.list().data)


def test_agent_files_are_checked_and_content_addressed(world: Any) -> None:
    ws, admin = world.ws, world.actors["admin"]
    agent = admin.agents.create(
        AgentCreate(name="docs", scanner_policy={"input": [{"type": "file_types", "allow": ["txt", "pdf"]}]})
    )
    content = b"the handbook"
    first = admin.agents.add_file(agent.id, "handbook.txt", content, media_type="text/plain")
    second = admin.agents.add_file(world.agent.id, "copy.txt", content)
    assert first.sha256 == second.sha256 == hashlib.sha256(content).hexdigest()
    assert ws.count(Blob) == 1
    assert admin.agents.read_file(agent.id, first.id) == content
    with pytest.raises(GuardrailBlocked):
        admin.agents.add_file(agent.id, "tool.exe", b"MZ\x90\x00binary")
    assert [f.name for f in admin.agents.files(agent.id).data] == ["handbook.txt"]
    admin.agents.remove_file(agent.id, first.id)
    assert ws.count(Blob) == 1
    admin.agents.remove_file(world.agent.id, second.id)
    assert ws.count(Blob) == 0
    assert world.actors["monitor"].agents.files(agent.id).data == []


def test_update_and_delete_are_audited(world: Any) -> None:
    admin = world.actors["admin"]
    agent = admin.agents.create(AgentCreate(name="temp", temperature=0.5))
    admin.agents.update(agent.id, AgentUpdate(temperature=0.9))
    admin.agents.delete(agent.id)
    events = [e for e in admin.audit.list().data if e.target_id == agent.id]
    assert [e.action for e in events] == ["agents.create", "agents.update", "agents.delete"]
    assert events[1].before["temperature"] == 0.5 and events[1].after["temperature"] == 0.9
    with pytest.raises(NotFound):
        admin.agents.get(agent.id)
