"""IAM groups: CreateGroup, GetGroup (with members), ListGroups, UpdateGroup, DeleteGroup,
AddUserToGroup, RemoveUserFromGroup."""

from __future__ import annotations

from typing import Any

from eucalite.clock import iso8601
from eucalite.errors import delete_conflict, no_such_entity
from eucalite.services.context import CallContext
from eucalite.services.iam.common import (
    Params,
    ensure_unused,
    group_shape,
    list_arn,
    named_arn,
    new_id,
    require_group,
    require_user,
    user_shape,
)
from eucalite.services.iam.pagination import page_of, paginate
from eucalite.services.registry import operation

_group_arn = named_arn("group", "groups", "GroupName")


@operation("iam", "CreateGroup", resources=_group_arn)
def create_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = params["GroupName"]
    row = {"id": new_id("AGPA"), "account_id": ctx.account_id, "name": name, "path": params.get("Path") or "/",
           "created": iso8601(ctx.cloud.clock.now())}
    with ctx.cloud.store.transaction() as db:
        ensure_unused(ctx, "groups", name, f"Group with name {name} already exists.")
        db.table("groups").insert(row)
    return {"Group": group_shape(row)}


@operation("iam", "GetGroup", resources=_group_arn)
def get_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    group = require_group(ctx, params["GroupName"])
    users = ctx.cloud.store.all("select u.* from users u join group_members m on m.user_id = u.id "
                                "where m.group_id = ?", [group["id"]])
    page, more = paginate(users, params, key=lambda r: r["name"])
    return {"Group": group_shape(group), "Users": [user_shape(u) for u in page], **more}


@operation("iam", "ListGroups", resources=list_arn("group"))
def list_groups(ctx: CallContext, params: Params) -> dict[str, Any]:
    page, more = page_of(ctx.cloud.store, "groups", "account_id = ?", [ctx.account_id], params)
    return {"Groups": [group_shape(r) for r in page], **more}


@operation("iam", "UpdateGroup", resources=_group_arn)
def update_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    group = require_group(ctx, params["GroupName"])
    changes: dict[str, Any] = {}
    new_name = params.get("NewGroupName")
    if params.get("NewPath"):
        changes["path"] = params["NewPath"]
    with ctx.cloud.store.transaction() as db:
        if new_name and new_name != group["name"]:
            if new_name.lower() != group["name"].lower():
                ensure_unused(ctx, "groups", new_name, f"Group with name {new_name} already exists.")
            changes["name"] = new_name
        if changes:
            db.table("groups").update(group["id"], changes)
    return {}


@operation("iam", "DeleteGroup", resources=_group_arn)
def delete_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    group = require_group(ctx, params["GroupName"])
    store = ctx.cloud.store
    gid = group["id"]
    with store.transaction() as db:
        if store.one("select 1 from group_members where group_id = ?", [gid]):
            raise delete_conflict("Cannot delete entity, must remove users from group first.")
        if store.one("select 1 from inline_policies where principal_type = 'group' and principal_id = ?", [gid]):
            raise delete_conflict("Cannot delete entity, must delete policies first.")
        if store.one("select 1 from policy_attachments where principal_type = 'group' and principal_id = ?", [gid]):
            raise delete_conflict("Cannot delete entity, must detach all policies first.")
        db.table("groups").delete(gid)
    return {}


@operation("iam", "AddUserToGroup", resources=_group_arn)
def add_user_to_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    group = require_group(ctx, params["GroupName"])
    user = require_user(ctx, params["UserName"])
    with ctx.cloud.store.transaction() as db:
        db.table("group_members").insert({"group_id": group["id"], "user_id": user["id"]}, ignore=True)
    return {}


@operation("iam", "RemoveUserFromGroup", resources=_group_arn)
def remove_user_from_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    group = require_group(ctx, params["GroupName"])
    user = require_user(ctx, params["UserName"])
    with ctx.cloud.store.transaction() as db:
        if not ctx.cloud.store.one("select 1 from group_members where group_id = ? and user_id = ?",
                                   [group["id"], user["id"]]):
            raise no_such_entity(f"User {user['name']} is not in group {group['name']}.")
        db.execute("delete from group_members where group_id = ? and user_id = ?", [group["id"], user["id"]])
    return {}
