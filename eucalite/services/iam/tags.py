"""Tags of IAM entities: roles (the shared role_tags table), users, instance profiles and managed
policies (tables added here), and the Tag/Untag/List...Tags operations of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from eucalite.errors import ServiceError, limit_exceeded
from eucalite.services.context import CallContext
from eucalite.services.iam.common import PRINCIPAL_TYPES, Params, Row
from eucalite.services.iam.pagination import paginate
from eucalite.services.registry import operation
from eucalite.store import migrations

MAX_TAGS = 50

# entity table -> (tag table, id column)
TAG_TABLES = {
    "roles": ("role_tags", "role_id"),
    "users": ("user_tags", "user_id"),
    "instance_profiles": ("instance_profile_tags", "profile_id"),
    "managed_policies": ("policy_tags", "policy_id"),
}


def _m010_iam_tags(db: sqlite_utils.Database) -> None:
    for table, column in list(TAG_TABLES.values())[1:]:
        db.table(table).create({column: str, "key": str, "value": str}, pk=(column, "key"))


migrations.register("010_iam_tags", _m010_iam_tags)


def tags_of(ctx: CallContext, entity_table: str, entity_id: str) -> list[Row]:
    table, column = TAG_TABLES[entity_table]
    return [{"Key": r["key"], "Value": r["value"]} for r in ctx.cloud.store.all(
        f"select key, value from {table} where {column} = ? order by key", [entity_id])]


def check_request_tags(tags: list[Row]) -> None:
    keys = [t["Key"] for t in tags]
    # The aws: prefix is AWS's (any case). IAM answers with InvalidInput, as for duplicate keys; the exact
    # wording is not in AWS's documentation, so this one is eucalite's.
    if any(k[:4].lower() == "aws:" for k in keys):
        raise ServiceError("InvalidInput", "User-defined tag keys can't start with 'aws:'.")
    if len({k.lower() for k in keys}) != len(keys):
        raise ServiceError("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case "
                                           "insensitive.")


def put_tags(db: sqlite_utils.Database, entity_table: str, entity_id: str, tags: list[Row]) -> None:
    table, column = TAG_TABLES[entity_table]
    check_request_tags(tags)
    for tag in tags:
        # Tag keys are case-insensitive: a new spelling replaces the old one.
        db.execute(f"delete from {table} where {column} = ? and lower(key) = lower(?)", [entity_id, tag["Key"]])
        db.table(table).insert({column: entity_id, "key": tag["Key"], "value": tag.get("Value", "")})
    count = next(db.query(f"select count(*) as n from {table} where {column} = ?", [entity_id]))["n"]
    if count > MAX_TAGS:
        raise limit_exceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")


def delete_tags(db: sqlite_utils.Database, entity_table: str, entity_id: str, keys: list[str] | None = None) -> None:
    table, column = TAG_TABLES[entity_table]
    if keys is None:
        db.execute(f"delete from {table} where {column} = ?", [entity_id])
        return
    for key in keys:
        db.execute(f"delete from {table} where {column} = ? and lower(key) = lower(?)", [entity_id, key])


def request_tag_keys(ctx: CallContext, params: Params) -> dict[str, Any]:
    """aws:RequestTag/K and aws:TagKeys for calls that carry Tags or TagKeys."""
    keys: dict[str, Any] = {}
    tags = params.get("Tags") or []
    for tag in tags:
        keys[f"aws:RequestTag/{tag['Key']}"] = tag.get("Value", "")
    names = [t["Key"] for t in tags] or params.get("TagKeys") or []
    if names:
        keys["aws:TagKeys"] = names
    return keys


def resource_tag_keys(ctx: CallContext, entity_table: str, name: str) -> dict[str, Any]:
    """aws:ResourceTag/K and iam:ResourceTag/K of an existing entity."""
    row = ctx.cloud.store.one(f"select id from {entity_table} where account_id = ? and name = ?",
                              [ctx.account_id, name])
    if row is None:
        return {}
    keys: dict[str, Any] = {}
    for tag in tags_of(ctx, entity_table, row["id"]):
        keys[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
        keys[f"iam:ResourceTag/{tag['Key']}"] = tag["Value"]
    return keys


# -- Tag{X}/Untag{X}/List{X}Tags, registered for each taggable entity ------------------------------------------
RowFn = Callable[[CallContext, Params], Row]
ResourcesFn = Callable[[CallContext, Params], list[str]]


@dataclass(frozen=True)
class _Tagged:
    table: str
    find_row: RowFn  # raises NoSuchEntity

    def keys(self, ctx: CallContext, params: Params) -> dict[str, Any]:
        keys = request_tag_keys(ctx, params)
        try:
            row = self.find_row(ctx, params)
        except ServiceError:  # authorization runs first and must not reveal whether the entity exists
            return keys
        for tag in tags_of(ctx, self.table, row["id"]):
            keys[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
            keys[f"iam:ResourceTag/{tag['Key']}"] = tag["Value"]
        return keys

    def tag(self, ctx: CallContext, params: Params) -> Row:
        row = self.find_row(ctx, params)
        with ctx.cloud.store.transaction() as db:
            put_tags(db, self.table, row["id"], params["Tags"])
        return {}

    def untag(self, ctx: CallContext, params: Params) -> Row:
        row = self.find_row(ctx, params)
        with ctx.cloud.store.transaction() as db:
            delete_tags(db, self.table, row["id"], params["TagKeys"])
        return {}

    def list(self, ctx: CallContext, params: Params) -> Row:
        row = self.find_row(ctx, params)
        page, more = paginate(tags_of(ctx, self.table, row["id"]), params, key=lambda t: t["Key"])
        return {"Tags": page, **more}


def register_tag_operations(noun: str, table: str, find_row: RowFn, resources: ResourcesFn) -> None:
    tagged = _Tagged(table, find_row)
    operation("iam", f"Tag{noun}", resources=resources, condition_keys=tagged.keys)(tagged.tag)
    operation("iam", f"Untag{noun}", resources=resources, condition_keys=tagged.keys)(tagged.untag)
    operation("iam", f"List{noun}Tags", resources=resources, condition_keys=tagged.keys)(tagged.list)


for _kind in PRINCIPAL_TYPES:
    if _kind.type != "group":  # IAM groups carry no tags
        register_tag_operations(_kind.noun, f"{_kind.type}s", _kind.row, _kind.resources)
