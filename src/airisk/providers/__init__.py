"""Engine adapters, one module per vendor, imported only when first used.

``from airisk.providers import OpenAI`` loads the OpenAI adapter (and the vendor SDK only
when a call is made). ``Echo`` is the offline engine for demos and tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from airisk.providers._credentials import set_secret_resolver
from airisk.providers.base import Engine, EngineEvent, EngineRequest, EngineResponse, EngineSettings

if TYPE_CHECKING:
    from airisk.providers.anthropic import Anthropic
    from airisk.providers.azure_openai import AzureOpenAI
    from airisk.providers.bedrock import Bedrock
    from airisk.providers.echo import Echo
    from airisk.providers.google import Google
    from airisk.providers.llama import Llama
    from airisk.providers.mistral import Mistral
    from airisk.providers.openai import OpenAI

# registry name -> (module, class name)
ENGINES: dict[str, tuple[str, str]] = {
    "echo": ("airisk.providers.echo", "Echo"),
    "openai": ("airisk.providers.openai", "OpenAI"),
    "azure_openai": ("airisk.providers.azure_openai", "AzureOpenAI"),
    "anthropic": ("airisk.providers.anthropic", "Anthropic"),
    "mistral": ("airisk.providers.mistral", "Mistral"),
    "google": ("airisk.providers.google", "Google"),
    "llama": ("airisk.providers.llama", "Llama"),
    "bedrock": ("airisk.providers.bedrock", "Bedrock"),
}
_BY_CLASS = {class_name: (module, class_name) for module, class_name in ENGINES.values()}

__all__ = [
    "Anthropic",
    "AzureOpenAI",
    "Bedrock",
    "Echo",
    "Engine",
    "EngineEvent",
    "EngineRequest",
    "EngineResponse",
    "EngineSettings",
    "Google",
    "Llama",
    "Mistral",
    "OpenAI",
    "engine_class",
    "engine_from_config",
    "set_secret_resolver",
]


def __getattr__(name: str) -> Any:
    if name in _BY_CLASS:
        module, class_name = _BY_CLASS[name]
        return getattr(importlib.import_module(module), class_name)
    raise AttributeError(f"module 'airisk.providers' has no attribute {name!r}")


def engine_class(name: str) -> type[Engine]:
    """The engine adapter registered under ``name`` (``openai``, ``anthropic``…)."""
    from airisk.errors import ConfigurationError

    if name not in ENGINES:
        raise ConfigurationError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module, class_name = ENGINES[name]
    cls: type[Engine] = getattr(importlib.import_module(module), class_name)
    return cls


def engine_from_config(config: Mapping[str, Any]) -> Engine:
    """Build an engine from stored settings: ``{"engine": "openai", "model": ..., ...}``.

    The engine name may also be given as ``name`` or ``type``; an optional ``settings``
    mapping is merged with the remaining keys. Credentials may be ``secret:NAME`` references.
    """
    from airisk.errors import ConfigurationError

    options = dict(config)
    name = options.pop("engine", None) or options.pop("name", None) or options.pop("type", None)
    if not isinstance(name, str):
        raise ConfigurationError("engine config needs an 'engine' name, e.g. {'engine': 'openai', 'model': ...}")
    nested = options.pop("settings", None) or {}
    if not isinstance(nested, Mapping):
        raise ConfigurationError("engine config 'settings' must be a mapping")
    cls = engine_class(name)
    try:
        return cls(**{**nested, **options})
    except ValidationError as exc:
        raise ConfigurationError(f"invalid settings for engine {name!r}: {exc.errors()[0].get('msg', exc)}") from None
