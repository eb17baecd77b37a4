"""Where engine credentials come from: settings, the vendor's environment variables, or a secret store.

A setting may hold the credential itself, ``env:NAME`` (read that environment variable) or
``secret:NAME`` (asked of the resolver plugged in with :func:`set_secret_resolver`, which the
workspace points at its encrypted secrets store). Values travel as ``SecretStr`` so they are
redacted in reprs, logs and errors.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

from pydantic import SecretStr

from airisk.errors import ConfigurationError

SecretResolver = Callable[[str], "str | None"]

_resolver: SecretResolver | None = None
_lock = threading.Lock()


def set_secret_resolver(resolver: SecretResolver | None) -> SecretResolver | None:
    """Install the function that turns ``secret:NAME`` into a value; returns the previous one."""
    global _resolver
    with _lock:
        previous, _resolver = _resolver, resolver
    return previous


def get_secret_resolver() -> SecretResolver | None:
    return _resolver


def _plain(value: SecretStr | str | None) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def resolve_reference(value: str, *, setting: str, resolver: SecretResolver | None = None) -> str:
    """Follow an ``env:`` or ``secret:`` reference; other values are returned unchanged."""
    if value.startswith("env:"):
        name = value[4:]
        found = os.environ.get(name)
        if not found:
            raise ConfigurationError(f"{setting} refers to environment variable {name}, which is not set")
        return found
    if value.startswith("secret:"):
        name = value[7:]
        active = resolver or _resolver
        if active is None:
            raise ConfigurationError(
                f"{setting} refers to secret {name!r} but no secret resolver is configured "
                "(airisk.providers.set_secret_resolver)"
            )
        found = active(name)
        if not found:
            raise ConfigurationError(f"{setting} refers to secret {name!r}, which the secret resolver does not know")
        return found
    return value


def resolve_credential(
    value: SecretStr | str | None,
    env_vars: Sequence[str] = (),
    *,
    setting: str,
    required: bool = False,
    engine: str = "engine",
    resolver: SecretResolver | None = None,
) -> str | None:
    """The credential from the setting (following references), else the first vendor env var set."""
    plain = _plain(value)
    if plain:
        return resolve_reference(plain, setting=setting, resolver=resolver)
    for name in env_vars:
        found = os.environ.get(name)
        if found:
            return found
    if required:
        where = f" or environment variable {' / '.join(env_vars)}" if env_vars else ""
        raise ConfigurationError(f"{engine} needs {setting}: set it in the engine settings{where}")
    return None
