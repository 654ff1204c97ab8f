"""The same small world on both servers: a non-admin user whose policy the engine must evaluate, roles it
may assume, an instance profile, and running instances. Built through each server's own API."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.loadgen import RawClient, send_all
from benchkit.servers import Server
from benchkit.signing import Keys, Signed, Target, sign

ROLES = 10
INSTANCES = 10
MOTO_REGION = "us-east-1"
EUCALITE_REGION = "eucalite-1"


def user_policy() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRoles", "iam:PassRole",
                                       "iam:ListInstanceProfiles"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["ec2:Describe*", "ec2:RunInstances", "ec2:CreateTags"], "Resource": "*"},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/bench-*"},
        {"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:username": "nobody"}}},
    ]})


def trust_policy(user_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": [user_arn]}, "Action": "sts:AssumeRole"}]})


ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:DescribeAvailabilityZones", "Resource": "*"}]})


def tag(xml: bytes, name: str) -> list[str]:
    return [m.decode() for m in re.findall(rf"<{name}>([^<]*)</{name}>".encode(), xml)]


def call(target: Target, service: str, action: str, params: dict[str, Any] | None = None) -> bytes:
    with RawClient(target.port) as c:
        resp = c.send(sign(target, service, action, params))
    if resp.status != 200:
        raise RuntimeError(f"{target.name} {service}:{action} -> {resp.status}: {resp.body[:500]!r}")
    return resp.body


def eucalite_env(data_dir: Path, account: str | None = None) -> dict[str, str]:
    args = [sys.executable, "-m", "eucalite", "env", "--data-dir", str(data_dir)]
    if account:
        args += ["--account", account]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            env[k] = shlex.split(v)[0] if v else ""
    return env


def eucalite_admin(server: Server, data_dir: Path, account: str | None = None) -> Target:
    env = eucalite_env(data_dir, account)
    return Target("eucalite", server.url, env.get("AWS_DEFAULT_REGION", EUCALITE_REGION),
                  Keys(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]))


def import_image(data_dir: Path, work: Path) -> str:
    kernel, ramdisk = work / "vmlinux", work / "initrd"
    kernel.write_bytes(b"\x7fELF not really a kernel")
    ramdisk.write_bytes(b"not really an initramfs")
    out = subprocess.run([sys.executable, "-m", "eucalite", "image", "import", "--kernel", str(kernel),
                          "--ramdisk", str(ramdisk), "--name", f"bench-{time.time_ns()}", "--data-dir",
                          str(data_dir)], capture_output=True, text=True, check=True).stdout
    return next(w for w in out.split() if w.startswith("emi-"))


@dataclass
class World:
    """What the request sets need: who signs, which names and ids exist."""

    user: Target
    account_id: str
    role_arns: list[str]
    instance_ids: list[str]
    image_id: str
    extra: dict[str, str] = field(default_factory=dict)


def _wait_running(target: Target, ids: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        body = call(target, "ec2", "DescribeInstances", {"InstanceId": ids})
        if body.count(b"<name>running</name>") >= len(ids):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: instances not running after {timeout}s")
        time.sleep(0.2)


def build_eucalite(server: Server, data_dir: Path, work: Path, instances: int = INSTANCES) -> World:
    cloud_admin = eucalite_admin(server, data_dir)
    call(cloud_admin, "iam", "CreateAccount", {"AccountName": "bench"})
    admin = eucalite_admin(server, data_dir, "bench")
    account_id = tag(call(admin, "sts", "GetCallerIdentity"), "Account")[0]
    return _build(admin, account_id, import_image(data_dir, work), instances)


def moto_image(target: Target) -> str:
    body = call(target, "ec2", "DescribeImages", {"Owner": ["amazon"]})
    return tag(body, "imageId")[0]


def build_moto(server: Server, instances: int = INSTANCES) -> World:
    admin = Target("moto", server.url, MOTO_REGION, Keys("testing", "testing"))
    account_id = tag(call(admin, "sts", "GetCallerIdentity"), "Account")[0]
    return _build(admin, account_id, moto_image(admin), instances)


def _build(admin: Target, account_id: str, image_id: str, instances: int) -> World:
    call(admin, "iam", "CreateUser", {"UserName": "bench-user"})
    key_xml = call(admin, "iam", "CreateAccessKey", {"UserName": "bench-user"})
    user_keys = Keys(tag(key_xml, "AccessKeyId")[0], tag(key_xml, "SecretAccessKey")[0])
    call(admin, "iam", "PutUserPolicy", {"UserName": "bench-user", "PolicyName": "bench",
                                          "PolicyDocument": user_policy()})
    user_arn = f"arn:aws:iam::{account_id}:user/bench-user"
    arns = []
    for i in range(ROLES):
        body = call(admin, "iam", "CreateRole", {"RoleName": f"bench-role-{i}",
                                                  "AssumeRolePolicyDocument": trust_policy(user_arn)})
        arns.append(tag(body, "Arn")[0])
    call(admin, "iam", "PutRolePolicy", {"RoleName": "bench-role-0", "PolicyName": "az",
                                          "PolicyDocument": ROLE_POLICY})
    body = call(admin, "iam", "CreateInstanceProfile", {"InstanceProfileName": "bench-profile"})
    profile_arn = tag(body, "Arn")[0]
    call(admin, "iam", "AddRoleToInstanceProfile", {"InstanceProfileName": "bench-profile",
                                                     "RoleName": "bench-role-0"})
    user = Target(admin.name, admin.url, admin.region, user_keys)
    ids: list[str] = []
    while len(ids) < instances:
        n = min(100, instances - len(ids))
        body = call(user, "ec2", "RunInstances", {"ImageId": image_id, "MinCount": n, "MaxCount": n,
                                                  "InstanceType": "m1.small",
                                                  "IamInstanceProfile": {"Arn": profile_arn}})
        ids += tag(body, "instanceId")
    _wait_running(admin, ids[:100])
    return World(user, account_id, arns, ids, image_id, {"profile_arn": profile_arn})


def p1_requests(world: World, variants: int = 8) -> list[Signed]:
    """The mixed workload, interleaved: GetRole, ListRoles, DescribeInstances, AssumeRole, CreateTags."""
    t = world.user
    out = []
    for k in range(variants):
        role = k % len(world.role_arns)
        out += [
            sign(t, "iam", "GetRole", {"RoleName": f"bench-role-{role}"}),
            sign(t, "iam", "ListRoles"),
            sign(t, "ec2", "DescribeInstances"),
            sign(t, "sts", "AssumeRole", {"RoleArn": world.role_arns[role], "RoleSessionName": f"bench-{k}"}),
            sign(t, "ec2", "CreateTags", {"ResourceId": [world.instance_ids[k % len(world.instance_ids)]],
                                          "Tag": [{"Key": "bench", "Value": f"v{k}"}]}),
        ]
    return out


def check_all_ok(port: int, requests: list[Signed]) -> None:
    send_all(port, requests, connections=1)
