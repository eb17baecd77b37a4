"""The shared engine plumbing: lazy SDK imports, the factory, credentials, error mapping, retries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airisk.errors import (
    AuthenticationError,
    ConfigurationError,
    EngineError,
    MissingDependencyError,
    RateLimitError,
    UnavailableError,
)
from airisk.providers import Echo, engine_from_config, set_secret_resolver
from airisk.providers._credentials import resolve_credential
from airisk.providers._errors import parse_retry_after, scrub
from airisk.providers._retry import RetryPolicy, call_with_retries
from airisk.providers.base import EngineRequest
from airisk.types import Message

from .fake_server import FakeServer
from .wires import OpenAIWire

SRC = Path(__file__).resolve().parents[2] / "src"

SDKS = {
    "openai": ("openai", "openai", {"api_key": "sk-x"}),
    "azure_openai": ("openai", "azure", {"api_key": "k", "endpoint": "http://127.0.0.1:9"}),
    "llama": ("openai", "llama", {"api_key": "k"}),
    "anthropic": ("anthropic", "anthropic", {"api_key": "k"}),
    "mistral": ("mistralai", "mistral", {"api_key": "k"}),
    "google": ("google.genai", "google", {"api_key": "k"}),
    "bedrock": ("boto3", "bedrock", {"region": "us-east-1"}),
}


def test_engine_modules_do_not_import_vendor_sdks() -> None:
    code = (
        "import sys, airisk, airisk.providers as p\n"
        "for name in ['OpenAI','AzureOpenAI','Llama','Anthropic','Mistral','Google','Bedrock']:\n"
        "    getattr(p, name)(model='m')\n"
        "heavy = [m for m in ('openai','anthropic','mistralai','google.genai','boto3','botocore','httpx2') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)}, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("engine", sorted(SDKS))
def test_missing_sdk_names_the_extra(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module, extra, settings = SDKS[engine]
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    built = engine_from_config({"engine": engine, "model": "m", **settings})
    with pytest.raises(MissingDependencyError, match=rf"pip install 'airisk\[{extra}\]'"):
        built.complete(EngineRequest(messages=[Message(role="user", content="x")]))


def test_engine_from_config(server: FakeServer) -> None:
    engine = engine_from_config(
        {"engine": "openai", "model": "gpt-4o", "settings": {"api_key": "sk-stored", "base_url": f"{server.url}/v1"}}
    )
    assert type(engine).__name__ == "OpenAI"
    assert engine.settings.model == "gpt-4o"
    server.queue(OpenAIWire().text("ok"))
    assert engine.complete(EngineRequest(messages=[Message(role="user", content="x")])).text == "ok"
    assert isinstance(engine_from_config({"engine": "echo", "replies": ["hi"]}), Echo)
    with pytest.raises(ConfigurationError, match="unknown engine"):
        engine_from_config({"engine": "nope"})
    with pytest.raises(ConfigurationError, match="invalid settings"):
        engine_from_config({"engine": "openai", "timeout_s": -1})
    with pytest.raises(ConfigurationError, match="'engine' name"):
        engine_from_config({"model": "x"})


def test_secret_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY_VAR", "from-env")
    assert resolve_credential("env:MY_KEY_VAR", setting="api_key") == "from-env"
    assert resolve_credential(None, ["MY_KEY_VAR"], setting="api_key") == "from-env"
    previous = set_secret_resolver(None)
    try:
        with pytest.raises(ConfigurationError, match="no secret resolver"):
            resolve_credential("secret:prod", setting="api_key")
        set_secret_resolver({"prod": "s3cret"}.get)
        assert resolve_credential("secret:prod", setting="api_key") == "s3cret"
        with pytest.raises(ConfigurationError, match="does not know"):
            resolve_credential("secret:other", setting="api_key")
        assert resolve_credential("secret:x", setting="api_key", resolver=lambda name: name.upper()) == "X"
    finally:
        set_secret_resolver(previous)
    with pytest.raises(ConfigurationError, match="FOO_KEY"):
        resolve_credential(None, ["FOO_KEY"], setting="api_key", required=True)


def test_connection_refused_is_unavailable_and_retried() -> None:
    with FakeServer() as dead:
        url = dead.url
    engine = OpenAIWire().engine(url, max_retries=1)
    with pytest.raises(UnavailableError, match="could not reach"):
        engine.complete(EngineRequest(messages=[Message(role="user", content="x")]))


def test_long_retry_after_is_not_waited_for(server: FakeServer) -> None:
    wire = OpenAIWire()
    server.queue(wire.error(429, "later", {"retry-after": "3600"}))
    with pytest.raises(RateLimitError) as caught:
        wire.engine(server.url, max_retries=3, max_retry_after_s=5).complete(
            EngineRequest(messages=[Message(role="user", content="x")])
        )
    assert caught.value.retry_after == 3600
    assert len(server.requests) == 1


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


@given(attempt=st.integers(0, 10), base=st.floats(0.001, 2), cap=st.floats(0.001, 30))
def test_backoff_is_jittered_within_the_cap(attempt: int, base: float, cap: float) -> None:
    policy = RetryPolicy(max_retries=11, base_delay_s=base, max_delay_s=cap)
    error = UnavailableError("x")
    delay = policy.delay(attempt, error)
    assert delay is not None
    assert 0.0 <= delay <= min(cap, base * 2**attempt)


def test_non_retryable_errors_are_raised_at_once() -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise AuthenticationError("no")

    with pytest.raises(AuthenticationError):
        call_with_retries(failing, RetryPolicy(max_retries=5), lambda exc: exc)  # type: ignore[arg-type,return-value]
    assert len(calls) == 1


def test_retries_then_gives_up_with_the_last_error() -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise UnavailableError(f"down {len(calls)}")

    policy = RetryPolicy(max_retries=2, base_delay_s=0.001, max_delay_s=0.001)
    with pytest.raises(UnavailableError, match="down 3"):
        call_with_retries(failing, policy, lambda exc: exc)  # type: ignore[arg-type,return-value]


secrets = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=40)


@given(secret=secrets, before=st.text(max_size=40), after=st.text(max_size=40))
def test_scrub_removes_known_secrets(secret: str, before: str, after: str) -> None:
    assert secret not in scrub(before + secret + after, [secret])


def test_scrub_removes_key_shapes() -> None:
    text = "Incorrect API key provided: sk-proj-abc123def456. token=abcdef123456 Bearer eyJhbGciOiJIUzI1NiJ9"
    cleaned = scrub(text)
    for secret in ("sk-proj-abc123def456", "abcdef123456", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in cleaned


def test_unknown_sdk_failures_are_engine_errors_not_retried() -> None:
    from airisk.providers._errors import map_error

    error = map_error(ValueError("bad"), engine="openai", model="m")
    assert type(error) is EngineError
    assert not error.retryable


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "BadRequestError"),
        (403, "PermissionDeniedError"),
        (404, "NotFoundError"),
        (408, "EngineTimeoutError"),
        (409, "UnavailableError"),
        (413, "ContextTooLongError"),
        (422, "BadRequestError"),
        (502, "UnavailableError"),
        (504, "EngineTimeoutError"),
    ],
)
def test_status_codes_map_to_one_error_tree(server: FakeServer, status: int, kind: str) -> None:
    wire = OpenAIWire()
    server.queue(wire.error(status, "something"))
    with pytest.raises(EngineError) as caught:
        wire.engine(server.url, max_retries=0).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    assert type(caught.value).__name__ == kind
    assert caught.value.status == status
    assert caught.value.request_id == "req_err"
    assert caught.value.engine == "openai"


def test_bad_settings_are_configuration_errors_that_name_the_field() -> None:
    from airisk.providers import Anthropic, OpenAI
    from airisk.providers.openai import OpenAISettings

    with pytest.raises(ConfigurationError, match="timeout_s"):
        OpenAI(timeout_s=0)
    with pytest.raises(ConfigurationError, match="modle"):
        Anthropic(modle="claude")
    assert OpenAI(settings=OpenAISettings(model="gpt-4o")).model == "gpt-4o"
    assert OpenAI({"model": "gpt-4o"}, max_retries=5).settings.max_retries == 5


def test_retry_logs_carry_no_secret(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    wire = OpenAIWire()
    server.queue(wire.error(429, f"key {wire.key} is rate limited", {"retry-after": "0"}), wire.text("ok"))
    with caplog.at_level(logging.DEBUG):
        wire.engine(server.url).complete(EngineRequest(messages=[Message(role="user", content="x")]))
    retries = [r for r in caplog.records if r.name == "airisk.providers"]
    assert retries and retries[0].status == 429  # type: ignore[attr-defined]
    assert all(wire.key not in repr(record.__dict__) for record in caplog.records)
