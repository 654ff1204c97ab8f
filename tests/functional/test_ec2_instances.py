"""Instances through boto3: filters, paging, ClientToken, states, console, status, attributes, metadata
options, profile associations, errors, account isolation; zones (verbose) and instance types; aws CLI."""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.handlers import base64_encode_user_data

from tests.conftest import LiveCloud
from tests.functional.ec2_support import (
    Walkthrough,
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


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _run(ec2, images: dict[str, str], **kw):  # type: ignore[no-untyped-def]  # noqa: F811
    kw.setdefault("MinCount", 1)
    kw.setdefault("MaxCount", 1)
    return ec2.run_instances(ImageId=images["machine"], **kw)


def test_filters_and_tags(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ec2.create_key_pair(KeyName="filters-key")
    res = _run(ec2, images, MinCount=2, MaxCount=2, InstanceType="c1.medium", KeyName="filters-key",
               Placement={"AvailabilityZone": "eucalite-1a"},
               TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "filters"}]}])
    ids = sorted(i["InstanceId"] for i in res["Instances"])
    assert res["ReservationId"].startswith("r-") and len(ids) == 2
    assert sorted(i["AmiLaunchIndex"] for i in res["Instances"]) == [0, 1]

    def found(*filters: tuple[str, list[str]]) -> list[str]:
        out = ec2.describe_instances(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return sorted(i["InstanceId"] for r in out["Reservations"] for i in r["Instances"])

    assert found(("tag:app", ["filters"])) == ids
    assert found(("tag-key", ["app"]), ("instance-type", ["c1.medium"])) == ids
    assert found(("key-name", ["filters-key"])) == ids
    assert found(("image-id", [images["machine"]]), ("tag:app", ["filt*"])) == ids
    assert found(("availability-zone", ["eucalite-1a"]), ("tag:app", ["filters"])) == ids
    assert found(("instance-id", [ids[0]])) == [ids[0]]
    assert found(("tag:app", ["other"])) == []
    assert found(("iam-instance-profile.arn", ["arn:aws:iam::1:instance-profile/x"])) == []
    for iid in ids:
        wait_state(ec2, iid, "running")
    assert found(("instance-state-name", ["running"]), ("tag:app", ["filters"])) == ids
    with pytest.raises(ClientError) as bad:
        ec2.describe_instances(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert _code(bad) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=ids)


def test_paging(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _run(ec2, images, MinCount=6, MaxCount=6)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kw = {"MaxResults": 5, **({"NextToken": token} if token else {})}
        out = ec2.describe_instances(**kw)
        seen += [i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert pages >= 2 and len(seen) == len(set(seen)) == instance_count(ec2)
    with pytest.raises(ClientError) as combo:
        ec2.describe_instances(InstanceIds=[seen[0]], MaxResults=5)
    assert _code(combo) == "InvalidParameterCombination"
    terminate_all(ec2)


def test_client_token_is_idempotent(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    first = _run(ec2, images, ClientToken="launch-once-1")
    second = _run(ec2, images, ClientToken="launch-once-1")
    assert first["ReservationId"] == second["ReservationId"]
    assert [i["InstanceId"] for i in first["Instances"]] == [i["InstanceId"] for i in second["Instances"]]
    assert second["Instances"][0]["ClientToken"] == "launch-once-1"
    before = instance_count(ec2)
    with pytest.raises(ClientError) as mismatch:  # the same token with other arguments is not a retry
        _run(ec2, images, ClientToken="launch-once-1", InstanceType="m1.xlarge")
    assert _code(mismatch) == "IdempotentParameterMismatch"
    with pytest.raises(ClientError) as too_long:
        _run(ec2, images, ClientToken="t" * 65)
    assert _code(too_long) == "InvalidParameterValue"
    assert instance_count(ec2) == before
    ec2.terminate_instances(InstanceIds=[first["Instances"][0]["InstanceId"]])


def test_stop_start_reboot_and_attributes(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    iid = _run(ec2, images, InstanceType="m1.small")["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "running")
    ec2.reboot_instances(InstanceIds=[iid])
    with pytest.raises(ClientError) as running:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "m1.xlarge"})
    assert _code(running) == "IncorrectInstanceState"
    change = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert change["PreviousState"]["Name"] == "running" and change["CurrentState"]["Name"] == "stopping"
    stopped = wait_state(ec2, iid, "stopped")
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    for no_value in ({"Attribute": "instanceType"}, {"Attribute": "kernel"}):
        with pytest.raises(ClientError) as missing:
            ec2.modify_instance_attribute(InstanceId=iid, **no_value)
        assert _code(missing) == "MissingParameter"
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "m1.xlarge"})
    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"#!/bin/sh\necho hi\n"})
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")["InstanceType"]["Value"] == \
        "m1.xlarge"
    data = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(data) == b"#!/bin/sh\necho hi\n"
    ec2.start_instances(InstanceIds=[iid])
    inst = wait_state(ec2, iid, "running")
    assert inst["InstanceType"] == "m1.xlarge"
    console = ec2.get_console_output(InstanceId=iid)["Output"]
    assert "reboot: Restarting system" in console and "Power down" in console
    statuses = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"]
    assert statuses[0]["InstanceState"]["Name"] == "running" and statuses[0]["InstanceStatus"]["Status"] == "ok"
    options = ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="required",
                                                   HttpPutResponseHopLimit=2)["InstanceMetadataOptions"]
    assert options["HttpTokens"] == "required" and options["HttpPutResponseHopLimit"] == 2
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["MetadataOptions"]["HttpTokens"] == "required" and "IamInstanceProfile" not in inst
    ec2.terminate_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "terminated")
    with pytest.raises(ClientError) as gone:
        ec2.start_instances(InstanceIds=[iid])
    assert _code(gone) == "IncorrectInstanceState"
    assert ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"] == []
    everything = ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)["InstanceStatuses"]
    assert everything[0]["InstanceState"]["Name"] == "terminated"


def test_metadata_options_at_launch(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    inst = _run(ec2, images, MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled",
                                              "HttpPutResponseHopLimit": 3})["Instances"][0]
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["MetadataOptions"]["HttpPutResponseHopLimit"] == 3
    with pytest.raises(ClientError) as bad:
        _run(ec2, images, MetadataOptions={"HttpTokens": "sometimes"})
    assert _code(bad) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])


def test_profile_associations(cloud: LiveCloud, ec2, acct: Walkthrough, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    iid = _run(ec2, images)["Instances"][0]["InstanceId"]
    assoc = ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": acct.profile_name},
                                               InstanceId=iid)["IamInstanceProfileAssociation"]
    assert assoc["AssociationId"].startswith("iip-assoc-") and assoc["InstanceId"] == iid
    with pytest.raises(ClientError) as twice:
        ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": acct.profile_name}, InstanceId=iid)
    assert _code(twice) == "IncorrectState"
    listed = ec2.describe_iam_instance_profile_associations(AssociationIds=[assoc["AssociationId"]])
    assert listed["IamInstanceProfileAssociations"][0]["IamInstanceProfile"]["Id"] == acct.profile_id
    iam = cloud.client("iam", acct.admin)
    iam.create_role(RoleName="second-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    arn2 = iam.create_instance_profile(InstanceProfileName="second")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="second", RoleName="second-role")
    replaced = ec2.replace_iam_instance_profile_association(
        IamInstanceProfile={"Arn": arn2}, AssociationId=assoc["AssociationId"])["IamInstanceProfileAssociation"]
    assert replaced["AssociationId"] != assoc["AssociationId"]
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["IamInstanceProfile"]["Arn"] == arn2
    ec2.disassociate_iam_instance_profile(AssociationId=replaced["AssociationId"])
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert "IamInstanceProfile" not in inst
    with pytest.raises(ClientError) as unknown:
        ec2.disassociate_iam_instance_profile(AssociationId=replaced["AssociationId"])
    assert _code(unknown) == "InvalidAssociationID.NotFound"
    # Associating passes the role too.
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    no_pass = cloud.client("ec2", make_user(cloud, acct.admin, "assoc-no-pass", policy))
    with pytest.raises(ClientError) as denied:
        no_pass.associate_iam_instance_profile(IamInstanceProfile={"Name": acct.profile_name}, InstanceId=iid)
    assert _code(denied) == "UnauthorizedOperation"
    ec2.terminate_instances(InstanceIds=[iid])


def test_instance_id_errors(ec2) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as missing:
        ec2.describe_instances(InstanceIds=["i-00000000"])
    assert _code(missing) == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as malformed:
        ec2.terminate_instances(InstanceIds=["banana"])
    assert _code(malformed) == "InvalidInstanceID.Malformed"
    with pytest.raises(ClientError) as console:
        ec2.get_console_output(InstanceId="i-00000000")
    assert _code(console) == "InvalidInstanceID.NotFound"


def test_launch_parameter_errors(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    before = instance_count(ec2)
    raw = ec2.meta.events
    raw.unregister("before-parameter-build.ec2.RunInstances", base64_encode_user_data)
    try:
        with pytest.raises(ClientError) as not_b64:
            _run(ec2, images, UserData="this is not base64!")
        assert _code(not_b64) == "InvalidParameterValue"
    finally:
        raw.register("before-parameter-build.ec2.RunInstances", base64_encode_user_data)
    for kw, code in (({"InstanceType": "t9.huge"}, "InvalidParameterValue"),
                     ({"KeyName": "no-such-key"}, "InvalidKeyPair.NotFound"),
                     ({"SecurityGroups": ["no-such-group"]}, "InvalidGroup.NotFound"),
                     ({"Placement": {"AvailabilityZone": "mars-1a"}}, "InvalidParameterValue"),
                     ({"MinCount": 3, "MaxCount": 2}, "InvalidParameterValue"),
                     ({"MinCount": 500, "MaxCount": 500}, "InstanceLimitExceeded")):
        with pytest.raises(ClientError) as err:
            _run(ec2, images, **kw)
        assert _code(err) == code, kw
    with pytest.raises(ClientError) as kernel_as_machine:
        ec2.run_instances(ImageId=images["kernel"], MinCount=1, MaxCount=1)
    assert _code(kernel_as_machine) == "InvalidParameterValue"
    assert instance_count(ec2) == before


def _settle(ec2) -> None:  # type: ignore[no-untyped-def]
    """Wait until nothing of this account is on its way out (shutting-down still holds capacity)."""
    for r in ec2.describe_instances()["Reservations"]:
        for i in r["Instances"]:
            if i["State"]["Name"] == "shutting-down":
                wait_state(ec2, i["InstanceId"], "terminated")


def test_capacity_limits_and_verbose_zones(ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _settle(ec2)
    zones = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
    names = [z["ZoneName"] for z in zones]
    assert names[0] == "eucalite-1a" and "|- vm types" in names and "|- m1.small" in names
    small = next(z for z in zones if z["ZoneName"] == "|- c1.xlarge")
    free, _, total = small["State"].split()[:3]
    assert int(total) == 32  # 64 vcpus / 2 (128 GiB / 2 GiB would allow 64) on the default memory node
    with pytest.raises(ClientError) as full:
        _run(ec2, images, InstanceType="c1.xlarge", MinCount=int(total) + 1, MaxCount=int(total) + 1)
    assert _code(full) == "InsufficientInstanceCapacity"
    iid = _run(ec2, images, InstanceType="c1.xlarge")["Instances"][0]["InstanceId"]
    after = ec2.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
    now_free = next(z for z in after if z["ZoneName"] == "|- c1.xlarge")["State"].split()[0]
    assert int(now_free) == int(free) - 1
    ec2.terminate_instances(InstanceIds=[iid])
    plain = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in plain] == ["eucalite-1a"]


def test_instance_types(ec2) -> None:  # type: ignore[no-untyped-def]
    types = {t["InstanceType"]: t for t in ec2.describe_instance_types()["InstanceTypes"]}
    assert set(types) == {"m1.small", "c1.medium", "m1.large", "m1.xlarge", "c1.xlarge"}
    assert types["m1.large"]["VCpuInfo"]["DefaultVCpus"] == 1 and types["m1.large"]["MemoryInfo"]["SizeInMiB"] == 512
    one = ec2.describe_instance_types(InstanceTypes=["c1.xlarge"])["InstanceTypes"]
    assert [t["InstanceType"] for t in one] == ["c1.xlarge"]


def test_accounts_see_only_their_instances(cloud: LiveCloud, ec2, images: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    iid = _run(ec2, images)["Instances"][0]["InstanceId"]
    _, other = cloud.new_account("stranger")
    stranger = cloud.client("ec2", other)
    assert stranger.describe_instances()["Reservations"] == []
    for call in (lambda: stranger.describe_instances(InstanceIds=[iid]),
                 lambda: stranger.terminate_instances(InstanceIds=[iid]),
                 lambda: stranger.get_console_output(InstanceId=iid)):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "InvalidInstanceID.NotFound"
    assert stranger.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"] == []
    ec2.terminate_instances(InstanceIds=[iid])


def test_aws_cli_runs_and_describes(cloud: LiveCloud, acct: Walkthrough, images: dict[str, str]) -> None:  # noqa: F811
    env = cloud.aws_env(acct.user01)

    def aws(*args: str) -> dict:  # type: ignore[type-arg]
        out = subprocess.run(["aws", "ec2", *args, "--output", "json"], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    run = aws("run-instances", "--image-id", images["machine"], "--instance-type", "m1.large",
              "--iam-instance-profile", f"Arn={acct.profile_arn}", "--user-data", "#cloud-config\n")
    iid = run["Instances"][0]["InstanceId"]
    described = aws("describe-instances", "--instance-ids", iid)["Reservations"][0]["Instances"][0]
    assert described["IamInstanceProfile"]["Arn"] == acct.profile_arn
    console = aws("get-console-output", "--instance-id", iid)
    assert iid in console.get("Output", iid)
    aws("terminate-instances", "--instance-ids", iid)


def test_instances_survive_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import start_cloud

    live = start_cloud(tmp_path / "data")
    try:
        from tests.functional.ec2_support import import_image

        ids = import_image(live, tmp_path / "img", "restart")
        ec2 = live.client("ec2")
        iid = ec2.run_instances(ImageId=ids["machine"], MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        wait_state(ec2, iid, "running")
        row = live.reader().store.one("select metadata_port, node, state from instances where id = ?", [iid])
        assert row is not None and row["node"] == "node-1"
        assert row["metadata_port"] > 0  # the metadata service gave the instance its channel
        port = live.port
    finally:
        live.stop()
    again = start_cloud(tmp_path / "data", port=port)
    try:
        ec2 = again.client("ec2")
        inst = wait_state(ec2, iid, "running")
        assert inst["ImageId"] == ids["machine"]
        assert "booting " + iid in ec2.get_console_output(InstanceId=iid)["Output"]
        ec2.terminate_instances(InstanceIds=[iid])
        wait_state(ec2, iid, "terminated")
    finally:
        again.stop()



def test_dry_run_authorizes_and_does_nothing(cloud: LiveCloud, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.walkthrough import set_up

    walk = set_up(cloud, tmp_path)
    before = walk.ec2(walk.admin).describe_instances()["Reservations"]
    with pytest.raises(ClientError) as dry:
        walk.ec2().run_instances(ImageId=walk.image_id, MinCount=1, MaxCount=1, DryRun=True)
    assert dry.value.response["Error"]["Code"] == "DryRunOperation"
    assert dry.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert walk.ec2(walk.admin).describe_instances()["Reservations"] == before
    cloud.client("iam", walk.admin).delete_user_policy(UserName="user01", PolicyName="ec2-and-passrole")
    with pytest.raises(ClientError) as denied:
        walk.ec2().run_instances(ImageId=walk.image_id, MinCount=1, MaxCount=1, DryRun=True)
    assert denied.value.response["Error"]["Code"] == "UnauthorizedOperation"


def test_run_instances_authorizes_key_pair_and_security_groups(cloud: LiveCloud, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A policy can limit the key pairs and security groups a user launches with, as on AWS, where
    RunInstances is authorized against every resource it uses (DryRun shows it without launching)."""
    from tests.walkthrough import set_up

    walk = set_up(cloud, tmp_path)
    admin_ec2 = walk.ec2(walk.admin)
    admin_ec2.create_key_pair(KeyName="allowed-key")
    admin_ec2.create_key_pair(KeyName="other-key")
    open_sg = admin_ec2.create_security_group(GroupName="open", Description="open")["GroupId"]
    locked_sg = admin_ec2.create_security_group(GroupName="locked", Description="locked")["GroupId"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:RunInstances", "NotResource": "arn:aws:ec2:*:*:key-pair/*"},
        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:*:key-pair/allowed-key"},
        {"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": f"arn:aws:ec2:*:*:security-group/{locked_sg}"},
    ]}
    ec2 = cloud.client("ec2", make_user(cloud, walk.admin, "launcher", policy))

    def outcome(**kw: Any) -> str:
        with pytest.raises(ClientError) as err:
            ec2.run_instances(ImageId=walk.image_id, MinCount=1, MaxCount=1, DryRun=True, **kw)
        return str(err.value.response["Error"]["Code"])

    assert outcome(KeyName="allowed-key") == "DryRunOperation"
    assert outcome(KeyName="other-key") == "UnauthorizedOperation"
    assert outcome(KeyName="allowed-key", SecurityGroupIds=[open_sg]) == "DryRunOperation"
    assert outcome(KeyName="allowed-key", SecurityGroupIds=[locked_sg]) == "UnauthorizedOperation"
    assert outcome(SecurityGroups=["locked"]) == "UnauthorizedOperation"
    assert outcome(SecurityGroups=["open", "locked"]) == "UnauthorizedOperation"
    # The refusal names the resource that was not allowed.
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=walk.image_id, MinCount=1, MaxCount=1, KeyName="other-key")
    message = err.value.response["Error"]["Message"].rsplit(" ", 1)[-1]
    decoded = cloud.client("sts", walk.admin).decode_authorization_message(EncodedMessage=message)
    assert "key-pair/other-key" in json.loads(decoded["DecodedMessage"])["context"]["resource"]
    assert instance_count(admin_ec2) == 0


def test_cloud_admin_describes_every_account_with_verbose(cloud: LiveCloud, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`euca-describe-instances verbose` (Eucalyptus): the cloud admin sees all accounts' instances; for
    anyone else "verbose" is just a malformed instance id, as on AWS."""
    from tests.walkthrough import set_up

    walk = set_up(cloud, tmp_path)
    iid = walk.launch()
    root = cloud.client("ec2", cloud.admin_creds())
    everything = root.describe_instances(InstanceIds=["verbose"])["Reservations"]
    owners = {r["OwnerId"] for r in everything}
    assert walk.account_id in owners
    assert iid in {i["InstanceId"] for r in everything for i in r["Instances"]}
    assert iid not in {i["InstanceId"] for r in root.describe_instances()["Reservations"] for i in r["Instances"]}
    one = root.describe_instances(InstanceIds=["verbose", iid])["Reservations"]
    assert [(r["OwnerId"], [i["InstanceId"] for i in r["Instances"]]) for r in one] == [(walk.account_id, [iid])]
    with pytest.raises(ClientError) as missing:
        root.describe_instances(InstanceIds=["verbose", "i-00000000"])
    assert missing.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    for creds in (walk.admin, walk.user01):
        with pytest.raises(ClientError) as err:
            walk.ec2(creds).describe_instances(InstanceIds=["verbose"])
        assert err.value.response["Error"]["Code"] == "InvalidInstanceID.Malformed"
    walk.ec2().terminate_instances(InstanceIds=[iid])
