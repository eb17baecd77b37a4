"""Encryption at rest: AES-256-GCM with a key from the environment.

The key is 32 random bytes, given base64-encoded in ``AIRISK_SECRET_KEY`` (make one with
``python -c "from airisk.workspace import generate_secret_key; print(generate_secret_key())"``).
Each ciphertext carries a version byte, a key fingerprint (so a wrong key is a clear error,
not garbage), and a random 96-bit nonce; associated data binds it to its row (company and
name), so a ciphertext copied onto another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets

from airisk.workspace.errors import SecretKeyMissing, WorkspaceError

ENV_VAR = "AIRISK_SECRET_KEY"
_VERSION = b"\x01"


def generate_secret_key() -> str:
    """A fresh key for AIRISK_SECRET_KEY (base64 of 32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _decode_key(key: str | bytes) -> bytes:
    if isinstance(key, bytes) and len(key) == 32:
        return key
    text = key.decode() if isinstance(key, bytes) else key
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise SecretKeyMissing(f"{ENV_VAR} must be base64 of 32 bytes (see airisk.workspace.generate_secret_key)")
    return raw


class SecretBox:
    """Encrypts and decrypts small values; never logs or shows them."""

    def __init__(self, key: str | bytes) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            from airisk.errors import MissingDependencyError

            raise MissingDependencyError("encryption at rest", "store", "cryptography") from None
        raw = _decode_key(key)
        self._aead = AESGCM(raw)
        self.fingerprint = hashlib.sha256(b"airisk-key" + raw).digest()[:4]

    def __repr__(self) -> str:
        return f"SecretBox(fingerprint={self.fingerprint.hex()})"

    @classmethod
    def from_environment(cls, key: str | bytes | None = None) -> SecretBox | None:
        value = key if key is not None else os.environ.get(ENV_VAR)
        return cls(value) if value else None

    def encrypt(self, plaintext: bytes, associated: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return _VERSION + self.fingerprint + nonce + self._aead.encrypt(nonce, plaintext, associated.encode())

    def decrypt(self, blob: bytes, associated: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        if blob[:1] != _VERSION:
            raise WorkspaceError("unknown ciphertext version")
        if blob[1:5] != self.fingerprint:
            raise SecretKeyMissing(f"this value was encrypted with another key than the current {ENV_VAR}")
        nonce, body = blob[5:17], blob[17:]
        try:
            return self._aead.decrypt(nonce, body, associated.encode())
        except InvalidTag:
            raise WorkspaceError("ciphertext was altered or belongs to another row") from None
