"""Identifier formats real clients depend on (AWS prefixes, Eucalyptus resource ids).

Ids are random, not sequential, so one account cannot infer another's activity from them.
"""

from __future__ import annotations

import secrets
import string
import uuid

_UPPER_ALNUM = string.ascii_uppercase + "234567"  # AWS unique ids use base32-like characters
_ALNUM = string.ascii_letters + string.digits


def random_text(alphabet: str, n: int) -> str:
    """``n`` characters drawn uniformly from ``alphabet`` with one call to the OS's CSPRNG (a
    `secrets.choice` per character was a tenth of an AssumeRole): bytes at or above the largest multiple
    of the alphabet's size are rejected, so ``b % size`` has no bias."""
    size = len(alphabet)
    limit = 256 - 256 % size
    out: list[str] = []
    while len(out) < n:
        out.extend(alphabet[b % size] for b in secrets.token_bytes(2 * n) if b < limit)
    return "".join(out[:n])


def iam_unique_id(prefix: str) -> str:
    """AIDA (user), AROA (role), AIPA (instance profile), AGPA (group), ANPA (policy): 21 chars in all."""
    return prefix + random_text(_UPPER_ALNUM, 17)


def access_key_id(temporary: bool = False) -> str:
    return ("ASIA" if temporary else "AKIA") + random_text(_UPPER_ALNUM, 16)


def secret_access_key() -> str:
    return random_text(_ALNUM + "+/", 40)


def account_id() -> str:
    # Never starts with 0 so that it survives naive integer round-trips in clients' code.
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def resource_id(prefix: str) -> str:
    """Eucalyptus-style ids: i-, r-, emi-, eki-, eri-, sg-, key- followed by 8 hex digits... or 17 like AWS."""
    return f"{prefix}-{secrets.token_hex(4)}"


def long_resource_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


def request_id() -> str:
    return str(uuid.uuid4())
