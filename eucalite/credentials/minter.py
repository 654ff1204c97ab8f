"""The credential minter: temporary ASIA keys with sealed session tokens.

Temporary key ids carry their account (as AWS's do), so GetAccessKeyInfo can answer for a key
without any server-side session table: validation stays stateless.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from eucalite import ids
from eucalite.clock import Clock
from eucalite.credentials.tokens import Keyring, SessionClaims, seal

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def temporary_key_id(account_id: str) -> str:
    """ASIA + 8 base32 chars of the account number (40 bits holds any 12-digit id) + 8 random chars."""
    n = int(account_id)
    encoded = "".join(_B32[(n >> (5 * i)) & 31] for i in reversed(range(8)))
    return "ASIA" + encoded + ids.random_text(_B32, 8)


def account_of_temporary_key(key_id: str) -> str | None:
    if not key_id.startswith("ASIA") or len(key_id) != 20:
        return None
    n = 0
    for ch in key_id[4:12]:
        idx = _B32.find(ch)
        if idx < 0:
            return None
        n = (n << 5) | idx
    return f"{n:012d}" if n < 10**12 else None


@dataclass(frozen=True)
class Minted:
    claims: SessionClaims
    token: str

    @property
    def access_key_id(self) -> str:
        return self.claims.access_key_id

    @property
    def secret_access_key(self) -> str:
        return self.claims.secret_access_key

    @property
    def issued(self) -> datetime:
        return datetime.fromtimestamp(self.claims.issued, UTC)

    @property
    def expiration(self) -> datetime:
        return datetime.fromtimestamp(self.claims.expires, UTC)

    def as_sts(self) -> dict[str, object]:
        return {"AccessKeyId": self.access_key_id, "SecretAccessKey": self.secret_access_key,
                "SessionToken": self.token, "Expiration": self.expiration}


class Minter:
    def __init__(self, keyring: Keyring, clock: Clock) -> None:
        self.keyring = keyring
        self.clock = clock

    def mint(self, *, account_id: str, kind: str, duration: int, role_id: str | None = None,
             role_name: str | None = None, session_name: str | None = None, user_id: str | None = None,
             policy: str | None = None, policy_arns: tuple[str, ...] = (), instance_id: str | None = None,
             chained: bool = False, role_path: str = "/", tags: dict[str, str] | None = None) -> Minted:
        # Whole seconds: expiry is shown to clients at second precision and must mean the same here.
        now = float(int(self.clock.time()))
        claims = SessionClaims(
            access_key_id=temporary_key_id(account_id),
            secret_access_key=ids.secret_access_key(),
            account_id=account_id,
            kind=kind,
            issued=now,
            expires=now + duration,
            role_id=role_id,
            role_name=role_name,
            session_name=session_name,
            user_id=user_id,
            policy=policy,
            policy_arns=policy_arns,
            instance_id=instance_id,
            chained=chained,
            role_path=role_path,
            tags=dict(tags or {}),
        )
        return Minted(claims, seal(self.keyring, claims))


def packed_policy_size(policy: str | None, arns: tuple[str, ...]) -> int:
    """AWS reports how full the packed (compressed) session policy is, in percent of its limit."""
    if not policy and not arns:
        return 0
    import zlib

    packed = zlib.compress(((policy or "") + "".join(arns)).encode(), 9)
    return max(1, round(100 * len(base64.b64encode(packed)) / 2048))
