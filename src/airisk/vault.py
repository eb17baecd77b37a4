"""A reversible vault per conversation: the model sees placeholders, the user sees values.

A redacting scanner asks the vault for a placeholder (``<PERSON_1>``); the same value
always gets the same placeholder within one vault, and the vault restores the originals
in the model's reply, also while it streams. One vault belongs to one conversation.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")
_MAX_PLACEHOLDER = 64


class Vault:
    """Thread-safe mapping between sensitive values and typed placeholders."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"Vault({len(self._by_placeholder)} values)"

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder for ``value`` of type ``kind``; stable for the vault's lifetime."""
        kind = re.sub(r"[^A-Z0-9_]", "_", kind.upper()) or "VALUE"
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

    def value_of(self, placeholder: str) -> str | None:
        with self._lock:
            return self._by_placeholder.get(placeholder)

    def restore(self, text: str) -> str:
        """Put the original values back wherever a known placeholder appears."""
        with self._lock:
            if not self._by_placeholder:
                return text
            return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    def restorer(self) -> StreamRestorer:
        """A restorer for streamed text, which may split a placeholder across chunks."""
        return StreamRestorer(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain data to persist the vault (encrypt it at rest: it holds the sensitive values)."""
        with self._lock:
            return {
                "entries": [[kind, value, ph] for (kind, value), ph in self._by_value.items()],
                "counters": dict(self._counters),
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vault:
        vault = cls()
        for kind, value, placeholder in data.get("entries", []):
            vault._by_value[(kind, value)] = placeholder
            vault._by_placeholder[placeholder] = value
        vault._counters.update(data.get("counters", {}))
        return vault


class StreamRestorer:
    """Restores placeholders in a stream, holding back a possible placeholder prefix."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._buffer = ""

    def feed(self, chunk: str) -> str:
        self._buffer += chunk
        cut = len(self._buffer)
        opening = self._buffer.rfind("<")
        if opening >= 0 and ">" not in self._buffer[opening:] and len(self._buffer) - opening < _MAX_PLACEHOLDER:
            cut = opening
        ready, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._vault.restore(ready)

    def flush(self) -> str:
        ready, self._buffer = self._buffer, ""
        return self._vault.restore(ready)
