"""The walkthrough's IAM steps with the aws CLI, as an operator would type them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import Creds, LiveCloud

TRUST = {"Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]},
                        "Action": ["sts:AssumeRole"]}]}
ROLE_POLICY = {"Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones"], "Resource": "*"}]}


def aws(cloud: LiveCloud, creds: Creds, *args: str, check: bool = True) -> Any:
    proc = subprocess.run(["aws", "--output", "json", *args], capture_output=True, text=True,
                          env=cloud.aws_env(creds), timeout=60)
    if not check:
        return proc
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_role_and_instance_profile_with_the_aws_cli(cloud: LiveCloud, tmp_path: Path) -> None:
    _, admin = cloud.new_account("cli")
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(TRUST, indent=2))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(ROLE_POLICY, indent=2))
    role = aws(cloud, admin, "iam", "create-role", "--role-name", "ACCT1-EC2-ACTIONS",
               "--assume-role-policy-document", f"file://{trust}")["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST
    aws(cloud, admin, "iam", "put-role-policy", "--role-name", "ACCT1-EC2-ACTIONS", "--policy-name",
        "ec2-describe-az", "--policy-document", f"file://{policy}")
    got = aws(cloud, admin, "iam", "get-role-policy", "--role-name", "ACCT1-EC2-ACTIONS", "--policy-name",
              "ec2-describe-az")
    assert got["PolicyDocument"] == ROLE_POLICY
    aws(cloud, admin, "iam", "create-instance-profile", "--instance-profile-name", "instance-ec2-actions")
    aws(cloud, admin, "iam", "add-role-to-instance-profile", "--instance-profile-name", "instance-ec2-actions",
        "--role-name", "ACCT1-EC2-ACTIONS")
    listed = aws(cloud, admin, "iam", "list-instance-profiles", "--path-prefix", "/")["InstanceProfiles"]
    assert [(p["InstanceProfileName"], [r["RoleName"] for r in p["Roles"]]) for p in listed] == [
        ("instance-ec2-actions", ["ACCT1-EC2-ACTIONS"])]
    refused = aws(cloud, admin, "iam", "delete-role", "--role-name", "ACCT1-EC2-ACTIONS", check=False)
    assert refused.returncode != 0 and "DeleteConflict" in refused.stderr


def test_cli_user_is_refused_with_access_denied(cloud: LiveCloud) -> None:
    _, admin = cloud.new_account("cli")
    aws(cloud, admin, "iam", "create-user", "--user-name", "user01")
    key = aws(cloud, admin, "iam", "create-access-key", "--user-name", "user01")["AccessKey"]
    user = Creds(key["AccessKeyId"], key["SecretAccessKey"])
    proc = aws(cloud, user, "iam", "create-role", "--role-name", "x", "--assume-role-policy-document",
               json.dumps(TRUST), check=False)
    assert proc.returncode != 0
    assert "AccessDenied" in proc.stderr and "is not authorized to perform: iam:CreateRole" in proc.stderr
