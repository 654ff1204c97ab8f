"""AWS Signature Version 2 verification (HmacSHA256 and HmacSHA1), as euca2ools and older SDKs sign."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from eucalite.wire.auth_errors import AuthFailure, AuthProblem
from eucalite.wire.request import WireRequest

AUTH_PARAMS = frozenset({"AWSAccessKeyId", "SignatureMethod", "SignatureVersion", "Signature", "Timestamp",
                         "Expires", "SecurityToken"})
_DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


@dataclass(frozen=True)
class SigV2Parts:
    access_key_id: str
    method: str
    signature: str
    timestamp: datetime | None
    expires: datetime | None
    token: str | None


def is_sigv2(params: dict[str, str]) -> bool:
    return params.get("SignatureVersion") == "2" or ("AWSAccessKeyId" in params and "Signature" in params)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def extract(params: dict[str, str]) -> SigV2Parts:
    missing = [k for k in ("AWSAccessKeyId", "Signature", "SignatureMethod") if k not in params]
    if missing:
        raise AuthFailure(AuthProblem.INCOMPLETE, f"Request is missing parameter(s): {', '.join(missing)}")
    if params["SignatureMethod"] not in _DIGESTS:
        raise AuthFailure(AuthProblem.INCOMPLETE, f"Unsupported SignatureMethod {params['SignatureMethod']}")
    try:
        ts = _when(params["Timestamp"]) if "Timestamp" in params else None
        exp = _when(params["Expires"]) if "Expires" in params else None
    except ValueError as exc:
        raise AuthFailure(AuthProblem.INCOMPLETE, "Invalid Timestamp or Expires") from exc
    if ts is None and exp is None:
        raise AuthFailure(AuthProblem.INCOMPLETE, "Request must contain either a valid Timestamp or Expires")
    return SigV2Parts(params["AWSAccessKeyId"], params["SignatureMethod"], params["Signature"], ts, exp,
                      params.get("SecurityToken"))


def string_to_sign(req: WireRequest, params: dict[str, str]) -> str:
    pairs = [
        f"{quote(k, safe='')}={quote(v, safe='-_~')}" for k, v in sorted(params.items()) if k != "Signature"
    ]
    host = (req.header("host") or "").lower()
    return f"{req.method.upper()}\n{host}\n{req.path or '/'}\n" + "&".join(pairs)


def verify(req: WireRequest, params: dict[str, str], parts: SigV2Parts, secret: str) -> bool:
    mac = hmac.new(secret.encode(), string_to_sign(req, params).encode(), _DIGESTS[parts.method])
    expected = base64.b64encode(mac.digest()).decode()
    return hmac.compare_digest(expected, parts.signature)
