"""IAM policies deciding real calls: user, group and managed policies, explicit denies, and the
simulator naming the statement that decided."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Creds, LiveCloud


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


TRUST_EC2 = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                       "Action": "sts:AssumeRole"}]})


@pytest.fixture
def account(cloud: LiveCloud) -> tuple[str, Any, Callable[[str], Creds]]:
    """(account id, its admin's IAM client, a factory of users with keys)."""
    _, admin = cloud.new_account("authz")
    iam = cloud.client("iam", admin)
    account_id = iam.get_user()["User"]["Arn"].split(":")[4]

    def user(name: str) -> Creds:
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Creds(key["AccessKeyId"], key["SecretAccessKey"])

    return account_id, iam, user


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_user_without_policies_is_denied_everything(cloud: LiveCloud, account: Any) -> None:
    acct, _, user = account
    creds = user("nobody")
    iam = cloud.client("iam", creds)
    with pytest.raises(ClientError) as err:
        iam.list_users()
    assert code(err) == "AccessDenied"
    assert err.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{acct}:user/nobody is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{acct}:user/ because no identity-based policy allows the iam:ListUsers action")
    # ...but may still ask who it is.
    assert cloud.client("sts", creds).get_caller_identity()["Arn"].endswith(":user/nobody")


def test_explicit_deny_beats_allow(cloud: LiveCloud, account: Any) -> None:
    acct, admin, user = account
    creds = user("denied")
    admin.put_user_policy(UserName="denied", PolicyName="all-iam", PolicyDocument=doc(allow("iam:*")))
    iam = cloud.client("iam", creds)
    assert iam.list_users()["Users"]
    admin.put_user_policy(UserName="denied", PolicyName="no-list",
                          PolicyDocument=doc(deny("iam:List*", f"arn:aws:iam::{acct}:user/*")))
    with pytest.raises(ClientError) as err:
        iam.list_users()
    assert code(err) == "AccessDenied"
    assert "with an explicit deny in an identity-based policy" in err.value.response["Error"]["Message"]
    assert iam.list_roles()["Roles"] == []  # the deny is about users only


def test_group_policy_applies_to_members_only_while_they_are_members(cloud: LiveCloud, account: Any) -> None:
    _, admin, user = account
    iam = cloud.client("iam", user("member"))
    admin.create_group(GroupName="readers")
    admin.put_group_policy(GroupName="readers", PolicyName="read-roles", PolicyDocument=doc(allow("iam:ListRoles")))
    with pytest.raises(ClientError):
        iam.list_roles()
    admin.add_user_to_group(GroupName="readers", UserName="member")
    assert iam.list_roles()["Roles"] == []
    assert [g["GroupName"] for g in admin.list_groups_for_user(UserName="member")["Groups"]] == ["readers"]
    admin.remove_user_from_group(GroupName="readers", UserName="member")
    with pytest.raises(ClientError) as err:
        iam.list_roles()
    assert code(err) == "AccessDenied"


def test_managed_policy_attached_to_user_group_and_role(cloud: LiveCloud, account: Any) -> None:
    acct, admin, user = account
    iam = cloud.client("iam", user("managed"))
    policy = admin.create_policy(PolicyName="list-profiles", Path="/team/",
                                 PolicyDocument=doc(allow("iam:ListInstanceProfiles")))["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{acct}:policy/team/list-profiles" and policy["DefaultVersionId"] == "v1"
    admin.attach_user_policy(UserName="managed", PolicyArn=arn)
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert admin.list_attached_user_policies(UserName="managed")["AttachedPolicies"] == [
        {"PolicyName": "list-profiles", "PolicyArn": arn}]
    assert admin.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    # A new default version changes what the attachment grants.
    admin.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("iam:ListRoles")), SetAsDefault=True)
    assert iam.list_roles()["Roles"] == []
    with pytest.raises(ClientError):
        iam.list_instance_profiles()
    admin.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    # Group and role attachments, and who the policy is attached to.
    admin.create_group(GroupName="g")
    admin.attach_group_policy(GroupName="g", PolicyArn=arn)
    admin.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    admin.attach_role_policy(RoleName="r", PolicyArn=arn)
    entities = admin.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["managed"]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == ["g"]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == ["r"]
    assert [p["PolicyName"] for p in admin.list_attached_role_policies(RoleName="r")["AttachedPolicies"]] == \
        ["list-profiles"]
    with pytest.raises(ClientError) as attached:
        admin.delete_policy(PolicyArn=arn)
    assert code(attached) == "DeleteConflict"
    with pytest.raises(ClientError) as role_attached:
        admin.delete_role(RoleName="r")
    assert code(role_attached) == "DeleteConflict"
    for detach in (lambda: admin.detach_user_policy(UserName="managed", PolicyArn=arn),
                   lambda: admin.detach_group_policy(GroupName="g", PolicyArn=arn),
                   lambda: admin.detach_role_policy(RoleName="r", PolicyArn=arn)):
        detach()
    with pytest.raises(ClientError) as again:
        admin.detach_role_policy(RoleName="r", PolicyArn=arn)
    assert code(again) == "NoSuchEntity"
    with pytest.raises(ClientError) as versions:
        admin.delete_policy(PolicyArn=arn)
    assert code(versions) == "DeleteConflict"  # v2 still exists
    admin.delete_policy_version(PolicyArn=arn, VersionId="v2")
    admin.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as gone:
        admin.get_policy(PolicyArn=arn)
    assert code(gone) == "NoSuchEntity"


def test_policy_variables_scope_a_user_to_itself(cloud: LiveCloud, account: Any) -> None:
    acct, admin, user = account
    creds = user("alice")
    user("bob")
    admin.put_user_policy(UserName="alice", PolicyName="self", PolicyDocument=doc(
        allow(["iam:GetUser", "iam:ListAccessKeys"], f"arn:aws:iam::{acct}:user/${{aws:username}}")))
    iam = cloud.client("iam", creds)
    assert iam.get_user()["User"]["UserName"] == "alice"
    assert len(iam.list_access_keys()["AccessKeyMetadata"]) == 1
    with pytest.raises(ClientError) as err:
        iam.get_user(UserName="bob")
    assert code(err) == "AccessDenied"


def test_request_tag_conditions_on_create_role(cloud: LiveCloud, account: Any) -> None:
    _, admin, user = account
    creds = user("tagger")
    admin.put_user_policy(UserName="tagger", PolicyName="tagged-roles-only", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}}}))
    iam = cloud.client("iam", creds)
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName="untagged", AssumeRolePolicyDocument=TRUST_EC2)
    assert code(err) == "AccessDenied"
    role = iam.create_role(RoleName="tagged", AssumeRolePolicyDocument=TRUST_EC2,
                           Tags=[{"Key": "team", "Value": "blue"}])["Role"]
    assert role["Tags"] == [{"Key": "team", "Value": "blue"}]


def test_add_role_to_profile_needs_pass_role(cloud: LiveCloud, account: Any) -> None:
    _, admin, user = account
    creds = user("profiler")
    admin.create_role(RoleName="guarded", AssumeRolePolicyDocument=TRUST_EC2)
    admin.create_instance_profile(InstanceProfileName="p")
    admin.put_user_policy(UserName="profiler", PolicyName="profiles", PolicyDocument=doc(
        allow("iam:AddRoleToInstanceProfile")))
    iam = cloud.client("iam", creds)
    with pytest.raises(ClientError) as err:
        iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="guarded")
    assert code(err) == "AccessDenied" and "iam:PassRole" in err.value.response["Error"]["Message"]
    admin.put_user_policy(UserName="profiler", PolicyName="pass", PolicyDocument=doc(allow("iam:PassRole")))
    iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="guarded")
    assert [r["RoleName"] for r in admin.get_instance_profile(InstanceProfileName="p")["InstanceProfile"]["Roles"]] \
        == ["guarded"]


def test_simulate_principal_policy_names_the_deciding_statement(cloud: LiveCloud, account: Any) -> None:
    acct, admin, user = account
    user("sim")
    admin.put_user_policy(UserName="sim", PolicyName="ec2-and-no-terminate", PolicyDocument=json.dumps(
        {"Statement": [{"Sid": "All", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
                       {"Sid": "NoTerminate", "Effect": "Deny", "Action": "ec2:TerminateInstances",
                        "Resource": "*"}]}, indent=2))
    admin.create_group(GroupName="simgroup")
    admin.add_user_to_group(GroupName="simgroup", UserName="sim")
    admin.put_group_policy(GroupName="simgroup", PolicyName="group-iam", PolicyDocument=doc(allow("iam:GetUser")))
    results = admin.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{acct}:user/sim",
        ActionNames=["ec2:DescribeInstances", "ec2:TerminateInstances", "iam:GetUser", "iam:CreateRole"],
    )["EvaluationResults"]
    by_action = {r["EvalActionName"]: r for r in results}
    assert by_action["ec2:DescribeInstances"]["EvalDecision"] == "allowed"
    matched = by_action["ec2:DescribeInstances"]["MatchedStatements"][0]
    assert matched["SourcePolicyId"] == "ec2-and-no-terminate" and matched["SourcePolicyType"] == "user"
    assert matched["StartPosition"] == {"Line": 3, "Column": 5}
    assert by_action["ec2:TerminateInstances"]["EvalDecision"] == "explicitDeny"
    assert by_action["ec2:TerminateInstances"]["MatchedStatements"][0]["StartPosition"]["Line"] == 9
    assert by_action["iam:GetUser"]["EvalDecision"] == "allowed"
    assert by_action["iam:GetUser"]["MatchedStatements"][0]["SourcePolicyType"] == "group"
    assert by_action["iam:CreateRole"]["EvalDecision"] == "implicitDeny"
    assert by_action["iam:CreateRole"]["MatchedStatements"] == []


def test_simulate_role_and_custom_policy(cloud: LiveCloud, account: Any) -> None:
    acct, admin, _ = account
    admin.create_role(RoleName="simrole", AssumeRolePolicyDocument=TRUST_EC2)
    admin.put_role_policy(RoleName="simrole", PolicyName="az", PolicyDocument=doc(
        allow("ec2:DescribeAvailabilityZones")))
    results = admin.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{acct}:role/simrole",
                                              ActionNames=["ec2:DescribeAvailabilityZones", "ec2:RunInstances"])
    assert [r["EvalDecision"] for r in results["EvaluationResults"]] == ["allowed", "implicitDeny"]
    custom = admin.simulate_custom_policy(
        PolicyInputList=[doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
                              "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})],
        ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::b/k", "arn:aws:s3:::other/k"],
        ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"],
                         "ContextKeyType": "ip"}])["EvaluationResults"]
    assert [(r["EvalResourceName"], r["EvalDecision"]) for r in custom] == [
        ("arn:aws:s3:::b/k", "allowed"), ("arn:aws:s3:::other/k", "implicitDeny")]
    assert custom[0]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    with pytest.raises(ClientError) as err:
        admin.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])
    assert code(err) == "MalformedPolicyDocument"
    # A resource policy would change the verdicts and is not modelled: refused, never silently ignored.
    with pytest.raises(ClientError) as unmodelled:
        admin.simulate_custom_policy(PolicyInputList=[doc(allow("s3:GetObject"))], ActionNames=["s3:GetObject"],
                                     ResourcePolicy="{bad")
    assert code(unmodelled) == "NotImplemented"
    assert "ResourcePolicy" in unmodelled.value.response["Error"]["Message"]
