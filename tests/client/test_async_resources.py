"""Every resource through the AsyncClient, against the real server under uvicorn."""

from __future__ import annotations

from typing import Any

import pytest

from airisk import errors
from airisk.client import APIConflictError, AsyncClient, AsyncRemoteConversation
from airisk.types import FileAttachment, Reply, ScanReport, Verdict


async def test_async_chat_resources(deployment: Any) -> None:
    async with deployment.async_client(userid="alice") as client:
        agents = [agent async for agent in client.agents.list()]
        assert [a.name for a in agents] == ["helpdesk"]
        agent = await client.agents.get(deployment.agent_id)
        assert isinstance(await agent.ask("hi"), Reply)
        conversation = await client.conversations.create(agent=agent)
        assert isinstance(conversation, AsyncRemoteConversation)
        assert (await conversation.ask("hello")).text == "You said: hello"
        assert (await conversation.ask("forbidden words")).blocked
        events = [event async for event in conversation.stream("stream me")]
        assert "".join(e.text for e in events if e.type == "text") == "You said: stream me"
        report = await conversation.add_file(FileAttachment(name="a.txt", content=b"abc"))
        assert isinstance(report, ScanReport) and not report.blocked
        assert [f.name async for f in conversation.files()] == ["a.txt"]
        with pytest.raises(errors.GuardrailBlocked):
            await conversation.add_file(FileAttachment(name="b.exe", content=b"MZ"))
        messages = [m async for m in conversation.messages(limit=2)]
        assert [m.role for m in messages] == ["user", "assistant"] * 3
        assert (await conversation.refresh()).message_count == 6
        assert (await client.conversations.get(conversation.id)).id == conversation.id
        assert conversation.id in [c.id async for c in client.conversations.list()]
        report = await client.scan("Forbidden!")
        assert isinstance(report, ScanReport) and report.blocked
        assert (await client.health()).status == "ok" and (await client.ready()).status == "ok"
        with pytest.raises(errors.PermissionDeniedError):
            await client.users.list()
        assert (await client.users.me()).id == deployment.users["alice"].id
        assert [c.id async for c in client.conversations.list(flagged_only=True)] == []
    async with deployment.async_client() as admin:
        mine = [c.id async for c in admin.conversations.list(user=deployment.users["alice"].id)]
        assert conversation.id in mine
        await admin.conversations.delete(conversation)
        with pytest.raises(errors.NotFoundError):
            await admin.conversations.get(conversation.id)


async def test_async_admin_resources(deployment: Any) -> None:
    async with deployment.async_client() as client:
        agent = await client.agents.create("billing", scanner_policy={})
        assert (await client.agents.update(agent, description="d")).description == "d"
        assert "billing" in [a.name async for a in client.agents.list_all()]
        assert isinstance([t async for t in client.agents.templates()], list)
        user = await client.users.create("dave", agent_ids=[agent.id])
        with pytest.raises(APIConflictError):
            await client.users.create("dave")
        assert (await client.users.get(user.id)).id == user.id
        assert user.id in [u.id async for u in client.users.list()]
        group = await client.groups.create("ops")
        assert (await client.groups.add_member(group, user)).member_ids == [user.id]
        assert (await client.groups.add_agent(group, agent)).agent_ids == [agent.id]
        assert [g.id async for g in client.groups.list()] == [group.id]
        await client.users.assign_agent(user, deployment.agent_id)
        assert (await client.users.set_token(user)).user_token
        key = await client.api_keys.create(agent, name="k")
        assert [k.id async for k in client.api_keys.list(agent)] == [key.id]
        async with AsyncClient(deployment.url, api_key=key.key) as keyed:
            assert (await keyed.scan("fine")).verdict is Verdict.PASS
        assert (await client.api_keys.revoke(key.id)).revoked_at is not None
        files = await client.files.add(FileAttachment(name="f.txt", content=b"x"), agent=agent)
        assert [f.id async for f in client.files.list(agent=agent)] == [files[0].id]
        await client.files.delete(files[0].id, agent=agent)
        await client.secrets.create("token", "value-1")
        assert [s.name async for s in client.secrets.list()] == ["token"]
        await client.secrets.delete("token")
        assert (await client.audit.verify()).ok
        assert [e.action async for e in client.audit.list(action="groups.create")] == ["groups.create"]
        await client.archive.run(older_than_days=0)
        assert isinstance([a async for a in client.archive.list()], list)
        assert (await client.company.get()).id == deployment.company_id
        assert (await client.company.update(description="async")).description == "async"
        assert isinstance(await client.company.scanner_defaults(), dict)
        await client.company.set_provider("anthropic", {"api_key": "sk-ant-x"})
        assert [p.engine for p in await client.company.providers()] == ["anthropic"]
        await client.groups.delete(group)
        await client.users.delete(user)
        await client.agents.delete(agent)
        with pytest.raises(errors.NotFoundError):
            await client.agents.get("agt_missing")


async def test_async_deleting_conversation_files(deployment: Any) -> None:
    async with deployment.async_client(userid="alice") as client:
        conv = await client.conversations.create(agent=deployment.agent_id)
        await conv.add_file(FileAttachment(name="one.txt", content=b"1"))
        await conv.add_file(FileAttachment(name="two.txt", content=b"2"))
        first, second = [f async for f in conv.files()]
        await conv.delete_file(first)
        assert [f.name async for f in conv.files()] == ["two.txt"]
        await client.files.delete(second.id, conversation=conv.id)
        assert [f.name async for f in conv.files()] == []
