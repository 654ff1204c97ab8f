"""IAM answers that must match AWS's exactly (policy validation), and DeleteAccount leaving nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Creds, LiveCloud
from tests.functional.ec2_support import images, wait_state  # noqa: F401  (fixture)


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(err.value.response["Error"]["Code"]), str(err.value.response["Error"]["Message"])


def _doc(**statement: object) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]})


TRUST = {"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}


def test_resources_must_be_arns(cloud: LiveCloud) -> None:
    _, admin = cloud.new_account("fid-iam")
    iam = cloud.client("iam", admin)
    iam.create_user(UserName="u")
    with pytest.raises(ClientError) as inline:
        iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=_doc(Action="s3:*", Resource="my-bucket"))
    assert _error(inline) == ("MalformedPolicyDocument", 'Resource my-bucket must be in ARN format or "*".')
    with pytest.raises(ClientError) as managed:
        iam.create_policy(PolicyName="p", PolicyDocument=_doc(Action="s3:*", NotResource=["*", "bucket"]))
    assert _error(managed) == ("MalformedPolicyDocument", 'NotResource bucket must be in ARN format or "*".')
    assert iam.list_policies(Scope="Local")["Policies"] == []
    iam.put_user_policy(UserName="u", PolicyName="ok", PolicyDocument=_doc(Action="s3:*", Resource="arn:aws:s3:::b/*"))


def test_trust_policies_name_no_resource(cloud: LiveCloud) -> None:
    _, admin = cloud.new_account("fid-iam")
    iam = cloud.client("iam", admin)
    with pytest.raises(ClientError) as create:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=_doc(**TRUST, Resource="*"))
    assert _error(create) == ("MalformedPolicyDocument", "Has prohibited field Resource")
    assert iam.list_roles()["Roles"] == []
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=_doc(**TRUST))
    with pytest.raises(ClientError) as update:
        iam.update_assume_role_policy(RoleName="r", PolicyDocument=_doc(**TRUST, Resource="*"))
    assert _error(update) == ("MalformedPolicyDocument", "Has prohibited field Resource")


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/latest/meta-data/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_delete_account_recursive_terminates_guests_and_drops_references(
        cloud: LiveCloud, images: dict[str, str]) -> None:  # noqa: F811
    name, admin = cloud.new_account("fid-doomed")
    ec2 = cloud.client("ec2", admin)
    doomed_group = ec2.create_security_group(GroupName="doomed", Description="d")["GroupId"]
    iid = ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "running")
    url = subprocess.run([sys.executable, "-m", "eucalite", "metadata-url", iid, "--data-dir", str(cloud.data_dir)],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert _reachable(url)

    _, other_admin = cloud.new_account("fid-survivor")
    other = cloud.client("ec2", other_admin)
    doomed_id = cloud.client("sts", admin).get_caller_identity()["Account"]
    other.authorize_security_group_ingress(GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5, "ToPort": 5,
         "UserIdGroupPairs": [{"GroupId": doomed_group, "UserId": doomed_id}]}])

    cloud.client("iam").delete_account(AccountName=name, Recursive=True)
    assert not _reachable(url), "the deleted account's guest still serves metadata"
    perms = other.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["IpPermissions"]
    assert not [p for p in perms if any(g["GroupId"] == doomed_group for g in p["UserIdGroupPairs"])]


def test_trust_policy_naming_a_missing_principal_is_malformed(cloud: LiveCloud) -> None:
    _, creds = cloud.new_account("princ")
    account_id = cloud.client("sts", creds).get_caller_identity()["Account"]
    iam = cloud.client("iam", creds)
    iam.create_user(UserName="alice", Path="/team/")

    def trust_for(arn: str) -> str:
        return json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}]})

    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName="r1", AssumeRolePolicyDocument=trust_for(f"arn:aws:iam::{account_id}:user/nobody"))
    assert err.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert "Invalid principal in policy" in err.value.response["Error"]["Message"]
    assert iam.create_role(RoleName="r2", AssumeRolePolicyDocument=trust_for(
        f"arn:aws:iam::{account_id}:user/team/alice"))["Role"]
    # Accounts this cloud does not hold cannot be checked and are accepted, as is a bare account id.
    assert iam.create_role(RoleName="r3", AssumeRolePolicyDocument=trust_for("arn:aws:iam::111122223333:user/x"))
    assert iam.create_role(RoleName="r4", AssumeRolePolicyDocument=trust_for(account_id))


def test_list_marker_not_issued_by_us_is_invalid(cloud: LiveCloud) -> None:
    """A Marker the server never issued is AWS's ValidationError "Invalid Marker.", not the first page
    again (which would make a client that echoes a corrupted marker loop forever)."""
    _, admin = cloud.new_account("fid-marker")
    iam = cloud.client("iam", admin)
    for i in range(3):
        iam.create_role(RoleName=f"r{i}", AssumeRolePolicyDocument=_doc(**TRUST))
    first = iam.list_roles(MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_roles(MaxItems=2, Marker=first["Marker"])
    assert [r["RoleName"] for r in first["Roles"] + rest["Roles"]] == ["r0", "r1", "r2"]
    for bad in ("!!!", "Zm9vYmFy", first["Marker"][:-2] + "#!"):
        with pytest.raises(ClientError) as err:
            iam.list_roles(Marker=bad)
        assert _error(err) == ("ValidationError", "Invalid Marker.")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_permissions_boundary_is_refused_not_dropped(cloud: LiveCloud) -> None:
    # eucalite does not enforce permissions boundaries; accepting one would leave the entity unbounded.
    _, admin = cloud.new_account("fid-pb")
    iam = cloud.client("iam", admin)
    arn = iam.create_policy(PolicyName="bound", PolicyDocument=_doc(Action="ec2:DescribeRegions",
                                                                   Resource="*"))["Policy"]["Arn"]
    with pytest.raises(ClientError) as role:
        iam.create_role(RoleName="bounded", AssumeRolePolicyDocument=json.dumps({"Statement": [
            {"Effect": "Allow", **TRUST}]}), PermissionsBoundary=arn)
    assert _error(role) == ("NotImplemented",
                            "The parameter PermissionsBoundary of CreateRole is not implemented by eucalite.")
    assert role.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    with pytest.raises(ClientError) as user:
        iam.create_user(UserName="bounded", PermissionsBoundary=arn)
    assert _error(user)[0] == "NotImplemented"
    assert iam.list_roles()["Roles"] == []
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["admin"]


# -- input XML cannot carry, and the models' tag patterns -----------------------------------------------------------
TAG_KEY_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
TAG_VALUE_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
XML_CONSTRAINT = "Member must not contain characters that are not allowed in XML 1.0"


def _cli(cloud: LiveCloud, creds: Creds, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["aws", "--output", "json", *args], capture_output=True, text=True,
                          env=cloud.aws_env(creds), timeout=60)


def test_control_characters_are_refused_before_anything_is_written(cloud: LiveCloud) -> None:
    _, admin = cloud.new_account("fid-ctl")
    iam = cloud.client("iam", admin)
    iam.create_user(UserName="u")
    with pytest.raises(ClientError) as tag:
        iam.tag_user(UserName="u", Tags=[{"Key": "note", "Value": "a\x01b"}])
    assert _error(tag) == ("ValidationError", "1 validation error detected: Value 'a\\u0001b' at 'tags.1.member.value' "
                                              "failed to satisfy constraint: Member must satisfy regular expression "
                                              f"pattern: {TAG_VALUE_PATTERN}")
    assert iam.list_user_tags(UserName="u")["Tags"] == []
    assert "Tags" not in iam.get_user(UserName="u")["User"]

    with pytest.raises(ClientError) as create:
        iam.create_user(UserName="v", Tags=[{"Key": "k\x1f", "Value": "v"}])
    assert _error(create)[0] == "ValidationError"
    with pytest.raises(ClientError) as gone:
        iam.get_user(UserName="v")
    assert _error(gone)[0] == "NoSuchEntity"

    # A managed policy's Description has no pattern in the model: the XML check alone refuses it.
    with pytest.raises(ClientError) as policy:
        iam.create_policy(PolicyName="p", PolicyDocument=_doc(Action="s3:*", Resource="*"), Description="x\x01y")
    assert _error(policy) == ("ValidationError", "1 validation error detected: Value 'x\\u0001y' at 'description' "
                                                 f"failed to satisfy constraint: {XML_CONSTRAINT}")
    assert iam.list_policies(Scope="Local")["Policies"] == []

    # The error quoting the value is itself well-formed (botocore parsed it above, and here).
    with pytest.raises(ClientError) as name:
        iam.get_user(UserName="a\x01")
    assert _error(name) == ("ValidationError", "1 validation error detected: Value 'a\\u0001' at 'userName' failed "
                                               "to satisfy constraint: Member must satisfy regular expression "
                                               "pattern: [\\w+=,.@-]+")
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["admin", "u"]


def test_control_characters_with_the_aws_cli(cloud: LiveCloud) -> None:
    """The reported case: tag-user with \\u0001 succeeded, and list-user-tags then failed to parse."""
    _, admin = cloud.new_account("fid-ctl-cli")
    assert _cli(cloud, admin, "iam", "create-user", "--user-name", "u").returncode == 0
    tag = _cli(cloud, admin, "iam", "tag-user", "--user-name", "u", "--tags", '[{"Key":"note","Value":"a\\u0001b"}]')
    assert tag.returncode != 0 and "(ValidationError)" in tag.stderr, tag.stderr
    listed = _cli(cloud, admin, "iam", "list-user-tags", "--user-name", "u")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["Tags"] == []
    got = _cli(cloud, admin, "iam", "get-user", "--user-name", "a\x01")
    assert "(ValidationError)" in got.stderr and "Unable to parse" not in got.stderr, got.stderr
    assert _cli(cloud, admin, "iam", "list-users").returncode == 0


def test_tag_patterns_are_enforced(cloud: LiveCloud) -> None:
    _, admin = cloud.new_account("fid-tagpat")
    iam = cloud.client("iam", admin)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=_doc(**TRUST))
    with pytest.raises(ClientError) as bad_key:
        iam.tag_role(RoleName="r", Tags=[{"Key": "bad!#$%", "Value": "v"}])
    assert _error(bad_key) == ("ValidationError", "1 validation error detected: Value 'bad!#$%' at "
                                                  "'tags.1.member.key' failed to satisfy constraint: Member must "
                                                  f"satisfy regular expression pattern: {TAG_KEY_PATTERN}")
    with pytest.raises(ClientError) as bad_value:
        iam.tag_user(UserName="admin", Tags=[{"Key": "ok", "Value": "semi;colon"}])
    assert _error(bad_value)[0] == "ValidationError"
    assert "at 'tags.1.member.value' failed to satisfy constraint" in _error(bad_value)[1]
    with pytest.raises(ClientError) as at_create:
        iam.create_role(RoleName="r2", AssumeRolePolicyDocument=_doc(**TRUST), Tags=[{"Key": "a,b", "Value": ""}])
    assert _error(at_create)[0] == "ValidationError"
    assert iam.list_role_tags(RoleName="r")["Tags"] == []
    assert iam.list_user_tags(UserName="admin")["Tags"] == []
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["r"]
    # Letters, separators and numbers of any script are what the pattern allows.
    unicode_tags = [{"Key": "Kostenstelle", "Value": "Grüße 日本 ٣ Ⅻ"}, {"Key": "équipe:nom/x=y+z-@_.", "Value": ""}]
    iam.tag_role(RoleName="r", Tags=unicode_tags)
    assert sorted(iam.list_role_tags(RoleName="r")["Tags"], key=lambda t: t["Key"]) == unicode_tags


def test_aws_prefix_is_reserved_for_tag_keys(cloud: LiveCloud) -> None:
    _, admin = cloud.new_account("fid-awstag")
    iam = cloud.client("iam", admin)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=_doc(**TRUST))
    reserved = ("InvalidInput", "User-defined tag keys can't start with 'aws:'.")
    for key in ("aws:team", "AWS:Team"):
        with pytest.raises(ClientError) as role:
            iam.tag_role(RoleName="r", Tags=[{"Key": "ok", "Value": "v"}, {"Key": key, "Value": "v"}])
        assert _error(role) == reserved
        with pytest.raises(ClientError) as user:
            iam.tag_user(UserName="admin", Tags=[{"Key": key, "Value": "v"}])
        assert _error(user) == reserved
    assert iam.list_role_tags(RoleName="r")["Tags"] == []
    assert iam.list_user_tags(UserName="admin")["Tags"] == []
    with pytest.raises(ClientError) as create_role:
        iam.create_role(RoleName="r2", AssumeRolePolicyDocument=_doc(**TRUST), Tags=[{"Key": "aws:x", "Value": ""}])
    assert _error(create_role) == reserved
    with pytest.raises(ClientError) as create_user:
        iam.create_user(UserName="u2", Tags=[{"Key": "aws:x", "Value": ""}])
    assert _error(create_user) == reserved
    with pytest.raises(ClientError) as create_profile:
        iam.create_instance_profile(InstanceProfileName="ip", Tags=[{"Key": "aws:x", "Value": ""}])
    assert _error(create_profile) == reserved
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["r"]
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["admin"]
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    iam.tag_role(RoleName="r", Tags=[{"Key": "awsome", "Value": "v"}, {"Key": "team:aws", "Value": "v"}])
    assert len(iam.list_role_tags(RoleName="r")["Tags"]) == 2


def test_statement_ids_must_be_alphanumeric(cloud: LiveCloud) -> None:
    _, admin = cloud.new_account("fid-sid")
    iam = cloud.client("iam", admin)
    iam.create_user(UserName="u")
    with pytest.raises(ClientError) as err:
        iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=_doc(Sid="allow ec2", Action="ec2:*",
                                                                              Resource="*"))
    assert _error(err) == ("MalformedPolicyDocument", "Statement IDs (SID) must be alpha-numeric. Check that "
                           "your input satisfies the regular expression [0-9A-Za-z]*")
    assert iam.list_user_policies(UserName="u")["PolicyNames"] == []
    iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=_doc(Sid="AllowEc2", Action="ec2:*",
                                                                          Resource="*"))
