"""AWS Signature Version 4 verification (Authorization header and presigned query string)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from eucalite.wire.auth_errors import AuthFailure, AuthProblem
from eucalite.wire.request import WireRequest

MAX_PRESIGN_EXPIRES = 604800  # seven days, the most any AWS presigned URL may ask for

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AUTH_RE = re.compile(r"\s*(\w+)\s*=\s*([^,]*)")
_AMZ_DATE_RE = re.compile(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z", re.ASCII)


@dataclass(frozen=True)
class SigV4Parts:
    access_key_id: str
    date: str  # YYYYMMDD of the scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ
    presigned: bool
    expires: int | None = None

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    def timestamp(self) -> datetime:
        """The X-Amz-Date; ValueError when it is not YYYYMMDDTHHMMSSZ or not a real time (as strptime, which
        cost several times more per request)."""
        m = _AMZ_DATE_RE.fullmatch(self.amz_date)
        if m is None:
            raise ValueError(f"not an X-Amz-Date: {self.amz_date!r}")
        year, month, day, hour, minute, second = map(int, m.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AuthFailure(
            AuthProblem.INCOMPLETE,
            f"Credential should be scoped to a valid region, not '{parts[2] if len(parts) > 2 else ''}'. ",
        )
    return parts[0], parts[1], parts[2], parts[3]


def is_sigv4(req: WireRequest) -> bool:
    auth = req.header("authorization") or ""
    return auth.startswith(ALGORITHM) or any(k == "X-Amz-Algorithm" for k, _ in req.query_pairs)


def extract(req: WireRequest) -> SigV4Parts:
    auth = req.header("authorization")
    if auth and auth.startswith(ALGORITHM):
        fields = dict(_AUTH_RE.findall(auth[len(ALGORITHM) :]))
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
        if missing:
            raise AuthFailure(
                AuthProblem.INCOMPLETE,
                "Authorization header requires " + ", ".join(f"'{m}' parameter" for m in missing)
                + f". Authorization={auth}",
            )
        amz_date = req.header("x-amz-date") or ""
        if not amz_date:
            raise AuthFailure(AuthProblem.INCOMPLETE, "Authorization header requires existence of either a "
                              "'X-Amz-Date' or a 'Date' header.")
        akid, date, region, service = _split_credential(fields["Credential"])
        return SigV4Parts(akid, date, region, service, tuple(fields["SignedHeaders"].split(";")),
                          fields["Signature"].strip(), amz_date, presigned=False)
    q = dict(req.query_pairs)
    needed = ["X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"]
    absent = [k for k in needed if k not in q]
    if absent:
        raise AuthFailure(AuthProblem.INCOMPLETE, "AWS query-string parameters must include "
                          + ", ".join(f"'{a}'" for a in absent) + ". Re-examine the query-string parameters.")
    akid, date, region, service = _split_credential(q["X-Amz-Credential"])
    try:
        expires = int(q.get("X-Amz-Expires", str(MAX_PRESIGN_EXPIRES)))
    except ValueError as exc:
        raise AuthFailure(AuthProblem.INCOMPLETE, "X-Amz-Expires must be a number") from exc
    # AWS caps a presigned URL at seven days whatever the signer asked for; without the cap a URL signed
    # with a huge X-Amz-Expires would stay valid for ever.
    if expires < 0:
        raise AuthFailure(AuthProblem.INCOMPLETE, "X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_EXPIRES:
        raise AuthFailure(AuthProblem.INCOMPLETE, "X-Amz-Expires must be less than a week (in seconds) that is "
                          f"{MAX_PRESIGN_EXPIRES}")
    return SigV4Parts(akid, date, region, service, tuple(q["X-Amz-SignedHeaders"].split(";")),
                      q["X-Amz-Signature"], q["X-Amz-Date"], presigned=True, expires=expires)


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_query(pairs: list[tuple[str, str]], drop_signature: bool) -> str:
    encoded = sorted(
        (_uri_encode(k), _uri_encode(v)) for k, v in pairs if not (drop_signature and k == "X-Amz-Signature")
    )
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_path(path: str) -> str:
    # Non-S3 services sign the normalized path encoded once more (as botocore does).
    return quote(path or "/", safe="/~")


def canonical_request(req: WireRequest, parts: SigV4Parts) -> str:
    headers = []
    for name in parts.signed_headers:
        values = req.headers.get(name, [])
        headers.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}")
    # Always the hash of the body received: X-Amz-Content-SHA256 is the sender's claim (S3's; "UNSIGNED-PAYLOAD"
    # included), and trusting it would let anyone replace the body, which carries the Action, of a signed request.
    payload = hashlib.sha256(req.body).hexdigest()
    return "\n".join([
        req.method.upper(),
        canonical_path(req.path),
        canonical_query(req.query_pairs, drop_signature=parts.presigned),
        "\n".join(headers) + "\n",
        ";".join(parts.signed_headers),
        payload,
    ])


def string_to_sign(req: WireRequest, parts: SigV4Parts) -> str:
    digest = hashlib.sha256(canonical_request(req, parts).encode()).hexdigest()
    return f"{ALGORITHM}\n{parts.amz_date}\n{parts.scope}\n{digest}"


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    # Cached: the key only changes daily, and four HMACs per request are a measurable cost under load.
    k = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b"aws4_request", hashlib.sha256).digest()


def verify(req: WireRequest, parts: SigV4Parts, secret: str) -> bool:
    if "host" not in parts.signed_headers:
        return False
    key = signing_key(secret, parts.date, parts.region, parts.service)
    expected = hmac.new(key, string_to_sign(req, parts).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.signature)
