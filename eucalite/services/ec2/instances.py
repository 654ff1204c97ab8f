"""Instances: RunInstances and the lifecycle operations, over the node drivers.

Everything a launch needs is checked (image, type, key, groups, user data, zone, profile and PassRole)
before anything is written; the instance rows and their tags are then written in one transaction.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import secrets
import socket
from typing import Any

from eucalite import ids
from eucalite.clock import iso8601
from eucalite.errors import ServiceError, missing_parameter
from eucalite.nodes.base import Capability, LaunchSpec, NodeDriver, NodeError
from eucalite.services.context import CallContext
from eucalite.services.ec2 import images, instance_types, keypairs, profiles, security_groups
from eucalite.services.ec2 import instances_repo as repo
from eucalite.services.ec2.common import arn, image_arn, now, page, tag_specs, well_formed
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.ec2.runtime import Ec2Runtime, runtime
from eucalite.services.ec2.tags import put_tags, tag_list, tags_of
from eucalite.services.registry import operation

NODE_TAG = "euca:node"
MAX_USER_DATA = 16 * 1024
MAX_PER_REQUEST = 100
MAX_CLIENT_TOKEN = 64  # AWS: "up to 64 ASCII characters"


# -- lookups -------------------------------------------------------------------------------------------
def _not_found(missing: list[str]) -> ServiceError:
    if len(missing) == 1:
        return ServiceError("InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist")
    return ServiceError("InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist")


def require_instances(ctx: CallContext, instance_ids: list[str]) -> list[dict[str, Any]]:
    for iid in instance_ids:
        if not well_formed(iid, ("i",)):
            raise ServiceError("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')
    found = [repo.get(ctx.cloud.store, iid) for iid in dict.fromkeys(instance_ids)]
    mine = [r for r in found if r is not None and r["account_id"] == ctx.account_id]
    rows = {r["id"]: r for r in repo.visible(ctx.cloud, mine)}
    missing = [i for i in dict.fromkeys(instance_ids) if i not in rows]
    if missing:
        raise _not_found(missing)
    return [rows[i] for i in dict.fromkeys(instance_ids)]


def _instance_arns(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    wanted = params.get("InstanceIds") or ([params["InstanceId"]] if params.get("InstanceId") else [])
    return [arn(ctx, "instance", i) for i in wanted] or [arn(ctx, "instance", "*")]


# -- shapes ------------------------------------------------------------------------------------------------
def state_shape(state: str) -> dict[str, Any]:
    return {"Code": repo.STATE_CODES[state], "Name": state}


def instance_shape(ctx: CallContext, row: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    region = ctx.cloud.settings.region
    ip = row["private_ip"] or ""
    dns = f"ip-{ip.replace('.', '-')}.{region}.compute.internal" if ip and row["state"] != "terminated" else ""
    out: dict[str, Any] = {
        "InstanceId": row["id"], "ImageId": row["image_id"], "State": state_shape(row["state"]),
        "PrivateDnsName": dns, "PublicDnsName": "", "StateTransitionReason": row["transition_reason"] or "",
        "AmiLaunchIndex": row["ami_launch_index"], "ProductCodes": [], "InstanceType": row["instance_type"],
        "LaunchTime": row["launch_time"], "Placement": {"AvailabilityZone": row["zone"], "Tenancy": "default",
                                                         "GroupName": ""},
        "Monitoring": {"State": "disabled"}, "Architecture": "x86_64", "RootDeviceType": "instance-store",
        "VirtualizationType": "paravirtual" if row["kernel_id"] else "hvm", "Hypervisor": "xen",
        "SecurityGroups": repo.groups(row), "Tags": tag_list(tags), "ClientToken": row["client_token"] or "",
        "EbsOptimized": False, "SourceDestCheck": True, "BlockDeviceMappings": [], "NetworkInterfaces": [],
        "MetadataOptions": {"State": "applied", "HttpTokens": row["metadata_http_tokens"],
                            "HttpPutResponseHopLimit": row["metadata_hop_limit"],
                            "HttpEndpoint": row["metadata_http_endpoint"], "HttpProtocolIpv6": "disabled",
                            "InstanceMetadataTags": "disabled"},
    }
    if row["state"] != "terminated":
        out["PrivateIpAddress"] = ip
    if row["key_name"]:
        out["KeyName"] = row["key_name"]
    if row["kernel_id"]:
        out["KernelId"] = row["kernel_id"]
    if row["ramdisk_id"]:
        out["RamdiskId"] = row["ramdisk_id"]
    if row["state_reason"]:
        code, _, message = row["state_reason"].partition(": ")
        out["StateReason"] = {"Code": code, "Message": message or code}
    if row["profile_arn"]:
        out["IamInstanceProfile"] = {"Arn": row["profile_arn"], "Id": row["profile_id"]}
    return out


def reservations_of(ctx: CallContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tags = tags_of(ctx.cloud.store, [r["id"] for r in rows])
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        res = out.setdefault(r["reservation_id"], {"ReservationId": r["reservation_id"], "OwnerId": r["account_id"],
                                                   "Groups": [], "Instances": []})
        res["Instances"].append(instance_shape(ctx, r, tags[r["id"]]))
    return list(out.values())


# -- launch ---------------------------------------------------------------------------------------------
def _user_data(params: dict[str, Any]) -> tuple[str | None, bytes]:
    raw = params.get("UserData")
    if raw is None or raw == "":
        return None, b""
    try:
        data = base64.b64decode(raw.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError("InvalidParameterValue", "Invalid BASE64 encoding of user data.") from None
    if len(data) > MAX_USER_DATA:
        raise ServiceError("InvalidParameterValue", f"User data is limited to {MAX_USER_DATA} bytes")
    return base64.b64encode(data).decode(), data


def _metadata_options(params: dict[str, Any]) -> dict[str, Any]:
    opts = params.get("MetadataOptions") or {}
    tokens = opts.get("HttpTokens", "optional")
    endpoint = opts.get("HttpEndpoint", "enabled")
    hops = opts.get("HttpPutResponseHopLimit", 1)
    if tokens not in ("optional", "required"):
        raise ServiceError("InvalidParameterValue", f"Value ({tokens}) for parameter HttpTokens is invalid.")
    if endpoint not in ("enabled", "disabled"):
        raise ServiceError("InvalidParameterValue", f"Value ({endpoint}) for parameter HttpEndpoint is invalid.")
    if not 1 <= int(hops) <= 64:
        raise ServiceError("InvalidParameterValue", f"Value ({hops}) for parameter HttpPutResponseHopLimit is "
                           "invalid. Expecting a value between 1 and 64.")
    return {"metadata_http_tokens": tokens, "metadata_http_endpoint": endpoint, "metadata_hop_limit": int(hops)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _private_ip(ctx: CallContext, taken: set[str]) -> str:
    used = taken | {r["private_ip"] for r in ctx.cloud.store.all(
        "select private_ip from instances where state != 'terminated'")}
    while True:
        n = secrets.randbelow(65534) + 1
        ip = f"172.31.{n // 256}.{n % 256 or 1}"
        if ip not in used:
            taken.add(ip)
            return ip


def spec_for(ctx_cloud: Any, row: dict[str, Any]) -> LaunchSpec:
    store = ctx_cloud.store
    image = store.one("select * from images where id = ?", [row["image_id"]]) or {}
    vcpus, mem, _ = instance_types.size_of(ctx_cloud.settings, row["instance_type"]) or (1, 256, 5)
    data = base64.b64decode(row["user_data"]) if row["user_data"] else b""
    return LaunchSpec(
        instance_id=row["id"], image=images.boot_image(store, image, row["kernel_id"], row["ramdisk_id"]),
        vcpus=vcpus, memory_mb=mem, user_data=data, metadata_port=row["metadata_port"] or 0,
        api_port=ctx_cloud.settings.port, ssh_port=row["ssh_port"] or None,
        extra={"account_id": row["account_id"], "image_id": row["image_id"], "zone": row["zone"],
               "instance_type": row["instance_type"]})


def _choose_nodes(rt: Ec2Runtime, zone: str | None, itype: str, lo: int, hi: int) -> list[NodeDriver]:
    for count in range(hi, lo - 1, -1):
        nodes = rt.place(zone, itype, count)
        if nodes:
            return nodes
    unreachable = "".join(f" Node {name}: {why}." for name, why in sorted(rt.node_errors.items())
                          if zone is None or rt.drivers[name].zone == zone)
    raise ServiceError("InsufficientInstanceCapacity",
                       f"There is not enough free capacity for {lo} {itype} instance(s)"
                       f"{' in ' + zone if zone else ''}.{unreachable}", 500)


def _run_resources(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    """Every resource RunInstances touches is authorized, as on AWS: a policy may limit the images,
    key pairs or security groups a user launches with (each ARN must be allowed)."""
    out = [arn(ctx, "instance", "*")]
    if params.get("ImageId"):
        out.append(image_arn(ctx, params["ImageId"]))
    if params.get("KeyName"):
        out.append(arn(ctx, "key-pair", params["KeyName"]))
    out.extend(security_groups.launch_arns(ctx, params.get("SecurityGroups"), params.get("SecurityGroupIds")))
    return out


def _run_keys(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"ec2:InstanceType": params.get("InstanceType", "m1.small"), "ec2:Region": ctx.cloud.settings.region}


async def _release_channels(ctx: CallContext, instance_ids: list[str]) -> None:
    metadata = ctx.cloud.extensions.get("metadata")
    if metadata is not None:
        for iid in instance_ids:
            await metadata.close_channel(iid)


def _request_digest(params: dict[str, Any]) -> str:
    """The request's arguments apart from the token itself, as one value to compare retries by."""
    rest = {k: v for k, v in params.items() if k not in ("ClientToken", "DryRun")}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()


@operation("ec2", "RunInstances", resources=_run_resources, condition_keys=_run_keys,
           unsupported=("LaunchTemplate",))
async def run_instances(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    cloud = ctx.cloud
    store = cloud.store
    token = params.get("ClientToken")
    digest = _request_digest(params)
    if token:
        if len(token) > MAX_CLIENT_TOKEN or not token.isascii():
            raise ServiceError("InvalidParameterValue", f"Value ({token}) for parameter clientToken is invalid. "
                               f"The client token must be at most {MAX_CLIENT_TOKEN} ASCII characters.")
        earlier = repo.by_client_token(store, ctx.account_id, token)
        if earlier:
            if any(r.get("client_token_digest") not in (None, digest) for r in earlier):
                raise ServiceError("IdempotentParameterMismatch", "Arguments on this idempotent request are "
                                   "inconsistent with arguments used in previous request(s).")
            return reservations_of(ctx, earlier)[0]
    lo, hi = params["MinCount"], params["MaxCount"]
    if lo < 1 or hi < lo:
        raise ServiceError("InvalidParameterValue", f"Value ({lo}, {hi}) for parameters MinCount/MaxCount is "
                           "invalid. MinCount must be at least 1 and at most MaxCount.")
    if lo > MAX_PER_REQUEST:
        raise ServiceError("InstanceLimitExceeded", f"You have requested more instances ({lo}) than your "
                           f"current instance limit of {MAX_PER_REQUEST} allows.")
    hi = min(hi, MAX_PER_REQUEST)
    if not params.get("ImageId"):
        raise ServiceError("MissingParameter", "The request must contain the parameter ImageId")
    itype = params.get("InstanceType", "m1.small")
    instance_types.require(ctx, itype)
    image = images.launchable(ctx, params["ImageId"])
    kernel_id = params.get("KernelId") or image.get("kernel_id")
    ramdisk_id = params.get("RamdiskId") or image.get("ramdisk_id")
    images.check_part(ctx, params.get("KernelId"), "kernel")
    images.check_part(ctx, params.get("RamdiskId"), "ramdisk")
    key_name = params.get("KeyName")
    if key_name and keypairs.find(ctx, key_name) is None:
        raise ServiceError("InvalidKeyPair.NotFound", f"The key pair '{key_name}' does not exist")
    groups = security_groups.resolve(ctx, params.get("SecurityGroups"), params.get("SecurityGroupIds"))
    user_data, _ = _user_data(params)
    zone = (params.get("Placement") or {}).get("AvailabilityZone") or None
    if zone and zone not in cloud.settings.zones:
        raise ServiceError("InvalidParameterValue", f"Invalid availability zone: [{zone}]")
    metadata_opts = _metadata_options(params)
    tags = tag_specs({"TagSpecifications": [s for s in params.get("TagSpecifications") or []
                                            if s.get("ResourceType") != "volume"]}, "instance")
    profile = profiles.resolve(ctx, params["IamInstanceProfile"]) if params.get("IamInstanceProfile") else None
    rt = runtime(cloud)
    nodes = _choose_nodes(rt, zone, itype, lo, hi)
    ssh = security_groups.allows_ssh(store, [g["id"] for g in groups])

    reservation_id = ids.resource_id("r")
    launched = iso8601(cloud.clock.now())
    rows: list[dict[str, Any]] = []
    taken_ips: set[str] = set()
    group_json = json.dumps([{"GroupId": g["id"], "GroupName": g["name"]} for g in groups])
    for index, node in enumerate(nodes):
        iid = ids.resource_id("i")
        rows.append({
            "id": iid, "reservation_id": reservation_id, "account_id": ctx.account_id,
            "owner_user_arn": ctx.caller.arn, "image_id": image["id"], "kernel_id": kernel_id,
            "ramdisk_id": ramdisk_id, "instance_type": itype, "key_name": key_name, "state": "pending",
            "state_reason": "pending: pending", "zone": node.zone, "node": node.name, "launch_time": launched,
            "terminated_at": None, "user_data": user_data, "client_token": token,
            "client_token_digest": digest if token else None,
            "profile_arn": profile.arn if profile else None, "profile_id": profile.id if profile else None,
            "association_id": ids.long_resource_id("iip-assoc") if profile else None,
            **metadata_opts, "private_ip": _private_ip(ctx, taken_ips),
            "mac": "d0:0d:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(4)), "security_groups": group_json,
            "ami_launch_index": index, "metadata_port": 0,
            "ssh_port": _free_port() if ssh and Capability.SSH_FORWARD in node.capabilities else None,
            "transition_reason": "",
        })
    metadata = cloud.extensions.get("metadata")
    opened: list[str] = []
    try:
        if metadata is not None:
            for row in rows:
                row["metadata_port"] = int(await metadata.open_channel(row["id"]))
                opened.append(row["id"])
        with store.transaction() as db:
            for row in rows:
                db.table("instances").insert(row)
                put_tags(db, row["id"], "instance", ctx.account_id, {**tags, NODE_TAG: row["node"]})
    except BaseException:
        await _release_channels(ctx, opened)
        raise
    for row in rows:
        repo.changed(cloud, row)
    # RunInstances answers with the instances as accepted (pending), as AWS does, however fast the node is.
    accepted = [repo.get(store, r["id"]) or r for r in rows]
    for row, node in zip(rows, nodes, strict=True):
        try:
            await node.launch(spec_for(cloud, row))
        except NodeError as exc:
            repo.set_state(cloud, row["id"], "terminated", f"Server.InternalError: {exc}")
            await rt.release(row["id"])
    return reservations_of(ctx, accepted)[0]


async def release_account(cloud: Any, account_id: str) -> None:
    """DeleteAccount's hook: terminate the account's guests on their nodes and close their channels."""
    rt = runtime(cloud)
    for row in repo.of_account(cloud.store, account_id):
        if row["state"] == "terminated":
            continue
        driver = rt.driver(row["node"])
        if driver is not None:
            with contextlib.suppress(NodeError):  # the node lost it already; the channel still has to go
                await driver.terminate(row["id"])
        await rt.release(row["id"])


# -- describe ---------------------------------------------------------------------------------------------
def _filters(tags: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "instance-id": lambda r: [r["id"]], "instance-state-name": lambda r: [r["state"]],
        "instance-state-code": lambda r: [str(repo.STATE_CODES[r["state"]])], "image-id": lambda r: [r["image_id"]],
        "availability-zone": lambda r: [r["zone"]], "key-name": lambda r: [r["key_name"] or ""],
        "iam-instance-profile.arn": lambda r: [r["profile_arn"]] if r["profile_arn"] else [],
        "iam-instance-profile.id": lambda r: [r["profile_id"]] if r["profile_id"] else [],
        "instance-type": lambda r: [r["instance_type"]], "reservation-id": lambda r: [r["reservation_id"]],
        "private-ip-address": lambda r: [r["private_ip"] or ""], "client-token": lambda r: [r["client_token"] or ""],
        "kernel-id": lambda r: [r["kernel_id"] or ""], "ramdisk-id": lambda r: [r["ramdisk_id"] or ""],
        "ami-launch-index": lambda r: [str(r["ami_launch_index"])], "owner-id": lambda r: [r["account_id"]],
        "group-id": lambda r: [g["GroupId"] for g in repo.groups(r)],
        "instance.group-id": lambda r: [g["GroupId"] for g in repo.groups(r)],
        "group-name": lambda r: [g["GroupName"] for g in repo.groups(r)],
        "instance.group-name": lambda r: [g["GroupName"] for g in repo.groups(r)],
        "metadata-options.http-tokens": lambda r: [r["metadata_http_tokens"]],
        "metadata-options.http-endpoint": lambda r: [r["metadata_http_endpoint"]],
        "architecture": lambda r: ["x86_64"], "root-device-type": lambda r: ["instance-store"],
        "node": lambda r: [r["node"] or ""],
    }


def _every_account(ctx: CallContext, instance_ids: list[str]) -> list[dict[str, Any]]:
    """Eucalyptus's `euca-describe-instances verbose`: the cloud admin sees every account's instances
    (each reservation's OwnerId says whose); further ids narrow it, and must exist in some account."""
    rows = repo.visible(ctx.cloud, ctx.cloud.store.all(
        "select * from instances order by launch_time, ami_launch_index, id"))
    wanted = [i for i in dict.fromkeys(instance_ids) if i != "verbose"]
    if not wanted:
        return rows
    for iid in wanted:
        if not well_formed(iid, ("i",)):
            raise ServiceError("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')
    by_id = {r["id"]: r for r in rows}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise _not_found(missing)
    return [by_id[i] for i in wanted]


def _selected(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    if "verbose" in (params.get("InstanceIds") or []) and ctx.caller.is_cloud_admin:
        rows = _every_account(ctx, params["InstanceIds"])
    elif params.get("InstanceIds"):
        rows = require_instances(ctx, params["InstanceIds"])
    else:
        rows = repo.visible(ctx.cloud, repo.of_account(ctx.cloud.store, ctx.account_id))
    tags = tags_of(ctx.cloud.store, [r["id"] for r in rows])
    return apply_filters(rows, params.get("Filters"), _filters(tags), tags=lambda r: tags[r["id"]])


@operation("ec2", "DescribeInstances")
def describe_instances(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    if [i for i in params.get("InstanceIds") or [] if i != "verbose"] and params.get("MaxResults") is not None:
        raise ServiceError("InvalidParameterCombination",
                           "The parameter instancesSet cannot be used with the parameter maxResults")
    rows, token = page(_selected(ctx, params), params, "instances")
    out: dict[str, Any] = {"Reservations": reservations_of(ctx, rows)}
    if token:
        out["NextToken"] = token
    return out


@operation("ec2", "DescribeInstanceStatus")
def describe_instance_status(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = _selected(ctx, {k: v for k, v in params.items() if k != "Filters"})
    if not params.get("IncludeAllInstances"):
        rows = [r for r in rows if r["state"] == "running"]

    def status(r: dict[str, Any]) -> str:
        return "ok" if r["state"] == "running" else "not-applicable"

    rows = apply_filters(rows, params.get("Filters"), {
        "availability-zone": lambda r: [r["zone"]], "instance-state-name": lambda r: [r["state"]],
        "instance-state-code": lambda r: [str(repo.STATE_CODES[r["state"]])],
        "instance-status.status": lambda r: [status(r)], "system-status.status": lambda r: [status(r)]})
    chunk, token = page(rows, params, "status")
    out: dict[str, Any] = {"InstanceStatuses": [{
        "InstanceId": r["id"], "AvailabilityZone": r["zone"], "InstanceState": state_shape(r["state"]),
        "InstanceStatus": {"Status": status(r), "Details": [{"Name": "reachability", "Status": "passed"}]
                           if r["state"] == "running" else []},
        "SystemStatus": {"Status": status(r), "Details": [{"Name": "reachability", "Status": "passed"}]
                         if r["state"] == "running" else []},
    } for r in chunk]}
    if token:
        out["NextToken"] = token
    return out


# -- lifecycle ----------------------------------------------------------------------------------------------
def _change(row: dict[str, Any], previous: str, current: dict[str, Any] | None) -> dict[str, Any]:
    state = (current or row)["state"]
    return {"InstanceId": row["id"], "PreviousState": state_shape(previous), "CurrentState": state_shape(state)}


@operation("ec2", "TerminateInstances", resources=_instance_arns)
async def terminate_instances(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = require_instances(ctx, params["InstanceIds"])
    rt = runtime(ctx.cloud)
    out = []
    for row in rows:
        previous = row["state"]
        if previous != "terminated":
            repo.update(ctx.cloud, row["id"], {"transition_reason": f"User initiated ({now(ctx)})"})
            repo.set_state(ctx.cloud, row["id"], "shutting-down", "Client.UserInitiatedShutdown: User initiated "
                           "shutdown")
            accepted = repo.get(ctx.cloud.store, row["id"])
            driver = rt.driver(row["node"])
            try:
                if driver is None:
                    raise NodeError(f"node {row['node']} is not configured")
                await driver.terminate(row["id"])
            except NodeError as exc:
                repo.set_state(ctx.cloud, row["id"], "terminated", f"Server.InternalError: {exc}")
                await rt.release(row["id"])
        else:
            accepted = row
        # As AWS answers: the state the request left the instance in (shutting-down), not where a fast
        # node has taken it since; DescribeInstances shows the rest.
        out.append(_change(row, previous, accepted))
    return {"TerminatingInstances": out}


def _driver_for(ctx: CallContext, row: dict[str, Any], capability: Capability | None = None) -> NodeDriver:
    driver = runtime(ctx.cloud).driver(row["node"])
    if driver is None:
        raise ServiceError("InsufficientInstanceCapacity", f"The node {row['node']} of {row['id']} is not "
                           "available", 500)
    if capability is not None and capability not in driver.capabilities:
        raise ServiceError("UnsupportedOperation", f"The node {row['node']} cannot {capability.value} instances")
    return driver


def _node_error(exc: NodeError) -> ServiceError:
    return ServiceError("InternalError", str(exc), 500, sender_fault=False)


@operation("ec2", "StopInstances", resources=_instance_arns)
async def stop_instances(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = require_instances(ctx, params["InstanceIds"])
    for row in rows:
        if row["state"] in ("terminated", "shutting-down"):
            raise ServiceError("IncorrectInstanceState",
                               f"The instance '{row['id']}' is not in a state from which it can be stopped.")
    out = []
    for row in rows:
        previous = row["state"]
        if previous in ("pending", "running"):
            driver = _driver_for(ctx, row, Capability.STOP)
            repo.update(ctx.cloud, row["id"], {"transition_reason": f"User initiated ({now(ctx)})"})
            repo.set_state(ctx.cloud, row["id"], "stopping", "Client.UserInitiatedShutdown: User initiated shutdown")
            accepted = repo.get(ctx.cloud.store, row["id"])
            try:
                await driver.stop(row["id"])
            except NodeError as exc:
                raise _node_error(exc) from None
        else:
            accepted = row
        out.append(_change(row, previous, accepted))  # stopping, as AWS answers (see TerminateInstances)
    return {"StoppingInstances": out}


@operation("ec2", "StartInstances", resources=_instance_arns)
async def start_instances(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = require_instances(ctx, params["InstanceIds"])
    for row in rows:
        if row["state"] not in ("stopped", "pending", "running"):
            raise ServiceError("IncorrectInstanceState",
                               f"The instance '{row['id']}' is not in a state from which it can be started.")
    rt = runtime(ctx.cloud)
    out = []
    for row in rows:
        previous = row["state"]
        if previous == "stopped":
            driver = _driver_for(ctx, row)
            vcpus, mem, _ = instance_types.size_of(ctx.cloud.settings, row["instance_type"]) or (1, 256, 5)
            cpu, ram = rt.node_capacity(driver)
            ucpu, uram = rt.used(driver.name)
            if ucpu + vcpus > cpu or uram + mem > ram:
                raise ServiceError("InsufficientInstanceCapacity",
                                   f"There is not enough free capacity on node {driver.name} to start {row['id']}.",
                                   500)
            repo.update(ctx.cloud, row["id"], {"transition_reason": ""})
            repo.set_state(ctx.cloud, row["id"], "pending", "")
            accepted = repo.get(ctx.cloud.store, row["id"])
            try:
                await driver.start(row["id"], spec_for(ctx.cloud, accepted or row))
            except NodeError as exc:
                repo.set_state(ctx.cloud, row["id"], "stopped", f"Server.InternalError: {exc}")
                raise _node_error(exc) from None
        else:
            accepted = row
        out.append(_change(row, previous, accepted))  # pending, as AWS answers (see TerminateInstances)
    return {"StartingInstances": out}


@operation("ec2", "RebootInstances", resources=_instance_arns)
async def reboot_instances(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = require_instances(ctx, params["InstanceIds"])
    for row in rows:
        if row["state"] == "terminated":
            raise ServiceError("IncorrectInstanceState", f"The instance '{row['id']}' is not in a state from which "
                               "it can be rebooted.")
    for row in rows:
        if row["state"] == "running":
            try:
                await _driver_for(ctx, row, Capability.REBOOT).reboot(row["id"])
            except NodeError as exc:
                raise _node_error(exc) from None
    return {}


@operation("ec2", "GetConsoleOutput", resources=_instance_arns)
async def get_console_output(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = require_instances(ctx, [params["InstanceId"]])[0]
    driver = runtime(ctx.cloud).driver(row["node"])
    data = b""
    if driver is not None:
        try:
            data = await driver.console_output(row["id"])
        except NodeError:
            data = b""
    return {"InstanceId": row["id"], "Timestamp": now(ctx), "Output": base64.b64encode(data).decode()}


# -- attributes ---------------------------------------------------------------------------------------------
@operation("ec2", "DescribeInstanceAttribute", resources=_instance_arns)
def describe_instance_attribute(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = require_instances(ctx, [params["InstanceId"]])[0]
    attr = params["Attribute"]
    out: dict[str, Any] = {"InstanceId": row["id"]}
    if attr == "instanceType":
        out["InstanceType"] = {"Value": row["instance_type"]}
    elif attr == "userData":
        out["UserData"] = {"Value": row["user_data"]} if row["user_data"] else {}
    elif attr == "kernel":
        out["KernelId"] = {"Value": row["kernel_id"]} if row["kernel_id"] else {}
    elif attr == "ramdisk":
        out["RamdiskId"] = {"Value": row["ramdisk_id"]} if row["ramdisk_id"] else {}
    elif attr == "groupSet":
        out["Groups"] = repo.groups(row)
    elif attr == "disableApiTermination":
        out["DisableApiTermination"] = {"Value": False}
    elif attr == "disableApiStop":
        out["DisableApiStop"] = {"Value": False}
    elif attr == "instanceInitiatedShutdownBehavior":
        out["InstanceInitiatedShutdownBehavior"] = {"Value": "stop"}
    elif attr == "rootDeviceName":
        out["RootDeviceName"] = {"Value": "/dev/sda1"}
    elif attr == "blockDeviceMapping":
        out["BlockDeviceMappings"] = []
    elif attr == "productCodes":
        out["ProductCodes"] = []
    elif attr == "sourceDestCheck":
        out["SourceDestCheck"] = {"Value": True}
    elif attr == "ebsOptimized":
        out["EbsOptimized"] = {"Value": False}
    else:
        raise ServiceError("InvalidParameterValue", f"Value ({attr}) for parameter attribute is invalid.")
    return out


def _require_stopped(row: dict[str, Any]) -> None:
    if row["state"] != "stopped":
        raise ServiceError("IncorrectInstanceState", f"The instance '{row['id']}' is not in the 'stopped' state.")


def _attribute_value(params: dict[str, Any], member: str, value: str | None) -> str:
    """The new value, given either as Member.Value or as Attribute=... with Value=...: one is required."""
    chosen = (params.get(member) or {}).get("Value") if member in params else value
    if not chosen:
        raise missing_parameter(f"{member}.Value" if member in params else "Value")
    return str(chosen)


@operation("ec2", "ModifyInstanceAttribute", resources=_instance_arns)
def modify_instance_attribute(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = require_instances(ctx, [params["InstanceId"]])[0]
    attr, value = params.get("Attribute"), params.get("Value")
    updates: dict[str, Any] = {}
    if "InstanceType" in params or attr == "instanceType":
        itype = _attribute_value(params, "InstanceType", value)
        instance_types.require(ctx, itype)
        _require_stopped(row)
        updates["instance_type"] = itype
    if "UserData" in params or attr == "userData":
        _require_stopped(row)
        if "UserData" in params:
            raw = params["UserData"].get("Value") or b""
            data = raw if isinstance(raw, bytes) else str(raw).encode()
        else:
            data = base64.b64decode(_user_data({"UserData": value})[0] or "")
        if len(data) > MAX_USER_DATA:
            raise ServiceError("InvalidParameterValue", f"User data is limited to {MAX_USER_DATA} bytes")
        updates["user_data"] = base64.b64encode(data).decode() if data else None
    if "Kernel" in params or attr == "kernel":
        _require_stopped(row)
        kid = _attribute_value(params, "Kernel", value)
        images.check_part(ctx, kid, "kernel")
        updates["kernel_id"] = kid
    if "Ramdisk" in params or attr == "ramdisk":
        _require_stopped(row)
        rid = _attribute_value(params, "Ramdisk", value)
        images.check_part(ctx, rid, "ramdisk")
        updates["ramdisk_id"] = rid
    if "Groups" in params:
        groups = security_groups.resolve(ctx, None, params["Groups"])
        updates["security_groups"] = json.dumps([{"GroupId": g["id"], "GroupName": g["name"]} for g in groups])
    if not updates:
        raise ServiceError("UnsupportedOperation", "eucalite can modify instanceType, userData, kernel, ramdisk "
                           "and groupSet only")
    repo.update(ctx.cloud, row["id"], updates)
    return {}


@operation("ec2", "ModifyInstanceMetadataOptions", resources=_instance_arns)
def modify_instance_metadata_options(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = require_instances(ctx, [params["InstanceId"]])[0]
    if row["state"] == "terminated":
        raise ServiceError("IncorrectInstanceState", f"The instance '{row['id']}' is terminated.")
    merged = {"HttpTokens": params.get("HttpTokens", row["metadata_http_tokens"]),
              "HttpEndpoint": params.get("HttpEndpoint", row["metadata_http_endpoint"]),
              "HttpPutResponseHopLimit": params.get("HttpPutResponseHopLimit", row["metadata_hop_limit"])}
    values = _metadata_options({"MetadataOptions": merged})
    repo.update(ctx.cloud, row["id"], values)
    return {"InstanceId": row["id"], "InstanceMetadataOptions": {
        "State": "applied", "HttpTokens": values["metadata_http_tokens"],
        "HttpPutResponseHopLimit": values["metadata_hop_limit"], "HttpEndpoint": values["metadata_http_endpoint"],
        "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"}}
