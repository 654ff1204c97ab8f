"""R5: kill -9 of `eucalite up` in the middle of a write load, then restart on the same data dir.

Writers create roles (trust policy, role policy, instance profile holding the role), users (access key,
user policy) and instances. A write counts as acknowledged when its 200 response arrived. After each
restart: every acknowledged write is there (and an acknowledged access key still signs), and no entity
is half-written (a role without its trust policy, an instance without its reservation, dangling rows).
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import Creds, LiveCloud, start_cloud
from tests.reliability.harness import Result

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*",
                                                             "Resource": "*"}]})

# Rows that point at something that must exist (child table, column, parent table, parent column).
REFERENCES = [
    ("users", "account_id", "accounts", "id"), ("access_keys", "user_id", "users", "id"),
    ("roles", "account_id", "accounts", "id"), ("instance_profile_roles", "role_id", "roles", "id"),
    ("instance_profile_roles", "profile_id", "instance_profiles", "id"), ("group_members", "user_id", "users", "id"),
    ("group_members", "group_id", "groups", "id"), ("policy_versions", "policy_id", "managed_policies", "id"),
    ("role_tags", "role_id", "roles", "id"), ("user_tags", "user_id", "users", "id"),
    ("instances", "account_id", "accounts", "id"), ("instances", "image_id", "images", "id"),
]
HALF_WRITTEN = {
    "role without trust policy": "select id from roles where trust_policy is null or trust_policy = ''",
    "instance without reservation": "select id from instances where reservation_id is null or reservation_id = ''",
    "instance without state": "select id from instances where state is null or state = ''",
    "access key without secret": "select id from access_keys where secret is null or secret = ''",
    "inline policy without document": "select name from inline_policies where document is null or document = ''",
    "role inline policy of no role": "select name from inline_policies where principal_type = 'role' and "
                                     "principal_id not in (select id from roles)",
    "user inline policy of no user": "select name from inline_policies where principal_type = 'user' and "
                                     "principal_id not in (select id from users)",
    "managed policy without its default version": "select id from managed_policies m where not exists (select 1 "
                                                  "from policy_versions v where v.policy_id = m.id and "
                                                  "v.version_id = m.default_version)",
}


@dataclass
class Acked:
    roles: dict[str, str] = field(default_factory=dict)  # name -> trust policy
    role_policies: set[str] = field(default_factory=set)  # role names whose policy was put
    profiles: set[str] = field(default_factory=set)  # profile (= role) names holding their role
    users: set[str] = field(default_factory=set)
    keys: dict[str, Creds] = field(default_factory=dict)  # user -> key
    user_policies: set[str] = field(default_factory=set)
    instances: dict[str, str] = field(default_factory=dict)  # id -> reservation
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)

    def count(self) -> int:
        return (len(self.roles) + len(self.role_policies) + len(self.profiles) + len(self.users) + len(self.keys)
                + len(self.user_policies) + len(self.instances))


_CLIENTS = threading.Lock()  # boto3 sessions are not safe to build concurrently


def _writer(live: LiveCloud, creds: Creds, kind: str, acked: Acked, stop: threading.Event, dying: threading.Event,
            image: str) -> None:
    with _CLIENTS:
        iam, ec2 = live.client("iam", creds), live.client("ec2", creds)
    try:
        while not stop.is_set():
            name = f"{kind}-{uuid.uuid4().hex[:10]}"
            if kind == "role":
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
                with acked.lock:
                    acked.roles[name] = TRUST
                iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=POLICY)
                with acked.lock:
                    acked.role_policies.add(name)
                iam.create_instance_profile(InstanceProfileName=name)
                iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
                with acked.lock:
                    acked.profiles.add(name)
            elif kind == "user":
                iam.create_user(UserName=name)
                with acked.lock:
                    acked.users.add(name)
                key = iam.create_access_key(UserName=name)["AccessKey"]
                with acked.lock:
                    acked.keys[name] = Creds(key["AccessKeyId"], key["SecretAccessKey"])
                iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=POLICY)
                with acked.lock:
                    acked.user_policies.add(name)
            else:
                resp = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=2, InstanceType="m1.small")
                with acked.lock:
                    for inst in resp["Instances"]:
                        acked.instances[inst["InstanceId"]] = resp["ReservationId"]
    except (BotoCoreError, ClientError, OSError) as exc:
        # `dying` is set before the kill: poll() alone answers None while the main thread is in wait().
        if not stop.is_set() and not dying.is_set() and live.proc.poll() is None:
            acked.errors.append(f"{kind}: {exc!r}")  # failed while the server was still up: a real error
        # else the server died under us: what was not acknowledged may or may not be there


def verify(live: LiveCloud, creds: Creds, acked: Acked, result: Result) -> None:
    iam, ec2 = live.client("iam", creds), live.client("ec2", creds)
    for name, trust in acked.roles.items():
        result.attempts += 1
        try:
            doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
            if doc != json.loads(trust):
                result.fail(f"role {name}: trust policy {doc}")
        except ClientError as exc:
            result.fail(f"acknowledged role {name} lost: {exc}")
    for name in acked.role_policies:
        result.attempts += 1
        try:
            iam.get_role_policy(RoleName=name, PolicyName="p")
        except ClientError as exc:
            result.fail(f"acknowledged role policy of {name} lost: {exc}")
    for name in acked.profiles:
        result.attempts += 1
        try:
            roles = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
            if [r["RoleName"] for r in roles] != [name]:
                result.fail(f"profile {name} holds {roles}")
        except ClientError as exc:
            result.fail(f"acknowledged profile {name} lost: {exc}")
    for name in acked.users:
        result.attempts += 1
        try:
            iam.get_user(UserName=name)
        except ClientError as exc:
            result.fail(f"acknowledged user {name} lost: {exc}")
    for name in acked.user_policies:
        result.attempts += 1
        try:
            iam.get_user_policy(UserName=name, PolicyName="p")
        except ClientError as exc:
            result.fail(f"acknowledged user policy of {name} lost: {exc}")
    for name, key in acked.keys.items():
        result.attempts += 1
        try:  # the key is there and its secret (stored encrypted) still verifies signatures
            arn = live.client("sts", key).get_caller_identity()["Arn"]
            if not arn.endswith(f":user/{name}"):
                result.fail(f"key of {name} signs as {arn}")
        except ClientError as exc:
            result.fail(f"acknowledged access key of {name} does not work: {exc}")
    found: dict[str, str] = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for r in page["Reservations"]:
            for i in r["Instances"]:
                found[i["InstanceId"]] = r["ReservationId"]
    for iid, reservation in acked.instances.items():
        result.attempts += 1
        if found.get(iid) != reservation:
            result.fail(f"acknowledged instance {iid} ({reservation}) is {found.get(iid)}")


def consistency(data_dir: Path, result: Result) -> None:
    import sqlite3

    db = sqlite3.connect(f"file:{data_dir / 'eucalite.db'}?mode=ro", uri=True)
    try:
        check = db.execute("pragma integrity_check").fetchone()[0]
        result.attempts += 1
        if check != "ok":
            result.fail(f"integrity_check: {check}")
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
        for label, sql in HALF_WRITTEN.items():
            result.attempts += 1
            rows = db.execute(sql).fetchall()
            if rows:
                result.fail(f"{label}: {rows[:5]}")
        for child, col, parent, pcol in REFERENCES:
            if child not in tables or parent not in tables:
                continue
            result.attempts += 1
            rows = db.execute(f"select {col} from {child} where {col} is not null and {col} != '' and "
                              f"{col} not in (select {pcol} from {parent})").fetchall()
            if rows:
                result.fail(f"{child}.{col} -> missing {parent}: {rows[:5]}")
    finally:
        db.close()


def run(work: Path, cycles: int, load_seconds: tuple[float, float] = (1.0, 3.0), writers: int = 6,
        seed: int = 5) -> Result:
    rng = random.Random(seed)
    work.mkdir(parents=True, exist_ok=True)
    result = Result("R5", "kill-9-during-writes")
    data = work / "data"
    # One memory node big enough for every instance a full-size run launches (the default node's 64
    # vCPUs would turn later RunInstances into InsufficientInstanceCapacity, a correct refusal but no test).
    data.mkdir(parents=True, exist_ok=True)
    (data / "settings.toml").write_text('[[nodes]]\nname = "node-1"\nzone = "eucalite-1a"\n'
                                        'vcpus = 1000000\nmemory_mb = 1000000000\n')
    live = start_cloud(data)
    acked = Acked()
    try:
        iam = live.client("iam")
        name = f"r5-{uuid.uuid4().hex[:6]}"
        iam.create_account(AccountName=name)
        creds = live.admin_creds(name)
        image = live.client("ec2", creds).register_image(Name=f"r5-{uuid.uuid4().hex[:6]}")["ImageId"]
        for cycle in range(cycles):
            stop, dying = threading.Event(), threading.Event()
            kinds = [("role", "user", "instance")[i % 3] for i in range(writers)]
            threads = [threading.Thread(target=_writer, args=(live, creds, k, acked, stop, dying, image), daemon=True)
                       for k in kinds]
            for t in threads:
                t.start()
            start_count = acked.count()
            deadline = time.monotonic() + 60  # a busy machine takes a while to get the writers going
            while acked.count() < start_count + writers and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(*load_seconds))
            before = acked.count()
            dying.set()
            os.kill(live.proc.pid, signal.SIGKILL)
            live.proc.wait()
            stop.set()
            for t in threads:
                t.join(30)
            result.notes.append(f"cycle {cycle + 1}: killed after {before} acknowledged writes")
            for err in acked.errors:
                result.fail(f"write failed before the kill: {err}")
            acked.errors.clear()
            live.stop()
            live = start_cloud(data, port=live.port)
            with acked.lock:
                verify(live, creds, acked, result)
            consistency(data, result)
    finally:
        live.stop()
    result.notes.append(f"{acked.count()} acknowledged writes in all, each checked after every restart")
    return result
