"""IAM access keys: create, list, update, delete, last used."""

from __future__ import annotations

from typing import Any

from eucalite.errors import ServiceError, limit_exceeded, no_such_entity
from eucalite.services.context import CallContext
from eucalite.services.iam.common import require_user, target_user_name, user_arn_of
from eucalite.services.registry import operation

MAX_KEYS_PER_USER = 2  # AWS's quota


@operation("iam", "CreateAccessKey", resources=user_arn_of)
def create_access_key(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    user = require_user(ctx, target_user_name(ctx, params))
    if len(ctx.cloud.identities.access_keys_of(user["id"])) >= MAX_KEYS_PER_USER:
        raise limit_exceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}")
    key = ctx.cloud.identities.create_access_key(user)
    return {"AccessKey": {"UserName": user["name"], "AccessKeyId": key.id, "Status": key.status,
                          "SecretAccessKey": key.secret, "CreateDate": key.created}}


@operation("iam", "ListAccessKeys", resources=user_arn_of)
def list_access_keys(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    user = require_user(ctx, target_user_name(ctx, params))
    rows = ctx.cloud.identities.access_keys_of(user["id"])
    return {"AccessKeyMetadata": [{"UserName": user["name"], "AccessKeyId": r["id"], "Status": r["status"],
                                   "CreateDate": r["created"]} for r in rows],
            "IsTruncated": False}


def _owned_key(ctx: CallContext, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    user = require_user(ctx, target_user_name(ctx, params))
    key_id = params["AccessKeyId"]
    if not any(r["id"] == key_id for r in ctx.cloud.identities.access_keys_of(user["id"])):
        raise no_such_entity(f"The Access Key with id {key_id} cannot be found.")
    return user, key_id


@operation("iam", "UpdateAccessKey", resources=user_arn_of)
def update_access_key(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _, key_id = _owned_key(ctx, params)
    with ctx.cloud.store.transaction() as db:
        db.table("access_keys").update(key_id, {"status": params["Status"]})
    return {}


@operation("iam", "DeleteAccessKey", resources=user_arn_of)
def delete_access_key(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _, key_id = _owned_key(ctx, params)
    with ctx.cloud.store.transaction() as db:
        db.table("access_keys").delete(key_id)
    ctx.cloud.authenticator.forget_key(key_id)
    return {}


@operation("iam", "GetAccessKeyLastUsed", authorizes_itself=True)
def get_access_key_last_used(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    key_id = params["AccessKeyId"]
    row = ctx.cloud.store.one("select k.*, u.name as user_name, u.path as user_path from access_keys k "
                              "join users u on u.id = k.user_id where k.id = ?", [key_id])
    if row is None or row["account_id"] != ctx.account_id:
        # AWS answers AccessDenied rather than revealing whether another account's key exists.
        raise ServiceError("AccessDenied", f"User: {ctx.caller.arn} is not authorized to perform: "
                           f"iam:GetAccessKeyLastUsed on resource: access key {key_id}", 403)
    ctx.authorize("iam:GetAccessKeyLastUsed",
                  [f"arn:aws:iam::{ctx.account_id}:user{row['user_path']}{row['user_name']}"])
    used: dict[str, Any] = {"ServiceName": row["last_used_service"] or "N/A",
                            "Region": row["last_used_region"] or "N/A"}
    if row["last_used"]:
        used["LastUsedDate"] = row["last_used"]
    return {"UserName": row["user_name"], "AccessKeyLastUsed": used}
