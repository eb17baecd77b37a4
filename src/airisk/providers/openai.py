"""OpenAI engine: chat completions through the official ``openai`` SDK (``airisk[openai]``).

Credentials: ``api_key`` setting (a key, ``env:NAME`` or ``secret:NAME``) or ``OPENAI_API_KEY``;
organisation from ``OPENAI_ORG_ID``, project from ``OPENAI_PROJECT_ID``, base URL from
``OPENAI_BASE_URL`` when not set.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from airisk.providers._credentials import resolve_credential
from airisk.providers._openai_chat import OpenAIChatEngine, OpenAIChatSettings
from airisk.providers._remote import RemoteEngineSettings
from airisk.providers._sdk import import_sdk


class OpenAISettings(OpenAIChatSettings):
    """What an admin sets for an OpenAI agent."""

    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = Field(default=None, description="key, env:NAME or secret:NAME; else OPENAI_API_KEY")
    organization: str | None = Field(default=None, description="else OPENAI_ORG_ID")
    project: str | None = Field(default=None, description="else OPENAI_PROJECT_ID")
    base_url: str | None = Field(default=None, description="else OPENAI_BASE_URL, else api.openai.com")


def import_openai(feature: str = "The OpenAI engine", extra: str = "openai") -> Any:
    return import_sdk("openai", feature=feature, extra=extra, package="openai")


class OpenAI(OpenAIChatEngine):
    """Chat with OpenAI models (``OpenAI(model="gpt-4o-mini")``)."""

    name = "openai"
    settings_class: ClassVar[type[RemoteEngineSettings]] = OpenAISettings
    settings: OpenAISettings

    def _client_options(self) -> dict[str, Any]:
        s = self.settings
        api_key = self._remember_secret(
            resolve_credential(s.api_key, ["OPENAI_API_KEY"], setting="api_key", required=True, engine=self.name)
        )
        return {
            "api_key": api_key,
            "organization": s.organization or os.environ.get("OPENAI_ORG_ID"),
            "project": s.project or os.environ.get("OPENAI_PROJECT_ID"),
            "base_url": s.base_url or os.environ.get("OPENAI_BASE_URL") or None,
            "timeout": s.timeout_s,
            "max_retries": 0,
        }

    def _create_client(self) -> Any:
        return import_openai().OpenAI(**self._client_options())

    def _create_async_client(self) -> Any:
        return import_openai().AsyncOpenAI(**self._client_options())
