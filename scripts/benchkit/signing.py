"""Pre-signed Query requests: SigV4 by botocore's own signer, signed once, replayed many times.

A SigV4 signature carries its X-Amz-Date and is accepted for the server's clock-skew window (15 minutes),
so a set signed at the start of a round can be replayed for the whole round without re-signing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

VERSIONS = {"iam": "2010-05-08", "sts": "2011-06-15", "ec2": "2016-11-15"}
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class Signed:
    """One ready-to-send HTTP/1.1 request."""

    op: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def wire(self) -> bytes:
        head = [f"{self.method} {self.path} HTTP/1.1"]
        head += [f"{k}: {v}" for k, v in self.headers]
        head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class Target:
    """A server and the identity/region used to sign for it."""

    name: str
    url: str
    region: str
    keys: Keys

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 80)


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Query-protocol flattening for the few shapes the benchmarks use: lists as Name.N (EC2 style for EC2
    callers to pass, IAM callers use `member` themselves), dicts as Name.Key."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            for i, item in enumerate(value, 1):
                if isinstance(item, dict):
                    out.update(flatten(item, f"{name}.{i}."))
                else:
                    out[f"{name}.{i}"] = str(item)
        else:
            out[name] = str(value)
    return out


def sign(target: Target, service: str, action: str, params: dict[str, Any] | None = None, *,
         path: str = "/") -> Signed:
    form = {"Action": action, "Version": VERSIONS[service], **flatten(params or {})}
    body = urlencode(form).encode()
    req = AWSRequest(method="POST", url=target.url.rstrip("/") + path, data=body,
                     headers={"Content-Type": FORM, "Host": target.host})
    keys = target.keys
    creds = Credentials(keys.access_key_id, keys.secret_access_key, keys.session_token)
    SigV4Auth(creds, service, target.region).add_auth(req)
    headers = [(k, str(v)) for k, v in req.headers.items() if k.lower() != "content-length"]
    return Signed(f"{service}:{action}", "POST", path, tuple(headers), body)


def get(target: Target, path: str, extra: tuple[tuple[str, str], ...] = ()) -> Signed:
    """An unsigned GET (the metadata service)."""
    return Signed(f"GET {path}", "GET", path, (("Host", target.host), *extra), b"")
