"""IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser, ListGroupsForUser."""

from __future__ import annotations

from typing import Any

from eucalite import arns
from eucalite.errors import delete_conflict, validation_error
from eucalite.services.context import CallContext
from eucalite.services.iam import tags
from eucalite.services.iam.common import (
    Params,
    Row,
    ensure_unused,
    group_shape,
    list_arn,
    require_user,
    target_user_name,
    user_arn_of,
    user_shape,
)
from eucalite.services.iam.pagination import page_of, paginate
from eucalite.services.registry import operation


def _new_user_arn(ctx: CallContext, params: Params) -> list[str]:
    return [arns.user(ctx.account_id, params["UserName"], params.get("Path") or "/")]


@operation("iam", "CreateUser", resources=_new_user_arn, condition_keys=tags.request_tag_keys,
           unsupported=("PermissionsBoundary",))
def create_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = params["UserName"]
    with ctx.cloud.store.transaction() as db:
        ensure_unused(ctx, "users", name, f"User with name {name} already exists.")
        user = ctx.cloud.identities.create_user(ctx.account_id, name, params.get("Path") or "/")
        if params.get("Tags"):
            tags.put_tags(db, "users", user["id"], params["Tags"])
    out = user_shape(user)
    if params.get("Tags"):
        out["Tags"] = tags.tags_of(ctx, "users", user["id"])
    return {"User": out}


@operation("iam", "GetUser", resources=user_arn_of)
def get_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    user = require_user(ctx, target_user_name(ctx, params))
    out = user_shape(user)
    user_tags = tags.tags_of(ctx, "users", user["id"])
    if user_tags:
        out["Tags"] = user_tags
    return {"User": out}


@operation("iam", "ListUsers", resources=list_arn("user"))
def list_users(ctx: CallContext, params: Params) -> dict[str, Any]:
    page, more = page_of(ctx.cloud.store, "users", "account_id = ?", [ctx.account_id], params)
    return {"Users": [user_shape(r) for r in page], **more}


def _is_admin(user: Row) -> bool:
    return bool(user["is_admin"])


@operation("iam", "UpdateUser", resources=user_arn_of)
def update_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    user = require_user(ctx, params["UserName"])
    changes: Row = {}
    new_name = str(params.get("NewUserName") or "")
    if new_name and new_name != user["name"]:
        if _is_admin(user):
            # Eucalyptus finds an account's administrator by this name.
            raise validation_error("The account administrator cannot be renamed.")
        changes["name"] = new_name
    if params.get("NewPath"):
        changes["path"] = params["NewPath"]
    if changes:
        with ctx.cloud.store.transaction() as db:
            if new_name and "name" in changes and new_name.lower() != user["name"].lower():
                ensure_unused(ctx, "users", new_name, f"User with name {new_name} already exists.")
            db.table("users").update(user["id"], changes)
    return {}


@operation("iam", "DeleteUser", resources=user_arn_of)
def delete_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    user = require_user(ctx, params["UserName"])
    store = ctx.cloud.store
    if _is_admin(user):
        raise delete_conflict("Cannot delete the account administrator; delete the account instead.")
    with store.transaction() as db:
        uid = user["id"]
        if store.one("select 1 from access_keys where user_id = ?", [uid]):
            raise delete_conflict("Cannot delete entity, must delete access keys first.")
        if store.one("select 1 from inline_policies where principal_type = 'user' and principal_id = ?", [uid]):
            raise delete_conflict("Cannot delete entity, must delete policies first.")
        if store.one("select 1 from policy_attachments where principal_type = 'user' and principal_id = ?", [uid]):
            raise delete_conflict("Cannot delete entity, must detach all policies first.")
        if store.one("select 1 from group_members where user_id = ?", [uid]):
            raise delete_conflict("Cannot delete entity, must remove users from group first.")
        tags.delete_tags(db, "users", uid)
        db.table("users").delete(uid)
    return {}


@operation("iam", "ListGroupsForUser", resources=user_arn_of)
def list_groups_for_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    user = require_user(ctx, params["UserName"])
    rows = ctx.cloud.store.all("select g.* from groups g join group_members m on m.group_id = g.id "
                               "where m.user_id = ?", [user["id"]])
    page, more = paginate(rows, params, key=lambda r: r["name"])
    return {"Groups": [group_shape(r) for r in page], **more}
