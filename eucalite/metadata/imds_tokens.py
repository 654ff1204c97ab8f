"""IMDSv2 session tokens: bound to one instance, expiring, and checkable without state.

A token is base64url(instance id | expiry | HMAC-SHA256 over both) under a per-cloud key, so one
instance's token is worthless at another instance's channel and after its TTL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

MIN_TTL = 1
MAX_TTL = 21600
_MAC_LEN = 32


def issue(key: bytes, instance_id: str, now: float, ttl: int) -> str:
    payload = f"{instance_id}|{int(now) + ttl}".encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(payload + b"|" + mac).decode()


def valid(key: bytes, token: str, instance_id: str, now: float) -> bool:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        return False
    # Fixed-length framing: the binary MAC may itself contain the separator byte.
    payload, sep, mac = raw[:-_MAC_LEN - 1], raw[-_MAC_LEN - 1:-_MAC_LEN], raw[-_MAC_LEN:]
    if len(raw) <= _MAC_LEN + 1 or sep != b"|" or \
            not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
        return False
    owner, _, expiry = payload.decode(errors="replace").partition("|")
    if not hmac.compare_digest(owner.encode(), instance_id.encode()):
        return False
    return expiry.isdigit() and now < int(expiry)
