"""Azure OpenAI engine through the ``openai`` SDK (``airisk[azure]``).

Two routes: the classic deployment route (``/openai/deployments/{deployment}/...`` with an
``api-version``) and the newer version-less ``/openai/v1`` route. Credentials: an API key
(setting, ``AZURE_OPENAI_API_KEY``), or Microsoft Entra ID: a bearer token (setting,
``AZURE_OPENAI_AD_TOKEN``) or a token provider callable such as
``azure.identity.get_bearer_token_provider(...)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from airisk.errors import ConfigurationError
from airisk.providers._credentials import resolve_credential
from airisk.providers._openai_chat import OpenAIChatEngine, OpenAIChatSettings
from airisk.providers._remote import RemoteEngineSettings
from airisk.providers.openai import import_openai

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAISettings(OpenAIChatSettings):
    """What an admin sets for an Azure OpenAI agent."""

    model: str = Field(default="gpt-4o-mini", description="the model behind the deployment (for reports)")
    endpoint: str | None = Field(
        default=None, description="https://<resource>.openai.azure.com; else AZURE_OPENAI_ENDPOINT"
    )
    deployment: str | None = Field(default=None, description="deployment name; defaults to model")
    api_version: str | None = Field(default=None, description="else OPENAI_API_VERSION, else " + DEFAULT_API_VERSION)
    route: Literal["deployments", "v1"] = Field(
        default="deployments", description="classic deployment URLs or /openai/v1"
    )
    api_key: SecretStr | None = Field(
        default=None, description="key, env:NAME or secret:NAME; else AZURE_OPENAI_API_KEY"
    )
    ad_token: SecretStr | None = Field(default=None, description="Entra ID bearer token; else AZURE_OPENAI_AD_TOKEN")
    token_provider: Callable[[], str] | None = Field(
        default=None, exclude=True, repr=False, description="Entra ID token provider (azure.identity)"
    )


class AzureOpenAI(OpenAIChatEngine):
    """Chat with a model deployed on Azure OpenAI."""

    name = "azure_openai"
    settings_class: ClassVar[type[RemoteEngineSettings]] = AzureOpenAISettings
    settings: AzureOpenAISettings

    def _model_name(self) -> str:
        return self.settings.deployment or self.settings.model

    def _endpoint(self) -> str:
        endpoint = self.settings.endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise ConfigurationError("azure_openai needs endpoint: set it or AZURE_OPENAI_ENDPOINT")
        return endpoint.rstrip("/")

    def _auth(self) -> dict[str, Any]:
        """Token provider, then key or token from settings, then from the environment."""
        s = self.settings
        if s.token_provider is not None:
            return {"token_provider": s.token_provider}
        if s.api_key is not None:
            return {"api_key": self._remember_secret(resolve_credential(s.api_key, setting="api_key"))}
        if s.ad_token is not None:
            return {"ad_token": self._remember_secret(resolve_credential(s.ad_token, setting="ad_token"))}
        for variable, kind in (("AZURE_OPENAI_API_KEY", "api_key"), ("AZURE_OPENAI_AD_TOKEN", "ad_token")):
            value = os.environ.get(variable)
            if value:
                return {kind: self._remember_secret(value)}
        raise ConfigurationError(
            "azure_openai needs api_key, ad_token or token_provider (or AZURE_OPENAI_API_KEY / AZURE_OPENAI_AD_TOKEN)"
        )

    def _build_client(self, asynchronous: bool) -> Any:
        openai = import_openai("The Azure OpenAI engine", "azure")
        s = self.settings
        auth = self._auth()
        common: dict[str, Any] = {"timeout": s.timeout_s, "max_retries": 0}
        if s.route == "v1":
            cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
            if "token_provider" in auth:
                provider = auth["token_provider"]
                api_key: Any = _async_provider(provider) if asynchronous else provider
            else:
                api_key = auth.get("api_key") or auth.get("ad_token")
            return cls(api_key=api_key, base_url=f"{self._endpoint()}/openai/v1/", **common)
        cls = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        credentials: dict[str, Any] = {}
        if "token_provider" in auth:
            provider = auth["token_provider"]
            credentials["azure_ad_token_provider"] = _async_provider(provider) if asynchronous else provider
        elif "api_key" in auth:
            credentials["api_key"] = auth["api_key"]
        else:
            credentials["azure_ad_token"] = auth["ad_token"]
        return cls(
            azure_endpoint=self._endpoint(),
            azure_deployment=self._model_name(),
            api_version=s.api_version or os.environ.get("OPENAI_API_VERSION") or DEFAULT_API_VERSION,
            **credentials,
            **common,
        )

    def _create_client(self) -> Any:
        return self._build_client(asynchronous=False)

    def _create_async_client(self) -> Any:
        return self._build_client(asynchronous=True)


def _async_provider(provider: Callable[[], str]) -> Callable[[], Any]:
    """The async client wants an awaitable token provider; wrap a plain one."""

    async def token() -> str:
        return provider()

    return token
