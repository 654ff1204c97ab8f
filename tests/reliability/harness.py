"""Shared by the bounded reliability tests (tests/reliability) and scripts/stress.py.

Every check is a function ``run(...) -> Result`` that counts attempts and failures instead of stopping
at the first one, so the stress script can report figures and the tests can assert ``failures == 0``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

API_VERSIONS = {"iam": "2010-05-08", "sts": "2011-06-15", "ec2": "2016-11-15"}
REGION = "eucalite-1"
HOST = "eucalite.test"  # the in-process app does not care, but the Host header is signed


@dataclass
class Result:
    rid: str
    name: str
    attempts: int = 0
    failures: int = 0
    examples: list[str] = field(default_factory=list)  # the first few failures, for the report
    skipped: str = ""  # reason, when the check could not run here
    notes: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.failures += 1
        if len(self.examples) < 20:
            self.examples.append(what)

    @property
    def passed(self) -> bool:
        return not self.skipped and self.failures == 0

    def line(self) -> str:
        verdict = f"SKIPPED ({self.skipped})" if self.skipped else ("PASS" if self.passed else "FAIL")
        return f"{self.rid} {self.name} attempts={self.attempts} failures={self.failures} {verdict}"

    def report(self) -> str:
        return "\n".join([self.line(), *(f"  note: {n}" for n in self.notes),
                          *(f"  failure: {e}" for e in self.examples)])


@dataclass
class Key:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def credentials(self) -> Credentials:
        return Credentials(self.access_key_id, self.secret_access_key, self.session_token)


def signed(service: str, params: dict[str, Any], key: Key, url: str = f"http://{HOST}/",
           region: str = REGION) -> AWSRequest:
    """A Query request signed with SigV4 the way botocore signs it (form body, Host header signed)."""
    body = urlencode(params)
    req = AWSRequest(method="POST", url=url, data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(key.credentials(), service, region).add_auth(req)
    return req


def body_of(req: AWSRequest) -> bytes:
    data = req.data
    if isinstance(data, dict):
        return urlencode(data).encode()
    if isinstance(data, str):
        return data.encode()
    return data or b""


class InProcessCloud:
    """eucalite's ASGI app over a real data dir, driven through Starlette's TestClient (no sockets for the
    API; the metadata channels still listen on loopback from the app's event loop)."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        from starlette.testclient import TestClient

        from eucalite.app import build_app
        from eucalite.bootstrap import admin_key, bootstrap
        from eucalite.cloud import Cloud
        from eucalite.config import Settings

        self.cloud = Cloud(Settings(data_dir=data_dir, **settings), in_memory=False)
        bootstrap(self.cloud)
        self.app = build_app(self.cloud)
        self.client = TestClient(self.app, base_url=f"http://{HOST}", raise_server_exceptions=False)
        self.client.__enter__()  # runs the lifespan: rotation, node driver
        # The app's store connection belongs to the TestClient's event-loop thread. Reads from this (the
        # test's) thread go through a connection of their own: sharing one sqlite3 connection across threads
        # deadlocks when a write's trigger calls back into Python while the other thread holds the GIL.
        self.reader = Cloud(Settings(data_dir=data_dir, **settings), in_memory=False)
        key = admin_key(self.reader)
        assert key is not None
        self.admin = Key(key.id, key.secret)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.__exit__(None, None, None)
        self.reader.close()
        self.cloud.close()

    # -- raw requests ---------------------------------------------------------------------------------------
    def send(self, req: AWSRequest) -> tuple[int, str]:
        resp = self.client.request(req.method, req.url, content=body_of(req), headers=list(req.headers.items()))
        return resp.status_code, resp.text

    def call(self, service: str, action: str, key: Key | None = None, **params: Any) -> tuple[int, str]:
        full = {"Action": action, "Version": API_VERSIONS[service], **params}
        return self.send(signed(service, full, key or self.admin))

    def ok(self, service: str, action: str, key: Key | None = None, **params: Any) -> str:
        status, text = self.call(service, action, key, **params)
        if status != 200:
            raise AssertionError(f"{service}:{action} {params} -> {status}\n{text}")
        return text

    # -- set-up helpers -------------------------------------------------------------------------------------
    def new_account(self, prefix: str = "acct") -> tuple[str, str, Key]:
        """(name, id, admin key) of a fresh account."""
        from eucalite.bootstrap import admin_key

        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.ok("iam", "CreateAccount", AccountName=name)
        key = admin_key(self.reader, name)
        assert key is not None
        return name, key.account_id, Key(key.id, key.secret)


@contextlib.contextmanager
def in_process(**settings: Any) -> Iterator[InProcessCloud]:
    tmp = Path(tempfile.mkdtemp(prefix="eucalite-rel-"))
    cloud = InProcessCloud(tmp / "data", **settings)
    try:
        yield cloud
    finally:
        cloud.close()
        shutil.rmtree(tmp, ignore_errors=True)


def xml_value(text: str, tag: str) -> str:
    start = text.find(f"<{tag}>")
    if start < 0:
        return ""
    start += len(tag) + 2
    return text[start:text.find(f"</{tag}>", start)]


def xml_values(text: str, tag: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while True:
        start = text.find(f"<{tag}>", pos)
        if start < 0:
            return out
        start += len(tag) + 2
        end = text.find(f"</{tag}>", start)
        out.append(text[start:end])
        pos = end
