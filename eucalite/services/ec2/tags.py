"""Tags: CreateTags, DeleteTags, DescribeTags, and the tag reads other EC2 modules share.

Tags belong to the account that owns the resource; the `euca:` prefix is the system's (e.g. euca:node).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.ec2.common import (
    MAX_TAGS,
    check_tag,
    check_tag_key,
    page,
    tag_limit_exceeded,
    well_formed,
)
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.registry import operation
from eucalite.store.db import Store

# id prefix -> (resource type as DescribeTags names it, table holding the resource)
RESOURCE_TYPES: dict[str, tuple[str, str]] = {
    "i": ("instance", "instances"),
    "emi": ("image", "images"), "eki": ("image", "images"), "eri": ("image", "images"),
    "ami": ("image", "images"), "aki": ("image", "images"), "ari": ("image", "images"),
    "sg": ("security-group", "security_groups"),
    "key": ("key-pair", "key_pairs"),
}


def tags_of(store: Store, resource_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    ids = list(dict.fromkeys(resource_ids))
    out: dict[str, dict[str, str]] = {i: {} for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in store.all(f"select resource_id, key, value from tags where resource_id in ({marks})", chunk):
            out[row["resource_id"]][row["key"]] = row["value"]
    return out


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def put_tags(db: sqlite_utils.Database, resource_id: str, resource_type: str, account_id: str,
             tags: dict[str, str]) -> None:
    # Plain SQL: sqlite-utils' upsert introspects the table (PRAGMA table_info) on every call.
    db.conn.executemany(
        "insert into tags (resource_id, resource_type, account_id, key, value) values (?, ?, ?, ?, ?) "
        "on conflict (resource_id, key) do update set value = excluded.value",
        [(resource_id, resource_type, account_id, key, value) for key, value in tags.items()])
    count = next(db.query("select count(*) as n from tags where resource_id = ? and key not like 'euca:%'",
                          [resource_id]))["n"]
    if count > MAX_TAGS:
        raise tag_limit_exceeded()


def resource_type_of(resource_id: str) -> tuple[str, str] | None:
    return RESOURCE_TYPES.get(resource_id.rsplit("-", 1)[0]) if "-" in resource_id else None


def _not_found(resource_id: str, resource_type: str) -> ServiceError:
    """AWS names the kind of a well-formed id that does not exist; InvalidID is for ids it cannot parse."""
    if resource_type == "instance":
        return ServiceError("InvalidInstanceID.NotFound", f"The instance ID '{resource_id}' does not exist")
    if resource_type == "image":
        return ServiceError("InvalidAMIID.NotFound", f"The image id '[{resource_id}]' does not exist")
    if resource_type == "security-group":
        return ServiceError("InvalidGroup.NotFound", f"The security group '{resource_id}' does not exist")
    return ServiceError("InvalidKeyPair.NotFound", f"The key pair ID '{resource_id}' does not exist")


def _owned(ctx: CallContext, resource_ids: list[str]) -> list[tuple[str, str]]:
    out = []
    for rid in resource_ids:
        kind = resource_type_of(rid)
        if kind is None or not well_formed(rid, (rid.rsplit("-", 1)[0],)):
            raise ServiceError("InvalidID", f"The ID '{rid}' is not valid")
        row = ctx.cloud.store.one(f"select id from {kind[1]} where id = ? and account_id = ?",
                                  [rid, ctx.account_id])
        if row is None:
            raise _not_found(rid, kind[0])
        out.append((rid, kind[0]))  # type: ignore[index]
    return out


@operation("ec2", "CreateTags")
def create_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = {}
    for tag in params["Tags"]:
        check_tag(tag.get("Key", ""), tag.get("Value", ""))
        tags[tag["Key"]] = tag.get("Value", "")
    resources = _owned(ctx, params["Resources"])
    with ctx.cloud.store.transaction() as db:
        for rid, rtype in resources:
            put_tags(db, rid, rtype, ctx.account_id, tags)
    return {}


@operation("ec2", "DeleteTags")
def delete_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    resources = _owned(ctx, params["Resources"])
    wanted = params.get("Tags")
    with ctx.cloud.store.transaction() as db:
        for rid, _ in resources:
            if not wanted:  # no Tags: every (non-system) tag of the resource
                db.execute("delete from tags where resource_id = ? and key not like 'euca:%'", [rid])
                continue
            for tag in wanted:
                check_tag_key(tag.get("Key", ""))
                if "Value" in tag:
                    db.execute("delete from tags where resource_id = ? and key = ? and value = ?",
                               [rid, tag["Key"], tag["Value"]])
                else:
                    db.execute("delete from tags where resource_id = ? and key = ?", [rid, tag["Key"]])
    return {}


@operation("ec2", "DescribeTags")
def describe_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = ctx.cloud.store.all("select * from tags where account_id = ? order by resource_id, key",
                               [ctx.account_id])
    rows = apply_filters(rows, params.get("Filters"), {
        "key": lambda r: [r["key"]], "value": lambda r: [r["value"]],
        "resource-id": lambda r: [r["resource_id"]], "resource-type": lambda r: [r["resource_type"]]})
    chunk, token = page(rows, params, "tags", minimum=1)
    out: dict[str, Any] = {"Tags": [{"Key": r["key"], "Value": r["value"], "ResourceId": r["resource_id"],
                                     "ResourceType": r["resource_type"]} for r in chunk]}
    if token:
        out["NextToken"] = token
    return out
