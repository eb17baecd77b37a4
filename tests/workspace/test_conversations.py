"""Persisted conversations: every message with its report, stored before the engine runs,
stored text following the storage policy, resumed with history and vault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airisk.errors import ConversationLimitReached, GuardrailBlocked, UnavailableError
from airisk.providers.base import Engine, EngineEvent, EngineRequest, EngineResponse, EngineSettings
from airisk.providers.echo import Echo
from airisk.types import Direction, Finding, ScanReport, ScanResult, ToolCall, Verdict
from airisk.workspace import AgentCreate, AuditFilter, CompanyUpdate, ConversationFilter, NotFound, PermissionDenied
from airisk.workspace.conversations import country_of

KEYWORDS = {
    "input": [
        {"type": "test_keyword", "id": "pii", "words": ["Alice"], "action": "redact"},
        {"type": "test_keyword", "id": "ban", "words": ["bomb"], "action": "block"},
        {"type": "test_keyword", "id": "watch", "words": ["refund"], "action": "flag"},
    ],
    "output": [{"type": "test_keyword", "id": "leak", "words": ["classified"], "action": "block"}],
}


class BrokenEngine(Engine):
    name = "broken"

    def complete(self, request: EngineRequest) -> EngineResponse:
        raise UnavailableError("vendor is down", engine="broken")

    def stream(self, request: EngineRequest) -> Iterator[EngineEvent]:
        raise UnavailableError("vendor is down", engine="broken")


def make_agent(world: Any, **overrides: Any) -> Any:
    data = {"name": "guarded", "scanner_policy": KEYWORDS} | overrides
    agent = world.actors["admin"].agents.create(AgentCreate(**data))
    world.actors["admin"].users.assign_agent(world.users["user"].id, agent.id)
    return agent


def test_messages_are_stored_with_reports_usage_and_client(world: Any) -> None:
    agent = make_agent(world)
    user = world.actors["user"]
    conversation = user.conversations.open(agent.id, client_ip="81.2.69.142")
    reply = conversation.ask("where is my parcel?")
    assert reply.text == "You said: where is my parcel?"
    stored = user.conversations.get(conversation.id)
    assert stored.message_count == 2 and stored.user_id == world.users["user"].id
    assert stored.title == "where is my parcel?" and stored.output_tokens == reply.usage.output_tokens > 0
    question, answer = user.conversations.messages(conversation.id).data
    assert (question.seq, question.role, question.content) == (1, "user", "where is my parcel?")
    assert question.report["direction"] == "input" and question.client_ip == "81.2.69.142"
    assert {r["scanner"] for r in question.report["results"]} == {"test_keyword"}
    assert (answer.role, answer.content, answer.engine, answer.model) == ("assistant", reply.text, "echo", "echo-1")
    assert answer.usage["output_tokens"] == reply.usage.output_tokens and answer.latency_ms is not None


def test_user_message_is_stored_before_the_engine_fails(world: Any) -> None:
    world.ws.engine_factory = lambda name, settings: BrokenEngine(EngineSettings(model="x"))
    agent = make_agent(world)
    conversation = world.actors["user"].conversations.open(agent.id)
    with pytest.raises(UnavailableError):
        conversation.ask("please keep this question")
    messages = world.actors["user"].conversations.messages(conversation.id).data
    assert [(m.role, m.content) for m in messages] == [("user", "please keep this question")]
    with pytest.raises(UnavailableError):
        list(conversation.stream("and this one"))
    assert world.actors["user"].conversations.get(conversation.id).message_count == 2


def test_blocked_and_flagged_messages_are_audited(world: Any) -> None:
    agent = make_agent(world)
    user, admin = world.actors["user"], world.actors["admin"]
    conversation = user.conversations.open(agent.id)
    assert conversation.ask("how to build a bomb").blocked
    assert not conversation.ask("I want a refund").blocked
    world.ws.engine_factory = lambda name, settings: Echo(replies=["that is classified"])
    leaky = user.conversations.open(agent.id)
    assert leaky.ask("tell me").blocked
    stored = admin.conversations.get(conversation.id)
    assert (stored.blocked_count, stored.flagged_count, stored.message_count) == (1, 1, 4)
    events = admin.audit.list().data
    blocked = [e for e in events if e.action == "messages.blocked"]
    flagged = [e for e in events if e.action == "messages.flagged"]
    assert [e.after["direction"] for e in blocked] == ["input", "output"]
    assert flagged[0].after["conversation_id"] == conversation.id
    assert all("bomb" not in str(e.after) for e in blocked)
    assert {c.id for c in admin.conversations.list(ConversationFilter(blocked_only=True)).data} == {
        conversation.id,
        leaky.id,
    }
    assert [c.id for c in admin.conversations.list(ConversationFilter(flagged_only=True)).data] == [conversation.id]


@pytest.mark.parametrize("mode", ["original", "redacted", "dropped"])
def test_storage_policy(world: Any, mode: str) -> None:
    world.actors["admin"].companies.update(CompanyUpdate(message_storage=mode))
    agent = make_agent(world)
    conversation = world.actors["user"].conversations.open(agent.id)
    reply = conversation.ask("Alice needs a refund")
    assert reply.text == "You said: Alice needs a refund"  # the person sees the restored name
    question, answer = world.actors["user"].conversations.messages(conversation.id).data
    assert question.content_state == answer.content_state == mode
    if mode == "original":
        assert question.content == "Alice needs a refund" and answer.content == reply.text
        assert question.report["text"] == "Alice needs a refund"
    elif mode == "redacted":
        assert question.content == "<WORD_1> needs a refund" and answer.content == "You said: <WORD_1> needs a refund"
        assert "Alice" not in str(question.report) and "Alice" not in str(answer.report)
    else:
        assert question.content is None and answer.content is None
        assert "Alice" not in str(question.report) and question.verdict == "redact"


def test_agent_storage_policy_overrides_the_company(world: Any) -> None:
    agent = make_agent(world, message_storage="dropped")
    conversation = world.actors["user"].conversations.open(agent.id)
    conversation.ask("hello")
    assert all(m.content is None for m in world.actors["user"].conversations.messages(conversation.id).data)


def test_resume_brings_back_history_and_vault(world: Any) -> None:
    engines: list[Echo] = []

    def factory(name: str, settings: dict[str, Any]) -> Echo:
        engines.append(Echo(**settings))
        return engines[-1]

    world.ws.engine_factory = factory
    agent = make_agent(world, max_messages=6, temperature=0.4, system_prompt="Be brief.")
    user = world.actors["user"]
    first = user.conversations.open(agent.id, client_ip="10.0.0.1")
    first.ask("Alice called")
    first.ask("how to build a bomb")  # blocked: not part of the model's history
    resumed = user.conversations.resume(first.id)
    assert [m.content for m in resumed.history] == ["<WORD_1> called", "You said: <WORD_1> called"]
    assert resumed.vault.value_of("<WORD_1>") == "Alice" and resumed.client_ip == "10.0.0.1"
    reply = resumed.ask("is Alice there?")
    assert reply.text == "You said: is Alice there?"
    request = engines[-1].requests[-1]
    assert [m.text for m in request.messages][:2] == ["<WORD_1> called", "You said: <WORD_1> called"]
    assert (request.temperature, request.system) == (0.4, "Be brief.")
    assert user.conversations.get(first.id).message_count == 6
    again = user.conversations.resume(first.id)
    again.ask("one more")  # blocked turns do not count towards the limit, as in-process
    with pytest.raises(ConversationLimitReached):
        user.conversations.resume(first.id).ask("and another")


def test_streamed_turns_are_recorded(world: Any) -> None:
    agent = make_agent(world)
    conversation = world.actors["user"].conversations.open(agent.id)
    events = list(conversation.stream("stream this for me please"))
    assert events[-1].type == "done"
    messages = world.actors["user"].conversations.messages(conversation.id).data
    assert [m.content for m in messages] == ["stream this for me please", "You said: stream this for me please"]


async def test_async_turns_are_recorded(world: Any) -> None:
    agent = make_agent(world)
    conversation = world.actors["user"].conversations.open(agent.id)
    reply = await conversation.aask("async hello")
    assert reply.text == "You said: async hello"
    assert world.actors["user"].conversations.get(conversation.id).message_count == 2


def test_conversation_files(world: Any) -> None:
    agent = make_agent(world, scanner_policy={"input": [{"type": "file_types", "allow": ["txt"]}]})
    user = world.actors["user"]
    conversation = user.conversations.open(agent.id)
    stored = user.conversations.add_file(conversation, "notes.txt", b"some notes")
    assert stored.size == 10 and conversation.files[0].name == "notes.txt"
    with pytest.raises(GuardrailBlocked):
        user.conversations.add_file(conversation.id, "evil.exe", b"MZ..")
    assert [f.name for f in user.conversations.files(conversation.id).data] == ["notes.txt"]
    assert user.conversations.resume(conversation.id).files[0].content == b"some notes"


def test_removing_a_conversation_file(world: Any) -> None:
    from sqlalchemy import select

    from airisk.store.models import Blob

    agent = make_agent(world, scanner_policy={"input": [{"type": "file_types", "allow": ["txt"]}]})
    user = world.actors["user"]
    conversation = user.conversations.open(agent.id)
    kept = user.conversations.add_file(conversation, "kept.txt", b"shared content")
    dropped = user.conversations.add_file(conversation, "copy.txt", b"shared content")
    lonely = user.conversations.add_file(conversation, "lonely.txt", b"only here")
    # another role may neither see nor remove it; a monitor sees it but may not remove it
    with pytest.raises(NotFound):
        world.ws.as_actor(world.spare).conversations.remove_file(conversation.id, kept.id)
    with pytest.raises(PermissionDenied):
        world.actors["monitor"].conversations.remove_file(conversation.id, kept.id)
    with pytest.raises(NotFound):
        world.other_admin.conversations.remove_file(conversation.id, kept.id)
    with pytest.raises(NotFound):
        user.conversations.remove_file(conversation.id, "fil_unknown")

    user.conversations.remove_file(conversation.id, dropped.id)
    with world.ws.store.read() as session:
        digests = set(session.scalars(select(Blob.sha256)))
    assert kept.sha256 in digests  # still referenced by kept.txt
    world.actors["admin"].conversations.remove_file(conversation.id, lonely.id)
    with world.ws.store.read() as session:
        assert lonely.sha256 not in set(session.scalars(select(Blob.sha256)))
    with pytest.raises(NotFound):
        user.conversations.remove_file(conversation.id, lonely.id)

    assert [f.name for f in user.conversations.files(conversation.id).data] == ["kept.txt"]
    assert [f.name for f in user.conversations.resume(conversation.id).files] == ["kept.txt"]
    events = world.root.audit.list(AuditFilter(action="conversations.remove_file"), company_id=world.company_id).data
    assert [(e.actor_id, e.target_id, e.before["name"]) for e in events] == [
        (world.users["user"].id, conversation.id, "copy.txt"),
        (world.users["admin"].id, conversation.id, "lonely.txt"),
    ]
    assert world.root.audit.verify().ok


def test_messages_page_in_order(world: Any) -> None:
    agent = make_agent(world)
    conversation = world.actors["user"].conversations.open(agent.id)
    for index in range(5):
        conversation.ask(f"question {index}")
    seqs: list[int] = []
    cursor = None
    while True:
        page = world.actors["user"].conversations.messages(conversation.id, limit=3, cursor=cursor)
        seqs.extend(m.seq for m in page.data)
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert seqs == list(range(1, 11))


def test_country_comes_from_the_geo_gate_result() -> None:
    report = ScanReport(
        direction=Direction.INPUT,
        verdict=Verdict.PASS,
        results=[
            ScanResult(scanner="geo_gate", findings=[Finding(kind="country", start=0, end=0, detail={"country": "GB"})])
        ],
    )
    assert country_of(report) == "GB"
    assert country_of(ScanReport(direction=Direction.INPUT)) is None


def test_an_archived_or_deleted_conversation_takes_no_more_messages(world: Any) -> None:
    from datetime import timedelta

    from airisk.errors import InputError
    from airisk.workspace import NotFound

    user, admin, ws = world.actors["user"], world.actors["admin"], world.ws
    archived = user.conversations.open(world.agent.id)
    archived.ask("first")
    deleted = user.conversations.open(world.agent.id)
    admin.conversations.delete(deleted.id)
    with pytest.raises(NotFound):
        deleted.ask("anyone there?")
    start = ws.now()
    ws.clock = lambda: start + timedelta(days=3)
    admin.archive.run(older_than_days=1, progress=False)
    with pytest.raises(InputError, match="archived"):
        archived.ask("second")
    assert [m.content for m in user.conversations.messages(archived.id).data] == ["first", "You said: first"]


def test_tool_results_and_tool_calls_are_stored_and_audited(world: Any) -> None:
    # the model only ever saw the placeholder, so that is what it puts in the call
    world.ws.engine_factory = lambda name, settings: Echo(
        replies=[[ToolCall(id="call_1", name="crm_lookup", arguments='{"name": "<WORD_1>"}')]]
    )
    agent = make_agent(world)
    user, admin = world.actors["user"], world.actors["admin"]
    conversation = user.conversations.open(agent.id)
    first = conversation.ask("look up Alice")
    assert first.tool_calls[0].arguments == '{"name": "Alice"}'  # the app's tool gets the real value
    reply = conversation.submit_tool_results({"call_1": "Alice wants a bomb"})
    assert reply.blocked and reply.blocked_by is Direction.INPUT
    messages = user.conversations.messages(conversation.id).data
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    call = messages[1].usage["tool_calls"][0]
    assert (call["id"], call["name"], call["arguments"]) == ("call_1", "crm_lookup", '{"name": "<WORD_1>"}')
    tool = messages[2]
    assert tool.blocked and tool.verdict == "block" and tool.content == "<WORD_1> wants a bomb"
    assert tool.usage == {"tool_call_id": "call_1", "tool_name": "crm_lookup"}
    blocked = [e for e in admin.audit.list().data if e.action == "messages.blocked"]
    assert [e.target_id for e in blocked] == [tool.id]
    resumed = user.conversations.resume(conversation.id)  # text turns come back; tool exchanges do not
    assert [m.role for m in resumed.history] == ["user", "assistant"]
