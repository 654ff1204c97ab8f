"""R7: concurrent clients against the API and the metadata service of a live `eucalite up` whose instance
credentials rotate every few seconds (--credential-ttl 4s).

Half the clients call the API with long-term keys (IAM, STS, EC2 reads). The other half each play a guest:
IMDSv2 token, the credential document, then an API call with the credentials just read. Errors: any
failed request (status, exception, timeout). Violations: a credential document whose Expiration has
already passed when it arrives, or fresh credentials the API refuses.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import Creds, LiveCloud, start_cloud
from tests.reliability.harness import API_VERSIONS, REGION, Result

ROLE_POLICY = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones"],
                                         "Resource": "*"}]})
TRUST = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]})
API_CALLS = [("sts", "GetCallerIdentity"), ("ec2", "DescribeAvailabilityZones"), ("iam", "ListRoles"),
             ("ec2", "DescribeInstances"), ("iam", "GetUser")]
EXPIRED_CODES = ("ExpiredToken", "RequestExpired")


@dataclass
class Stats:
    api: int = 0
    metadata: int = 0
    guest_api: int = 0
    rotations: set[str] = field(default_factory=set)  # distinct access key ids served
    expired_in_flight: int = 0  # refused as expired, and the reply did come after the Expiration
    late_documents: int = 0  # asked for before the Expiration, arrived after it
    max_latency: float = 0.0


def _signed(url: str, service: str, action: str, creds: Creds) -> tuple[dict[str, str], bytes]:
    body = urlencode({"Action": action, "Version": API_VERSIONS[service]})
    req = AWSRequest(method="POST", url=url + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token), service,
              REGION).add_auth(req)
    return dict(req.headers.items()), body.encode()


def _epoch(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


async def api_client(http: httpx.AsyncClient, url: str, creds: Creds, until: float, result: Result,
                     stats: Stats, n: int) -> None:
    i = n
    while time.time() < until:
        service, action = API_CALLS[i % len(API_CALLS)]
        i += 1
        headers, body = _signed(url, service, action, creds)
        result.attempts += 1
        stats.api += 1
        try:
            resp = await http.post(url + "/", content=body, headers=headers)
            if resp.status_code != 200:
                result.fail(f"api {service}:{action} -> {resp.status_code} {resp.text[:200]!r}")
        except httpx.HTTPError as exc:
            result.fail(f"api {service}:{action}: {exc!r}")


async def guest_client(http: httpx.AsyncClient, api_url: str, md_url: str, role: str, until: float,
                       result: Result, stats: Stats) -> None:
    token = ""
    token_until = 0.0
    while time.time() < until:
        result.attempts += 1
        stats.metadata += 1
        try:
            if time.time() >= token_until:
                r = await http.put(md_url + "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
                if r.status_code != 200:
                    result.fail(f"metadata token -> {r.status_code}")
                    continue
                token, token_until = r.text, time.time() + 30  # renewed well before its TTL, as SDKs do
            sent = time.time()
            r = await http.get(f"{md_url}/latest/meta-data/iam/security-credentials/{role}",
                               headers={"X-aws-ec2-metadata-token": token})
            received = time.time()
            if r.status_code != 200:
                result.fail(f"metadata credentials -> {r.status_code} {r.text[:200]!r}")
                continue
            doc = r.json()
            expires = _epoch(doc["Expiration"])
            if doc.get("Code") != "Success" or sent >= expires:
                # Asked for after the Expiration and still given it: the server served expired credentials.
                result.fail(f"credential document asked for at {sent:.2f}, after its Expiration {doc['Expiration']}"
                            f" (Code {doc.get('Code')})")
                continue
            if received >= expires:
                stats.late_documents += 1  # valid when built, expired in transit: a slow machine, not a bug
                continue
            stats.rotations.add(doc["AccessKeyId"])
            creds = Creds(doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
            headers, body = _signed(api_url, "ec2", "DescribeAvailabilityZones", creds)
            result.attempts += 1
            stats.guest_api += 1
            try:
                resp = await http.post(api_url + "/", content=body, headers=headers)
            except httpx.HTTPError as exc:
                result.fail(f"guest API call: {exc!r}")  # told apart from the metadata requests' errors
                continue
            if resp.status_code != 200:
                late = time.time() >= expires and any(c in resp.text for c in EXPIRED_CODES)
                if late:
                    stats.expired_in_flight += 1
                else:
                    result.fail(f"fresh instance credentials refused: {resp.status_code} {resp.text[:200]!r}")
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            result.fail(f"metadata: {exc!r}")


def _set_up(live: LiveCloud, instances: int) -> tuple[Creds, str, list[str]]:
    name = f"r7-{uuid.uuid4().hex[:6]}"
    live.client("iam").create_account(AccountName=name)
    admin = live.admin_creds(name)
    iam, ec2 = live.client("iam", admin), live.client("ec2", admin)
    role = "r7-role"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName=role, PolicyName="az", PolicyDocument=ROLE_POLICY)
    iam.create_instance_profile(InstanceProfileName=role)
    iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
    image = ec2.register_image(Name=name)["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=instances, MaxCount=instances,
                                                      InstanceType="m1.small",
                                                      IamInstanceProfile={"Name": role})["Instances"]]
    reader = live.reader()
    deadline = time.monotonic() + 30
    urls: list[str] = []
    while time.monotonic() < deadline:
        rows = reader.store.all("select id, state, metadata_port from instances where id in ({})".format(",".join("?" * len(ids))), ids)
        if all(r["state"] == "running" and r["metadata_port"] for r in rows) and len(rows) == len(ids):
            urls = [f"http://127.0.0.1:{r['metadata_port']}" for r in rows]
            break
        time.sleep(0.2)
    assert urls, "instances did not start"
    return admin, role, urls


async def _load(live: LiveCloud, admin: Creds, role: str, urls: list[str], clients: int, seconds: float,
                result: Result, stats: Stats) -> None:
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        until = time.time() + seconds
        tasks = []
        for n in range(clients):
            if n % 2 == 0:
                tasks.append(api_client(http, live.url, admin, until, result, stats, n))
            else:
                tasks.append(guest_client(http, live.url, urls[n % len(urls)], role, until, result, stats))
        await asyncio.gather(*tasks)


def run(work: Path, clients: int = 100, seconds: float = 60, ttl: str = "4s", instances: int = 6) -> Result:
    work.mkdir(parents=True, exist_ok=True)
    result = Result("R7", "concurrent-load-across-rotations")
    live = start_cloud(work / "data", "--test-mode", "--credential-ttl", ttl)  # under a minute: test mode
    stats = Stats()
    try:
        admin, role, urls = _set_up(live, instances)
        started = time.time()
        asyncio.run(_load(live, admin, role, urls, clients, seconds, result, stats))
        elapsed = time.time() - started
        if live.proc.poll() is not None:
            result.fail("the server died under load")
        log = live.log().splitlines()
        errors = [i for i, line in enumerate(log) if " ERROR " in line]
        for i in errors[:5]:
            result.fail("eucalite.log: " + " | ".join(log[i:i + 12])[-1500:])
    finally:
        live.stop()
    result.notes.append(f"{clients} clients for {elapsed:.0f} s, ttl {ttl}: {stats.api} API calls, {stats.metadata} "
                        f"metadata reads, {stats.guest_api} API calls with instance credentials "
                        f"({(stats.api + stats.metadata + stats.guest_api) / elapsed:.0f} requests/s); "
                        f"{len(stats.rotations)} distinct instance credentials served over {len(urls)} instances; "
                        f"{stats.late_documents} documents asked for before their Expiration arrived after it, "
                        f"{stats.expired_in_flight} calls with fresh credentials arrived after their Expiration "
                        f"(refused, rightly; latency on this machine, counted here rather than as errors)")
    return result
