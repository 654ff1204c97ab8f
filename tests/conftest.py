"""Shared fixtures: real eucalite servers in subprocesses, and boto3 clients pointed at them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from eucalite.bootstrap import admin_key
from eucalite.cloud import Cloud
from eucalite.config import load_settings

# The tests drive the installed commands (`eucalite`, `aws`) as a user would; they are the ones installed
# beside this interpreter (the virtualenv's bin), whether or not that virtualenv is activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass
class LiveCloud:
    """A running `eucalite up --no-tui` and what tests need to talk to it."""

    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    region: str = "eucalite-1"
    extra_args: tuple[str, ...] = ()
    _reader: Cloud | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reader(self) -> Cloud:
        # A second connection to the same database, to read what a CLI user would (keys of new accounts).
        if self._reader is None:
            self._reader = Cloud(load_settings({"data_dir": self.data_dir}))
        return self._reader

    def admin_creds(self, account: str = "eucalyptus", user: str = "admin") -> Creds:
        key = admin_key(self.reader(), account, user)
        assert key is not None, f"no key for {user}@{account}"
        return Creds(key.id, key.secret)

    def client(self, service: str, creds: Creds | None = None, **config: Any) -> Any:
        c = creds or self.admin_creds()
        session = boto3.Session()
        # The Eucalyptus extras (CreateAccount, ...) come from the models `eucalite up` wrote.
        session._session.get_component("data_loader").search_paths.insert(0, str(self.data_dir / "models"))
        return session.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=c.access_key_id,
            aws_secret_access_key=c.secret_access_key,
            aws_session_token=c.session_token,
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def new_account(self, prefix: str = "acct") -> tuple[str, Creds]:
        """A fresh account (via the cloud admin's CreateAccount) and its admin's credentials."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.client("iam").create_account(AccountName=name)
        return name, self.admin_creds(name)

    def advance_clock(self, seconds: float) -> None:
        import urllib.request

        req = urllib.request.Request(f"{self.url}/_eucalite/clock?seconds={seconds}", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200

    def log(self) -> str:
        path = self.data_dir / "eucalite.log"
        return path.read_text() if path.exists() else ""

    def aws_env(self, creds: Creds | None = None) -> dict[str, str]:
        c = creds or self.admin_creds()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": c.access_key_id, "AWS_SECRET_ACCESS_KEY": c.secret_access_key,
                    "AWS_ENDPOINT_URL": self.url, "AWS_DEFAULT_REGION": self.region,
                    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                    "AWS_DATA_PATH": str(self.data_dir / "models")})
        if c.session_token:
            env["AWS_SESSION_TOKEN"] = c.session_token
        return env

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.close()


def start_cloud(data_dir: Path, *args: str, port: int | None = None) -> LiveCloud:
    port = port or free_port()
    log = open(data_dir.parent / f"{data_dir.name}.stdout", "ab")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "eucalite", "up", "--no-tui", "--data-dir", str(data_dir), "--port", str(port),
         *args],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    cloud = LiveCloud(data_dir, port, proc, extra_args=args)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"eucalite exited with {proc.returncode}:\n{cloud.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return cloud
        except OSError:
            time.sleep(0.05)
    cloud.stop()
    raise RuntimeError(f"eucalite did not listen on {port}:\n{cloud.log()}")


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    """One shared server for the session (memory driver). Tests use unique names or new accounts."""
    live = start_cloud(tmp_path_factory.mktemp("cloud") / "data")
    yield live
    live.stop()


@pytest.fixture
def make_cloud(tmp_path: Path) -> Iterator[Callable[..., LiveCloud]]:
    """A dedicated server with extra flags (e.g. --test-mode, --credential-ttl 2m)."""
    started: list[LiveCloud] = []

    def make(*args: str) -> LiveCloud:
        live = start_cloud(tmp_path / f"data{len(started)}", *args)
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"
