"""R8: the data dir keeps its secrets to its owner, and no secret reaches the log or the dashboard.

A live `eucalite up` (started under umask 022, as a user's shell would) is put through what handles
secrets: access keys, GetSessionToken, AssumeRole, an instance profile's rotating credentials, IMDSv2
tokens, failed signatures, presigned requests with tokens. Then: every file holding key material is
0600 and every directory 0700, owned by us; and no secret access key, session token or IMDS token (or a
32-character piece of one) appears in eucalite.log, the server's output, the read model's snapshots
of every view, or the admin view's snapshot and events endpoints that `eucalite tui` attaches to.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import Creds, LiveCloud, start_cloud
from tests.reliability.harness import REGION, Result

PRIVATE_FILES = ["secret.key", "imds-token.key", "identity-key.pem", "aws/credentials", "euca2ools.ini",
                 "eucalite.db", "eucalite.db-wal", "eucalite.db-shm"]
PRIVATE_DIRS = [".", "sealing-keys", "aws"]
TRUST = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]})


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _admin_get(live: LiveCloud, path: str, creds: Creds) -> tuple[int, str]:
    req = AWSRequest(method="GET", url=live.url + path)
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key), "iam", REGION).add_auth(req)
    return _get(req.url, dict(req.headers.items()))


def exercise(live: LiveCloud) -> set[str]:
    """Handle secrets in every way the cloud does; returns them all."""
    secrets: set[str] = set()
    root = live.admin_creds()
    secrets.add(root.secret_access_key)
    name = f"r8-{uuid.uuid4().hex[:6]}"
    live.client("iam").create_account(AccountName=name)
    admin = live.admin_creds(name)
    secrets.add(admin.secret_access_key)
    iam, sts, ec2 = live.client("iam", admin), live.client("sts", admin), live.client("ec2", admin)
    iam.create_user(UserName="r8-user")
    key = iam.create_access_key(UserName="r8-user")["AccessKey"]
    secrets.add(key["SecretAccessKey"])
    session = sts.get_session_token()["Credentials"]
    secrets |= {session["SecretAccessKey"], session["SessionToken"]}
    role = iam.create_role(RoleName="r8-role", AssumeRolePolicyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{iam.get_user()['User']['Arn'].split(':')[4]}:root"},
         "Action": "sts:AssumeRole"}]}))["Role"]
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="r8")["Credentials"]
    secrets |= {assumed["SecretAccessKey"], assumed["SessionToken"]}
    # Session credentials used, rightly and wrongly, through the header and a presigned URL.
    s = Creds(session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    live.client("sts", s).get_caller_identity()
    with contextlib.suppress(ClientError):
        live.client("sts", Creds(s.access_key_id, s.secret_access_key[::-1], s.session_token)).get_caller_identity()
    req = AWSRequest(method="GET", url=live.url + "/?Action=GetCallerIdentity&Version=2011-06-15")
    SigV4QueryAuth(Credentials(s.access_key_id, s.secret_access_key, s.session_token), "sts", REGION, 60).add_auth(req)
    _get(req.url)
    _get(req.url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    # An instance profile: its credentials, and IMDSv2 tokens.
    iam.create_role(RoleName="r8-instance", AssumeRolePolicyDocument=TRUST)
    iam.create_instance_profile(InstanceProfileName="r8-instance")
    iam.add_role_to_instance_profile(InstanceProfileName="r8-instance", RoleName="r8-instance")
    image = ec2.register_image(Name=name)["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.small",
                            IamInstanceProfile={"Name": "r8-instance"})["Instances"][0]["InstanceId"]
    reader = live.reader()
    deadline = time.monotonic() + 20
    while True:
        row = reader.store.one("select state, metadata_port from instances where id = ?", [iid])
        if row and row["state"] == "running" and row["metadata_port"]:
            break
        assert time.monotonic() < deadline, row
        time.sleep(0.1)
    md = f"http://127.0.0.1:{row['metadata_port']}"
    for _ in range(3):  # a few rotations (the server runs with a short TTL)
        status, token = _get(md + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}, "PUT")
        assert status == 200
        secrets.add(token)
        status, text = _get(md + "/latest/meta-data/iam/security-credentials/r8-instance",
                            {"X-aws-ec2-metadata-token": token})
        doc = json.loads(text)
        secrets |= {doc["SecretAccessKey"], doc["Token"]}
        _get(md + "/latest/meta-data/iam/security-credentials/r8-instance", {"X-aws-ec2-metadata-token": token + "x"})
        time.sleep(2.2)
    return secrets


def _pieces(secret: str) -> list[str]:
    # Whole secrets, and 32-character windows of long ones (a token cut in a log line is still a leak).
    if len(secret) <= 40:
        return [secret]
    return [secret[i:i + 32] for i in range(0, len(secret) - 31, 16)]


def _scan(label: str, text: str, secrets: set[str], result: Result) -> None:
    result.attempts += 1
    found = [s[:12] + "..." for s in secrets if any(p in text for p in _pieces(s))]
    if found:
        result.fail(f"{label} contains {len(found)} secret(s): {found[:3]}")


def check_modes(data_dir: Path, result: Result) -> None:
    uid = os.getuid()
    for rel in PRIVATE_DIRS:
        path = data_dir / rel
        result.attempts += 1
        if not path.is_dir():
            result.fail(f"{rel}/ missing")
            continue
        st = path.stat()
        if stat.S_IMODE(st.st_mode) != 0o700 or st.st_uid != uid:
            result.fail(f"{rel}/ is {oct(stat.S_IMODE(st.st_mode))} owned by {st.st_uid}")
    files = [data_dir / f for f in PRIVATE_FILES] + sorted((data_dir / "sealing-keys").glob("*"))
    for path in files:
        result.attempts += 1
        if not path.exists():
            if path.name.endswith(("-wal", "-shm")):
                continue  # SQLite may have checkpointed them away
            result.fail(f"{path.relative_to(data_dir)} missing")
            continue
        st = path.stat()
        if stat.S_IMODE(st.st_mode) & 0o077 or st.st_uid != uid:
            result.fail(f"{path.relative_to(data_dir)} is {oct(stat.S_IMODE(st.st_mode))} owned by {st.st_uid}")


def check_dashboard(live: LiveCloud, secrets: set[str], result: Result) -> None:
    from eucalite.tui import read_model

    reader = live.reader()
    for view in read_model.VIEWS:
        if view == "activity":
            continue  # the event ring lives in the server: read below through the admin view
        snap = read_model.store_snapshot(reader.store, view, time.time())
        _scan(f"read model view {view}", json.dumps(read_model.to_json(snap), default=str), secrets, result)
    root = live.admin_creds()
    for view in read_model.VIEWS:
        status, text = _admin_get(live, f"/_eucalite/admin/snapshot?view={view}", root)
        result.attempts += 1
        if status != 200:
            result.fail(f"admin snapshot {view} -> {status} {text[:200]}")
        _scan(f"admin snapshot {view}", text, secrets, result)
    status, text = _admin_get(live, "/_eucalite/admin/events?after=0", root)
    _scan("admin events", text, secrets, result)


def run(work: Path) -> Result:
    work.mkdir(parents=True, exist_ok=True)
    result = Result("R8", "secrets-at-rest-and-in-output")
    old = os.umask(0o022)
    try:
        live = start_cloud(work / "data", "--test-mode", "--credential-ttl", "4s")  # under a minute: test mode
    finally:
        os.umask(old)
    try:
        secrets = exercise(live)
        check_dashboard(live, secrets, result)
        check_modes(live.data_dir, result)
    finally:
        live.stop()
    check_modes(live.data_dir, result)  # and after a clean shutdown
    _scan("eucalite.log", live.log(), secrets, result)
    stdout = live.data_dir.parent / f"{live.data_dir.name}.stdout"
    _scan("server output", stdout.read_text() if stdout.exists() else "", secrets, result)
    result.notes.append(f"{len(secrets)} secrets tracked; log {len(live.log().splitlines())} lines")
    return result


