"""IAM entity lifecycles and AWS's validation and error semantics: users, groups, roles, profiles,
managed policy versions, tags, pagination, size limits."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveCloud

TRUST = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]})
ALLOW_ALL_EC2 = json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]})


@pytest.fixture
def iam(cloud: LiveCloud) -> Any:
    _, admin = cloud.new_account("ent")
    return cloud.client("iam", admin)


def err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def test_user_lifecycle_and_delete_conflicts(iam: Any) -> None:
    user = iam.create_user(UserName="u1", Path="/dev/", Tags=[{"Key": "k", "Value": "v"}])["User"]
    assert user["Path"] == "/dev/" and user["Arn"].endswith(":user/dev/u1") and user["Tags"] == [
        {"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as dup:
        iam.create_user(UserName="U1")
    assert err(dup) == ("EntityAlreadyExists", "User with name U1 already exists.")
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/dev/")["Users"]] == ["u1"]
    assert "admin" in [u["UserName"] for u in iam.list_users()["Users"]]
    key = iam.create_access_key(UserName="u1")["AccessKey"]["AccessKeyId"]
    iam.put_user_policy(UserName="u1", PolicyName="p", PolicyDocument=ALLOW_ALL_EC2)
    iam.create_group(GroupName="g1")
    iam.add_user_to_group(GroupName="g1", UserName="u1")
    steps = [
        ("Cannot delete entity, must delete access keys first.",
         lambda: iam.delete_access_key(UserName="u1", AccessKeyId=key)),
        ("Cannot delete entity, must delete policies first.",
         lambda: iam.delete_user_policy(UserName="u1", PolicyName="p")),
        ("Cannot delete entity, must remove users from group first.",
         lambda: iam.remove_user_from_group(GroupName="g1", UserName="u1")),
    ]
    for message, fix in steps:
        with pytest.raises(ClientError) as conflict:
            iam.delete_user(UserName="u1")
        assert err(conflict) == ("DeleteConflict", message)
        fix()
    iam.update_user(UserName="u1", NewUserName="u2", NewPath="/ops/")
    assert iam.get_user(UserName="u2")["User"]["Arn"].endswith(":user/ops/u2")
    iam.delete_user(UserName="u2")
    with pytest.raises(ClientError) as gone:
        iam.get_user(UserName="u2")
    assert err(gone) == ("NoSuchEntity", "The user with name u2 cannot be found.")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_group_lifecycle(iam: Any) -> None:
    group = iam.create_group(GroupName="devs", Path="/eng/")["Group"]
    assert group["Arn"].endswith(":group/eng/devs") and group["GroupId"].startswith("AGPA")
    with pytest.raises(ClientError) as dup:
        iam.create_group(GroupName="devs")
    assert err(dup)[0] == "EntityAlreadyExists"
    iam.create_user(UserName="m1")
    iam.add_user_to_group(GroupName="devs", UserName="m1")
    got = iam.get_group(GroupName="devs")
    assert [u["UserName"] for u in got["Users"]] == ["m1"]
    iam.put_group_policy(GroupName="devs", PolicyName="gp", PolicyDocument=ALLOW_ALL_EC2)
    assert iam.get_group_policy(GroupName="devs", PolicyName="gp")["PolicyDocument"] == json.loads(ALLOW_ALL_EC2)
    assert iam.list_group_policies(GroupName="devs")["PolicyNames"] == ["gp"]
    with pytest.raises(ClientError) as members:
        iam.delete_group(GroupName="devs")
    assert err(members)[0] == "DeleteConflict"
    iam.remove_user_from_group(GroupName="devs", UserName="m1")
    with pytest.raises(ClientError) as policies:
        iam.delete_group(GroupName="devs")
    assert err(policies)[0] == "DeleteConflict"
    iam.delete_group_policy(GroupName="devs", PolicyName="gp")
    with pytest.raises(ClientError) as no_policy:
        iam.delete_group_policy(GroupName="devs", PolicyName="gp")
    assert err(no_policy) == ("NoSuchEntity", "The group policy with name gp cannot be found.")
    assert [g["GroupName"] for g in iam.list_groups(PathPrefix="/eng/")["Groups"]] == ["devs"]
    iam.delete_group(GroupName="devs")
    assert iam.list_groups()["Groups"] == []


def test_role_lifecycle_update_and_tags(iam: Any) -> None:
    role = iam.create_role(RoleName="app", Path="/svc/", AssumeRolePolicyDocument=TRUST, Description="d",
                           MaxSessionDuration=7200, Tags=[{"Key": "env", "Value": "dev"}])["Role"]
    assert role["Arn"].endswith(":role/svc/app") and role["Description"] == "d"
    with pytest.raises(ClientError) as dup:
        iam.create_role(RoleName="APP", AssumeRolePolicyDocument=TRUST)
    assert err(dup) == ("EntityAlreadyExists", "Role with name APP already exists.")
    iam.update_role(RoleName="app", Description="new", MaxSessionDuration=3600)
    got = iam.get_role(RoleName="app")["Role"]
    assert got["Description"] == "new" and got["MaxSessionDuration"] == 3600
    assert got["Tags"] == [{"Key": "env", "Value": "dev"}]
    iam.tag_role(RoleName="app", Tags=[{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "prod"}])
    assert iam.list_role_tags(RoleName="app")["Tags"] == [{"Key": "env", "Value": "prod"},
                                                          {"Key": "team", "Value": "blue"}]
    iam.untag_role(RoleName="app", TagKeys=["env"])
    assert iam.list_role_tags(RoleName="app")["Tags"] == [{"Key": "team", "Value": "blue"}]
    trust2 = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                        "Action": "sts:AssumeRole"}]})
    iam.update_assume_role_policy(RoleName="app", PolicyDocument=trust2)
    assert iam.get_role(RoleName="app")["Role"]["AssumeRolePolicyDocument"] == json.loads(trust2)
    with pytest.raises(ClientError) as bad_trust:
        iam.update_assume_role_policy(RoleName="app", PolicyDocument=ALLOW_ALL_EC2)  # no Principal
    assert err(bad_trust)[0] == "MalformedPolicyDocument"
    assert [r["RoleName"] for r in iam.list_roles(PathPrefix="/svc/")["Roles"]] == ["app"]
    assert iam.list_roles(PathPrefix="/other/")["Roles"] == []
    iam.put_role_policy(RoleName="app", PolicyName="rp", PolicyDocument=ALLOW_ALL_EC2)
    with pytest.raises(ClientError) as conflict:
        iam.delete_role(RoleName="app")
    assert err(conflict)[0] == "DeleteConflict"
    iam.delete_role_policy(RoleName="app", PolicyName="rp")
    iam.delete_role(RoleName="app")
    with pytest.raises(ClientError) as gone:
        iam.delete_role(RoleName="app")
    assert err(gone) == ("NoSuchEntity", "The role with name app cannot be found.")


def test_instance_profile_lifecycle(iam: Any) -> None:
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
    profile = iam.create_instance_profile(InstanceProfileName="ip", Path="/p/")["InstanceProfile"]
    assert profile["Arn"].endswith(":instance-profile/p/ip") and profile["Roles"] == []
    with pytest.raises(ClientError) as dup:
        iam.create_instance_profile(InstanceProfileName="ip")
    assert err(dup) == ("EntityAlreadyExists", "Instance Profile ip already exists.")
    iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="r")
    with pytest.raises(ClientError) as same_again:
        iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="r")
    assert err(same_again)[0] == "LimitExceeded"
    iam.remove_role_from_instance_profile(InstanceProfileName="ip", RoleName="r")
    assert iam.get_instance_profile(InstanceProfileName="ip")["InstanceProfile"]["Roles"] == []
    assert iam.list_instance_profiles_for_role(RoleName="r")["InstanceProfiles"] == []
    iam.delete_instance_profile(InstanceProfileName="ip")
    with pytest.raises(ClientError) as gone:
        iam.get_instance_profile(InstanceProfileName="ip")
    assert err(gone) == ("NoSuchEntity", "Instance Profile ip cannot be found.")


def test_policy_versions_limit_and_default(iam: Any) -> None:
    arn = iam.create_policy(PolicyName="v", PolicyDocument=ALLOW_ALL_EC2, Description="desc")["Policy"]["Arn"]
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_ALL_EC2)
    with pytest.raises(ClientError) as limit:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_ALL_EC2)
    assert err(limit)[0] == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["IsDefaultVersion"] for v in versions] == [False] * 4 + [True]
    with pytest.raises(ClientError) as default:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    assert err(default)[0] == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    new = iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_ALL_EC2, SetAsDefault=True)
    assert new["PolicyVersion"]["VersionId"] == "v6" and new["PolicyVersion"]["IsDefaultVersion"]
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v6")["PolicyVersion"]
    assert got["Document"] == json.loads(ALLOW_ALL_EC2)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["DefaultVersionId"] == "v6" and policy["Description"] == "desc"
    with pytest.raises(ClientError) as missing:
        iam.get_policy_version(PolicyArn=arn, VersionId="v3")
    assert err(missing)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as dup:
        iam.create_policy(PolicyName="v", PolicyDocument=ALLOW_ALL_EC2)
    assert err(dup)[0] == "EntityAlreadyExists"
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]] == ["v"]
    assert iam.list_policies(Scope="AWS")["Policies"] == []
    assert iam.list_policies(OnlyAttached=True)["Policies"] == []


@pytest.mark.parametrize("document, expected", [
    ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"', "MalformedPolicyDocument"),
    ('{"Statement": [{"Effect": "Allow", "Resource": "*"}]}', "MalformedPolicyDocument"),
    ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*"}]}', "MalformedPolicyDocument"),
    ('{"Statement": [{"Action": "ec2:*", "Resource": "*"}]}', "MalformedPolicyDocument"),
    ('{"Version": "2010-01-01", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}',
     "MalformedPolicyDocument"),
    ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Principal": "*"}]}',
     "MalformedPolicyDocument"),
    ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*",'
     ' "Condition": {"NumericSortOf": {"aws:EpochTime": "1"}}}]}', "MalformedPolicyDocument"),
])
def test_malformed_documents(iam: Any, document: str, expected: str) -> None:
    iam.create_role(RoleName="m", AssumeRolePolicyDocument=TRUST)
    for put in (lambda: iam.put_role_policy(RoleName="m", PolicyName="p", PolicyDocument=document),
                lambda: iam.create_policy(PolicyName="p", PolicyDocument=document)):
        with pytest.raises(ClientError) as exc:
            put()
        assert err(exc)[0] == expected
    assert iam.list_role_policies(RoleName="m")["PolicyNames"] == []


def test_documents_with_and_without_version_are_accepted(iam: Any) -> None:
    iam.create_user(UserName="v")
    for version in ("2012-10-17", "2008-10-17", None):
        body: dict[str, Any] = {"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
        if version:
            body["Version"] = version
        iam.put_user_policy(UserName="v", PolicyName=f"p-{version}", PolicyDocument=json.dumps(body))
    assert len(iam.list_user_policies(UserName="v")["PolicyNames"]) == 3


def test_size_limits_follow_aws(iam: Any) -> None:
    def sized(n: int) -> str:
        # A valid document of exactly n characters without whitespace.
        base = json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Sid": ""}]},
                          separators=(",", ":"))
        return base.replace('"Sid":""', '"Sid":"' + "a" * (n - len(base)) + '"')

    iam.create_user(UserName="big")
    iam.put_user_policy(UserName="big", PolicyName="fits", PolicyDocument=sized(2048))
    with pytest.raises(ClientError) as user_limit:
        iam.put_user_policy(UserName="big", PolicyName="more", PolicyDocument=sized(100))  # aggregate > 2048
    assert err(user_limit) == ("LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user big")
    iam.put_user_policy(UserName="big", PolicyName="fits", PolicyDocument=sized(1000))  # replacing is fine
    iam.create_role(RoleName="big", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="big", PolicyName="p", PolicyDocument=sized(10240))
    with pytest.raises(ClientError) as role_limit:
        iam.put_role_policy(RoleName="big", PolicyName="p", PolicyDocument=sized(10241))
    assert err(role_limit)[0] == "LimitExceeded"
    iam.create_group(GroupName="big")
    with pytest.raises(ClientError) as group_limit:
        iam.put_group_policy(GroupName="big", PolicyName="p", PolicyDocument=sized(5121))
    assert err(group_limit)[0] == "LimitExceeded"
    iam.create_policy(PolicyName="fits", PolicyDocument=sized(6144))
    with pytest.raises(ClientError) as managed_limit:
        iam.create_policy(PolicyName="big", PolicyDocument=sized(6145))
    assert err(managed_limit)[0] == "LimitExceeded"
    big_trust = json.loads(TRUST)
    big_trust["Statement"][0]["Sid"] = "a" * 2048
    with pytest.raises(ClientError) as trust_limit:
        iam.create_role(RoleName="big-trust", AssumeRolePolicyDocument=json.dumps(big_trust))
    assert err(trust_limit) == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")


def test_names_and_paths_are_validated_by_the_model(cloud: LiveCloud) -> None:
    # boto3 checks lengths and ranges itself; switch that off so the server's own checks answer.
    _, admin = cloud.new_account("valid")
    iam = cloud.client("iam", admin, parameter_validation=False)
    for call in (lambda: iam.create_role(RoleName="bad name!", AssumeRolePolicyDocument=TRUST),
                 lambda: iam.create_role(RoleName="r", Path="no-slashes", AssumeRolePolicyDocument=TRUST),
                 lambda: iam.create_user(UserName="x" * 65),
                 lambda: iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST, MaxSessionDuration=60)):
        with pytest.raises(ClientError) as exc:
            call()
        assert err(exc)[0] == "ValidationError"
    assert iam.list_roles()["Roles"] == []


def test_every_list_paginates(iam: Any) -> None:
    for i in range(5):
        iam.create_role(RoleName=f"role-{i}", AssumeRolePolicyDocument=TRUST)
        iam.create_user(UserName=f"user-{i}")
        iam.put_role_policy(RoleName="role-0", PolicyName=f"p{i}", PolicyDocument=ALLOW_ALL_EC2)
    pages, marker = [], None
    while True:
        kwargs = {"MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = iam.list_roles(**kwargs)
        pages.append([r["RoleName"] for r in page["Roles"]])
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert pages == [["role-0", "role-1"], ["role-2", "role-3"], ["role-4"]]
    # boto3's own paginators drive Marker/MaxItems the same way.
    names = [u["UserName"] for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2})
             for u in p["Users"]]
    assert names == sorted(["admin"] + [f"user-{i}" for i in range(5)])
    policy_names = [n for p in iam.get_paginator("list_role_policies").paginate(
        RoleName="role-0", PaginationConfig={"PageSize": 3}) for n in p["PolicyNames"]]
    assert policy_names == [f"p{i}" for i in range(5)]
    with pytest.raises(ClientError) as bad:
        iam.list_roles(Marker="!!not-a-marker!!")
    assert err(bad)[0] == "ValidationError"



def test_role_pages_survive_creates_and_deletes_between_pages(iam: Any) -> None:
    """Markers name the next role, so paging ~250 roles 7 at a time while roles are deleted (seen ones,
    unseen ones, the very role a marker names) and created (before and after the marker) neither skips
    nor repeats any role present throughout. Mixed case and '_' check the order is by code point."""
    rng = random.Random(7)
    stems = ["app", "App", "_svc", "db", "Zed", "web-1", "web_2", "x.y", "a@b", "q=r"]
    names = [f"{stems[i % len(stems)]}{i:03d}" for i in range(250)]
    for n in names:
        iam.create_role(RoleName=n, AssumeRolePolicyDocument=TRUST, Path="/p/" if len(n) % 2 else "/")
    deletable = set(rng.sample(names, 60))
    stable = set(names) - deletable
    alive, seen, marker, created = set(names), [], None, 0
    while True:
        page = iam.list_roles(MaxItems=7, **({"Marker": marker} if marker else {}))
        got = [r["RoleName"] for r in page["Roles"]]
        assert got == sorted(got) and len(got) <= 7
        assert not seen or not got or seen[-1] < got[0], "pages overlap or go backwards"
        seen += got
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
        nxt = base64.urlsafe_b64decode(marker).decode()  # our markers name the next role
        victims = [n for n in sorted(deletable & alive) if rng.random() < 0.3]
        if nxt in deletable and nxt in alive:
            victims.append(nxt)  # the role the marker points at goes away
        for n in set(victims):
            iam.delete_role(RoleName=n)
            alive.discard(n)
        for _ in range(2):
            n = f"{rng.choice(stems)}new{created:03d}"
            created += 1
            iam.create_role(RoleName=n, AssumeRolePolicyDocument=TRUST)
            alive.add(n)
    assert len(seen) == len(set(seen)), "a role was listed twice"
    assert stable <= set(seen), f"skipped: {sorted(stable - set(seen))}"
    # PathPrefix is applied before paging: only the /p/ roles, in order, each once.
    under = [r["RoleName"] for p in iam.get_paginator("list_roles").paginate(
        PathPrefix="/p/", PaginationConfig={"PageSize": 7}) for r in p["Roles"]]
    assert under == sorted(n for n in alive if n in names and len(n) % 2)

def test_profile_and_policy_tags(iam: Any) -> None:
    iam.create_instance_profile(InstanceProfileName="tp", Tags=[{"Key": "a", "Value": "1"}])
    iam.tag_instance_profile(InstanceProfileName="tp", Tags=[{"Key": "b", "Value": "2"}])
    assert iam.list_instance_profile_tags(InstanceProfileName="tp")["Tags"] == [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    arn = iam.create_policy(PolicyName="tp", PolicyDocument=ALLOW_ALL_EC2,
                            Tags=[{"Key": "x", "Value": "y"}])["Policy"]["Arn"]
    iam.untag_policy(PolicyArn=arn, TagKeys=["x"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == []
    iam.tag_user(UserName="admin", Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_user_tags(UserName="admin")["Tags"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as dup:
        iam.tag_role(RoleName="nope", Tags=[{"Key": "k", "Value": "v"}])
    assert err(dup)[0] == "NoSuchEntity"


def test_recursive_account_deletion_removes_iam_entities(cloud: LiveCloud) -> None:
    name, admin = cloud.new_account("gone")
    iam = cloud.client("iam", admin)
    iam.create_user(UserName="u", Tags=[{"Key": "k", "Value": "v"}])
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "k", "Value": "v"}])
    iam.create_instance_profile(InstanceProfileName="p", Tags=[{"Key": "k", "Value": "v"}])
    iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="r")
    arn = iam.create_policy(PolicyName="mp", PolicyDocument=ALLOW_ALL_EC2, Tags=[{"Key": "k", "Value": "v"}])
    iam.attach_role_policy(RoleName="r", PolicyArn=arn["Policy"]["Arn"])
    account_id = arn["Policy"]["Arn"].split(":")[4]
    root = cloud.client("iam")
    with pytest.raises(ClientError) as conflict:
        root.delete_account(AccountName=name)
    assert err(conflict)[0] == "DeleteConflict"
    root.delete_account(AccountName=name, Recursive=True)
    store = cloud.reader().store
    assert not store.one("select 1 from roles where account_id = ?", [account_id])
    assert not store.one("select 1 from managed_policies where account_id = ?", [account_id])
    leftovers = store.one("select count(*) as n from user_tags where user_id not in (select id from users)")
    assert leftovers is not None and leftovers["n"] == 0
    assert store.one("select count(*) as n from policy_tags where policy_id not in "
                     "(select id from managed_policies)")["n"] == 0  # type: ignore[index]
