"""A reversible vault per conversation: the model sees placeholders, the user sees values.

A redacting scanner asks the vault for a placeholder (``<PERSON_1>``); the same value
always gets the same placeholder within one vault, across turns, and the vault restores
the originals in the model's reply, also while it streams (a placeholder split across
chunks is held back until it is complete).

One vault belongs to one conversation: the first scan that uses it claims it for that
conversation id, and a second conversation trying to use it gets :class:`VaultOwnershipError`.
Every operation takes a short lock and never awaits, so one vault is safe from many
threads and from asyncio tasks alike.

A persisted conversation keeps its vault encrypted (:meth:`Vault.to_encrypted`, AES-256-GCM,
bound to the conversation id) and resumes it with :meth:`Vault.from_encrypted`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
from typing import Any

from airisk.errors import AiriskError, ConfigurationError

PLACEHOLDER_PATTERN = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")
_PARTIAL_PLACEHOLDER = re.compile(r"<(?:[A-Z][A-Z0-9_]*)?")
_MAX_PLACEHOLDER = 64
_FORMAT_VERSION = 1
_TOKEN_PREFIX = "airisk-vault-v1."
KEY_ENV = "AIRISK_VAULT_KEY"


class VaultError(AiriskError):
    """A vault was misused or could not be loaded."""


class VaultOwnershipError(VaultError):
    """A vault that belongs to one conversation was used by another."""


class VaultDecryptionError(VaultError):
    """An encrypted vault could not be opened: wrong key, wrong conversation, or tampered."""


def _kind_name(kind: str) -> str:
    name = re.sub(r"[^A-Z0-9_]", "_", kind.upper()).strip("_")
    if not name or not name[0].isalpha():
        name = f"V_{name}" if name else "VALUE"
    return name


class Vault:
    """Thread-safe, two-way mapping between sensitive values and typed placeholders."""

    def __init__(self, owner: str | None = None) -> None:
        self._lock = threading.RLock()
        self._owner = owner
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"Vault({len(self._by_placeholder)} values)"

    def __len__(self) -> int:
        return len(self._by_placeholder)

    @property
    def owner(self) -> str | None:
        """The conversation id this vault belongs to (set by the first scan that uses it)."""
        return self._owner

    def claim(self, owner: str | None) -> None:
        """Bind the vault to a conversation; a vault already bound to another one refuses."""
        if owner is None:
            return
        with self._lock:
            if self._owner is None:
                self._owner = owner
            elif self._owner != owner:
                raise VaultOwnershipError("this vault belongs to another conversation; give each conversation its own")

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder for ``value`` of type ``kind``; stable for the vault's lifetime."""
        kind = _kind_name(kind)
        with self._lock:
            key = (kind, value)
            existing = self._by_value.get(key)
            if existing is not None:
                return existing
            number = self._counters.get(kind, 0) + 1
            self._counters[kind] = number
            placeholder = f"<{kind}_{number}>"
            self._by_value[key] = placeholder
            self._by_placeholder[placeholder] = value
            return placeholder

    def find(self, kind: str, value: str) -> str | None:
        """The placeholder already given to ``value``, without creating one."""
        with self._lock:
            return self._by_value.get((_kind_name(kind), value))

    def value_of(self, placeholder: str) -> str | None:
        with self._lock:
            return self._by_placeholder.get(placeholder)

    def restore(self, text: str) -> str:
        """Put the original values back wherever a known placeholder appears."""
        with self._lock:
            if not self._by_placeholder:
                return text
            known = self._by_placeholder
            return PLACEHOLDER_PATTERN.sub(lambda m: known.get(m.group(0), m.group(0)), text)

    def restorer(self) -> StreamRestorer:
        """A restorer for streamed text, which may split a placeholder across chunks."""
        return StreamRestorer(self)

    # persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data to persist the vault. It holds the sensitive values: store it encrypted."""
        with self._lock:
            return {
                "version": _FORMAT_VERSION,
                "owner": self._owner,
                "entries": [[kind, value, ph] for (kind, value), ph in self._by_value.items()],
                "counters": dict(self._counters),
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vault:
        """Rebuild a vault from :meth:`to_dict` output; malformed data is a clear error."""
        if not isinstance(data, dict) or data.get("version", _FORMAT_VERSION) != _FORMAT_VERSION:
            raise VaultError("not a vault dump (expected a dict with version 1)")
        owner = data.get("owner")
        vault = cls(owner=str(owner) if owner is not None else None)
        counters: dict[str, int] = {}
        for entry in data.get("entries", []):
            if not (isinstance(entry, (list, tuple)) and len(entry) == 3 and all(isinstance(x, str) for x in entry)):
                raise VaultError("vault entry must be [kind, value, placeholder]")
            kind, value, placeholder = entry
            match = PLACEHOLDER_PATTERN.fullmatch(placeholder)
            if match is None or match.group(1) != kind or placeholder in vault._by_placeholder:
                raise VaultError(f"vault entry has a bad or duplicate placeholder {placeholder!r}")
            vault._by_value[(kind, value)] = placeholder
            vault._by_placeholder[placeholder] = value
            counters[kind] = max(counters.get(kind, 0), int(match.group(2)))
        saved = data.get("counters", {})
        if not isinstance(saved, dict):
            raise VaultError("vault counters must be a mapping of kind to count")
        for kind, count in saved.items():
            if not isinstance(count, int) or isinstance(count, bool):
                raise VaultError(f"vault counter for {kind!r} must be an integer")
            counters[kind] = max(counters.get(kind, 0), count)
        vault._counters = counters
        return vault

    @staticmethod
    def generate_key() -> str:
        """A new random 256-bit key, URL-safe base64 (what ``AIRISK_VAULT_KEY`` holds)."""
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")

    def to_encrypted(self, key: str | bytes | None = None) -> str:
        """The vault encrypted with AES-256-GCM, bound to its owner (conversation id).

        ``key`` is 32 raw bytes or their URL-safe base64; by default ``AIRISK_VAULT_KEY``.
        """
        aead = _cipher(key)
        nonce = secrets.token_bytes(12)
        plain = json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8")
        sealed = aead.encrypt(nonce, plain, _associated_data(self._owner))
        return _TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    @classmethod
    def from_encrypted(cls, token: str, key: str | bytes | None = None, *, owner: str | None = None) -> Vault:
        """Open a vault saved by :meth:`to_encrypted`; ``owner`` must be the conversation it was saved for."""
        if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
            raise VaultDecryptionError("not an encrypted airisk vault")
        aead = _cipher(key)
        try:
            raw = base64.urlsafe_b64decode(token[len(_TOKEN_PREFIX) :].encode("ascii"))
        except ValueError as exc:
            raise VaultDecryptionError("encrypted vault is not valid base64") from exc
        if len(raw) < 12 + 16:  # nonce and GCM tag: anything shorter was cut off
            raise VaultDecryptionError("encrypted vault is truncated")
        from cryptography.exceptions import InvalidTag

        try:
            plain = aead.decrypt(raw[:12], raw[12:], _associated_data(owner))
        except InvalidTag:
            raise VaultDecryptionError("cannot open vault: wrong key, wrong conversation, or tampered data") from None
        return cls.from_dict(json.loads(plain.decode("utf-8")))


def _associated_data(owner: str | None) -> bytes:
    return b"airisk-vault-v1\x00" + (owner or "").encode("utf-8")


def _cipher(key: str | bytes | None) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:
        from airisk.errors import MissingDependencyError

        raise MissingDependencyError("vault encryption", "pii", "cryptography") from exc
    if key is None:
        key = os.environ.get(KEY_ENV)
        if not key:
            raise ConfigurationError(f"no vault key given and {KEY_ENV} is not set (make one: Vault.generate_key())")
    raw = key if isinstance(key, bytes) else None
    if raw is None or len(raw) != 32:
        try:
            text = key.decode("ascii") if isinstance(key, bytes) else key
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError:
            raw = b""
    if len(raw) != 32:
        raise ConfigurationError("vault key must be 32 bytes (or their URL-safe base64)")
    return AESGCM(raw)


class StreamRestorer:
    """Restores placeholders in a stream, holding back only what may be a placeholder's start."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._buffer = ""

    def feed(self, chunk: str) -> str:
        self._buffer += chunk
        cut = len(self._buffer)
        opening = self._buffer.rfind("<")
        if opening >= 0 and len(self._buffer) - opening < _MAX_PLACEHOLDER:
            tail = self._buffer[opening:]
            if _PARTIAL_PLACEHOLDER.fullmatch(tail):
                cut = opening
        ready, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._vault.restore(ready)

    def flush(self) -> str:
        ready, self._buffer = self._buffer, ""
        return self._vault.restore(ready)
