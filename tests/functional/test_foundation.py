"""The foundation through real clients: boto3 and the aws CLI against a live `eucalite up`."""

from __future__ import annotations

import json
import subprocess

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Creds, LiveCloud


def test_get_caller_identity_is_the_cloud_admin(cloud: LiveCloud) -> None:
    ident = cloud.client("sts").get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{ident['Account']}:user/admin"
    assert ident["UserId"].startswith("AIDA")


def test_aws_cli_with_eucalite_env(cloud: LiveCloud) -> None:
    exports = subprocess.run(["eucalite", "env", "--data-dir", str(cloud.data_dir)], capture_output=True,
                             text=True, check=True).stdout
    script = f"{exports}\naws sts get-caller-identity --output json"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                         env=cloud.aws_env()).stdout
    assert json.loads(out)["Arn"].endswith(":user/admin")
    assert f"AWS_ENDPOINT_URL={cloud.url}" in exports


def test_aws_cli_with_a_wrong_secret_gets_signature_does_not_match(cloud: LiveCloud) -> None:
    creds = cloud.admin_creds()
    bad = creds.secret_access_key[:-1] + ("A" if creds.secret_access_key[-1] != "A" else "B")
    proc = subprocess.run(["aws", "sts", "get-caller-identity"], capture_output=True, text=True,
                          env=cloud.aws_env(Creds(creds.access_key_id, bad)))
    assert proc.returncode != 0
    assert "SignatureDoesNotMatch" in proc.stderr


def test_describe_availability_zones_lists_a_zone(cloud: LiveCloud) -> None:
    out = subprocess.run(["aws", "ec2", "describe-availability-zones", "--output", "json"], capture_output=True,
                         text=True, check=True, env=cloud.aws_env()).stdout
    zones = json.loads(out)["AvailabilityZones"]
    assert zones and zones[0]["ZoneName"] == "eucalite-1a" and zones[0]["State"] == "available"


def test_describe_regions(cloud: LiveCloud) -> None:
    regions = cloud.client("ec2").describe_regions()["Regions"]
    assert [r["RegionName"] for r in regions] == ["eucalite-1"]


def test_access_key_lifecycle(cloud: LiveCloud) -> None:
    _, creds = cloud.new_account()
    iam = cloud.client("iam", creds)
    new = iam.create_access_key()["AccessKey"]
    assert new["AccessKeyId"].startswith("AKIA") and len(new["SecretAccessKey"]) == 40
    listed = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys()["AccessKeyMetadata"]}
    assert listed[new["AccessKeyId"]] == "Active"
    # The new key works, then stops working once made inactive, then is gone.
    second = cloud.client("sts", Creds(new["AccessKeyId"], new["SecretAccessKey"]))
    assert second.get_caller_identity()["Arn"].endswith(":user/admin")
    with pytest.raises(ClientError) as quota:
        iam.create_access_key()
    assert quota.value.response["Error"]["Code"] == "LimitExceeded"
    iam.update_access_key(AccessKeyId=new["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as inactive:
        second.get_caller_identity()
    assert inactive.value.response["Error"]["Code"] == "InvalidClientTokenId"
    last = iam.get_access_key_last_used(AccessKeyId=new["AccessKeyId"])
    assert last["AccessKeyLastUsed"]["ServiceName"] == "sts"
    iam.delete_access_key(AccessKeyId=new["AccessKeyId"])
    assert new["AccessKeyId"] not in {k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]}
    with pytest.raises(ClientError) as gone:
        iam.delete_access_key(AccessKeyId=new["AccessKeyId"])
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_unknown_action_is_invalid_action(cloud: LiveCloud) -> None:
    import urllib.request

    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    creds = cloud.admin_creds()
    session = botocore.session.get_session()
    session.set_credentials(creds.access_key_id, creds.secret_access_key)
    req = AWSRequest(method="POST", url=cloud.url + "/", data="Action=FlyToTheMoon&Version=2010-05-08",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(session.get_credentials(), "iam", "eucalite-1").add_auth(req)
    http = urllib.request.Request(req.url, data=req.body.encode() if isinstance(req.body, str) else req.body,
                                  headers=dict(req.headers.items()), method="POST")
    try:
        urllib.request.urlopen(http, timeout=5)
        raise AssertionError("expected an error")
    except urllib.error.HTTPError as err:
        body = err.read().decode()
        assert err.code == 400
        assert "<Code>InvalidAction</Code>" in body and "<RequestId>" in body


def test_operation_in_model_but_not_implemented_names_itself(cloud: LiveCloud) -> None:
    iam = cloud.client("iam")
    with pytest.raises(ClientError) as err:
        iam.get_account_summary()
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert "GetAccountSummary" in err.value.response["Error"]["Message"]


def test_eucalyptus_service_paths(cloud: LiveCloud) -> None:
    import boto3

    creds = cloud.admin_creds()
    for service, path in (("iam", "/services/Euare/"), ("sts", "/services/Tokens/"), ("ec2", "/services/compute/")):
        client = boto3.client(service, endpoint_url=cloud.url + path, region_name=cloud.region,
                              aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key)
        if service == "ec2":
            assert client.describe_availability_zones()["AvailabilityZones"]
        elif service == "sts":
            assert client.get_caller_identity()["Account"]
        else:
            assert client.get_user()["User"]["UserName"] == "admin"


def test_client_files_written(cloud: LiveCloud) -> None:
    config = (cloud.data_dir / "aws" / "config").read_text()
    assert "[profile eucalite]" in config and cloud.url in config
    creds_file = cloud.data_dir / "aws" / "credentials"
    assert (creds_file.stat().st_mode & 0o077) == 0
    out = subprocess.run(["aws", "--profile", "eucalite", "sts", "get-caller-identity"], capture_output=True,
                         text=True, check=True,
                         env={"PATH": __import__("os").environ["PATH"], "AWS_CONFIG_FILE": str(cloud.data_dir / "aws/config"),
                              "AWS_SHARED_CREDENTIALS_FILE": str(creds_file)}).stdout
    assert ":user/admin" in out
    assert "[region eucalite-1]" in (cloud.data_dir / "euca2ools.ini").read_text()


def test_first_start_makes_a_private_keys_dir_and_a_restart_tightens_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """README's SSH section saves CreateKeyPair's material as DATA_DIR/keys/<name>.pem: the dir is there
    after `eucalite up`, 0700 like the data dir, and tightened again by the next start."""
    import stat

    from tests.conftest import start_cloud

    data = tmp_path / "data"
    live = start_cloud(data)
    try:
        keys = data / "keys"
        assert keys.is_dir()
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    finally:
        live.stop()
    keys.chmod(0o755)
    live = start_cloud(data)
    try:
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    finally:
        live.stop()


def test_second_up_on_a_taken_port_fails_clearly_and_keeps_the_endpoint(cloud: LiveCloud) -> None:
    import sys

    before = (cloud.data_dir / "endpoint.json").read_text()
    proc = subprocess.run([sys.executable, "-m", "eucalite", "up", "--no-tui", "--data-dir", str(cloud.data_dir),
                           "--port", str(cloud.port)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot listen" in proc.stderr
    assert (cloud.data_dir / "endpoint.json").read_text() == before
    assert cloud.client("sts").get_caller_identity()["Arn"].endswith(":user/admin")


def test_request_log_names_each_decision_and_its_reason(cloud: LiveCloud) -> None:
    _, creds = cloud.new_account("logs")
    iam = cloud.client("iam", creds)
    iam.create_user(UserName="logged")
    key = iam.create_access_key(UserName="logged")["AccessKey"]
    iam.put_user_policy(UserName="logged", PolicyName="zones", PolicyDocument=json.dumps({
        "Statement": [{"Sid": "Zones", "Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones",
                       "Resource": "*"}]}))
    user = Creds(key["AccessKeyId"], key["SecretAccessKey"])
    cloud.client("ec2", user).describe_availability_zones()
    with pytest.raises(ClientError):
        cloud.client("ec2", user).describe_regions()
    lines = [line for line in cloud.log().splitlines() if ":user/logged" in line]
    allowed = [line for line in lines if "op=ec2:DescribeAvailabilityZones" in line]
    denied = [line for line in lines if "op=ec2:DescribeRegions" in line]
    assert allowed and "decision=allow" in allowed[-1] and "Sid Zones" in allowed[-1]
    assert denied and "decision=deny" in denied[-1] and "no statement" in denied[-1]
    assert key["SecretAccessKey"] not in cloud.log()


def test_settings_file_port_is_what_up_binds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """endpoint.json guides client commands to a running cloud; it must not override settings for `up`."""
    import sys

    from tests.conftest import free_port, start_cloud

    data = tmp_path / "data"
    first = start_cloud(data)
    first.stop()
    wanted = free_port()
    (data / "settings.toml").write_text(f"port = {wanted}\n")
    proc = subprocess.Popen([sys.executable, "-m", "eucalite", "up", "--no-tui", "--data-dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import socket
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", wanted), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"eucalite did not listen on the settings.toml port {wanted}")
        env_out = subprocess.run([sys.executable, "-m", "eucalite", "env", "--data-dir", str(data)],
                                 capture_output=True, text=True, check=True).stdout
        assert f"127.0.0.1:{wanted}" in env_out
    finally:
        proc.terminate()
        proc.wait(10)
