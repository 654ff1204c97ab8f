"""Signature checks through real signers (botocore's SigV4, SigV4 presigned, SigV2) against a live server.
Every failure mode gets the exact code AWS sends, per service."""

from __future__ import annotations

import datetime
import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from unittest import mock
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import LiveCloud

IAM_GET_USER = {"Action": "GetUser", "Version": "2010-05-08"}
STS_WHOAMI = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
EC2_AZ = {"Action": "DescribeAvailabilityZones", "Version": "2016-11-15"}


@dataclass
class Reply:
    status: int
    body: str

    @property
    def code(self) -> str:
        return self.body.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in self.body else ""


def send(req: AWSRequest) -> Reply:
    data = req.data
    body = urlencode(data).encode() if isinstance(data, dict) else data.encode() if isinstance(data, str) else data
    http = urllib.request.Request(req.url, data=body, headers=dict(req.headers.items()), method=req.method)
    try:
        with urllib.request.urlopen(http, timeout=10) as resp:
            return Reply(resp.status, resp.read().decode())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.read().decode())


def form(cloud: LiveCloud, params: dict[str, str], path: str = "/") -> AWSRequest:
    return AWSRequest(method="POST", url=cloud.url + path, data=urlencode(params),
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def sigv4(cloud: LiveCloud, params: dict[str, str], service: str, secret: str | None = None,
          key: str | None = None, token: str | None = None, when: datetime.datetime | None = None) -> AWSRequest:
    creds = cloud.admin_creds()
    req = form(cloud, params)
    signer = SigV4Auth(Credentials(key or creds.access_key_id, secret or creds.secret_access_key, token),
                       service, cloud.region)
    if when is None:
        signer.add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            signer.add_auth(req)
    return req


@pytest.mark.parametrize(("service", "params"), [("iam", IAM_GET_USER), ("sts", STS_WHOAMI), ("ec2", EC2_AZ)])
def test_valid_sigv4_header(cloud: LiveCloud, service: str, params: dict[str, str]) -> None:
    reply = send(sigv4(cloud, params, service))
    assert reply.status == 200, reply.body
    assert "<RequestId>" in reply.body or "<requestId>" in reply.body


@pytest.mark.parametrize(("service", "params", "code", "status"), [
    ("sts", STS_WHOAMI, "SignatureDoesNotMatch", 403),
    ("iam", IAM_GET_USER, "SignatureDoesNotMatch", 403),
    ("ec2", EC2_AZ, "AuthFailure", 401),
])
def test_wrong_secret(cloud: LiveCloud, service: str, params: dict[str, str], code: str, status: int) -> None:
    secret = cloud.admin_creds().secret_access_key
    reply = send(sigv4(cloud, params, service, secret=secret[:-1] + ("x" if secret[-1] != "x" else "y")))
    assert (reply.code, reply.status) == (code, status)


@pytest.mark.parametrize(("service", "params", "code"), [
    ("sts", STS_WHOAMI, "SignatureDoesNotMatch"), ("ec2", EC2_AZ, "AuthFailure")])
def test_tampered_signature_and_altered_body(cloud: LiveCloud, service: str, params: dict[str, str],
                                             code: str) -> None:
    req = sigv4(cloud, params, service)
    auth = req.headers["Authorization"]
    flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    del req.headers["Authorization"]
    req.headers["Authorization"] = flipped
    assert send(req).code == code
    altered = sigv4(cloud, params, service)
    altered.data = urlencode({**params, "Extra": "1"})
    assert send(altered).code == code


@pytest.mark.parametrize(("service", "params", "code"), [
    ("sts", STS_WHOAMI, "InvalidClientTokenId"), ("iam", IAM_GET_USER, "InvalidClientTokenId"),
    ("ec2", EC2_AZ, "AuthFailure")])
def test_unknown_key(cloud: LiveCloud, service: str, params: dict[str, str], code: str) -> None:
    assert send(sigv4(cloud, params, service, key="AKIAIOSFODNN7EXAMPLE")).code == code


@pytest.mark.parametrize(("service", "params", "code", "status"), [
    ("sts", STS_WHOAMI, "SignatureDoesNotMatch", 403), ("ec2", EC2_AZ, "RequestExpired", 400)])
def test_skewed_clock(cloud: LiveCloud, service: str, params: dict[str, str], code: str, status: int) -> None:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    reply = send(sigv4(cloud, params, service, when=when))
    assert (reply.code, reply.status) == (code, status)
    if service == "sts":
        assert "Signature expired" in reply.body
    # Within the 15-minute window is fine.
    ok = send(sigv4(cloud, params, service, when=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)))
    assert ok.status == 200


@pytest.mark.parametrize(("service", "params", "code", "status"), [
    ("sts", STS_WHOAMI, "MissingAuthenticationToken", 403), ("iam", IAM_GET_USER, "MissingAuthenticationToken", 403),
    ("ec2", EC2_AZ, "MissingAuthenticationToken", 401)])
def test_missing_auth(cloud: LiveCloud, service: str, params: dict[str, str], code: str, status: int) -> None:
    reply = send(form(cloud, params))
    assert (reply.code, reply.status) == (code, status)


def test_incomplete_signature(cloud: LiveCloud) -> None:
    req = form(cloud, STS_WHOAMI)
    req.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/eucalite-1/sts/aws4_request"
    req.headers["X-Amz-Date"] = "20240101T000000Z"
    reply = send(req)
    assert reply.code == "IncompleteSignature" and reply.status == 400


def presigned(cloud: LiveCloud, params: dict[str, str], service: str, expires: int,
              when: datetime.datetime | None = None) -> AWSRequest:
    creds = cloud.admin_creds()
    req = AWSRequest(method="GET", url=cloud.url + "/?" + urlencode(params))
    signer = SigV4QueryAuth(Credentials(creds.access_key_id, creds.secret_access_key), service, cloud.region,
                            expires=expires)
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=(when or datetime.datetime.now(datetime.UTC)).replace(tzinfo=None)):
        signer.add_auth(req)
    return req


def test_presigned_url_works_then_expires(cloud: LiveCloud) -> None:
    assert send(presigned(cloud, STS_WHOAMI, "sts", 300)).status == 200
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=120)
    expired = send(presigned(cloud, STS_WHOAMI, "sts", 60, when=old))
    assert (expired.code, expired.status) == ("RequestExpired", 400)
    assert send(presigned(cloud, EC2_AZ, "ec2", 60, when=old)).code == "RequestExpired"


def test_presigned_url_cannot_outlive_a_week(cloud: LiveCloud) -> None:
    # Signed a year ago asking for ten years: AWS caps X-Amz-Expires at 604800 s, so this never works.
    year_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=365)
    forever = send(presigned(cloud, STS_WHOAMI, "sts", 315360000, when=year_ago))
    assert (forever.code, forever.status) == ("IncompleteSignature", 400)
    assert "604800" in forever.body
    assert send(presigned(cloud, EC2_AZ, "ec2", 604801)).code == "IncompleteSignature"
    assert send(presigned(cloud, STS_WHOAMI, "sts", 604800)).status == 200


def test_presigned_url_from_boto3(cloud: LiveCloud) -> None:
    # botocore signs the operation's own method (POST for STS), as Vault-style IAM auth then sends it.
    url = cloud.client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=60)
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10) as resp:
        assert b":user/admin" in resp.read()
    with pytest.raises(urllib.error.HTTPError) as as_get:
        urllib.request.urlopen(url, timeout=10)
    assert as_get.value.code == 403


@pytest.mark.parametrize("method", ["HmacSHA256", "HmacSHA1"])
def test_sigv2(cloud: LiveCloud, method: str) -> None:
    creds = cloud.admin_creds()
    params = dict(EC2_AZ)
    params["SignatureMethod"] = method

    class V2(SigV2Auth):
        def add_auth(self, request: AWSRequest) -> AWSRequest:  # botocore always signs V2 with SHA256
            import base64
            import hashlib
            import hmac as hmac_mod

            p = request.data
            p.update({"AWSAccessKeyId": creds.access_key_id, "SignatureVersion": "2", "SignatureMethod": method,
                      "Timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
            from urllib.parse import quote, urlsplit

            split = urlsplit(request.url)
            qs = "&".join(f"{quote(k, safe='')}={quote(str(p[k]), safe='-_~')}" for k in sorted(p))
            sts = f"POST\n{split.netloc}\n{split.path or '/'}\n{qs}"
            digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
            p["Signature"] = base64.b64encode(hmac_mod.new(creds.secret_access_key.encode(), sts.encode(),
                                                           digest).digest()).decode()
            return request

    req = AWSRequest(method="POST", url=cloud.url + "/services/compute/", data=params,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    V2(Credentials(creds.access_key_id, creds.secret_access_key)).add_auth(req)
    reply = send(req)
    assert reply.status == 200, reply.body
    assert "eucalite-1a" in reply.body


def test_botocore_sigv2_signer(cloud: LiveCloud) -> None:
    creds = cloud.admin_creds()
    req = AWSRequest(method="POST", url=cloud.url + "/", data=dict(STS_WHOAMI),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV2Auth(Credentials(creds.access_key_id, creds.secret_access_key)).add_auth(req)
    reply = send(req)
    assert reply.status == 200, reply.body
    bad = AWSRequest(method="POST", url=cloud.url + "/", data=dict(STS_WHOAMI),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV2Auth(Credentials(creds.access_key_id, "wrong" + creds.secret_access_key[5:])).add_auth(bad)
    assert send(bad).code == "SignatureDoesNotMatch"


def test_wrong_region_scope(cloud: LiveCloud) -> None:
    creds = cloud.admin_creds()
    req = form(cloud, EC2_AZ)
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key), "ec2", "mars-1").add_auth(req)
    assert send(req).code == "AuthFailure"


def test_no_traceback_on_garbage(cloud: LiveCloud) -> None:
    req = AWSRequest(method="POST", url=cloud.url + "/", data=b"\xff\xfe%%%&&&==",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    reply = send(req)
    assert reply.status in (400, 403) and "Traceback" not in reply.body


def test_oversized_body_is_refused_before_it_is_read(cloud: LiveCloud) -> None:
    # Only the headers are sent: the refusal must come from the declared length, before any body is read.
    # (Sending the 2 MiB too races the server's close against the client's writes: a reset either way.)
    conn = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=10)
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(2 * 1024 * 1024))
        conn.endheaders()
        resp = conn.getresponse()
        reply = Reply(resp.status, resp.read().decode())
    finally:
        conn.close()
    assert reply.status == 413 and reply.code == "RequestEntityTooLarge"
    assert send(sigv4(cloud, STS_WHOAMI, "sts")).status == 200  # and the server is fine
