"""Every resource of the REST API through the sync client, against the real server under uvicorn."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from airisk import errors
from airisk.client import (
    APIConflictError,
    APIGuardrailBlocked,
    APINotFoundError,
    APIPermissionDeniedError,
    AsyncClient,
    Client,
    RemoteAgent,
    RemoteConversation,
)
from airisk.types import FileAttachment, Reply, ScanReport, Verdict


def test_agents_conversations_turns_and_messages(deployment: Any) -> None:
    with deployment.client(userid="alice") as client:
        agents = list(client.agents.list())
        assert [a.name for a in agents] == ["helpdesk"]
        agent = client.agents.get(deployment.agent_id)
        assert isinstance(agent, RemoteAgent) and agent.engine == "echo"
        single = agent.ask("hi there")
        assert isinstance(single, Reply) and single.text == "You said: hi there"

        conv = client.conversations.create(agent=agent, title="card question")
        assert isinstance(conv, RemoteConversation)
        reply = conv.ask("hello")
        assert reply.text == "You said: hello" and not reply.blocked
        assert reply.input_report is not None and reply.input_report.verdict is Verdict.PASS
        blocked = conv.ask("something forbidden")
        assert blocked.blocked and blocked.blocked_by is not None and blocked.blocked_by.value == "input"
        assert [f.kind for f in blocked.findings] == ["keyword"]
        flagged = conv.ask("the watchword is out")
        assert flagged.flagged and not flagged.blocked

        events = list(conv.stream("stream me please"))
        assert events[-1].type == "done" and events[-1].reply is not None
        assert "".join(e.text for e in events if e.type == "text") == "You said: stream me please"
        output_blocked = list(conv.stream("say secretword"))
        assert [e.type for e in output_blocked][-2:] == ["blocked", "done"]
        assert output_blocked[-1].reply is not None and output_blocked[-1].reply.blocked_by is not None
        assert output_blocked[-2].report is not None and output_blocked[-2].report.blocked

        again = client.conversations.get(conv.id)
        assert again.info.message_count == 10 and again.info.blocked_count >= 2
        assert conv.refresh().message_count == 10
        messages = list(conv.messages(limit=3))
        assert [msg.seq for msg in messages] == sorted(msg.seq for msg in messages) and len(messages) == 10
        assert messages[2].report is not None and messages[2].report["verdict"] == "block"
        assert conv.usage.output_tokens > 0
        listed = [c.id for c in client.conversations.list(agent=deployment.agent_id)]
        assert conv.id in listed
        assert [c.id for c in client.conversations.list(blocked_only=True)] == [conv.id]
        assert client.users.me().id == deployment.users["alice"].id
    with deployment.client() as admin:
        alices = [c.id for c in admin.conversations.list(user=deployment.users["alice"].id)]
        assert conv.id in alices and len(alices) == 2  # this one and the agent.ask one-off
        admin.conversations.delete(conv)
        with pytest.raises(errors.NotFoundError):
            admin.conversations.get(conv.id)


def test_conversation_files_are_scanned(deployment: Any) -> None:
    with deployment.client(userid="alice") as client:
        conv = client.agents.get(deployment.agent_id).conversation()
        report = conv.add_file(FileAttachment(name="notes.txt", content=b"hello"))
        assert isinstance(report, ScanReport) and not report.blocked  # the in-process return type
        (added,) = list(conv.files())
        assert added.name == "notes.txt" and added.size == 5
        with pytest.raises(errors.GuardrailBlocked) as refused:
            conv.add_file(FileAttachment(name="tool.exe", content=b"MZ"))
        assert isinstance(refused.value, APIGuardrailBlocked)
        assert refused.value.status in (400, 422) and refused.value.report.blocked
        assert refused.value.request_id
        assert [f.name for f in conv.files()] == ["notes.txt"]
        reply = conv.ask("see attached", files=[FileAttachment(name="more.txt", content=b"x")])
        assert reply.text == "You said: see attached"


def test_scan(deployment: Any, tmp_path: Any) -> None:
    with deployment.client() as client:
        report = client.scan("this is Forbidden")
        assert isinstance(report, ScanReport) and report.blocked
        assert report.findings[0].start == 8 and report.findings[0].end == 17
        out = client.scan("a secretword", direction="output", agent=deployment.agent_id)
        assert out.direction.value == "output" and out.blocked
        path = tmp_path / "x.exe"
        path.write_bytes(b"MZ")
        assert client.scan("ok", files=[path]).blocked
        assert client.health().status == "ok" and client.ready().checks["database"] == "ok"


def test_admin_resources(deployment: Any) -> None:
    with deployment.client() as client:
        created = client.agents.create("billing", system_prompt="Be brief.", scanner_policy={})
        assert created.name == "billing"
        assert client.agents.update(created, description="bills").description == "bills"
        assert {a.name for a in client.agents.list_all()} >= {"helpdesk", "billing"}
        assert isinstance(list(client.agents.templates()), list)

        user = client.users.create("carol", agent_ids=[deployment.agent_id])
        assert user.userid == "carol" and user.agent_ids == [deployment.agent_id]
        assert client.users.get(user.id).id == user.id
        assert user.id in {u.id for u in client.users.list(role="user")}
        group = client.groups.create("support", description="first line")
        assert client.users.add_to_group(user.id, group).member_ids == [user.id]
        assert client.groups.add_agent(group, created).agent_ids == [created.id]
        assert group.id in {g.id for g in client.groups.list()}
        client.users.assign_agent(user, created)
        token = client.users.set_token(user)
        assert token.user_token and "user_token" not in repr(token)
        with pytest.raises(APIConflictError) as duplicate:
            client.users.create("carol")
        assert duplicate.value.status == 409 and deployment.faults.count("POST", "/api/v1/users") == 2

        key = client.api_keys.create(created, name="ci")
        assert key.prefix in key.key and key.key not in repr(key)
        assert [k.id for k in client.api_keys.list(created)] == [key.id]
        with Client(deployment.url, api_key=key.key) as keyed:
            assert keyed.scan("fine").verdict is Verdict.PASS
        assert client.api_keys.revoke(key.id).revoked_at is not None

        files = client.files.add([FileAttachment(name="faq.txt", content=b"Q&A")], agent=created)
        assert [f.name for f in client.files.list(agent=created)] == ["faq.txt"]
        client.files.delete(files[0].id, agent=created)
        assert list(client.files.list(agent=created)) == []

        secret = client.secrets.create("openai", "sk-test-value", description="engine key")
        assert "sk-test-value" not in secret.model_dump_json()
        assert [s.name for s in client.secrets.list()] == ["openai"]
        client.secrets.delete("openai")
        assert list(client.secrets.list()) == []

        events = list(client.audit.list(action="agents.create"))
        assert created.id in {event.target_id for event in events}
        assert client.audit.verify().ok
        run = client.archive.run(older_than_days=0)
        assert run.conversations >= 0
        assert isinstance(list(client.archive.list()), list)

        company = client.company.get()
        assert company.id == deployment.company_id
        assert client.company.update(retention_days=30).retention_days == 30
        defaults = {"version": 1, "input": [{"type": "client_test_keyword", "words": ["banned"], "action": "block"}]}
        client.company.set_scanner_defaults(defaults)
        assert client.company.scanner_defaults()["input"][0]["type"] == "client_test_keyword"
        assert client.scan("a banned word", agent=created).blocked  # company defaults merge under the agent's
        provider = client.company.set_provider("openai", {"api_key": "sk-company-key"})
        assert provider.engine == "openai" and "sk-company-key" not in provider.model_dump_json()
        assert [p.engine for p in client.company.providers()] == ["openai"]

        client.groups.delete(group)
        client.users.delete(user)
        client.agents.delete(created)
        with pytest.raises(errors.NotFoundError) as missing:
            client.agents.update(created.id, description="gone")
        assert isinstance(missing.value, APINotFoundError)
        assert missing.value.status == 404 and missing.value.request_id and missing.value.error_type == "not_found"


def test_errors_carry_status_and_request_id_never_secrets(deployment: Any) -> None:
    with deployment.client(userid="bob") as client:
        with pytest.raises(errors.PermissionDeniedError) as denied:
            client.users.list().data  # noqa: B018 - the call raises
        assert isinstance(denied.value, APIPermissionDeniedError) and denied.value.status == 403
        with pytest.raises(errors.NotFoundError):
            client.conversations.get("cnv_missing")
    with Client(deployment.url, api_key="ark_not-a-real-key", max_retries=0) as anonymous:
        with pytest.raises(errors.AuthenticationError) as refused:
            anonymous.scan("x")
        assert refused.value.status == 401 and "ark_not-a-real-key" not in str(refused.value)
        assert "ark_not-a-real-key" not in repr(anonymous)
    client = Client(deployment.url, client_id=deployment.client_id, client_secret=deployment.client_secret)
    assert deployment.client_secret not in repr(client) and deployment.client_secret not in repr(client.settings)
    assert deployment.client_secret not in repr(client.oauth)
    client.close()


def test_conversation_limit_is_typed(deployment: Any) -> None:
    with deployment.client() as admin:
        short = admin.agents.create("short", max_messages=2, scanner_policy={})
        admin.users.assign_agent(deployment.users["alice"].id, short)
    with deployment.client(userid="alice") as client:
        conv = client.agents.get(short.id).conversation()
        conv.ask("one")
        with pytest.raises(errors.ConversationLimitReached) as limit:
            conv.ask("two")
        assert limit.value.status == 409  # type: ignore[attr-defined]
        with pytest.raises(errors.ConversationLimitReached):
            list(conv.stream("three"))


def _public(cls: type) -> dict[str, list[str]]:
    out = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or not callable(member):
            continue
        out[name] = list(inspect.signature(member).parameters)
    return out


def test_sync_and_async_clients_have_the_same_surface() -> None:
    sync, asynchronous = Client("http://127.0.0.1:9"), AsyncClient("http://127.0.0.1:9")
    assert _public(Client) == _public(AsyncClient)
    namespaces = ("agents", "conversations", "files", "users", "groups", "api_keys", "secrets", "audit", "archive",
                  "company")
    for namespace in namespaces:
        assert _public(type(getattr(sync, namespace))) == _public(type(getattr(asynchronous, namespace))), namespace
    from airisk.client import AsyncRemoteAgent, AsyncRemoteConversation

    assert set(_public(RemoteConversation)) <= set(_public(AsyncRemoteConversation))
    assert set(_public(RemoteAgent)) <= set(_public(AsyncRemoteAgent))
    sync.close()


def test_deleting_conversation_files(deployment: Any) -> None:
    with deployment.client(userid="alice") as alice, deployment.client(userid="bob") as bob:
        conv = alice.conversations.create(agent=deployment.agent_id)
        kept, dropped = alice.files.add(
            [FileAttachment(name="keep.txt", content=b"k"), FileAttachment(name="drop.txt", content=b"d")],
            conversation=conv,
        )
        with pytest.raises(APINotFoundError):
            bob.files.delete(dropped, conversation=conv.id)
        conv.delete_file(dropped)
        assert [f.name for f in conv.files()] == ["keep.txt"]
        alice.files.delete(kept.id, conversation=conv)
        assert list(conv.files()) == []
        with pytest.raises(APINotFoundError):
            conv.delete_file(kept.id)
        with pytest.raises(TypeError):
            alice.files.delete(kept.id)
