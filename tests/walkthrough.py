"""The Eucalyptus 3.4 walkthrough's set-up through boto3 (DESIGN.md steps 1-3), shared by tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import Creds, LiveCloud

ROLE = "ACCT1-EC2-ACTIONS"
PROFILE = "instance-ec2-actions"
TRUST_DOC: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]}
ROLE_POLICY_DOC: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones", "Resource": "*"}]}
USER_POLICY_DOC: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["iam:PassRole", "iam:ListInstanceProfiles"], "Resource": "*"}]}
EC2_TRUST = json.dumps(TRUST_DOC)
ROLE_POLICY = json.dumps(ROLE_POLICY_DOC)
USER_POLICY = json.dumps(USER_POLICY_DOC)
USER_DATA = "#cloud-config\nruncmd:\n  - echo hello from eucalite\n"


@dataclass
class Walkthrough:
    cloud: LiveCloud
    account_name: str
    account_id: str
    admin: Creds
    user01: Creds
    role_arn: str
    profile_arn: str
    image_id: str

    def ec2(self, creds: Creds | None = None) -> Any:
        return self.cloud.client("ec2", creds or self.user01)

    def launch(self, **extra: Any) -> str:
        params: dict[str, Any] = {"ImageId": self.image_id, "MinCount": 1, "MaxCount": 1,
                                  "InstanceType": "m1.large",
                                  "UserData": USER_DATA,  # boto3 base64-encodes it on the wire
                                  "IamInstanceProfile": {"Arn": self.profile_arn}}
        params.update(extra)
        iid = str(self.ec2().run_instances(**params)["Instances"][0]["InstanceId"])
        self.wait_state(iid, "running")
        return iid

    def wait_state(self, iid: str, state: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            inst = self.ec2(self.admin).describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
            if inst["State"]["Name"] == state:
                return dict(inst)
            if time.monotonic() > deadline:
                raise AssertionError(f"{iid} is {inst['State']['Name']}, not {state}")
            time.sleep(0.1)

    def metadata_url(self, iid: str) -> str:
        return subprocess.run([sys.executable, "-m", "eucalite", "metadata-url", iid, "--data-dir",
                               str(self.cloud.data_dir)], capture_output=True, text=True, check=True).stdout.strip()


def import_image(cloud: LiveCloud, workdir: Path, name: str, *extra: str) -> dict[str, str]:
    """kind -> id of the images `eucalite image import` registers from small stand-in boot files
    (the memory driver does not read them; real guests use `eucalite image build`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    kernel, ramdisk = workdir / "vmlinuz", workdir / "initrd.img"
    kernel.write_bytes(b"\x7fELF not really a kernel")
    ramdisk.write_bytes(b"070701 not really an initramfs")
    out = subprocess.run([sys.executable, "-m", "eucalite", "image", "import", "--kernel", str(kernel),
                          "--ramdisk", str(ramdisk), "--name", name, "--data-dir", str(cloud.data_dir), *extra],
                         capture_output=True, text=True, check=True).stdout
    kinds = {}
    for line in out.splitlines():
        _, image_id, kind, _ = line.split("\t")
        kinds[kind] = image_id
    return kinds


def make_user(cloud: LiveCloud, admin: Creds, name: str, policy: dict[str, Any] | None,
              policy_name: str = "launch") -> Creds:
    iam = cloud.client("iam", admin)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Creds(key["AccessKeyId"], key["SecretAccessKey"])


def set_up(cloud: LiveCloud, tmp: Path, image_id: str | None = None) -> Walkthrough:
    """Steps 1-2 and the image (a stand-in import unless ``image_id`` names a registered one)."""
    account_name, admin = cloud.new_account("account1")
    account_id = cloud.client("sts", admin).get_caller_identity()["Account"]
    iam = cloud.client("iam", admin)
    user01 = make_user(cloud, admin, "user01", USER_POLICY_DOC, policy_name="ec2-and-passrole")
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=EC2_TRUST, Path="/")["Role"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="ec2-describe-az", PolicyDocument=ROLE_POLICY)
    profile = iam.create_instance_profile(InstanceProfileName=PROFILE, Path="/")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName=ROLE)
    image_id = image_id or import_image(cloud, tmp, f"tiny-{uuid.uuid4().hex[:6]}")["machine"]
    return Walkthrough(cloud, account_name, account_id, admin, user01, role["Arn"], profile["Arn"], image_id)
