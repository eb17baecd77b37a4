"""The client's pure parts: Retry-After, retry decisions, error mapping, SSE decoding, settings, logs."""

from __future__ import annotations

import email.utils
import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk import errors
from airisk.client import _base as b
from airisk.client import errors as e
from airisk.client.settings import ClientSettings


def test_retry_after_seconds_and_http_dates() -> None:
    assert b.parse_retry_after("3") == 3.0 and b.parse_retry_after("0.5") == 0.5
    assert b.parse_retry_after(None) is None and b.parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert b.parse_retry_after(date, now=1_000_000) == pytest.approx(10.0)
    assert b.parse_retry_after(email.utils.formatdate(0, usegmt=True), now=5) == 0.0


@given(st.integers(min_value=0, max_value=12))
def test_backoff_is_jittered_and_capped(attempt: int) -> None:
    settings = ClientSettings(backoff_initial=0.5, backoff_max=8.0)
    ceiling = min(8.0, 0.5 * 2**attempt)
    assert ceiling / 2 <= b.backoff_delay(settings, attempt, None) <= ceiling
    assert b.backoff_delay(settings, attempt, 7.0) == 7.0


def test_which_answers_are_retried() -> None:
    for status in (408, 429, 500, 502, 503, 504):
        assert b.should_retry_status(status, {}, None)
    for status in (400, 401, 403, 404, 413, 422):
        assert not b.should_retry_status(status, {}, None)
    assert b.should_retry_status(409, {}, {"error": {"type": "locked"}})
    assert not b.should_retry_status(409, {}, {"error": {"type": "conflict"}})
    assert b.should_retry_status(409, {}, {"error": {"type": "idempotency_in_progress"}})
    assert not b.should_retry_status(409, {}, {"error": {"type": "idempotency_key_reused"}})
    assert not b.should_retry_status(409, {}, {"error": {"type": "idempotency_stream_not_replayable"}})
    assert not b.should_retry_status(503, {}, {"error": {"type": "not_configured"}})
    assert not b.should_retry_status(503, {"x-should-retry": "false"}, None)
    assert b.should_retry_status(400, {"x-should-retry": "true"}, None)


@pytest.mark.parametrize(
    ("status", "body", "expected", "in_process"),
    [
        (400, {"error": {"type": "invalid_request", "message": "bad"}}, e.APIBadRequestError, errors.BadRequestError),
        (422, {"detail": [{"loc": ["body", "text"], "msg": "required"}]}, e.APIBadRequestError, errors.BadRequestError),
        (401, {"error": "invalid_token"}, e.APIAuthenticationError, errors.AuthenticationError),
        (403, {"error": "insufficient_scope"}, e.APIPermissionDeniedError, errors.PermissionDeniedError),
        (404, {"error": {"type": "not_found", "message": "no"}}, e.APINotFoundError, errors.NotFoundError),
        (409, {"error": {"type": "conflict", "message": "exists"}}, e.APIConflictError, errors.AiriskError),
        (409, {"error": {"type": "conversation_limit_reached", "message": "full"}}, e.APIConversationLimitReached,
         errors.ConversationLimitReached),
        (413, {"error": {"type": "limit_exceeded", "message": "big"}}, e.APIRequestTooLarge, errors.InputError),
        (400, {"error": {"type": "guardrail_blocked", "message": "no", "report": {"direction": "input",
                                                                                 "verdict": "block"}}},
         e.APIGuardrailBlocked, errors.GuardrailBlocked),
        (503, {"error": {"type": "not_configured", "message": "no key"}}, e.APINotConfiguredError,
         errors.ConfigurationError),
        (429, {"error": {"type": "rate_limited", "message": "slow"}}, e.APIRateLimitError, errors.RateLimitError),
        (502, {"error": {"type": "engine_error", "message": "vendor"}}, e.APIEngineError, errors.UnavailableError),
        (503, None, e.APIServerError, errors.UnavailableError),
        (418, None, e.APIStatusError, errors.AiriskError),
    ],
)
def test_error_mapping(status: int, body: Any, expected: type, in_process: type) -> None:
    error = b.status_error(status, {"x-request-id": "req-1", "retry-after": "2"}, body)
    assert type(error) is expected and isinstance(error, in_process) and isinstance(error, e.APIError)
    assert error.status == status and error.request_id == "req-1" and "req-1" in str(error)
    if isinstance(error, errors.GuardrailBlocked):
        assert error.report.blocked
    if status == 429:
        assert error.retry_after == 2.0


def test_errors_survive_pickling() -> None:
    import pickle

    error = b.status_error(404, {"x-request-id": "r"}, {"error": {"type": "not_found", "message": "gone"}})
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and again.status == 404 and str(again) == str(error)


def _encode(events: list[tuple[str, str]]) -> str:
    return "".join(f"event: {name}\n" + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
                   for name, data in events)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["text", "blocked", "done", "error"]),
            st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
        ),
        max_size=8,
    )
)
def test_sse_decoder_round_trips(events: list[tuple[str, str]]) -> None:
    decoder = b.SSEDecoder()
    decoded = []
    for line in _encode(events).split("\n"):
        pair = decoder.feed(line)
        if pair is not None:
            decoded.append(pair)
    if (pair := decoder.flush()) is not None:
        decoded.append(pair)
    assert decoded == events


def test_chat_events_and_stream_errors() -> None:
    text = b.chat_event("text", json.dumps({"text": "hi"}), "r")
    assert text is not None and text.type == "text" and text.text == "hi"
    assert b.chat_event("ping", "{}", "r") is None
    with pytest.raises(errors.ConversationLimitReached) as limit:
        b.chat_event("error", json.dumps({"type": "ConversationLimitReached", "message": "full"}), "req-9")
    assert limit.value.request_id == "req-9"  # type: ignore[attr-defined]
    with pytest.raises(errors.UnavailableError):
        b.chat_event("error", json.dumps({"type": "RateLimitError", "message": "vendor busy"}), None)


def test_settings_precedence_and_secret_hiding() -> None:
    env = {"AIRISK_BASE_URL": "http://env:1/", "AIRISK_CLIENT_ID": "cli_env", "AIRISK_CLIENT_SECRET": "s3cr3t-env",
           "AIRISK_MAX_RETRIES": "4"}
    settings = ClientSettings.resolve(env, max_retries=1)
    assert settings.base_url == "http://env:1" and settings.max_retries == 1 and settings.client_id == "cli_env"
    assert "s3cr3t-env" not in repr(settings) and settings.credential_kind == "client_credentials"
    with pytest.raises(errors.ConfigurationError) as bad:
        ClientSettings.resolve({"AIRISK_TIMEOUT": "-1", "AIRISK_API_KEY": "ark_hidden"})
    assert "ark_hidden" not in str(bad.value) and "timeout" in str(bad.value)
    with pytest.raises(errors.ConfigurationError):
        ClientSettings.resolve({"AIRISK_CLIENT_SECRET": "x"})
    # credentials come as a set: an argument means none is taken from the environment
    mixed = ClientSettings.resolve({**env, "AIRISK_API_KEY": "ark_env", "AIRISK_USERID": "alice"}, api_key="ark_arg")
    assert mixed.client_id is None and mixed.userid is None and mixed.credential_kind == "api_key"
    assert mixed.base_url == "http://env:1"
    for_alice = ClientSettings.resolve(env, userid="alice")  # userid alone keeps the environment's client
    assert for_alice.client_id == "cli_env" and for_alice.userid == "alice"


def test_logs_never_carry_credentials(deployment: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with deployment.client(userid="alice") as client:
        client.conversations.create(agent=deployment.agent_id).ask("hello")
        token = client.oauth.token.access_token
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /api/v1/conversations" in logged
    for secret in (deployment.client_secret, token):
        assert secret not in logged


def test_importing_the_client_stays_light() -> None:
    code = (
        "import sys, airisk, airisk.client, airisk.oauth.client;"
        "heavy = {'fastapi', 'sqlalchemy', 'torch', 'numpy', 'uvicorn', 'starlette'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
