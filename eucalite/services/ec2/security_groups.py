"""Security groups (EC2-Classic style, as in Eucalyptus): a default group per account, ingress rules.

Rules are stored one per (protocol, port range, CIDR or source group); absent parts are '' so the
unique index catches duplicates.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from eucalite import ids
from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.ec2.common import arn, now, page, tag_specs, well_formed
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.ec2.tags import put_tags, tag_list, tags_of
from eucalite.services.registry import operation
from eucalite.store.db import Store

DEFAULT = "default"


def ensure_default(store: Store, account_id: str, created: str) -> dict[str, Any]:
    row = store.one("select * from security_groups where account_id = ? and name = ?", [account_id, DEFAULT])
    if row is not None:
        return row
    row = {"id": ids.resource_id("sg"), "account_id": account_id, "name": DEFAULT,
           "description": "default group", "created": created}
    with store.transaction() as db:
        db.table("security_groups").insert(row)
        # EC2-Classic's default group lets its members reach each other, and nothing else in.
        for proto, lo, hi in (("tcp", 0, 65535), ("udp", 0, 65535), ("icmp", -1, -1)):
            db.table("security_group_rules").insert({"id": ids.long_resource_id("sgr"), "group_id": row["id"],
                                               "protocol": proto, "from_port": lo, "to_port": hi, "cidr": "",
                                               "source_group_id": row["id"], "source_account": account_id})
    return row


def resolve(ctx: CallContext, names: list[str] | None, group_ids: list[str] | None) -> list[dict[str, Any]]:
    """Groups named in a request (default group when none); InvalidGroup.NotFound for unknown ones."""
    store = ctx.cloud.store
    ensure_default(store, ctx.account_id, now(ctx))
    out: list[dict[str, Any]] = []
    for name in names or []:
        row = store.one("select * from security_groups where account_id = ? and name = ?", [ctx.account_id, name])
        if row is None:
            raise ServiceError("InvalidGroup.NotFound", f"The security group '{name}' does not exist")
        out.append(row)
    for gid in group_ids or []:
        row = store.one("select * from security_groups where account_id = ? and id = ?", [ctx.account_id, gid])
        if row is None:
            if not well_formed(gid, ("sg",)):
                raise ServiceError("InvalidGroupId.Malformed", f'Invalid id: "{gid}" (expecting "sg-...")')
            raise ServiceError("InvalidGroup.NotFound", f"The security group '{gid}' does not exist")
        out.append(row)
    if not out:
        out.append(ensure_default(store, ctx.account_id, now(ctx)))
    return list({g["id"]: g for g in out}.values())


def launch_arns(ctx: CallContext, names: list[str] | None, group_ids: list[str] | None) -> list[str]:
    """The security-group ARNs a RunInstances request is authorized against, as AWS does: the named
    groups by id (the default group when none is named). Read-only: names that do not resolve are left
    to `resolve`, which reports them after authorization."""
    store = ctx.cloud.store
    found = list(group_ids or [])
    wanted = list(names or []) or ([] if found else ["default"])
    for name in wanted:
        row = store.one("select id from security_groups where account_id = ? and name = ?", [ctx.account_id, name])
        if row is not None:
            found.append(row["id"])
    return [arn(ctx, "security-group", gid) for gid in dict.fromkeys(found)]


def allows_ssh(store: Store, group_ids: list[str]) -> bool:
    """Whether any group lets the world (a CIDR) reach tcp/22: then the node forwards an SSH port."""
    if not group_ids:
        return False
    marks = ",".join("?" * len(group_ids))
    rows = store.all(f"select * from security_group_rules where group_id in ({marks}) and cidr != ''", group_ids)
    return any(r["protocol"] in ("tcp", "-1") and (r["protocol"] == "-1" or r["from_port"] <= 22 <= r["to_port"])
               for r in rows)


def _one(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    store = ctx.cloud.store
    ensure_default(store, ctx.account_id, now(ctx))
    if params.get("GroupId"):
        gid = params["GroupId"]
        row = store.one("select * from security_groups where account_id = ? and id = ?", [ctx.account_id, gid])
        if row is None:
            if not well_formed(gid, ("sg",)):
                raise ServiceError("InvalidGroupId.Malformed", f'Invalid id: "{gid}" (expecting "sg-...")')
            raise ServiceError("InvalidGroup.NotFound", f"The security group '{gid}' does not exist")
        return row
    if params.get("GroupName"):
        name = params["GroupName"]
        row = store.one("select * from security_groups where account_id = ? and name = ?", [ctx.account_id, name])
        if row is None:
            raise ServiceError("InvalidGroup.NotFound", f"The security group '{name}' does not exist")
        return row
    raise ServiceError("MissingParameter", "The request must contain the parameter groupName or groupId")


def _group_arn(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    return [arn(ctx, "security-group", params.get("GroupId") or "*")]


@operation("ec2", "CreateSecurityGroup", resources=_group_arn)
def create_security_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("VpcId"):
        raise ServiceError("InvalidVpcID.NotFound", f"The vpc ID '{params['VpcId']}' does not exist")
    name = params["GroupName"]
    if not name or len(name) > 255 or name.startswith("sg-"):
        raise ServiceError("InvalidParameterValue", f"Value ({name}) for parameter GroupName is invalid.")
    if len(params["Description"]) > 255:  # AWS: "Up to 255 characters in length"
        raise ServiceError("InvalidParameterValue", f"Value ({params['Description']}) for parameter "
                           "GroupDescription is invalid. Length exceeds maximum of 255.")
    tags = tag_specs(params, "security-group")
    ensure_default(ctx.cloud.store, ctx.account_id, now(ctx))
    row = {"id": ids.resource_id("sg"), "account_id": ctx.account_id, "name": name,
           "description": params["Description"], "created": now(ctx)}
    with ctx.cloud.store.transaction() as db:
        if ctx.cloud.store.one("select id from security_groups where account_id = ? and name = ?",
                               [ctx.account_id, name]):
            raise ServiceError("InvalidGroup.Duplicate", f"The security group '{name}' already exists")
        db.table("security_groups").insert(row)
        put_tags(db, row["id"], "security-group", ctx.account_id, tags)
    return {"GroupId": row["id"], "Tags": tag_list(tags),
            "SecurityGroupArn": arn(ctx, "security-group", row["id"])}


@operation("ec2", "DeleteSecurityGroup", resources=_group_arn)
def delete_security_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    group = _one(ctx, params)
    if group["name"] == DEFAULT:
        raise ServiceError("CannotDelete", "the specified group: \"default\" name: \"default\" cannot be deleted")
    store = ctx.cloud.store
    for inst in store.all("select id, security_groups from instances where account_id = ? and state != "
                          "'terminated'", [ctx.account_id]):
        if any(g["GroupId"] == group["id"] for g in json.loads(inst["security_groups"] or "[]")):
            raise ServiceError("InvalidGroup.InUse",
                               f"There are active instances using security group '{group['name']}'")
    if store.one("select 1 from security_group_rules where source_group_id = ? and group_id != ?",
                 [group["id"], group["id"]]):
        # AWS refuses while another group's rule names this one; deleting would leave that rule dangling.
        raise ServiceError("DependencyViolation", f"resource {group['id']} has a dependent object")
    with store.transaction() as db:
        db.execute("delete from security_group_rules where group_id = ?", [group["id"]])
        db.execute("delete from security_groups where id = ?", [group["id"]])
        db.execute("delete from tags where resource_id = ?", [group["id"]])
    return {"Return": True, "GroupId": group["id"]}


def _rules_from(ctx: CallContext, params: dict[str, Any], group: dict[str, Any]) -> list[dict[str, Any]]:
    perms = list(params.get("IpPermissions") or [])
    if params.get("IpProtocol") or params.get("CidrIp") or params.get("SourceSecurityGroupName"):
        legacy: dict[str, Any] = {"IpProtocol": params.get("IpProtocol", "-1"),
                                  "FromPort": params.get("FromPort"), "ToPort": params.get("ToPort")}
        if params.get("CidrIp"):
            legacy["IpRanges"] = [{"CidrIp": params["CidrIp"]}]
        if params.get("SourceSecurityGroupName"):
            legacy["UserIdGroupPairs"] = [{"GroupName": params["SourceSecurityGroupName"],
                                           "UserId": params.get("SourceSecurityGroupOwnerId")}]
        perms.append(legacy)
    if not perms:
        raise ServiceError("MissingParameter", "No permissions were specified")
    rules = []
    for perm in perms:
        proto = str(perm.get("IpProtocol", "-1")).lower()
        proto = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1"}.get(proto, proto)
        if proto not in ("tcp", "udp", "icmp", "-1"):
            raise ServiceError("InvalidParameterValue", f"Invalid value '{proto}' for IP protocol.")
        if proto == "-1":
            lo, hi = -1, -1
        else:
            lo, hi = perm.get("FromPort"), perm.get("ToPort")
            if lo is None or hi is None:
                raise ServiceError("InvalidParameterValue", "Invalid value for portRange. Must specify both from"
                                   " and to ports with TCP/UDP/ICMP.")
            if proto != "icmp" and not (0 <= lo <= hi <= 65535):
                raise ServiceError("InvalidParameterValue", f"Invalid port range {lo}-{hi}")
        sources: list[tuple[str, str, str]] = []
        for rng in perm.get("IpRanges") or []:
            cidr = rng.get("CidrIp", "")
            try:
                cidr = str(ipaddress.IPv4Network(cidr, strict=False))  # IPv6 belongs in Ipv6Ranges
            except ValueError:
                raise ServiceError("InvalidParameterValue", f"Value ({cidr}) for parameter cidrIp is invalid. "
                                   "This is not a valid CIDR block.") from None
            sources.append((cidr, "", ""))
        for pair in perm.get("UserIdGroupPairs") or []:
            owner = pair.get("UserId") or ctx.account_id
            if owner != ctx.account_id:
                src = ctx.cloud.store.one("select * from security_groups where account_id = ? and (id = ? or "
                                          "name = ?)", [owner, pair.get("GroupId"), pair.get("GroupName")])
            else:
                src = _one(ctx, {"GroupId": pair.get("GroupId"), "GroupName": pair.get("GroupName")})
            if src is None:
                raise ServiceError("InvalidGroup.NotFound",
                                   f"The security group '{pair.get('GroupId') or pair.get('GroupName')}' "
                                   "does not exist")
            sources.append(("", src["id"], owner))
        if not sources:
            sources.append(("0.0.0.0/0", "", ""))
        for cidr, sgid, owner in sources:
            rules.append({"group_id": group["id"], "protocol": proto, "from_port": lo, "to_port": hi,
                          "cidr": cidr, "source_group_id": sgid, "source_account": owner})
    return rules


def _same(rule: dict[str, Any]) -> tuple[str, list[Any]]:
    return ("select id from security_group_rules where group_id = ? and protocol = ? and from_port = ? and "
            "to_port = ? and cidr = ? and source_group_id = ?",
            [rule["group_id"], rule["protocol"], rule["from_port"], rule["to_port"], rule["cidr"],
             rule["source_group_id"]])


def _describe_rule(rule: dict[str, Any]) -> str:
    src = rule["cidr"] or rule["source_group_id"]
    return f"peer: {src}, {rule['protocol'].upper()}, from port: {rule['from_port']}, to port: {rule['to_port']}"


@operation("ec2", "AuthorizeSecurityGroupIngress", resources=_group_arn)
def authorize_ingress(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    group = _one(ctx, params)
    rules = _rules_from(ctx, params, group)
    store = ctx.cloud.store
    out = []
    with store.transaction() as db:
        for rule in rules:
            if store.one(*_same(rule)):
                raise ServiceError("InvalidPermission.Duplicate",
                                   f"the specified rule \"{_describe_rule(rule)}\" already exists")
            rule["id"] = ids.long_resource_id("sgr")
            db.table("security_group_rules").insert(rule)
            item: dict[str, Any] = {"SecurityGroupRuleId": rule["id"], "GroupId": group["id"],
                                    "GroupOwnerId": ctx.account_id, "IsEgress": False,
                                    "IpProtocol": rule["protocol"], "FromPort": rule["from_port"],
                                    "ToPort": rule["to_port"]}
            if rule["cidr"]:
                item["CidrIpv4"] = rule["cidr"]
            else:
                item["ReferencedGroupInfo"] = {"GroupId": rule["source_group_id"], "UserId": rule["source_account"]}
            out.append(item)
    return {"Return": True, "SecurityGroupRules": out}


@operation("ec2", "RevokeSecurityGroupIngress", resources=_group_arn)
def revoke_ingress(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    group = _one(ctx, params)
    store = ctx.cloud.store
    with store.transaction() as db:
        for rule_id in params.get("SecurityGroupRuleIds") or []:
            if not store.one("select id from security_group_rules where id = ? and group_id = ?",
                             [rule_id, group["id"]]):
                raise ServiceError("InvalidSecurityGroupRuleId.NotFound",
                                   f"The security group rule ID '{rule_id}' does not exist")
            db.execute("delete from security_group_rules where id = ?", [rule_id])
        if params.get("SecurityGroupRuleIds") and not params.get("IpPermissions") and not params.get("IpProtocol"):
            return {"Return": True}
        for rule in _rules_from(ctx, params, group):
            found = store.one(*_same(rule))
            if found is None:
                raise ServiceError("InvalidPermission.NotFound",
                                   f"The specified rule does not exist in this security group. "
                                   f"({_describe_rule(rule)})")
            db.execute("delete from security_group_rules where id = ?", [found["id"]])
    return {"Return": True}


def _permissions(store: Store, group_id: str) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, int, int], dict[str, Any]] = {}
    for r in store.all("select r.*, g.name as source_name from security_group_rules r left join security_groups g "
                       "on g.id = r.source_group_id where r.group_id = ? order by r.protocol, r.from_port, r.cidr",
                       [group_id]):
        key = (r["protocol"], r["from_port"], r["to_port"])
        perm = grouped.setdefault(key, {"IpProtocol": r["protocol"], "IpRanges": [], "UserIdGroupPairs": [],
                                        "Ipv6Ranges": [], "PrefixListIds": []})
        if r["protocol"] != "-1":
            perm["FromPort"], perm["ToPort"] = r["from_port"], r["to_port"]
        if r["cidr"]:
            perm["IpRanges"].append({"CidrIp": r["cidr"]})
        else:
            perm["UserIdGroupPairs"].append({"GroupId": r["source_group_id"], "GroupName": r["source_name"],
                                             "UserId": r["source_account"]})
    return list(grouped.values())


@operation("ec2", "DescribeSecurityGroups")
def describe_security_groups(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    store = ctx.cloud.store
    ensure_default(store, ctx.account_id, now(ctx))
    rows = store.all("select * from security_groups where account_id = ? order by name", [ctx.account_id])
    if params.get("GroupNames") or params.get("GroupIds"):
        rows = resolve(ctx, params.get("GroupNames"), params.get("GroupIds"))
    tags = tags_of(store, [r["id"] for r in rows])
    perms = {r["id"]: _permissions(store, r["id"]) for r in rows}
    rows = apply_filters(rows, params.get("Filters"), {
        "group-id": lambda r: [r["id"]], "group-name": lambda r: [r["name"]],
        "description": lambda r: [r["description"]], "owner-id": lambda r: [r["account_id"]],
        "ip-permission.protocol": lambda r: [p["IpProtocol"] for p in perms[r["id"]]],
        "ip-permission.from-port": lambda r: [str(p.get("FromPort", "")) for p in perms[r["id"]]],
        "ip-permission.to-port": lambda r: [str(p.get("ToPort", "")) for p in perms[r["id"]]],
        "ip-permission.cidr": lambda r: [g["CidrIp"] for p in perms[r["id"]] for g in p["IpRanges"]],
    }, tags=lambda r: tags[r["id"]])
    chunk, token = page(rows, params, "groups")
    out: dict[str, Any] = {"SecurityGroups": [{
        "GroupId": r["id"], "GroupName": r["name"], "Description": r["description"], "OwnerId": r["account_id"],
        "IpPermissions": perms[r["id"]], "IpPermissionsEgress": [], "Tags": tag_list(tags[r["id"]]),
        "SecurityGroupArn": arn(ctx, "security-group", r["id"])} for r in chunk]}
    if token:
        out["NextToken"] = token
    return out
