"""Instance profiles: the container that hands a role to EC2 instances (at most one role each)."""

from __future__ import annotations

from typing import Any

from eucalite import arns
from eucalite.errors import delete_conflict, limit_exceeded, no_such_entity
from eucalite.services.context import CallContext
from eucalite.services.iam import tags
from eucalite.services.iam.common import (
    Params,
    Row,
    ensure_unused,
    list_arn,
    named_arn,
    new_id,
    now,
    require_profile,
    require_role,
    role_shape,
)
from eucalite.services.iam.pagination import page_of, paginate
from eucalite.services.registry import operation

ROLES_PER_PROFILE = 1  # AWS's fixed quota

_profile_arn = named_arn("instance-profile", "instance_profiles", "InstanceProfileName")
_role_arn = named_arn("role", "roles", "RoleName")


def _roles_in(ctx: CallContext, profile_id: str) -> list[Row]:
    return ctx.cloud.store.all("select r.* from roles r join instance_profile_roles p on p.role_id = r.id "
                               "where p.profile_id = ? order by r.name", [profile_id])


def profile_shape(ctx: CallContext, row: Row, with_tags: bool = False) -> Row:
    out: Row = {
        "Path": row["path"],
        "InstanceProfileName": row["name"],
        "InstanceProfileId": row["id"],
        "Arn": arns.instance_profile(row["account_id"], row["name"], row["path"]),
        "CreateDate": row["created"],
        "Roles": [role_shape(r) for r in _roles_in(ctx, row["id"])],
    }
    if with_tags and (profile_tags := tags.tags_of(ctx, "instance_profiles", row["id"])):
        out["Tags"] = profile_tags
    return out


@operation("iam", "CreateInstanceProfile", resources=_profile_arn, condition_keys=tags.request_tag_keys)
def create_instance_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = params["InstanceProfileName"]
    row = {"id": new_id("AIPA"), "account_id": ctx.account_id, "name": name, "path": params.get("Path") or "/",
           "created": now(ctx)}
    with ctx.cloud.store.transaction() as db:
        ensure_unused(ctx, "instance_profiles", name, f"Instance Profile {name} already exists.")
        db.table("instance_profiles").insert(row)
        tags.put_tags(db, "instance_profiles", row["id"], params.get("Tags") or [])
    return {"InstanceProfile": profile_shape(ctx, row, with_tags=True)}


@operation("iam", "GetInstanceProfile", resources=_profile_arn)
def get_instance_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    return {"InstanceProfile": profile_shape(ctx, require_profile(ctx, params["InstanceProfileName"]), True)}


@operation("iam", "ListInstanceProfiles", resources=list_arn("instance-profile"))
def list_instance_profiles(ctx: CallContext, params: Params) -> dict[str, Any]:
    page, more = page_of(ctx.cloud.store, "instance_profiles", "account_id = ?", [ctx.account_id], params)
    return {"InstanceProfiles": [profile_shape(ctx, r) for r in page], **more}


@operation("iam", "ListInstanceProfilesForRole", resources=_role_arn)
def list_instance_profiles_for_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    role = require_role(ctx, params["RoleName"])
    rows = ctx.cloud.store.all("select p.* from instance_profiles p join instance_profile_roles r "
                               "on r.profile_id = p.id where r.role_id = ?", [role["id"]])
    page, more = paginate(rows, params, key=lambda r: r["name"])
    return {"InstanceProfiles": [profile_shape(ctx, r) for r in page], **more}


@operation("iam", "AddRoleToInstanceProfile", resources=_profile_arn)
def add_role_to_instance_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    profile = require_profile(ctx, params["InstanceProfileName"])
    role = require_role(ctx, params["RoleName"])
    # AWS: putting a role in a profile hands it to whoever may launch with the profile, so it takes
    # iam:PassRole on the role as well.
    ctx.authorize("iam:PassRole", [arns.role(ctx.account_id, role["name"], role["path"])])
    with ctx.cloud.store.transaction() as db:
        if len(_roles_in(ctx, profile["id"])) >= ROLES_PER_PROFILE:
            raise limit_exceeded(f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_PROFILE}")
        db.table("instance_profile_roles").insert({"profile_id": profile["id"], "role_id": role["id"]})
    return {}


@operation("iam", "RemoveRoleFromInstanceProfile", resources=_profile_arn)
def remove_role_from_instance_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    profile = require_profile(ctx, params["InstanceProfileName"])
    role = require_role(ctx, params["RoleName"])
    with ctx.cloud.store.transaction() as db:
        if not ctx.cloud.store.one("select 1 from instance_profile_roles where profile_id = ? and role_id = ?",
                                   [profile["id"], role["id"]]):
            raise no_such_entity(f"Role {role['name']} in Instance Profile {profile['name']} cannot be found.")
        db.execute("delete from instance_profile_roles where profile_id = ? and role_id = ?",
                   [profile["id"], role["id"]])
    return {}


@operation("iam", "DeleteInstanceProfile", resources=_profile_arn)
def delete_instance_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    profile = require_profile(ctx, params["InstanceProfileName"])
    with ctx.cloud.store.transaction() as db:
        if _roles_in(ctx, profile["id"]):
            raise delete_conflict("Cannot delete entity, must remove roles from instance profile first.")
        tags.delete_tags(db, "instance_profiles", profile["id"])
        db.table("instance_profiles").delete(profile["id"])
    return {}


tags.register_tag_operations("InstanceProfile", "instance_profiles",
                             lambda ctx, params: require_profile(ctx, params["InstanceProfileName"]), _profile_arn)
