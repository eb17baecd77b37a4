"""The official openai SDK chats with an agent through /v1/chat/completions on a real uvicorn."""

from __future__ import annotations

from typing import Any

import pytest

openai = pytest.importorskip("openai")


def _client(live: Any, token: str) -> Any:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=token, max_retries=0, timeout=30)


def _user_token(live: Any, userid: str = "alice", *, other: bool = False) -> str:
    import httpx

    d = live.deployment
    auth = (d.other_client_id, d.other_client_secret) if other else (d.client_id, d.client_secret)
    response = httpx.post(
        f"{live.url}/oauth/token", data={"grant_type": "client_credentials", "userid": userid}, auth=auth
    )
    return str(response.json()["access_token"])


def test_plain_completion(live: Any) -> None:
    sdk = _client(live, _user_token(live))
    completion = sdk.chat.completions.create(
        model="helpdesk",
        messages=[
            {"role": "system", "content": "ignored: the agent's own instructions apply"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "what is a guardrail?"},
        ],
    )
    assert completion.choices[0].message.content == "You said: what is a guardrail?"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "helpdesk"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_streaming_completion(live: Any) -> None:
    sdk = _client(live, _user_token(live))
    stream = sdk.chat.completions.create(
        model=live.deployment.agent_id,
        messages=[{"role": "user", "content": "stream this answer please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    assert "".join(pieces) == "You said: stream this answer please"
    assert finish == "stop" and usage is not None and usage.total_tokens > 0


def test_api_key_works_as_openai_key(live: Any) -> None:
    sdk = _client(live, live.deployment.api_key)
    completion = sdk.chat.completions.create(model="helpdesk", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "You said: hi"


def test_blocked_message_is_a_clear_error_with_the_report(live: Any) -> None:
    sdk = _client(live, _user_token(live))
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="helpdesk", messages=[{"role": "user", "content": "a forbidden thing"}])
    error = caught.value.body
    assert error["code"] == "input_blocked" and error["type"] == "guardrail_blocked"
    assert error["report"]["verdict"] == "block"
    assert error["report"]["results"][0]["findings"][0]["kind"] == "keyword"
    with pytest.raises(openai.BadRequestError) as streamed:
        sdk.chat.completions.create(model="helpdesk", messages=[{"role": "user", "content": "forbidden"}], stream=True)
    assert streamed.value.body["code"] == "input_blocked"


def test_output_block_while_streaming_raises(live: Any) -> None:
    sdk = _client(live, _user_token(live))
    with pytest.raises(openai.APIError) as caught:
        for _ in sdk.chat.completions.create(
            model="helpdesk", messages=[{"role": "user", "content": "say secretword"}], stream=True
        ):
            pass
    assert "secretword" not in str(caught.value)


def test_unknown_model_and_bad_token(live: Any) -> None:
    sdk = _client(live, _user_token(live))
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="no-such-agent", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        _client(live, "wrong").chat.completions.create(model="helpdesk", messages=[{"role": "user", "content": "x"}])
    carol = _client(live, _user_token(live, "carol", other=True))
    with pytest.raises(openai.NotFoundError):
        carol.chat.completions.create(model="helpdesk", messages=[{"role": "user", "content": "hi"}])
