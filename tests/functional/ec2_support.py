"""Shared set-up for the EC2 functional tests: images imported with `eucalite image import`, the
walkthrough's account (user01 + role + instance profile), and waiting for instance states."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Creds, LiveCloud

USER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["iam:PassRole", "iam:ListInstanceProfiles"], "Resource": "*"}]}
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]}
ROLE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones", "Resource": "*"}]}
CLOUD_CONFIG = "#cloud-config\nruncmd:\n - [sh, -c, 'aws ec2 describe-availability-zones']\n"


def import_image(cloud: LiveCloud, workdir: Path, name: str, *extra: str) -> dict[str, str]:
    """kind -> id of the images `eucalite image import` registers from small dummy files."""
    workdir.mkdir(parents=True, exist_ok=True)
    kernel, ramdisk = workdir / "vmlinuz", workdir / "initrd.img"
    kernel.write_bytes(b"\x7fELF not really a kernel")
    ramdisk.write_bytes(b"070701 not really an initramfs")
    out = subprocess.run([sys.executable, "-m", "eucalite", "image", "import", "--kernel", str(kernel),
                          "--ramdisk", str(ramdisk), "--name", name, "--data-dir", str(cloud.data_dir), *extra],
                         capture_output=True, text=True, check=True).stdout
    ids = {}
    for line in out.splitlines():
        _, image_id, kind, _ = line.split("\t")
        ids[kind] = image_id
    return ids


@pytest.fixture(scope="session")
def images(cloud: LiveCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return import_image(cloud, tmp_path_factory.mktemp("img"), f"tiny-{uuid.uuid4().hex[:6]}")


@dataclass
class Walkthrough:
    account_id: str
    admin: Creds
    user01: Creds
    role_name: str
    profile_name: str
    profile_arn: str
    profile_id: str


def make_user(cloud: LiveCloud, admin: Creds, name: str, policy: dict[str, Any] | None) -> Creds:
    iam = cloud.client("iam", admin)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="launch", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Creds(key["AccessKeyId"], key["SecretAccessKey"])


def walkthrough(cloud: LiveCloud) -> Walkthrough:
    """Steps 1-2 of the walkthrough in a fresh account."""
    _, admin = cloud.new_account("account1")
    iam = cloud.client("iam", admin)
    account_id = cloud.client("sts", admin).get_caller_identity()["Account"]
    user01 = make_user(cloud, admin, "user01", USER_POLICY)
    iam.create_role(RoleName="ACCT1-EC2-ACTIONS", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName="ACCT1-EC2-ACTIONS", PolicyName="ec2-actions", PolicyDocument=json.dumps(ROLE_POLICY))
    profile = iam.create_instance_profile(InstanceProfileName="instance-ec2-actions", Path="/")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="instance-ec2-actions", RoleName="ACCT1-EC2-ACTIONS")
    return Walkthrough(account_id, admin, user01, "ACCT1-EC2-ACTIONS", "instance-ec2-actions", profile["Arn"],
                       profile["InstanceProfileId"])


def wait_state(ec2: Any, instance_id: str, state: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        inst = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        last = inst["State"]["Name"]
        if last == state:
            return inst  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"{instance_id} stayed {last}, never {state}")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def instance_count(ec2: Any) -> int:
    return sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])


def terminate_all(ec2: Any) -> None:
    ids = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
           if i["State"]["Name"] != "terminated"]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
