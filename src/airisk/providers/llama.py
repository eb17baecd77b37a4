"""Llama engine: the Meta Llama API's OpenAI-compatible endpoint, or any OpenAI-compatible
Llama host (Ollama, vLLM) chosen by preset or base URL. Uses the ``openai`` SDK (``airisk[llama]``).

Credentials: ``api_key`` setting or ``LLAMA_API_KEY`` for the Meta Llama API; Ollama needs
none; vLLM reads ``VLLM_API_KEY`` when its server was started with ``--api-key``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from airisk.providers._credentials import resolve_credential
from airisk.providers._openai_chat import OpenAIChatEngine, OpenAIChatSettings
from airisk.providers._remote import RemoteEngineSettings
from airisk.providers.openai import import_openai

Preset = Literal["meta", "ollama", "vllm", "openai_compatible"]

META_LLAMA_URL = "https://api.llama.com/compat/v1/"

# preset -> (default base URL, env vars holding a key, key sent when none is needed)
PRESETS: dict[str, tuple[str | None, tuple[str, ...], str | None]] = {
    "meta": (META_LLAMA_URL, ("LLAMA_API_KEY",), None),
    "ollama": ("http://localhost:11434/v1/", ("OLLAMA_API_KEY",), "ollama"),
    "vllm": ("http://localhost:8000/v1/", ("VLLM_API_KEY",), "EMPTY"),
    "openai_compatible": (None, ("LLAMA_API_KEY",), "EMPTY"),
}


class LlamaSettings(OpenAIChatSettings):
    """What an admin sets for a Llama agent."""

    model: str = "Llama-3.3-70B-Instruct"
    preset: Preset = Field(default="meta", description="meta (Llama API), ollama, vllm, or openai_compatible")
    base_url: str | None = Field(default=None, description="overrides the preset's URL (LLAMA_BASE_URL)")
    api_key: SecretStr | None = Field(default=None, description="key, env:NAME or secret:NAME; else LLAMA_API_KEY")
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_tokens"


def _ollama_url() -> str | None:
    host = os.environ.get("OLLAMA_HOST")
    if not host:
        return None
    if not host.startswith(("http://", "https://")):
        host = f"http://{host}"
    return f"{host.rstrip('/')}/v1/"


class Llama(OpenAIChatEngine):
    """Chat with Llama models on the Meta Llama API, Ollama or vLLM."""

    name = "llama"
    settings_class: ClassVar[type[RemoteEngineSettings]] = LlamaSettings
    settings: LlamaSettings

    def base_url(self) -> str:
        s = self.settings
        default_url, _, _ = PRESETS[s.preset]
        if s.preset == "ollama":
            default_url = _ollama_url() or default_url
        url = s.base_url or os.environ.get("LLAMA_BASE_URL") or default_url
        if not url:
            from airisk.errors import ConfigurationError

            raise ConfigurationError("llama preset openai_compatible needs base_url (or LLAMA_BASE_URL)")
        return url

    def _client_options(self) -> dict[str, Any]:
        s = self.settings
        _, env_vars, placeholder = PRESETS[s.preset]
        key = resolve_credential(s.api_key, env_vars, setting="api_key", required=placeholder is None, engine=self.name)
        return {
            "api_key": self._remember_secret(key) or placeholder,
            "base_url": self.base_url(),
            "timeout": s.timeout_s,
            "max_retries": 0,
        }

    def _create_client(self) -> Any:
        return import_openai("The Llama engine", "llama").OpenAI(**self._client_options())

    def _create_async_client(self) -> Any:
        return import_openai("The Llama engine", "llama").AsyncOpenAI(**self._client_options())
