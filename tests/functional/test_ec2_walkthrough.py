"""The issue's "Done when" list: the walkthrough's launch step as user01, through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveCloud
from tests.functional.ec2_support import (
    CLOUD_CONFIG,
    Walkthrough,
    b64,
    images,  # noqa: F401  (fixture)
    instance_count,
    make_user,
    terminate_all,
    wait_state,
    walkthrough,
)


@pytest.fixture(scope="module")
def acct(cloud: LiveCloud) -> Walkthrough:
    return walkthrough(cloud)


@pytest.fixture(scope="module")
def ec2(cloud: LiveCloud, acct: Walkthrough):  # type: ignore[no-untyped-def]
    client = cloud.client("ec2", acct.user01)
    yield client
    terminate_all(client)


def test_user01_creates_a_key_pair_and_opens_ssh(ec2, acct: Walkthrough) -> None:  # type: ignore[no-untyped-def]
    key = ec2.create_key_pair(KeyName="user01-key")
    assert key["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22, ToPort=22,
                                         CidrIp="0.0.0.0/0")
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    assert {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22} .items() <= next(
        p for p in group["IpPermissions"] if p.get("FromPort") == 22 and p["IpRanges"]).items()


def test_run_with_profile_arn_reaches_running(ec2, acct: Walkthrough, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    res = ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1, InstanceType="m1.large",
                            UserData=CLOUD_CONFIG, IamInstanceProfile={"Arn": acct.profile_arn})
    inst = res["Instances"][0]
    assert inst["State"]["Name"] == "pending" and inst["InstanceType"] == "m1.large"
    assert inst["KernelId"] == images["kernel"] and inst["RamdiskId"] == images["ramdisk"]
    running = wait_state(ec2, inst["InstanceId"], "running")
    assert running["IamInstanceProfile"] == {"Arn": acct.profile_arn, "Id": acct.profile_id}
    assert acct.profile_id.startswith("AIPA")
    assert {t["Key"]: t["Value"] for t in running["Tags"]}["euca:node"] == "node-1"
    found = ec2.describe_instances(Filters=[{"Name": "iam-instance-profile.arn", "Values": [acct.profile_arn]}])
    assert inst["InstanceId"] in [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]
    attr = ec2.describe_instance_attribute(InstanceId=inst["InstanceId"], Attribute="userData")
    assert b64(CLOUD_CONFIG) == attr["UserData"]["Value"]
    console = ec2.get_console_output(InstanceId=inst["InstanceId"])["Output"]
    assert inst["InstanceId"] in console and "user-data:" in console
    assoc = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [inst["InstanceId"]]}])["IamInstanceProfileAssociations"]
    assert assoc[0]["IamInstanceProfile"]["Arn"] == acct.profile_arn and assoc[0]["State"] == "associated"


def test_run_with_profile_name(ec2, acct: Walkthrough, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    res = ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1, InstanceType="m1.large",
                            KeyName="user01-key", IamInstanceProfile={"Name": acct.profile_name})
    inst = wait_state(ec2, res["Instances"][0]["InstanceId"], "running")
    assert inst["IamInstanceProfile"]["Arn"] == acct.profile_arn
    assert inst["KeyName"] == "user01-key"


def test_unknown_profile_is_invalid_parameter_value_and_creates_nothing(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    before = instance_count(ec2)
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1,
                          IamInstanceProfile={"Name": "no-such-profile"})
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "no-such-profile" in err.value.response["Error"]["Message"]
    assert instance_count(ec2) == before


def test_profile_without_role_is_refused(cloud: LiveCloud, ec2, acct: Walkthrough,  # type: ignore[no-untyped-def]
                                         images: dict[str, str]) -> None:  # noqa: F811
    cloud.client("iam", acct.admin).create_instance_profile(InstanceProfileName="empty-profile")
    before = instance_count(ec2)
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1,
                          IamInstanceProfile={"Name": "empty-profile"})
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert instance_count(ec2) == before


def test_user_without_pass_role_is_unauthorized_and_creates_nothing(cloud: LiveCloud, acct: Walkthrough,
                                                                    images: dict[str, str]) -> None:  # noqa: F811
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    ec2 = cloud.client("ec2", make_user(cloud, acct.admin, "no-pass-role", policy))
    before = instance_count(ec2)
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1,
                          IamInstanceProfile={"Arn": acct.profile_arn})
    assert err.value.response["Error"]["Code"] == "UnauthorizedOperation"
    assert instance_count(ec2) == before
    # Without a profile the same user may launch.
    iid = ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[iid])


def test_terminate_reaches_terminated(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    iid = ec2.run_instances(ImageId=images["machine"], MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "running")
    change = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert change["PreviousState"]["Name"] == "running"
    assert change["CurrentState"]["Name"] in ("shutting-down", "terminated")
    inst = wait_state(ec2, iid, "terminated")
    assert inst["State"]["Code"] == 48
