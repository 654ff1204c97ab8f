"""Test mode: suites written for moto's server mode run unchanged against `eucalite up --test-mode`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eucalite.config import load_settings
from tests.conftest import LiveCloud

SEED = "AKIATESTMODE00000001:test-mode-secret:123456789012"


def reset(cloud: LiveCloud) -> dict[str, Any]:
    req = urllib.request.Request(f"{cloud.url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        return dict(json.loads(resp.read()))


def client(cloud: LiveCloud, service: str, key: str, secret: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=cloud.url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def test_seeded_key_create_role_reset_get_role(make_cloud) -> None:
    live = make_cloud("--test-mode", "--seed-credentials", SEED)
    key, secret, account = SEED.split(":")
    iam = client(live, "iam", key, secret, "us-east-1")
    trust = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                       "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="suite-role", AssumeRolePolicyDocument=trust)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/suite-role"
    assert iam.get_role(RoleName="suite-role")["Role"]["RoleName"] == "suite-role"
    assert reset(live) == {"status": "ok"}
    # Everything is gone, but the seeded key is back (bootstrap re-seeds it) so the suite carries on.
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName="suite-role")
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
    assert client(live, "sts", key, secret, "us-east-1").get_caller_identity()["Account"] == account


def test_the_clock_moves_forward_by_a_finite_number_only(make_cloud) -> None:
    live = make_cloud("--test-mode")
    for bad in ("abc", "-100", "inf", "nan", "1e308"):
        req = urllib.request.Request(f"{live.url}/_eucalite/clock?seconds={bad}", method="POST", data=b"")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 400 and "seconds must be a number" in json.loads(err.value.read())["error"]
    live.advance_clock(60)
    live.advance_clock(0.5)
    assert live.client("sts").get_caller_identity()["Arn"].endswith(":user/admin")  # still a sane clock
    req = urllib.request.Request(f"{live.url}/_eucalite/clock?seconds=0", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read())["offset"] == 60.5


def test_requests_signed_for_any_region_are_accepted(make_cloud) -> None:
    live = make_cloud("--test-mode", "--seed-credentials", SEED)
    key, secret, account = SEED.split(":")
    for region in ("us-east-1", "eu-central-1", "made-up-region-9"):
        assert client(live, "sts", key, secret, region).get_caller_identity()["Account"] == account


def test_unregistered_image_ids_only_in_test_mode(make_cloud, cloud: LiveCloud) -> None:
    live = make_cloud("--test-mode", "--seed-credentials", SEED)
    key, secret, _ = SEED.split(":")
    ec2 = client(live, "ec2", key, secret, "us-east-1")
    inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="m1.small")["Instances"][0]
    assert inst["ImageId"] == "ami-12345678"
    # moto-style suites launch AWS's own instance types; test mode accepts them.
    for kind in ("t2.micro", "m5.large"):
        assert ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                 InstanceType=kind)["Instances"][0]["InstanceType"] == kind
    with pytest.raises(ClientError) as no_such_type:
        ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="z9.gigantic")
    assert no_such_type.value.response["Error"]["Code"] == "InvalidParameterValue"
    # Without test mode (the shared cloud), the same call is refused as on AWS.
    with pytest.raises(ClientError) as err:
        cloud.client("ec2").run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)
    assert err.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"


def test_test_mode_setting_turns_on_unregistered_images(tmp_path) -> None:
    assert load_settings({"data_dir": tmp_path}, environ={}).accept_unregistered_images is False
    assert load_settings({"data_dir": tmp_path, "test_mode": True}, environ={}).accept_unregistered_images is True
    env = {"EUCALITE_TEST_MODE": "1", "EUCALITE_ACCEPT_UNREGISTERED_IMAGES": "false"}
    settings = load_settings({"data_dir": tmp_path}, environ=env)
    assert settings.test_mode and not settings.accept_unregistered_images  # an explicit setting wins


def test_not_in_test_mode_there_is_no_reset(cloud: LiveCloud) -> None:
    req = urllib.request.Request(f"{cloud.url}/moto-api/reset", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code in (400, 403, 404, 405)


def test_a_moto_server_mode_suite_runs_unchanged(make_cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines below are what a moto server-mode suite does (moto's docs: "testing" credentials,
    us-west-2, an endpoint_url, made-up ami ids, reset between tests); only the URL differs."""
    live = make_cloud("--test-mode", "--seed-credentials", "testing:testing")
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DATA_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    endpoint = live.url  # moto: "http://localhost:5000"

    # --- the suite, unchanged ---
    requests_post = lambda url: urllib.request.urlopen(  # noqa: E731 - requests.post(...) in the original
        urllib.request.Request(url, method="POST", data=b""), timeout=30)
    requests_post(f"{endpoint}/moto-api/reset")
    ec2 = boto3.client("ec2", region_name="us-west-2", endpoint_url=endpoint)
    iam = boto3.client("iam", region_name="us-west-2", endpoint_url=endpoint)
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    instance_id = reservation["Instances"][0]["InstanceId"]
    ids = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert instance_id in ids
    iam.create_user(UserName="johndoe")
    assert [u["UserName"] for u in iam.list_users()["Users"] if u["UserName"] == "johndoe"] == ["johndoe"]
    key = iam.create_access_key(UserName="johndoe")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    requests_post(f"{endpoint}/moto-api/reset")
    assert "johndoe" not in [u["UserName"] for u in iam.list_users()["Users"]]
    assert [r for r in ec2.describe_instances()["Reservations"] if r["Instances"][0]["State"]["Name"] != "terminated"] == []
