"""Shared set-up for the EC2 functional tests: images imported with `eucalite image import`, the
walkthrough's account (user01 + role + instance profile), and waiting for instance states."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Creds, LiveCloud
from tests.walkthrough import ROLE_POLICY_DOC, TRUST_DOC, USER_POLICY_DOC, import_image, make_user

USER_POLICY, TRUST, ROLE_POLICY = USER_POLICY_DOC, TRUST_DOC, ROLE_POLICY_DOC
CLOUD_CONFIG = "#cloud-config\nruncmd:\n - [sh, -c, 'aws ec2 describe-availability-zones']\n"


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
