"""Encrypts secrets at rest (access-key secrets) with a local key, so a copied database alone
does not hand them out. The key file sits beside the database, readable by its owner only."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def load_or_create_key(path: Path, size: int = 32) -> bytes:
    if path.exists():
        key = path.read_bytes()
        if len(key) != size:
            raise ValueError(f"{path} does not hold a {size}-byte key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(size)
    # Create with 0600 from the start: a chmod after writing would leave a window.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str = "") -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.b64encode(nonce + ct).decode()

    def open(self, sealed: str, context: str = "") -> str:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
