"""IAM roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription, UpdateAssumeRolePolicy,
DeleteRole. (Tags: tags.py; inline policies: inline_policies.py; profiles: instance_profiles.py.)"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from eucalite.errors import delete_conflict
from eucalite.services.context import CallContext
from eucalite.services.iam import documents, tags
from eucalite.services.iam.common import (
    Params,
    ensure_unused,
    list_arn,
    named_arn,
    new_id,
    now,
    require_role,
    role_shape,
)
from eucalite.services.iam.pagination import page_of
from eucalite.services.registry import operation
from eucalite.store import migrations

DEFAULT_MAX_SESSION_DURATION = 3600


def _m011_trust_principal_ids(db: sqlite_utils.Database) -> None:
    # The unique ids of the users and roles a trust policy named when it was saved (documents.check_trust).
    db.table("roles").add_column("trust_principal_ids", str)


migrations.register("011_trust_principal_ids", _m011_trust_principal_ids)

_role_arn = named_arn("role", "roles", "RoleName")


def _role_keys(ctx: CallContext, params: Params) -> dict[str, Any]:
    return {**tags.resource_tag_keys(ctx, "roles", params["RoleName"]), **tags.request_tag_keys(ctx, params)}


@operation("iam", "CreateRole", resources=_role_arn, condition_keys=tags.request_tag_keys,
           unsupported=("PermissionsBoundary",))
def create_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = params["RoleName"]
    trust = params["AssumeRolePolicyDocument"]
    principal_ids = documents.check_trust(trust, ctx.cloud.store)
    row = {
        "id": new_id("AROA"),
        "account_id": ctx.account_id,
        "name": name,
        "path": params.get("Path") or "/",
        "created": now(ctx),
        "trust_policy": trust,
        "trust_principal_ids": json.dumps(principal_ids),
        "description": params.get("Description") or "",
        "max_session_duration": params.get("MaxSessionDuration") or DEFAULT_MAX_SESSION_DURATION,
        "last_used": None,
    }
    with ctx.cloud.store.transaction() as db:
        ensure_unused(ctx, "roles", name, f"Role with name {name} already exists.")
        db.table("roles").insert(row)
        tags.put_tags(db, "roles", row["id"], params.get("Tags") or [])
    out = role_shape(row)
    if params.get("Tags"):
        out["Tags"] = tags.tags_of(ctx, "roles", row["id"])
    return {"Role": out}


@operation("iam", "GetRole", resources=_role_arn, condition_keys=_role_keys)
def get_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    role = require_role(ctx, params["RoleName"])
    shown = {**role, "trust_policy": documents.trust_as_shown(ctx.cloud.store, role)}
    return {"Role": role_shape(shown, tags.tags_of(ctx, "roles", role["id"]), full=True)}


@operation("iam", "ListRoles", resources=list_arn("role"))
def list_roles(ctx: CallContext, params: Params) -> dict[str, Any]:
    page, more = page_of(ctx.cloud.store, "roles", "account_id = ?", [ctx.account_id], params)
    store = ctx.cloud.store
    return {"Roles": [role_shape({**r, "trust_policy": documents.trust_as_shown(store, r)}) for r in page], **more}


@operation("iam", "UpdateRole", resources=_role_arn, condition_keys=_role_keys)
def update_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    role = require_role(ctx, params["RoleName"])
    changes: dict[str, Any] = {}
    if "Description" in params:
        changes["description"] = params["Description"]
    if params.get("MaxSessionDuration"):
        changes["max_session_duration"] = params["MaxSessionDuration"]
    if changes:
        with ctx.cloud.store.transaction() as db:
            db.table("roles").update(role["id"], changes)
    return {}


@operation("iam", "UpdateRoleDescription", resources=_role_arn, condition_keys=_role_keys)
def update_role_description(ctx: CallContext, params: Params) -> dict[str, Any]:
    role = require_role(ctx, params["RoleName"])
    with ctx.cloud.store.transaction() as db:
        db.table("roles").update(role["id"], {"description": params["Description"]})
    role["description"] = params["Description"]
    return {"Role": role_shape(role, tags.tags_of(ctx, "roles", role["id"]), full=True)}


@operation("iam", "UpdateAssumeRolePolicy", resources=_role_arn, condition_keys=_role_keys)
def update_assume_role_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    role = require_role(ctx, params["RoleName"])
    principal_ids = documents.check_trust(params["PolicyDocument"], ctx.cloud.store)
    with ctx.cloud.store.transaction() as db:
        db.table("roles").update(role["id"], {"trust_policy": params["PolicyDocument"],
                                              "trust_principal_ids": json.dumps(principal_ids)})
    return {}


@operation("iam", "DeleteRole", resources=_role_arn, condition_keys=_role_keys)
def delete_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    role = require_role(ctx, params["RoleName"])
    store = ctx.cloud.store
    rid = role["id"]
    with store.transaction() as db:
        if store.one("select 1 from instance_profile_roles where role_id = ?", [rid]):
            raise delete_conflict("Cannot delete entity, must remove roles from instance profile first.")
        if store.one("select 1 from inline_policies where principal_type = 'role' and principal_id = ?", [rid]):
            raise delete_conflict("Cannot delete entity, must delete policies first.")
        if store.one("select 1 from policy_attachments where principal_type = 'role' and principal_id = ?", [rid]):
            raise delete_conflict("Cannot delete entity, must detach all policies first.")
        tags.delete_tags(db, "roles", rid)
        db.table("roles").delete(rid)
    return {}
