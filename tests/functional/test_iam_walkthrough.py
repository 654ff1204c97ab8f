"""The IAM half of the Eucalyptus 3.4 walkthrough, through boto3 against a live `eucalite up`:
the issue's "Done when" list, as the cloud admin, an account admin and a non-admin user."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Creds, LiveCloud

USER_POLICY = json.dumps({"Statement": [
    {"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["iam:PassRole", "iam:ListInstanceProfiles"], "Resource": "*"},
]})
TRUST_EC2 = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]},
                                       "Action": ["sts:AssumeRole"]}]})
ROLE_POLICY = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones"],
                                         "Resource": "*"}]})


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    return exc.value.response["Error"]


@pytest.fixture(scope="module")
def account1(cloud: LiveCloud) -> dict[str, Any]:
    """account1 set up as the walkthrough's steps 1 and 2 do."""
    name = f"account1-{uuid.uuid4().hex[:8]}"
    created = cloud.client("iam").create_account(AccountName=name)["Account"]
    admin = cloud.admin_creds(name)
    iam = cloud.client("iam", admin)
    iam.create_user(UserName="user01")
    key = iam.create_access_key(UserName="user01")["AccessKey"]
    iam.put_user_policy(UserName="user01", PolicyName="user01-policy", PolicyDocument=USER_POLICY)
    iam.create_role(RoleName="ACCT1-EC2-ACTIONS", AssumeRolePolicyDocument=TRUST_EC2, Path="/")
    iam.put_role_policy(RoleName="ACCT1-EC2-ACTIONS", PolicyName="ec2-describe-az", PolicyDocument=ROLE_POLICY)
    iam.create_instance_profile(InstanceProfileName="instance-ec2-actions", Path="/")
    iam.add_role_to_instance_profile(InstanceProfileName="instance-ec2-actions", RoleName="ACCT1-EC2-ACTIONS")
    return {"name": name, "id": created["AccountId"], "admin": admin,
            "user01": Creds(key["AccessKeyId"], key["SecretAccessKey"])}


def test_cloud_admin_created_account1(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    names = {a["AccountName"]: a["AccountId"] for a in cloud.client("iam").list_accounts()["Accounts"]}
    assert names[account1["name"]] == account1["id"]


def test_user01_has_key_and_policy(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["admin"])
    user = iam.get_user(UserName="user01")["User"]
    assert user["Arn"] == f"arn:aws:iam::{account1['id']}:user/user01" and user["UserId"].startswith("AIDA")
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="user01")["AccessKeyMetadata"]] == \
        [account1["user01"].access_key_id]
    assert iam.list_user_policies(UserName="user01")["PolicyNames"] == ["user01-policy"]
    doc = iam.get_user_policy(UserName="user01", PolicyName="user01-policy")["PolicyDocument"]
    assert doc == json.loads(USER_POLICY)
    ident = cloud.client("sts", account1["user01"]).get_caller_identity()
    assert ident["Arn"].endswith(":user/user01")


def test_get_role_policy_returns_the_same_document(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["admin"])
    got = iam.get_role_policy(RoleName="ACCT1-EC2-ACTIONS", PolicyName="ec2-describe-az")
    assert got["RoleName"] == "ACCT1-EC2-ACTIONS" and got["PolicyName"] == "ec2-describe-az"
    assert got["PolicyDocument"] == json.loads(ROLE_POLICY)
    assert iam.list_role_policies(RoleName="ACCT1-EC2-ACTIONS")["PolicyNames"] == ["ec2-describe-az"]
    role = iam.get_role(RoleName="ACCT1-EC2-ACTIONS")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account1['id']}:role/ACCT1-EC2-ACTIONS"
    assert role["RoleId"].startswith("AROA") and role["MaxSessionDuration"] == 3600
    assert role["AssumeRolePolicyDocument"] == json.loads(TRUST_EC2)


def test_list_instance_profiles_by_path_shows_profile_and_role(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["admin"])
    profiles = iam.list_instance_profiles(PathPrefix="/")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in profiles] == ["instance-ec2-actions"]
    profile = profiles[0]
    assert profile["Arn"] == f"arn:aws:iam::{account1['id']}:instance-profile/instance-ec2-actions"
    assert profile["InstanceProfileId"].startswith("AIPA")
    assert [r["RoleName"] for r in profile["Roles"]] == ["ACCT1-EC2-ACTIONS"]
    assert profile["Roles"][0]["AssumeRolePolicyDocument"] == json.loads(TRUST_EC2)
    assert iam.list_instance_profiles(PathPrefix="/elsewhere/")["InstanceProfiles"] == []
    for_role = iam.list_instance_profiles_for_role(RoleName="ACCT1-EC2-ACTIONS")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == ["instance-ec2-actions"]
    # user01's policy allows iam:ListInstanceProfiles, so it sees the same.
    mine = cloud.client("iam", account1["user01"]).list_instance_profiles(PathPrefix="/")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in mine] == ["instance-ec2-actions"]


def test_second_role_in_profile_is_limit_exceeded(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["admin"])
    iam.create_role(RoleName="second-role", AssumeRolePolicyDocument=TRUST_EC2)
    try:
        with pytest.raises(ClientError) as err:
            iam.add_role_to_instance_profile(InstanceProfileName="instance-ec2-actions", RoleName="second-role")
        assert error_of(err)["Code"] == "LimitExceeded"
        assert error_of(err)["Message"] == "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
    finally:
        iam.delete_role(RoleName="second-role")


def test_delete_role_in_a_profile_is_delete_conflict(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["admin"])
    with pytest.raises(ClientError) as err:
        iam.delete_role(RoleName="ACCT1-EC2-ACTIONS")
    assert error_of(err)["Code"] == "DeleteConflict"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ClientError) as profile_err:
        iam.delete_instance_profile(InstanceProfileName="instance-ec2-actions")
    assert error_of(profile_err)["Code"] == "DeleteConflict"
    assert iam.get_role(RoleName="ACCT1-EC2-ACTIONS")["Role"]["RoleName"] == "ACCT1-EC2-ACTIONS"


def test_user01_is_refused_create_role(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["user01"])
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName="sneaky", AssumeRolePolicyDocument=TRUST_EC2)
    e = error_of(err)
    assert e["Code"] == "AccessDenied"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    acct = account1["id"]
    assert e["Message"].startswith(f"User: arn:aws:iam::{acct}:user/user01 is not authorized to perform: "
                                   f"iam:CreateRole on resource: arn:aws:iam::{acct}:role/sneaky")
    assert "sneaky" not in [r["RoleName"] for r in cloud.client("iam", account1["admin"]).list_roles()["Roles"]]


def test_user01_may_not_read_roles_either(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["user01"])
    with pytest.raises(ClientError) as err:
        iam.list_roles()
    assert error_of(err)["Code"] == "AccessDenied"
    assert f"iam:ListRoles on resource: arn:aws:iam::{account1['id']}:role/" in error_of(err)["Message"]


def test_unknown_condition_operator_is_malformed(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    iam = cloud.client("iam", account1["admin"])
    bad = json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
                                     "Condition": {"StringEqualsPlease": {"aws:username": "user01"}}}]})
    with pytest.raises(ClientError) as err:
        iam.put_user_policy(UserName="user01", PolicyName="bad", PolicyDocument=bad)
    assert error_of(err)["Code"] == "MalformedPolicyDocument"
    assert iam.list_user_policies(UserName="user01")["PolicyNames"] == ["user01-policy"]


def test_account1_admin_cannot_see_another_accounts_roles(cloud: LiveCloud, account1: dict[str, Any]) -> None:
    _, other = cloud.new_account("other")
    other_iam = cloud.client("iam", other)
    other_iam.create_role(RoleName="other-secret-role", AssumeRolePolicyDocument=TRUST_EC2)
    iam = cloud.client("iam", account1["admin"])
    assert "other-secret-role" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName="other-secret-role")
    assert error_of(err)["Code"] == "NoSuchEntity"
    assert error_of(err)["Message"] == "The role with name other-secret-role cannot be found."
    assert [r["RoleName"] for r in other_iam.list_roles()["Roles"]] == ["other-secret-role"]
    with pytest.raises(ClientError) as profile_err:
        other_iam.get_instance_profile(InstanceProfileName="instance-ec2-actions")
    assert error_of(profile_err)["Code"] == "NoSuchEntity"
