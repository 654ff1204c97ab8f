"""EC2 answers that must match AWS's exactly: error codes of tags, groups, zones and instance profiles."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveCloud
from tests.functional.ec2_support import (
    Walkthrough,
    images,  # noqa: F401  (fixture)
    terminate_all,
    walkthrough,
)


@pytest.fixture(scope="module")
def acct(cloud: LiveCloud) -> Walkthrough:
    return walkthrough(cloud)


@pytest.fixture(scope="module")
def ec2(cloud: LiveCloud, acct: Walkthrough):  # type: ignore[no-untyped-def]
    client = cloud.client("ec2", acct.admin)
    yield client
    terminate_all(client)


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(err.value.response["Error"]["Code"]), str(err.value.response["Error"]["Message"])


def _run(ec2: Any, images: dict[str, str], **kw: Any) -> dict[str, Any]:  # noqa: F811
    return ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1, **kw)  # type: ignore[no-any-return]


def test_create_tags_on_unknown_resources_names_the_resource_kind(ec2) -> None:  # type: ignore[no-untyped-def]
    # AWS: a well-formed id of a known kind that does not exist gets that kind's NotFound code;
    # only ids EC2 cannot parse get InvalidID.
    cases = (("i-12345678", "InvalidInstanceID.NotFound", "The instance ID 'i-12345678' does not exist"),
             ("sg-12345678", "InvalidGroup.NotFound", "The security group 'sg-12345678' does not exist"),
             ("emi-12345678", "InvalidAMIID.NotFound", "The image id '[emi-12345678]' does not exist"),
             ("banana", "InvalidID", "The ID 'banana' is not valid"))
    for rid, code, message in cases:
        with pytest.raises(ClientError) as err:
            ec2.create_tags(Resources=[rid], Tags=[{"Key": "k", "Value": "v"}])
        assert _error(err) == (code, message), rid
        with pytest.raises(ClientError) as err:
            ec2.delete_tags(Resources=[rid])
        assert _error(err)[0] == code, rid


def test_tag_limits(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    group = ec2.create_security_group(GroupName="tag-limits", Description="tags")["GroupId"]
    with pytest.raises(ClientError) as long_value:
        ec2.create_tags(Resources=[group], Tags=[{"Key": "k", "Value": "v" * 257}])
    assert _error(long_value) == ("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
    ec2.create_tags(Resources=[group], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    ec2.create_tags(Resources=[group], Tags=[{"Key": "k0", "Value": "overwritten"}])  # overwriting is not adding
    with pytest.raises(ClientError) as too_many:
        ec2.create_tags(Resources=[group], Tags=[{"Key": "k50", "Value": "v"}])
    assert _error(too_many)[0] == "TagLimitExceeded"
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [group]}])["Tags"]
    assert len(tags) == 50
    with pytest.raises(ClientError) as at_launch:
        _run(ec2, images, TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}])
    assert _error(at_launch)[0] == "TagLimitExceeded"
    with pytest.raises(ClientError) as long_at_launch:
        _run(ec2, images, TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "v" * 257}]}])
    assert _error(long_at_launch)[0] == "InvalidParameterValue"


def test_instance_profile_by_name_and_arn_together(ec2, acct: Walkthrough,  # type: ignore[no-untyped-def]
                                                   images: dict[str, str]) -> None:  # noqa: F811
    with pytest.raises(ClientError) as both:
        _run(ec2, images, IamInstanceProfile={"Arn": acct.profile_arn, "Name": acct.profile_name})
    assert _error(both) == ("InvalidParameterCombination",
                            "The parameter 'iamInstanceProfile.name' may not be used in combination with "
                            "'iamInstanceProfile.arn'")


def test_group_referenced_by_another_group_cannot_be_deleted(ec2) -> None:  # type: ignore[no-untyped-def]
    src = ec2.create_security_group(GroupName="ref-source", Description="source")["GroupId"]
    ec2.create_security_group(GroupName="ref-target", Description="target")
    ec2.authorize_security_group_ingress(GroupName="ref-target", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": src}]}])
    with pytest.raises(ClientError) as err:
        ec2.delete_security_group(GroupId=src)
    assert _error(err) == ("DependencyViolation", f"resource {src} has a dependent object")
    ec2.delete_security_group(GroupName="ref-target")
    ec2.delete_security_group(GroupId=src)


def test_group_description_is_at_most_255_characters(ec2) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as err:
        ec2.create_security_group(GroupName="long-description", Description="d" * 256)
    assert _error(err)[0] == "InvalidParameterValue" and "GroupDescription" in _error(err)[1]
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["long-description"]}])[
        "SecurityGroups"]
    gid = ec2.create_security_group(GroupName="long-description", Description="d" * 255)["GroupId"]
    ec2.delete_security_group(GroupId=gid)


def test_ipv6_cidr_is_not_an_ip_range(ec2) -> None:  # type: ignore[no-untyped-def]
    ec2.create_security_group(GroupName="v6-in-v4", Description="x")
    with pytest.raises(ClientError) as err:
        ec2.authorize_security_group_ingress(GroupName="v6-in-v4", IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "::/0"}]}])
    assert _error(err)[0] == "InvalidParameterValue"
    perms = ec2.describe_security_groups(GroupNames=["v6-in-v4"])["SecurityGroups"][0]["IpPermissions"]
    assert perms == []


def test_unknown_availability_zone_is_an_error(ec2) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as err:
        ec2.describe_availability_zones(ZoneNames=["mars-1a"])
    assert _error(err) == ("InvalidParameterValue", "Invalid availability zone: [mars-1a]")
    assert ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]


# -- input XML cannot carry -----------------------------------------------------------------------------------------
XML_CONSTRAINT = "Member must not contain characters that are not allowed in XML 1.0"


def test_control_characters_are_refused_and_describes_still_parse(  # type: ignore[no-untyped-def]
        ec2, images: dict[str, str]) -> None:  # noqa: F811
    iid = _run(ec2, images)["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as tag:
        ec2.create_tags(Resources=[iid], Tags=[{"Key": "note", "Value": "a\x01b"}])
    assert _error(tag) == ("InvalidParameterValue", f"Value (a\\u0001b) for parameter Value is invalid. {XML_CONSTRAINT}")
    with pytest.raises(ClientError) as key:
        ec2.create_tags(Resources=[iid], Tags=[{"Key": "no\x0bte", "Value": "v"}])
    assert _error(key)[0] == "InvalidParameterValue" and "no\\u000bte" in _error(key)[1]
    with pytest.raises(ClientError) as at_launch:
        _run(ec2, images, TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "\x1b[31m"}]}])
    assert _error(at_launch)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as group:
        ec2.create_security_group(GroupName="ctl-group", Description="x\x01y")
    assert _error(group) == ("InvalidParameterValue",
                             f"Value (x\\u0001y) for parameter GroupDescription is invalid. {XML_CONSTRAINT}")

    # Nothing was written, and every describe in the account still parses.
    instances = {i["InstanceId"]: i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    assert not [t for t in instances[iid].get("Tags", []) if not t["Key"].startswith("euca:")]
    launched = [i for i in instances.values() if i["State"]["Name"] in ("pending", "running")]
    assert [i["InstanceId"] for i in launched] == [iid]  # the refused launch left no instance behind
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}, {"Name": "key", "Values": ["note"]}])[
        "Tags"] == []
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["ctl-group"]}])[
        "SecurityGroups"] == []
    # What XML does allow is stored and comes back as sent.
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "note", "Value": "tab\tand ünï ✓ \U0001f600"}])
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}, {"Name": "key", "Values": ["note"]}])[
        "Tags"][0]["Value"] == "tab\tand ünï ✓ \U0001f600"
    ec2.terminate_instances(InstanceIds=[iid])


def test_control_characters_with_the_aws_cli(cloud: LiveCloud, acct: Walkthrough, ec2,  # type: ignore[no-untyped-def]
                                             images: dict[str, str]) -> None:  # noqa: F811
    """The reported case: create-tags with \\u0001 answered rc 0, then every describe-instances failed to parse."""
    iid = _run(ec2, images)["Instances"][0]["InstanceId"]
    env = cloud.aws_env(acct.admin)

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["aws", "--output", "json", "ec2", *args], capture_output=True, text=True, env=env,
                              timeout=60)

    tagged = aws("create-tags", "--resources", iid, "--tags", '[{"Key":"note","Value":"a\\u0001b"}]')
    assert tagged.returncode != 0 and "(InvalidParameterValue)" in tagged.stderr, tagged.stderr
    group = aws("create-security-group", "--group-name", "ctl-cli", "--description", "x\x01y")
    assert group.returncode != 0 and "(InvalidParameterValue)" in group.stderr, group.stderr
    described = aws("describe-instances", "--instance-ids", iid)
    assert described.returncode == 0, described.stderr
    assert "note" not in described.stdout
    groups = aws("describe-security-groups")
    assert groups.returncode == 0, groups.stderr
    assert "ctl-cli" not in groups.stdout
    ec2.terminate_instances(InstanceIds=[iid])
