"""Auto-pagination over many pages, and retries on injected 503/429 answers and connection errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airisk import errors
from airisk.client import APIConnectionError, APIRateLimitError, APIServerError, AsyncClient, Client, NoNextPage
from airisk.client import _async as async_module
from airisk.client import _sync as sync_module


@pytest.fixture
def many_conversations(deployment: Any) -> list[str]:
    with deployment.client(userid="alice") as client:
        return [client.conversations.create(agent=deployment.agent_id, title=f"c{i}").id for i in range(9)]


def test_sync_pages_walk_themselves_and_by_hand(deployment: Any, many_conversations: list[str]) -> None:
    with deployment.client(userid="alice") as client:
        page = client.conversations.list(limit=2)
        assert len(page.data) == 2 and page.has_next_page()
        walked = [conversation.id for conversation in page]
        assert sorted(walked) == sorted(many_conversations) and len(set(walked)) == 9
        pages = 1
        while page.has_next_page():
            page = page.get_next_page()
            pages += 1
        assert pages == 5
        with pytest.raises(NoNextPage):
            page.get_next_page()
        assert len(list(client.conversations.list(limit=2).iter_pages())) == 5


async def test_async_pages_walk_themselves_and_by_hand(deployment: Any, many_conversations: list[str]) -> None:
    async with deployment.async_client(userid="alice") as client:
        walked = [conversation.id async for conversation in client.conversations.list(limit=2)]
        assert sorted(walked) == sorted(many_conversations)
        page = await client.conversations.list(limit=4)
        seen = list(page.data)
        while page.has_next_page():
            page = await page.get_next_page()
            seen.extend(page.data)
        assert len(seen) == 9
        assert [item.id async for item in await client.conversations.list(limit=2)] == walked


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's waits instead of sleeping them (the delays are what is under test)."""
    delays: list[float] = []

    def record(delay: float, *why: Any) -> None:
        delays.append(delay)

    async def arecord(delay: float, *why: Any) -> None:
        delays.append(delay)

    monkeypatch.setattr(sync_module.Client, "_sleep", staticmethod(record))
    monkeypatch.setattr(async_module.AsyncClient, "_sleep", staticmethod(arecord))
    return delays


def test_sync_retries_503_and_429_honouring_retry_after(deployment: Any, slept: list[float]) -> None:
    faults = deployment.faults
    with deployment.client(userid="alice", max_retries=3) as client:
        client.agents.list()  # token fetched before failures are planned
        faults.fail("GET", "/api/v1/agents", 503, times=2)
        assert [a.name for a in client.agents.list()] == ["helpdesk"]
        assert faults.count("GET", "/api/v1/agents") == 4
        assert len(slept) == 2 and all(0 < d <= 1.0 for d in slept)  # jittered backoff: 0.25-0.5, 0.5-1.0

        slept.clear()
        faults.fail("POST", "/api/v1/conversations", 429, times=1, retry_after="2")
        faults.fail("POST", "/api/v1/conversations", 503, times=1)
        conversation = client.conversations.create(agent=deployment.agent_id)
        assert slept[0] == 2.0 and len(slept) == 2
        keys = [key for method, path, key in faults.seen if method == "POST" and path == "/api/v1/conversations"]
        assert len(keys) == 3 and keys[0] and len(set(keys)) == 1  # one Idempotency-Key across the retries
        assert conversation.ask("after retries").text == "You said: after retries"

        faults.fail("GET", "/api/v1/agents", 503, times=4)
        with pytest.raises(errors.UnavailableError) as exhausted:
            client.agents.list()
        assert isinstance(exhausted.value, APIServerError)
        assert exhausted.value.status == 503 and exhausted.value.request_id == "injected-request"

        faults.fail("GET", "/api/v1/agents", 429, times=1, retry_after="3600")
        with pytest.raises(errors.RateLimitError) as too_long:
            client.agents.list()  # the server asks for longer than max_retry_after: raise, do not wait
        assert isinstance(too_long.value, APIRateLimitError) and too_long.value.retry_after == 3600.0


def test_no_retries_when_disabled(deployment: Any, slept: list[float]) -> None:
    with deployment.client(userid="alice", max_retries=0) as client:
        client.agents.list()
        deployment.faults.fail("GET", "/api/v1/agents", 503)
        with pytest.raises(APIServerError):
            client.agents.list()
        assert slept == []
        deployment.faults.fail("POST", "/api/v1/conversations", 503)
        with pytest.raises(APIServerError):
            client.conversations.create(agent=deployment.agent_id)
        assert deployment.faults.seen[-1][2] is None  # no retries, so no Idempotency-Key


def test_stream_retried_before_it_starts(deployment: Any, slept: list[float]) -> None:
    with deployment.client(userid="alice") as client:
        conversation = client.conversations.create(agent=deployment.agent_id)
        deployment.faults.fail("POST", f"/api/v1/conversations/{conversation.id}/messages", 503)
        events = list(conversation.stream("hello"))
        assert events[-1].reply is not None and events[-1].reply.text == "You said: hello"
        assert len(slept) == 1


def test_connection_errors_are_retried_then_typed(slept: list[float]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", api_key="ark_x", max_retries=2) as client:
        with pytest.raises(errors.UnavailableError) as failed:
            client.health()
        assert isinstance(failed.value, APIConnectionError) and len(slept) == 2

    async def go() -> None:
        async with AsyncClient(f"http://127.0.0.1:{port}", api_key="ark_x", max_retries=1) as client:
            with pytest.raises(APIConnectionError):
                await client.health()

    slept.clear()
    asyncio.run(go())
    assert len(slept) == 1


async def test_async_retries_503_and_429(deployment: Any, slept: list[float]) -> None:
    faults = deployment.faults
    async with deployment.async_client(userid="alice", max_retries=2) as client:
        await client.agents.list()
        faults.fail("GET", "/api/v1/agents", 503)
        faults.fail("GET", "/api/v1/agents", 429, retry_after="1")
        page = await client.agents.list()
        assert [a.name for a in page.data] == ["helpdesk"]
        assert slept[1] == 1.0 and len(slept) == 2
        faults.fail("POST", "/api/v1/scan", 503, times=3)
        with pytest.raises(APIServerError):
            await client.scan("hello")


def test_timeouts_are_retried_then_typed(slept: list[float]) -> None:
    """A server that accepts the connection and never answers: the read timeout applies."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Client(url, api_key="ark_x", timeout=0.3, max_retries=1) as client:
            with pytest.raises(errors.EngineTimeoutError) as timed_out:
                client.scan("hello")
            assert isinstance(timed_out.value, APIConnectionError) and len(slept) == 1
            assert len(accepted) == 2  # the first attempt and one retry
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in accepted:
            connection.close()
        listener.close()


def _user_messages(deployment: Any, conversation_id: str) -> list[str]:
    return [m.content for m in deployment.root.conversations.messages(conversation_id).data if m.role == "user"]


def test_a_turn_whose_answer_was_lost_is_replayed_not_redone(deployment: Any, slept: list[float]) -> None:
    faults = deployment.faults
    with deployment.client(userid="alice", max_retries=2) as client:
        conversation = client.conversations.create(agent=deployment.agent_id)
        path = f"/api/v1/conversations/{conversation.id}/messages"
        faults.lose_response("POST", path, 503)
        reply = conversation.ask("charge my card once")
        assert reply.text == "You said: charge my card once"
        assert _user_messages(deployment, conversation.id) == ["charge my card once"]
        keys = [key for method, p, key in faults.seen if method == "POST" and p == path]
        assert len(keys) == 2 and len(set(keys)) == 1 and len(slept) == 1

        faults.lose_response("POST", "/api/v1/conversations", 502)
        created = client.conversations.create(agent=deployment.agent_id, title="once")
        assert [c.info.title for c in client.conversations.list()].count("once") == 1 and created.info.title == "once"


async def test_async_lost_answer_is_replayed(deployment: Any, slept: list[float]) -> None:
    async with deployment.async_client(userid="alice", max_retries=2) as client:
        conversation = await client.conversations.create(agent=deployment.agent_id)
        deployment.faults.lose_response("POST", f"/api/v1/conversations/{conversation.id}/messages", 503)
        reply = await conversation.ask("only once")
        assert reply.text == "You said: only once"
        assert _user_messages(deployment, conversation.id) == ["only once"]


def test_a_key_still_in_progress_is_retried(deployment: Any, slept: list[float]) -> None:
    """While the first attempt still runs the server answers 409 idempotency_in_progress (Retry-After: 1);
    the client waits, retries with the same key and gets the stored answer."""
    faults = deployment.faults
    with deployment.client(userid="alice", max_retries=3) as client:
        conversation = client.conversations.create(agent=deployment.agent_id)
        path = f"/api/v1/conversations/{conversation.id}/messages"
        faults.lose_response("POST", path, 503)
        faults.fail("POST", path, 409, retry_after="1", airisk_error_type="idempotency_in_progress")
        reply = conversation.ask("patience")
        assert reply.text == "You said: patience" and slept[1] == 1.0 and len(slept) == 2
        assert _user_messages(deployment, conversation.id) == ["patience"]
        faults.fail("POST", path, 409, airisk_error_type="idempotency_key_reused")
        with pytest.raises(errors.AiriskError):
            conversation.ask("never retried")
        assert len(slept) == 2
