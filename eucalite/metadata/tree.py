"""The metadata tree of one instance, as data: nested dicts whose leaves are text (or bytes).

Built per request from an InstanceView, so what a guest reads is always the store's current truth
(new credentials appear the moment they are minted). Rendering rules live in render.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eucalite.clock import iso8601_from_epoch

# Versions cloud-init and the SDKs probe; any of them serves the same tree.
VERSIONS = (
    "1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01", "2008-09-01",
    "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12", "2014-02-25", "2014-11-05", "2015-10-20",
    "2016-04-19", "2016-06-30", "2016-09-02", "2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01",
    "2020-10-27", "2021-01-03", "2021-03-23", "latest",
)


class Dir(dict[str, Any]):
    """A directory node. ``labels`` replaces an entry's name in listings (public-keys: ``0=keyname``)."""

    def __init__(self, entries: dict[str, Any] | None = None, labels: dict[str, str] | None = None) -> None:
        super().__init__(entries or {})
        self.labels = labels or {}


@dataclass(frozen=True)
class Credential:
    role_name: str
    access_key_id: str
    secret_access_key: str
    token: str
    issued: float
    expires: float


@dataclass(frozen=True)
class IamView:
    profile_arn: str
    profile_id: str
    code: str  # "Success" or why there are no credentials
    message: str
    last_updated: float
    credential: Credential | None


class Lazy:
    """A subtree or leaf computed only when a request reaches it (credentials, signatures)."""

    def __init__(self, fn: Callable[[], Any], is_dir: bool = False) -> None:
        self.fn = fn
        self.is_dir = is_dir  # listings must know without computing it


@dataclass(frozen=True)
class Identity:
    document: str
    signature: str
    pkcs7: str
    rsa2048: str


@dataclass(frozen=True)
class InstanceView:
    instance: dict[str, Any]  # the instances row
    region: str
    public_key: tuple[str, str] | None  # (key name, OpenSSH public key)
    iam: Callable[[], IamView | None]
    identity: Callable[[], Identity]


def _hostname(inst: dict[str, Any]) -> str:
    ip = inst.get("private_ip") or "169.254.0.15"
    return f"euca-{ip.replace('.', '-')}.eucalyptus.internal"


def _iam_tree(iam: IamView) -> Dir:
    info = {"Code": iam.code, "LastUpdated": iso8601_from_epoch(iam.last_updated),
            "InstanceProfileArn": iam.profile_arn, "InstanceProfileId": iam.profile_id}
    if iam.code != "Success":
        info["Message"] = iam.message
    tree = Dir({"info": json.dumps(info, indent=2)})
    cred = iam.credential
    if cred is not None:
        tree["security-credentials"] = Dir({cred.role_name: json.dumps({
            "Code": "Success",
            "LastUpdated": iso8601_from_epoch(cred.issued),
            "Type": "AWS-HMAC",
            "AccessKeyId": cred.access_key_id,
            "SecretAccessKey": cred.secret_access_key,
            "Token": cred.token,
            "Expiration": iso8601_from_epoch(cred.expires),
        }, indent=2)})
    else:
        tree["security-credentials"] = Dir()
    return tree


def meta_data(view: InstanceView) -> Dir:
    inst = view.instance
    host = _hostname(inst)
    ip = inst.get("private_ip") or "169.254.0.15"
    mac = inst.get("mac") or "d0:0d:00:00:00:01"
    groups = [g.get("GroupName", "") for g in json.loads(inst.get("security_groups") or "[]")]
    group_ids = [g.get("GroupId", "") for g in json.loads(inst.get("security_groups") or "[]")]
    tree = Dir({
        "ami-id": inst["image_id"],
        "ami-launch-index": str(inst.get("ami_launch_index") or 0),
        "ami-manifest-path": "(unknown)",
        "block-device-mapping": Dir({"ami": "/dev/vda", "emi": "/dev/vda", "root": "/dev/vda"}),
        "hostname": host,
        "instance-action": "none",
        "instance-id": inst["id"],
        "instance-life-cycle": "on-demand",
        "instance-type": inst["instance_type"],
        "local-hostname": host,
        "local-ipv4": ip,
        "mac": mac,
        "network": Dir({"interfaces": Dir({"macs": Dir({mac: Dir({
            "device-number": "0",
            "local-hostname": host,
            "local-ipv4s": ip,
            "mac": mac,
            "owner-id": inst["account_id"],
            "public-hostname": host,
            "public-ipv4s": ip,
            "security-group-ids": "\n".join(group_ids),
            "security-groups": "\n".join(groups),
        })})})}),
        "placement": Dir({"availability-zone": inst["zone"], "region": view.region}),
        "public-hostname": host,
        "public-ipv4": ip,
        "reservation-id": inst["reservation_id"],
        "security-groups": "\n".join(groups),
        "services": Dir({"domain": "amazonaws.com", "partition": "aws"}),
    })
    if inst.get("kernel_id"):
        tree["kernel-id"] = inst["kernel_id"]
    if inst.get("ramdisk_id"):
        tree["ramdisk-id"] = inst["ramdisk_id"]
    if view.public_key is not None:
        name, key = view.public_key
        tree["public-keys"] = Dir({"0": Dir({"openssh-key": key.rstrip("\n") + "\n"})}, labels={"0": f"0={name}"})
    if inst.get("profile_id"):
        tree["iam"] = Lazy(lambda: _iam_tree_or_none(view), is_dir=True)
    return tree


def _iam_tree_or_none(view: InstanceView) -> Dir | None:
    iam = view.iam()
    return _iam_tree(iam) if iam is not None else None


def dynamic(view: InstanceView) -> Dir:
    return Dir({"instance-identity": Dir({
        "document": Lazy(lambda: view.identity().document),
        "signature": Lazy(lambda: view.identity().signature),
        "pkcs7": Lazy(lambda: view.identity().pkcs7),
        "rsa2048": Lazy(lambda: view.identity().rsa2048),
    })})


def version_root(view: InstanceView, user_data: bytes | None) -> Dir:
    root = Dir({"dynamic": dynamic(view), "meta-data": meta_data(view)})
    if user_data is not None:
        root["user-data"] = user_data
    return root
