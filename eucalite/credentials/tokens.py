"""Sealed session tokens: the whole session (principal, expiry, policy, secret) encrypted and
authenticated with AES-GCM, so validating one is stateless and a changed byte is detected.

Layout (base64url, no padding): b"EL1" | key id (8 bytes) | nonce (12) | ciphertext+tag.
The key id names which sealing key to use, so keys can be rotated while old tokens stay readable.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_MAGIC = b"EL1"
_AAD = b"eucalite-session-token-v1"


@dataclass(frozen=True)
class SessionClaims:
    access_key_id: str
    secret_access_key: str
    account_id: str
    kind: str  # "assumed-role" | "federated-user" | "session"
    issued: float
    expires: float
    role_id: str | None = None
    role_name: str | None = None
    session_name: str | None = None
    user_id: str | None = None  # GetSessionToken: the user whose session this is
    policy: str | None = None  # session policy (JSON text)
    policy_arns: tuple[str, ...] = ()
    instance_id: str | None = None  # instance-profile sessions
    chained: bool = False  # obtained with role credentials (AWS caps these at one hour)
    role_path: str = "/"  # aws:PrincipalArn of a session is the role's ARN, path included
    tags: dict[str, str] = field(default_factory=dict)  # session tags: aws:PrincipalTag/* for the session


class InvalidToken(Exception):
    pass


class Keyring:
    """Sealing keys in DATA_DIR/sealing-keys/<kid>.key (0600); the newest seals, all of them open."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._keys: dict[bytes, AESGCM] = {}
        self._current: bytes = b""
        if directory is not None and directory.exists():
            for f in sorted(directory.glob("*.key")):
                self._keys[bytes.fromhex(f.stem)] = AESGCM(f.read_bytes())
                self._current = bytes.fromhex(f.stem)
        if not self._keys:
            self.rotate()

    def rotate(self) -> bytes:
        # Key ids sort by creation time so "newest" is simply the last one.
        kid = int(time.time() * 1000).to_bytes(6, "big") + os.urandom(2)
        key = AESGCM.generate_key(256)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.directory / f"{kid.hex()}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        self._keys[kid] = AESGCM(key)
        self._current = kid
        return kid

    def seal(self, payload: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return self._current + nonce + self._keys[self._current].encrypt(nonce, payload, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        kid, nonce, ct = blob[:8], blob[8:20], blob[20:]
        aead = self._keys.get(kid)
        if aead is None:
            raise InvalidToken("unknown key id")
        try:
            return aead.decrypt(nonce, ct, aad)
        except InvalidTag as exc:
            raise InvalidToken("token failed authentication") from exc


def seal(keyring: Keyring, claims: SessionClaims) -> str:
    body = json.dumps(asdict(claims), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_MAGIC + keyring.seal(body, _AAD)).rstrip(b"=").decode()


def unseal(keyring: Keyring, token: str) -> SessionClaims:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("not base64") from exc
    if not raw.startswith(_MAGIC) or len(raw) < len(_MAGIC) + 8 + 12 + 16:
        raise InvalidToken("not a eucalite token")
    data = json.loads(keyring.open(raw[len(_MAGIC) :], _AAD))
    data["policy_arns"] = tuple(data.get("policy_arns") or ())
    return SessionClaims(**data)


def seal_message(keyring: Keyring, message: dict[str, object], aad: bytes) -> str:
    """Seal an arbitrary document (EC2's encoded authorization messages)."""
    return base64.urlsafe_b64encode(keyring.seal(json.dumps(message).encode(), aad)).rstrip(b"=").decode()


def unseal_message(keyring: Keyring, text: str, aad: bytes) -> dict[str, object]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("not base64") from exc
    result = json.loads(keyring.open(raw, aad))
    if not isinstance(result, dict):
        raise InvalidToken("not a message")
    return result
