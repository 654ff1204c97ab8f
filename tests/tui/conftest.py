"""A cloud filled through the real service handlers: the walkthrough's account, user, role, profile and
instance. Deterministic variant (seeded ids, frozen clock) for snapshot tests."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eucalite import ids
from eucalite.bootstrap import bootstrap
from eucalite.clock import Clock
from eucalite.cloud import Cloud
from eucalite.config import Settings
from eucalite.services import registry
from eucalite.services.context import CallContext
from eucalite.services.invoke import invoke
from eucalite.wire.auth import Authenticator

FROZEN_AT = 1_381_518_457.0  # 2013-10-11T19:07:37Z: Eucalyptus 3.4's release month

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]})
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones"], "Resource": "*"}]})
USER_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["iam:PassRole", "iam:ListInstanceProfiles"], "Resource": "*"}]})


class FrozenClock(Clock):
    """A clock that only moves when told to (advance)."""

    def __init__(self, at: float) -> None:
        super().__init__(0.0)
        self._at = at

    def time(self) -> float:
        return self._at + self.offset


class SeededSecrets:
    """Stands in for the secrets module so ids come out the same on every run (snapshot tests only)."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def choice(self, seq: Any) -> Any:
        return self._r.choice(seq)

    def randbelow(self, n: int) -> int:
        return self._r.randrange(n)

    def token_hex(self, n: int = 32) -> str:
        return self._r.randbytes(n).hex()

    def token_bytes(self, n: int = 32) -> bytes:
        return self._r.randbytes(n)

    def token_urlsafe(self, n: int = 32) -> str:
        import base64

        return base64.urlsafe_b64encode(self._r.randbytes(n)).rstrip(b"=").decode()


def caller_for(cloud: Cloud, account_name: str, user_name: str = "admin") -> Any:
    account = cloud.identities.account_by_name(account_name)
    assert account is not None
    user = cloud.identities.user(account["id"], user_name)
    assert user is not None
    return Authenticator.user_caller(user, account, "")


async def call(cloud: Cloud, service: str, action: str, params: dict[str, Any], *, account: str = "eucalyptus",
               user: str = "admin") -> Any:
    """One operation through its registered handler, authorized as the dispatcher does (services.invoke)."""
    op = registry.lookup(service, action)
    assert op is not None, f"{service}:{action} is not implemented"
    ctx = CallContext(cloud, caller_for(cloud, account, user), service, action, ids.request_id(),
                      cloud.settings.region)
    return await invoke(op, ctx, dict(params))


@dataclass
class Walkthrough:
    cloud: Cloud
    account_id: str
    instance_id: str | None


def local_cloud(tmp_path: Path, *, clock: Clock | None = None, ttl: int = 3600) -> Cloud:
    settings = Settings(data_dir=tmp_path / "data", accept_unregistered_images=True, credential_ttl=ttl,
                        memory_boot_seconds=0.05)
    cloud = Cloud(settings, in_memory=True, clock=clock)
    bootstrap(cloud)
    return cloud


async def fill(cloud: Cloud, *, launch: bool = True) -> Walkthrough:
    """Steps 1-3 of the walkthrough in DESIGN.md, through the IAM and EC2 handlers."""
    await call(cloud, "iam", "CreateAccount", {"AccountName": "account1"})
    acct = {"account": "account1"}
    await call(cloud, "iam", "CreateUser", {"UserName": "user01"}, **acct)
    await call(cloud, "iam", "CreateAccessKey", {"UserName": "user01"}, **acct)
    await call(cloud, "iam", "PutUserPolicy", {"UserName": "user01", "PolicyName": "ec2-and-passrole",
                                               "PolicyDocument": USER_POLICY}, **acct)
    await call(cloud, "iam", "CreateRole", {"RoleName": "ACCT1-EC2-ACTIONS", "AssumeRolePolicyDocument": TRUST},
               **acct)
    await call(cloud, "iam", "PutRolePolicy", {"RoleName": "ACCT1-EC2-ACTIONS", "PolicyName": "describe-zones",
                                               "PolicyDocument": ROLE_POLICY}, **acct)
    await call(cloud, "iam", "CreateInstanceProfile", {"InstanceProfileName": "instance-ec2-actions"}, **acct)
    await call(cloud, "iam", "AddRoleToInstanceProfile", {"InstanceProfileName": "instance-ec2-actions",
                                                          "RoleName": "ACCT1-EC2-ACTIONS"}, **acct)
    account = cloud.identities.account_by_name("account1")
    assert account is not None
    instance_id = None
    if launch:
        profile_arn = f"arn:aws:iam::{account['id']}:instance-profile/instance-ec2-actions"
        out = await call(cloud, "ec2", "RunInstances", {
            "ImageId": "emi-12345678", "MinCount": 1, "MaxCount": 1, "InstanceType": "m1.large",
            "IamInstanceProfile": {"Arn": profile_arn}}, account="account1", user="user01")
        instance_id = out["Instances"][0]["InstanceId"]
    return Walkthrough(cloud, account["id"], instance_id)


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic ids and keys (eucalite.ids, which the minter draws from too, and EC2's MACs)."""
    import eucalite.services.ec2.instances as ec2_instances

    fake = SeededSecrets(34)
    for module in (ids, ec2_instances):
        monkeypatch.setattr(module, "secrets", fake)
