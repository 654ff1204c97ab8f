"""STS and the credential minter through boto3 against a live server (issue 4's scenario)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Creds, LiveCloud

EC2_DESCRIBE_AZ = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones",
                                                                           "iam:ListRoles"], "Resource": "*"}]})


def trust(principal: dict[str, object], condition: dict[str, object] | None = None) -> str:
    stmt: dict[str, object] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def temp(creds: dict[str, str]) -> Creds:
    return Creds(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


@pytest.fixture(scope="module")
def account(cloud: LiveCloud) -> Iterator[tuple[str, Creds, str]]:
    name, creds = cloud.new_account("sts")
    account_id = cloud.client("sts", creds).get_caller_identity()["Account"]
    iam = cloud.client("iam", creds)
    iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{account_id}:root"}))
    iam.put_role_policy(RoleName="R", PolicyName="az", PolicyDocument=EC2_DESCRIBE_AZ)
    iam.create_role(RoleName="S", AssumeRolePolicyDocument=trust({"AWS": "111122223333"}))
    yield name, creds, account_id


def test_assume_role_returns_asia_credentials_and_the_assumed_role_arn(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    out = cloud.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/R", RoleSessionName="s1")
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["SecretAccessKey"]) == 40
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/R/s1"
    assert timedelta(minutes=59) < c["Expiration"] - datetime.now(UTC) <= timedelta(hours=1)
    ident = cloud.client("sts", temp(c)).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/R/s1"
    assert ident["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    assert cloud.client("sts", creds).get_access_key_info(AccessKeyId=c["AccessKeyId"])["Account"] == account_id


def test_role_credentials_get_exactly_the_role_policy(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    c = temp(cloud.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/R",
                                                     RoleSessionName="exact")["Credentials"])
    assert cloud.client("ec2", c).describe_availability_zones()["AvailabilityZones"]
    assert any(r["RoleName"] == "R" for r in cloud.client("iam", c).list_roles()["Roles"])
    with pytest.raises(ClientError) as denied:
        cloud.client("iam", c).list_users()
    assert code(denied) == "AccessDenied"
    message = denied.value.response["Error"]["Message"]
    assert message.startswith(f"User: arn:aws:sts::{account_id}:assumed-role/R/exact is not authorized to perform: "
                              "iam:ListUsers on resource: ")
    with pytest.raises(ClientError) as ec2_denied:
        cloud.client("ec2", c).describe_regions()
    assert code(ec2_denied) == "UnauthorizedOperation"
    encoded = ec2_denied.value.response["Error"]["Message"].rsplit(": ", 1)[1]
    decoded = json.loads(cloud.client("sts", creds).decode_authorization_message(EncodedMessage=encoded)
                         ["DecodedMessage"])
    assert decoded["allowed"] is False and decoded["context"]["action"] == "ec2:DescribeRegions"


def test_role_trusting_another_account_is_refused(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    arn = f"arn:aws:iam::{account_id}:role/S"
    with pytest.raises(ClientError) as err:
        cloud.client("sts", creds).assume_role(RoleArn=arn, RoleSessionName="nope")
    assert code(err) == "AccessDenied"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"is not authorized to perform: sts:AssumeRole on resource: {arn}" in err.value.response["Error"]["Message"]


def test_unknown_role_looks_like_a_denial(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    with pytest.raises(ClientError) as err:
        cloud.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Nope", RoleSessionName="xx")
    assert code(err) == "AccessDenied"


@pytest.mark.parametrize("service,expected", [("sts", "InvalidClientTokenId"), ("ec2", "AuthFailure")])
def test_tampered_token_is_refused(cloud: LiveCloud, account, service: str, expected: str) -> None:
    _, creds, account_id = account
    c = cloud.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/R",
                                               RoleSessionName="tamper")["Credentials"]
    token = c["SessionToken"]
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[len(raw) // 2] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    client = cloud.client(service, Creds(c["AccessKeyId"], c["SecretAccessKey"], tampered))
    with pytest.raises(ClientError) as err:
        client.get_caller_identity() if service == "sts" else client.describe_availability_zones()
    assert code(err) == expected


def test_token_of_another_key_is_refused(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    sts = cloud.client("sts", creds)
    a = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/R", RoleSessionName="aa")["Credentials"]
    b = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/R", RoleSessionName="bb")["Credentials"]
    with pytest.raises(ClientError) as err:
        cloud.client("sts", Creds(a["AccessKeyId"], a["SecretAccessKey"], b["SessionToken"])).get_caller_identity()
    assert code(err) == "InvalidClientTokenId"


def test_permissions_are_resolved_at_request_time(cloud: LiveCloud) -> None:
    _, creds = cloud.new_account("live")
    account_id = cloud.client("sts", creds).get_caller_identity()["Account"]
    iam = cloud.client("iam", creds)
    iam.create_role(RoleName="Live", AssumeRolePolicyDocument=trust({"AWS": account_id}))
    iam.put_role_policy(RoleName="Live", PolicyName="az", PolicyDocument=EC2_DESCRIBE_AZ)
    c = temp(cloud.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Live",
                                                     RoleSessionName="live")["Credentials"])
    ec2 = cloud.client("ec2", c)
    assert ec2.describe_availability_zones()["AvailabilityZones"]
    iam.delete_role_policy(RoleName="Live", PolicyName="az")
    with pytest.raises(ClientError) as after_policy:
        ec2.describe_availability_zones()
    assert code(after_policy) == "UnauthorizedOperation"
    iam.put_role_policy(RoleName="Live", PolicyName="az", PolicyDocument=EC2_DESCRIBE_AZ)
    assert ec2.describe_availability_zones()["AvailabilityZones"]
    iam.delete_role_policy(RoleName="Live", PolicyName="az")
    iam.delete_role(RoleName="Live")
    with pytest.raises(ClientError) as after_delete:
        ec2.describe_availability_zones()
    assert code(after_delete) == "UnauthorizedOperation"


def test_session_policy_intersects(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    only_az = json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones",
                                         "Resource": "*"}]})
    c = temp(cloud.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/R",
                                                     RoleSessionName="narrow", Policy=only_az)["Credentials"])
    assert cloud.client("ec2", c).describe_availability_zones()["AvailabilityZones"]
    with pytest.raises(ClientError) as err:
        cloud.client("iam", c).list_roles()  # the role allows it, the session policy does not
    assert code(err) == "AccessDenied"


def test_a_managed_session_policy_that_is_missing_grants_nothing(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    sts, iam = cloud.client("sts", creds), cloud.client("iam", creds)
    role = f"arn:aws:iam::{account_id}:role/R"
    ghost = temp(sts.assume_role(RoleArn=role, RoleSessionName="ghost", PolicyArns=[
        {"arn": f"arn:aws:iam::{account_id}:policy/DoesNotExist"}])["Credentials"])
    with pytest.raises(ClientError) as err:
        cloud.client("ec2", ghost).describe_availability_zones()  # the role allows it; no session policy does
    assert code(err) == "UnauthorizedOperation"
    # A session policy deleted after the session began stops granting, and does not unlock the whole role.
    arn = iam.create_policy(PolicyName="only-az", PolicyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones", "Resource": "*"}]}))["Policy"]["Arn"]
    c = temp(sts.assume_role(RoleArn=role, RoleSessionName="managed", PolicyArns=[{"arn": arn}])["Credentials"])
    assert cloud.client("ec2", c).describe_availability_zones()["AvailabilityZones"]
    with pytest.raises(ClientError) as narrowed:
        cloud.client("iam", c).list_roles()
    assert code(narrowed) == "AccessDenied"
    iam.delete_policy(PolicyArn=arn)
    for call in (lambda: cloud.client("iam", c).list_roles(), lambda: cloud.client("ec2", c).describe_availability_zones()):
        with pytest.raises(ClientError) as gone:
            call()
        assert code(gone) in ("AccessDenied", "UnauthorizedOperation")


def test_external_id_condition(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    iam = cloud.client("iam", creds)
    iam.create_role(RoleName="Ext", AssumeRolePolicyDocument=trust(
        {"AWS": account_id}, {"StringEquals": {"sts:ExternalId": "s3cret"}}))
    sts = cloud.client("sts", creds)
    arn = f"arn:aws:iam::{account_id}:role/Ext"
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=arn, RoleSessionName="e1", ExternalId="wrong")
    assert code(err) == "AccessDenied"
    assert sts.assume_role(RoleArn=arn, RoleSessionName="e2", ExternalId="s3cret")["Credentials"]


def test_duration_limits(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    sts = cloud.client("sts", creds)
    arn = f"arn:aws:iam::{account_id}:role/R"
    with pytest.raises(ClientError) as too_long:
        sts.assume_role(RoleArn=arn, RoleSessionName="dd", DurationSeconds=7200)
    assert code(too_long) == "ValidationError" and "MaxSessionDuration" in too_long.value.response["Error"]["Message"]
    unchecked = cloud.client("sts", creds, parameter_validation=False)  # the server must check it too
    with pytest.raises(ClientError) as too_short:
        unchecked.assume_role(RoleArn=arn, RoleSessionName="dd", DurationSeconds=899)
    assert code(too_short) == "ValidationError"
    with pytest.raises(ClientError) as bad_name:
        sts.assume_role(RoleArn=arn, RoleSessionName="bad name!")
    assert code(bad_name) == "ValidationError"
    iam = cloud.client("iam", creds)
    iam.create_role(RoleName="Chain", AssumeRolePolicyDocument=trust({"AWS": account_id}), MaxSessionDuration=7200)
    iam.put_role_policy(RoleName="Chain", PolicyName="assume", PolicyDocument=json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    assert sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Chain", RoleSessionName="long",
                           DurationSeconds=7200)["Credentials"]
    chained = temp(sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Chain",
                                   RoleSessionName="c1")["Credentials"])
    with pytest.raises(ClientError) as chain:
        cloud.client("sts", chained).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Chain",
                                                 RoleSessionName="c2", DurationSeconds=7200)
    assert code(chain) == "ValidationError" and "role chaining" in chain.value.response["Error"]["Message"]


def test_get_session_token_acts_as_the_user(cloud: LiveCloud, account) -> None:
    _, creds, account_id = account
    c = temp(cloud.client("sts", creds).get_session_token(DurationSeconds=900)["Credentials"])
    assert c.access_key_id.startswith("ASIA")
    assert cloud.client("sts", c).get_caller_identity()["Arn"] == f"arn:aws:iam::{account_id}:user/admin"
    with pytest.raises(ClientError) as err:
        cloud.client("sts", c).get_session_token()
    assert code(err) == "AccessDenied"


def test_expired_session_is_refused_with_a_moved_clock(make_cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    live = make_cloud("--test-mode")
    _, creds = live.new_account("clock")
    account_id = live.client("sts", creds).get_caller_identity()["Account"]
    iam = live.client("iam", creds)
    iam.create_role(RoleName="Short", AssumeRolePolicyDocument=trust({"AWS": account_id}))
    iam.put_role_policy(RoleName="Short", PolicyName="az", PolicyDocument=EC2_DESCRIBE_AZ)
    c = temp(live.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Short",
                                                    RoleSessionName="short", DurationSeconds=900)["Credentials"])
    assert live.client("ec2", c).describe_availability_zones()["AvailabilityZones"]
    live.advance_clock(901)
    # The client's clock moves with the cloud's, so the signature is fresh and only the session is old.
    import botocore.auth

    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: real(*a, **k) + timedelta(seconds=901))
    with pytest.raises(ClientError) as sts_err:
        live.client("sts", c).get_caller_identity()
    assert code(sts_err) == "ExpiredToken"
    with pytest.raises(ClientError) as ec2_err:
        live.client("ec2", c).describe_availability_zones()
    assert code(ec2_err) == "RequestExpired"


def test_principal_arn_of_a_session_carries_the_role_path(cloud: LiveCloud) -> None:
    _, creds = cloud.new_account("path")
    account_id = cloud.client("sts", creds).get_caller_identity()["Account"]
    iam = cloud.client("iam", creds)
    iam.create_role(RoleName="Pathed", Path="/svc/app/", AssumeRolePolicyDocument=trust({"AWS": account_id}))
    arn = f"arn:aws:iam::{account_id}:role/svc/app/Pathed"
    iam.put_role_policy(RoleName="Pathed", PolicyName="only-this-principal", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones",
                                                "Resource": "*",
                                                "Condition": {"ArnEquals": {"aws:PrincipalArn": arn}}}]}))
    c = temp(cloud.client("sts", creds).assume_role(RoleArn=arn, RoleSessionName="p1")["Credentials"])
    assert cloud.client("sts", c).get_caller_identity()["Arn"] == \
        f"arn:aws:sts::{account_id}:assumed-role/Pathed/p1"
    assert cloud.client("ec2", c).describe_availability_zones()["AvailabilityZones"]


def test_session_tags_need_tag_session_in_the_trust_policy(cloud: LiveCloud) -> None:
    _, creds = cloud.new_account("tags")
    account_id = cloud.client("sts", creds).get_caller_identity()["Account"]
    iam = cloud.client("iam", creds)
    iam.create_role(RoleName="NoTags", AssumeRolePolicyDocument=trust({"AWS": account_id}))
    tagging = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": account_id},
                                         "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
    iam.create_role(RoleName="Tags", AssumeRolePolicyDocument=tagging)
    iam.put_role_policy(RoleName="Tags", PolicyName="by-tag", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones",
                                                "Resource": "*",
                                                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]}))
    sts = cloud.client("sts", creds)
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/NoTags", RoleSessionName="t1",
                        Tags=[{"Key": "team", "Value": "blue"}])
    assert code(err) == "AccessDenied" and "sts:TagSession" in err.value.response["Error"]["Message"]
    blue = temp(sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Tags", RoleSessionName="t2",
                                Tags=[{"Key": "team", "Value": "blue"}])["Credentials"])
    assert cloud.client("ec2", blue).describe_availability_zones()["AvailabilityZones"]
    red = temp(sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Tags", RoleSessionName="t3",
                               Tags=[{"Key": "team", "Value": "red"}])["Credentials"])
    with pytest.raises(ClientError) as denied:
        cloud.client("ec2", red).describe_availability_zones()
    assert code(denied) == "UnauthorizedOperation"
    with pytest.raises(ClientError) as mfa:
        sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/Tags", RoleSessionName="t4",
                        SerialNumber="arn:aws:iam::123456789012:mfa/nobody", TokenCode="123456")
    assert code(mfa) == "AccessDenied"


def test_a_user_made_again_under_the_same_name_is_not_trusted(cloud: LiveCloud) -> None:
    # AWS keeps the unique id of a user principal: deleting the user and making another "ops" does not
    # hand the new one the old one's trust, and GetRole then shows the old id where the ARN was.
    _, admin = cloud.new_account("reborn")
    account_id = cloud.client("sts", admin).get_caller_identity()["Account"]
    iam = cloud.client("iam", admin)
    user_arn = f"arn:aws:iam::{account_id}:user/ops"
    allow_assume = json.dumps({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})

    def make_ops() -> tuple[str, Creds]:
        uid = iam.create_user(UserName="ops")["User"]["UserId"]
        iam.put_user_policy(UserName="ops", PolicyName="assume", PolicyDocument=allow_assume)
        key = iam.create_access_key(UserName="ops")["AccessKey"]
        return uid, Creds(key["AccessKeyId"], key["SecretAccessKey"])

    first_id, first = make_ops()
    iam.create_role(RoleName="OpsOnly", AssumeRolePolicyDocument=trust({"AWS": user_arn}))
    role_arn = f"arn:aws:iam::{account_id}:role/OpsOnly"
    assert cloud.client("sts", first).assume_role(RoleArn=role_arn, RoleSessionName="ops")["Credentials"]
    iam.delete_access_key(UserName="ops", AccessKeyId=first.access_key_id)
    iam.delete_user_policy(UserName="ops", PolicyName="assume")
    iam.delete_user(UserName="ops")
    shown = iam.get_role(RoleName="OpsOnly")["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"]["AWS"] == first_id
    second_id, second = make_ops()
    assert second_id != first_id
    with pytest.raises(ClientError) as err:
        cloud.client("sts", second).assume_role(RoleArn=role_arn, RoleSessionName="ops")
    assert code(err) == "AccessDenied"
    # Saving the policy again resolves the name anew, as on AWS.
    iam.update_assume_role_policy(RoleName="OpsOnly", PolicyDocument=trust({"AWS": user_arn}))
    assert iam.get_role(RoleName="OpsOnly")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"][
        "AWS"] == user_arn
    assert cloud.client("sts", second).assume_role(RoleArn=role_arn, RoleSessionName="ops")["Credentials"]
