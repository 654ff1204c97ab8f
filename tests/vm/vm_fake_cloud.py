"""A stand-in for eucalite's metadata service and EC2 API, just big enough for driver-level VM tests.

The metadata side insists on IMDSv2 tokens and rotates role credentials on demand; the API side
verifies each SigV4 signature with its own implementation (independent of the guest's shell one)
and answers like a role policy that allows only ec2:DescribeAvailabilityZones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<akid>[^/]+)/(?P<scope>[^,]+), ?"
    r"SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<sig>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret: str
    token: str
    expiration: str

    @classmethod
    def fresh(cls) -> Creds:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        akid = "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16))
        exp = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(akid, secrets.token_urlsafe(30), secrets.token_urlsafe(120), exp)


@dataclass
class ApiCall:
    action: str
    access_key_id: str
    signature_ok: bool
    status: int


@dataclass
class FakeCloud:
    instance_id: str
    ami_id: str = "emi-12345678"
    region: str = "eucalite"
    zones: tuple[str, ...] = ("eucalite-1a", "eucalite-1b")
    role: str = "ACCT1-EC2-ACTIONS"
    user_data: str = ""
    # "required" (IMDSv2 only) or "optional" (IMDSv1 too; cloud-init 22.4 uses v1 off AWS hardware).
    http_tokens: str = "required"
    creds: list[Creds] = field(default_factory=lambda: [Creds.fresh()])
    api_calls: list[ApiCall] = field(default_factory=list)
    metadata_requests: list[tuple[str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._md = _server(_MetadataHandler, self)
        self._api = _server(_ApiHandler, self)
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self._md, self._api)]
        for t in self._threads:
            t.start()

    @property
    def metadata_port(self) -> int:
        return int(self._md.server_address[1])

    @property
    def api_port(self) -> int:
        return int(self._api.server_address[1])

    @property
    def current(self) -> Creds:
        return self.creds[-1]

    def rotate(self) -> Creds:
        with self._lock:
            self.creds.append(Creds.fresh())
            return self.creds[-1]

    def close(self) -> None:
        for s in (self._md, self._api):
            s.shutdown()
            s.server_close()

    # -- metadata -----------------------------------------------------------------------------

    def leaves(self) -> dict[str, str]:
        doc = {
            "Code": "Success", "LastUpdated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Type": "AWS-HMAC", "AccessKeyId": self.current.access_key_id,
            "SecretAccessKey": self.current.secret, "Token": self.current.token,
            "Expiration": self.current.expiration,
        }
        host = f"{self.instance_id}.eucalite.internal"
        return {
            "meta-data/instance-id": self.instance_id,
            "meta-data/ami-id": self.ami_id,
            "meta-data/instance-type": "m1.small",
            "meta-data/hostname": host,
            "meta-data/local-hostname": host,
            "meta-data/local-ipv4": "169.254.0.15",
            "meta-data/placement/availability-zone": self.zones[0],
            "meta-data/placement/region": self.region,
            f"meta-data/iam/security-credentials/{self.role}": json.dumps(doc, indent=2),
        }

    def metadata(self, path: str) -> str | None:
        """A leaf, or the listing of a directory (children, subdirectories with a trailing slash)."""
        leaves = self.leaves()
        if self.user_data:
            leaves["user-data"] = self.user_data
        if path in leaves:
            return leaves[path]
        prefix = path.rstrip("/") + "/" if path.strip("/") else ""
        children = {k[len(prefix):].split("/")[0] + ("/" if "/" in k[len(prefix):] else "")
                    for k in leaves if k.startswith(prefix)}
        return "\n".join(sorted(children)) if children else None

    def new_token(self) -> str:
        token = secrets.token_urlsafe(32)
        self._tokens.add(token)
        return token

    def token_ok(self, token: str | None) -> bool:
        return token is not None and token in self._tokens

    # -- API ----------------------------------------------------------------------------------

    def verify(self, method: str, path: str, headers: Any, body: bytes) -> tuple[bool, str]:
        m = _AUTH.fullmatch(headers.get("Authorization", ""))
        if not m:
            return False, ""
        akid = m["akid"]
        creds = next((c for c in self.creds if c.access_key_id == akid), None)
        if creds is None or headers.get("X-Amz-Security-Token") != creds.token:
            return False, akid
        signed = m["signed"].split(";")
        canonical_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
        creq = "\n".join(
            [method, path, "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
        )
        scope = m["scope"]
        day, region, service, _ = scope.split("/")
        sts = "\n".join(
            ["AWS4-HMAC-SHA256", headers.get("X-Amz-Date", ""), scope, hashlib.sha256(creq.encode()).hexdigest()]
        )
        key = ("AWS4" + creds.secret).encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, m["sig"]) and region == self.region and service == "ec2"
        return ok, akid

    def answer(self, action: str) -> tuple[int, str]:
        if action == "DescribeAvailabilityZones":
            items = "".join(
                f"<item><zoneName>{z}</zoneName><zoneState>available</zoneState>"
                f"<regionName>{self.region}</regionName></item>"
                for z in self.zones
            )
            return 200, (
                f'<DescribeAvailabilityZonesResponse xmlns="{EC2_NS}"><requestId>r-1</requestId>'
                f"<availabilityZoneInfo>{items}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>"
            )
        return 403, _ec2_error("UnauthorizedOperation", f"You are not authorized to perform: ec2:{action}")


def _ec2_error(code: str, message: str) -> str:
    return (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        "<RequestID>r-1</RequestID></Response>"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    cloud: FakeCloud


def _server(handler: type[BaseHTTPRequestHandler], cloud: FakeCloud) -> _Server:
    server = _Server(("127.0.0.1", 0), handler)
    server.cloud = cloud
    return server


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: str, ctype: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class _MetadataHandler(_Handler):
    def do_PUT(self) -> None:
        self._body()
        cloud = self.server.cloud
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            status, body = 400, "bad token request"
        else:
            status, body = 200, cloud.new_token()
        cloud.metadata_requests.append(("PUT", self.path, status))
        self._send(status, body)

    def do_GET(self) -> None:
        cloud = self.server.cloud
        token = self.headers.get("X-aws-ec2-metadata-token")
        if (token is not None or cloud.http_tokens == "required") and not cloud.token_ok(token):
            status, body = 401, ""  # HttpTokens=required: IMDSv1 is refused
        else:
            # Any API version ("latest", "2009-04-04", ...) serves the same tree, as cloud-init probes several.
            value = cloud.metadata(self.path.lstrip("/").partition("/")[2])
            status, body = (200, value) if value is not None else (404, "not found")
        cloud.metadata_requests.append(("GET", self.path, status))
        self._send(status, body)


class _ApiHandler(_Handler):
    def do_POST(self) -> None:
        cloud = self.server.cloud
        body = self._body()
        action = parse_qs(body.decode()).get("Action", [""])[0]
        ok, akid = cloud.verify("POST", self.path, self.headers, body)
        status, xml = cloud.answer(action) if ok else (401, _ec2_error("AuthFailure", "bad signature"))
        cloud.api_calls.append(ApiCall(action, akid, ok, status))
        self._send(status, xml, "text/xml")
