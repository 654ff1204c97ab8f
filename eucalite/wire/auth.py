"""Authentication: which key signed this request, was the signature right, and who is that.

Returns a Caller or raises AuthFailure; the dispatcher turns failures into each service's own error.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from eucalite.clock import Clock
from eucalite.credentials.tokens import InvalidToken, Keyring, SessionClaims, unseal
from eucalite.identity import ADMIN_USER, CLOUD_ADMIN_ACCOUNT, Caller
from eucalite.store.identities import Identities
from eucalite.wire import sigv2, sigv4
from eucalite.wire.auth_errors import AuthFailure, AuthProblem
from eucalite.wire.request import WireRequest

_GLOBAL_SERVICES = frozenset({"iam", "sts"})
_LAST_USED_INTERVAL = 60.0  # seconds between last-used writes per key: a write per request would cost


@dataclass(frozen=True)
class Authenticated:
    caller: Caller
    signature_version: str  # "4" | "2"
    region: str


class Authenticator:
    def __init__(self, identities: Identities, keyring: Keyring, clock: Clock, region: str, skew: int,
                 any_region: bool = False, lenient_tokens: bool = False) -> None:
        self.identities = identities
        self.keyring = keyring
        self.clock = clock
        self.region = region
        self.skew = skew
        self.any_region = any_region
        # Test mode: moto-style suites export AWS_SESSION_TOKEN=testing next to long-term keys.
        self.lenient_tokens = lenient_tokens
        self._last_used_written: dict[str, float] = {}

    def authenticate(self, req: WireRequest, params: dict[str, str], service: str) -> Authenticated:
        if sigv4.is_sigv4(req):
            return self._sigv4(req, service)
        if sigv2.is_sigv2(params):
            return self._sigv2(req, params, service)
        raise AuthFailure(AuthProblem.MISSING)

    # -- Signature Version 4 -------------------------------------------------------------------------------
    def _sigv4(self, req: WireRequest, service: str) -> Authenticated:
        parts = sigv4.extract(req)
        self._check_region(parts.region, service)
        now = self.clock.time()
        try:
            signed_at = parts.timestamp().timestamp()
        except ValueError as exc:
            raise AuthFailure(AuthProblem.INCOMPLETE, f"Invalid X-Amz-Date {parts.amz_date}") from exc
        if parts.presigned:
            if parts.expires is not None and now > signed_at + parts.expires:
                raise AuthFailure(AuthProblem.PRESIGN_EXPIRED)
            if signed_at - now > self.skew:
                raise AuthFailure(AuthProblem.SKEWED, self._skew_message(parts.amz_date, now))
        elif abs(now - signed_at) > self.skew:
            raise AuthFailure(AuthProblem.SKEWED, self._skew_message(parts.amz_date, now))
        token = req.header("x-amz-security-token") or dict(req.query_pairs).get("X-Amz-Security-Token")
        secret, caller, claims = self._resolve(parts.access_key_id, token)
        if not sigv4.verify(req, parts, secret):
            raise AuthFailure(AuthProblem.BAD_SIGNATURE)
        self._check_expiry(claims, now)
        self._note_use(parts.access_key_id, service, parts.region, claims)
        return Authenticated(self._with_ip(caller, req), "4", parts.region)

    def _check_region(self, region: str, service: str) -> None:
        if self.any_region or region == self.region or (service in _GLOBAL_SERVICES and region == "us-east-1"):
            return
        raise AuthFailure(AuthProblem.BAD_REGION, f"Credential should be scoped to a valid region, not '{region}'. ")

    def _skew_message(self, amz_date: str, now: float) -> str:
        fmt = "%Y%m%dT%H%M%SZ"
        return (f"Signature expired: {amz_date} is now earlier than "
                f"{time.strftime(fmt, time.gmtime(now - self.skew))} ({time.strftime(fmt, time.gmtime(now))} "
                f"- {self.skew // 60} min.)")

    # -- Signature Version 2 -------------------------------------------------------------------------------
    def _sigv2(self, req: WireRequest, params: dict[str, str], service: str) -> Authenticated:
        parts = sigv2.extract(params)
        now = self.clock.time()
        if parts.expires is not None and now > parts.expires.timestamp():
            raise AuthFailure(AuthProblem.PRESIGN_EXPIRED)
        if parts.timestamp is not None and abs(now - parts.timestamp.timestamp()) > self.skew:
            raise AuthFailure(AuthProblem.SKEWED, "Signature expired: the request Timestamp is outside the "
                              f"allowed {self.skew // 60} minutes of clock skew.")
        secret, caller, claims = self._resolve(parts.access_key_id, parts.token or req.header("x-amz-security-token"))
        if not sigv2.verify(req, params, parts, secret):
            raise AuthFailure(AuthProblem.BAD_SIGNATURE)
        self._check_expiry(claims, now)
        self._note_use(parts.access_key_id, service, self.region, claims)
        return Authenticated(self._with_ip(caller, req), "2", self.region)

    # -- keys ----------------------------------------------------------------------------------------------
    def _resolve(self, access_key_id: str, token: str | None) -> tuple[str, Caller, SessionClaims | None]:
        if access_key_id.startswith("ASIA"):
            if not token:
                raise AuthFailure(AuthProblem.UNKNOWN_KEY)
            try:
                claims = unseal(self.keyring, token)
            except (InvalidToken, ValueError, TypeError, KeyError) as exc:
                raise AuthFailure(AuthProblem.UNKNOWN_KEY) from exc
            if not hmac.compare_digest(claims.access_key_id, access_key_id):
                raise AuthFailure(AuthProblem.UNKNOWN_KEY)
            return claims.secret_access_key, self._session_caller(claims), claims
        if token and not self.lenient_tokens:
            raise AuthFailure(AuthProblem.UNKNOWN_KEY)  # long-term keys never carry a session token
        key = self.identities.access_key(access_key_id)
        if key is None or key.status != "Active":
            raise AuthFailure(AuthProblem.UNKNOWN_KEY)
        user = self.identities.user_by_id(key.user_id)
        account = self.identities.account(key.account_id) if user else None
        if user is None or account is None:
            raise AuthFailure(AuthProblem.UNKNOWN_KEY)
        return key.secret, self.user_caller(user, account, access_key_id), None

    @staticmethod
    def user_caller(user: dict, account: dict, access_key_id: str) -> Caller:
        is_admin = bool(user["is_admin"])
        return Caller(
            account_id=account["id"],
            account_name=account["name"],
            arn=f"arn:aws:iam::{account['id']}:user{user['path']}{user['name']}",
            kind="user",
            principal_id=user["id"],
            access_key_id=access_key_id,
            user_id=user["id"],
            user_name=user["name"],
            is_account_admin=is_admin,
            is_cloud_admin=is_admin and account["name"] == CLOUD_ADMIN_ACCOUNT and user["name"] == ADMIN_USER,
        )

    def _session_caller(self, claims: SessionClaims) -> Caller:
        account = self.identities.account(claims.account_id)
        account_name = account["name"] if account else ""
        if claims.kind == "assumed-role":
            return Caller(
                account_id=claims.account_id,
                account_name=account_name,
                arn=f"arn:aws:sts::{claims.account_id}:assumed-role/{claims.role_name}/{claims.session_name}",
                kind="assumed-role",
                principal_id=f"{claims.role_id}:{claims.session_name}",
                access_key_id=claims.access_key_id,
                role_id=claims.role_id,
                role_name=claims.role_name,
                role_path=claims.role_path,
                session_name=claims.session_name,
                tags=dict(claims.tags),
                session_policy=claims.policy,
                session_policy_arns=claims.policy_arns,
                expires=claims.expires,
                instance_id=claims.instance_id,
            )
        # GetSessionToken: the session acts as the user who asked for it, with the user's permissions.
        user = self.identities.user_by_id(claims.user_id or "")
        if user is None or account is None:
            raise AuthFailure(AuthProblem.UNKNOWN_KEY)
        base = self.user_caller(user, account, claims.access_key_id)
        return Caller(**{**base.__dict__, "expires": claims.expires})

    @staticmethod
    def _check_expiry(claims: SessionClaims | None, now: float) -> None:
        if claims is not None and now >= claims.expires:
            raise AuthFailure(AuthProblem.TOKEN_EXPIRED)

    def _note_use(self, key_id: str, service: str, region: str, claims: SessionClaims | None) -> None:
        if claims is not None:
            return
        now = time.monotonic()
        if now - self._last_used_written.get(key_id, -1e9) >= _LAST_USED_INTERVAL:
            self._last_used_written[key_id] = now
            self.identities.mark_key_used(key_id, service, region)

    def forget_key(self, key_id: str) -> None:
        self._last_used_written.pop(key_id, None)

    @staticmethod
    def _with_ip(caller: Caller, req: WireRequest) -> Caller:
        return Caller(**{**caller.__dict__, "source_ip": req.source_ip})
