"""The metadata service through botocore's own IMDS clients, curl-like requests and cloud-init's crawl rules."""

from __future__ import annotations

import calendar
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.credentials import InstanceMetadataProvider
from botocore.exceptions import ClientError
from botocore.utils import InstanceMetadataFetcher

from tests.conftest import Creds, LiveCloud
from tests.walkthrough import ROLE, Walkthrough, set_up


def http(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "PUT" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers.items())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers.items())


@pytest.fixture(scope="module")
def walk(cloud: LiveCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walkthrough]:
    yield set_up(cloud, tmp_path_factory.mktemp("md"))


@pytest.fixture(scope="module")
def instance(walk: Walkthrough) -> str:
    return walk.launch()


def fetcher(url: str, disabled_v1: bool = False) -> InstanceMetadataFetcher:
    return InstanceMetadataFetcher(timeout=5, num_attempts=1, base_url=url,
                                   config={"ec2_metadata_v1_disabled": disabled_v1})


def test_credentials_listing_is_the_role_name(walk: Walkthrough, instance: str) -> None:
    url = walk.metadata_url(instance)
    assert url.startswith("http://127.0.0.1:")
    status, body, _ = http(url + "/latest/meta-data/iam/security-credentials/")
    assert (status, body) == (200, ROLE)


def test_credential_document(walk: Walkthrough, instance: str) -> None:
    url = walk.metadata_url(instance)
    doc = json.loads(http(f"{url}/latest/meta-data/iam/security-credentials/{ROLE}")[1])
    assert doc["Code"] == "Success" and doc["Type"] == "AWS-HMAC"
    assert doc["AccessKeyId"].startswith("ASIA") and len(doc["SecretAccessKey"]) == 40 and doc["Token"]
    for stamp in (doc["LastUpdated"], doc["Expiration"]):
        assert time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    info = json.loads(http(f"{url}/latest/meta-data/iam/info")[1])
    assert info["Code"] == "Success" and info["InstanceProfileArn"] == walk.profile_arn
    assert info["InstanceProfileId"].startswith("AIPA")
    # Between rotations the same credentials are served.
    again = json.loads(http(f"{url}/latest/meta-data/iam/security-credentials/{ROLE}")[1])
    assert again["AccessKeyId"] == doc["AccessKeyId"]


@pytest.mark.parametrize("v1_disabled", [False, True], ids=["imdsv1-fallback", "imdsv2-only"])
def test_botocore_fetcher_and_provider(walk: Walkthrough, instance: str, v1_disabled: bool) -> None:
    url = walk.metadata_url(instance)
    creds = fetcher(url, v1_disabled).retrieve_iam_role_credentials()
    assert creds["role_name"] == ROLE and creds["access_key"].startswith("ASIA")
    provider = InstanceMetadataProvider(iam_role_fetcher=fetcher(url, v1_disabled))
    loaded = provider.load()
    assert loaded is not None and loaded.method == "iam-role"


def test_boto3_with_instance_credentials_is_allowed_exactly_the_role(walk: Walkthrough, instance: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url = walk.metadata_url(instance)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    session = boto3.Session(region_name=walk.cloud.region)
    assert session.get_credentials().method == "iam-role"
    ec2 = session.client("ec2", endpoint_url=walk.cloud.url)
    assert ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"] == "eucalite-1a"
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=walk.image_id, MinCount=1, MaxCount=1)
    assert err.value.response["Error"]["Code"] == "UnauthorizedOperation"
    ident = session.client("sts", endpoint_url=walk.cloud.url).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{walk.account_id}:assumed-role/{ROLE}/{instance}"


def test_token_ttl_bounds(walk: Walkthrough, instance: str) -> None:
    url = walk.metadata_url(instance) + "/latest/api/token"
    assert http(url, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "21601"})[0] == 400
    assert http(url, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "0"})[0] == 400
    for digits in ("6²", "٦٠"):  # Unicode digits (sent as UTF-8) are not a number of seconds
        assert http(url, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": digits.encode().decode("latin-1")})[0] == 400
    assert http(url, "PUT")[0] == 400
    status, token, headers = http(url, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    assert status == 200 and token
    assert {k.lower(): v for k, v in headers.items()}["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    assert http(url, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "1.2.3.4"})[0] == 403


def test_tokens_are_bound_to_their_instance(walk: Walkthrough, instance: str) -> None:
    other = walk.launch()
    mine, theirs = walk.metadata_url(instance), walk.metadata_url(other)
    token = http(theirs + "/latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})[1]
    assert http(mine + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token})[0] == 401
    assert http(theirs + "/latest/meta-data/instance-id",
                headers={"X-aws-ec2-metadata-token": token}) [1] == other
    # Headers that name another instance change nothing: the channel decides.
    status, body, _ = http(mine + "/latest/meta-data/instance-id",
                           headers={"X-Forwarded-For": "169.254.0.16", "Host": "169.254.169.254", "X-Instance-Id": other})
    assert (status, body) == (200, instance)
    walk.ec2().terminate_instances(InstanceIds=[other])


def test_http_tokens_required_and_endpoint_disabled(walk: Walkthrough) -> None:
    iid = walk.launch(MetadataOptions={"HttpTokens": "required"})
    url = walk.metadata_url(iid)
    assert http(url + "/latest/meta-data/instance-id")[0] == 401
    token = http(url + "/latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "1"})[1]
    assert http(url + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token})[1] == iid
    time.sleep(2.1)
    assert http(url + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token})[0] == 401
    walk.ec2().modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="disabled")
    assert http(url + "/latest/meta-data/instance-id")[0] == 403
    walk.ec2().modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="enabled", HttpTokens="optional")
    assert http(url + "/latest/meta-data/instance-id")[1] == iid
    walk.ec2().terminate_instances(InstanceIds=[iid])


def test_cloud_init_style_crawl(walk: Walkthrough, instance: str) -> None:
    """Walk every listing as cloud-init's Ec2 datasource does: names ending '/' are directories,
    'N=name' entries in public-keys map to N/, and JSON-looking leaves parse."""
    url = walk.metadata_url(instance)
    versions = http(url + "/")[1].split("\n")
    assert "2009-04-04" in versions and "latest" in versions
    assert http(url + "/2009-04-04/meta-data/instance-id")[1] == instance
    assert http(url + "/1999-01-01/meta-data/instance-id")[0] == 404
    seen: dict[str, str] = {}

    def crawl(path: str) -> None:
        status, body, _ = http(url + path)
        assert status == 200, path
        for line in body.split("\n"):
            if not line:
                continue
            if "=" in line and path.endswith("public-keys/"):
                line = line.split("=", 1)[0] + "/"
            if line.endswith("/"):
                crawl(path + line)
            else:
                status, leaf, _ = http(url + path + line)
                assert status == 200, path + line
                seen[path + line] = leaf

    crawl("/latest/meta-data/")
    md = "/latest/meta-data/"
    for key in ("ami-id", "ami-launch-index", "ami-manifest-path", "hostname", "instance-action", "instance-id",
                "instance-type", "local-hostname", "local-ipv4", "mac", "placement/availability-zone",
                "placement/region", "public-hostname", "public-ipv4", "reservation-id", "security-groups",
                "services/domain", "iam/info", f"iam/security-credentials/{ROLE}", "block-device-mapping/ami"):
        assert md + key in seen, key
    assert seen[md + "instance-type"] == "m1.large"
    assert seen[md + "ami-id"] == walk.image_id
    assert json.loads(seen[md + "iam/info"])["Code"] == "Success"
    assert http(url + "/latest/user-data")[1].startswith("#cloud-config")


def test_identity_document_matches_and_verifies(walk: Walkthrough, instance: str) -> None:
    import base64
    import subprocess
    import sys

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    url = walk.metadata_url(instance)
    doc_text = http(url + "/latest/dynamic/instance-identity/document")[1]
    doc = json.loads(doc_text)
    inst = walk.ec2().describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert doc["instanceId"] == inst["InstanceId"] and doc["imageId"] == inst["ImageId"]
    assert doc["instanceType"] == inst["InstanceType"] and doc["accountId"] == walk.account_id
    assert doc["availabilityZone"] == inst["Placement"]["AvailabilityZone"] and doc["region"] == walk.cloud.region
    pem = subprocess.run([sys.executable, "-m", "eucalite", "identity-cert", "--data-dir", str(walk.cloud.data_dir)],
                         capture_output=True, check=True).stdout
    cert = x509.load_pem_x509_certificate(pem)
    signature = base64.b64decode(http(url + "/latest/dynamic/instance-identity/signature")[1])
    cert.public_key().verify(signature, doc_text.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    # AWS's documented check: openssl smime verifies the PKCS7 signature over the document as served.
    import shutil

    pkcs7 = http(url + "/latest/dynamic/instance-identity/pkcs7")[1]
    if shutil.which("openssl"):
        import tempfile
        from pathlib import Path

        work = Path(tempfile.mkdtemp())
        (work / "doc.json").write_text(doc_text)
        (work / "cert.pem").write_bytes(pem)
        (work / "sig.pem").write_text(f"-----BEGIN PKCS7-----\n{pkcs7}\n-----END PKCS7-----\n")
        done = subprocess.run(["openssl", "smime", "-verify", "-in", str(work / "sig.pem"), "-inform", "PEM",
                               "-content", str(work / "doc.json"), "-certfile", str(work / "cert.pem"),
                               "-noverify"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_instance_without_profile_has_no_iam(walk: Walkthrough) -> None:
    iid = str(walk.ec2().run_instances(ImageId=walk.image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"])
    walk.wait_state(iid, "running")
    url = walk.metadata_url(iid)
    assert http(url + "/latest/meta-data/iam/")[0] == 404
    assert http(url + "/latest/meta-data/iam/security-credentials/")[0] == 404
    assert "iam/" not in http(url + "/latest/meta-data/")[1].split("\n")
    walk.ec2().terminate_instances(InstanceIds=[iid])


def test_terminated_instance_stops_serving(walk: Walkthrough) -> None:
    iid = walk.launch()
    url = walk.metadata_url(iid)
    assert http(url + "/latest/meta-data/instance-id")[1] == iid
    walk.ec2().terminate_instances(InstanceIds=[iid])
    walk.wait_state(iid, "terminated")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(url + "/latest/meta-data/instance-id", timeout=5)


def test_rotation_with_a_short_ttl(make_cloud, tmp_path: Path) -> None:
    """Rotation at half-life for demo TTLs: new credentials appear before the old expire, the old keep
    working until their own Expiration, and are refused after it."""
    live = make_cloud("--test-mode", "--credential-ttl", "4s")  # under a minute only in test mode
    walk = set_up(live, tmp_path)
    iid = walk.launch()
    url = walk.metadata_url(iid)
    creds_url = f"{url}/latest/meta-data/iam/security-credentials/{ROLE}"
    first = json.loads(http(creds_url)[1])
    deadline = time.monotonic() + 15
    second = first
    while second["AccessKeyId"] == first["AccessKeyId"] and time.monotonic() < deadline:
        time.sleep(0.2)
        second = json.loads(http(creds_url)[1])
    assert second["AccessKeyId"] != first["AccessKeyId"], "no rotation within 15 s at a 4 s TTL"
    assert second["LastUpdated"] < first["Expiration"], "new credentials must appear before the old expire"
    old = Creds(first["AccessKeyId"], first["SecretAccessKey"], first["Token"])
    expiry = calendar.timegm(time.strptime(first["Expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    old_ec2 = live.client("ec2", old)  # built first: building a client takes long enough on a busy machine
    started = time.time()  # to cross the expiry between the check below and the call
    if started < expiry - 1:
        try:
            assert old_ec2.describe_availability_zones()["AvailabilityZones"]
        except ClientError as exc:  # refused only if the call really arrived after the expiry
            assert time.time() >= expiry - 1, exc
    time.sleep(max(0.0, expiry - time.time()) + 0.5)
    with pytest.raises(ClientError) as err:
        old_ec2.describe_availability_zones()
    assert err.value.response["Error"]["Code"] == "RequestExpired"
    for attempt in range(3):  # served with >= 2 s left; a busy machine can take that long to send the call
        fresh = json.loads(http(creds_url)[1])
        try:
            assert live.client("ec2", Creds(fresh["AccessKeyId"], fresh["SecretAccessKey"], fresh["Token"])) \
                .describe_availability_zones()["AvailabilityZones"]
            break
        except ClientError:
            expired = calendar.timegm(time.strptime(fresh["Expiration"], "%Y-%m-%dT%H:%M:%SZ"))
            if attempt == 2 or time.time() < expired:
                raise


def test_boto3_refreshable_credentials_pass_rotations(make_cloud, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's own refresh logic across rotations, in simulated time: the cloud's clock and the
    client's move together (the default one-hour TTL, rotated 30 minutes before expiry)."""
    import datetime as dt

    import botocore.auth
    import botocore.credentials
    import botocore.utils

    live = make_cloud("--test-mode")
    walk = set_up(live, tmp_path)
    iid = walk.launch()
    offset = {"s": 0.0}
    real_auth, real_utils, real_local = (botocore.auth.get_current_datetime, botocore.utils.get_current_datetime,
                                         botocore.credentials._local_now)
    shift = lambda: dt.timedelta(seconds=offset["s"])  # noqa: E731
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: real_auth(*a, **k) + shift())
    monkeypatch.setattr(botocore.utils, "get_current_datetime", lambda *a, **k: real_utils(*a, **k) + shift())
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", walk.metadata_url(iid))
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    ec2 = boto3.Session(region_name=live.region).client("ec2", endpoint_url=live.url)
    # RefreshableCredentials binds its clock as a default argument; give it the moved one.
    ec2._request_signer._credentials._time_fetcher = lambda: real_local() + shift()

    def key() -> str:
        return str(ec2._request_signer._credentials.get_frozen_credentials().access_key)

    def advance(seconds: float) -> None:
        live.advance_clock(seconds)
        offset["s"] += seconds

    keys = []
    for _ in range(6):  # three hours in 30-minute steps: several rotations
        assert ec2.describe_availability_zones()["AvailabilityZones"]
        keys.append(key())
        advance(1800)
    assert ec2.describe_availability_zones()["AvailabilityZones"]
    assert len(set(keys)) >= 3, keys
