"""Customer managed policies and their versions: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy,
CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, SetDefaultPolicyVersion, DeletePolicyVersion."""

from __future__ import annotations

from typing import Any

from eucalite import arns
from eucalite.errors import delete_conflict, entity_exists, limit_exceeded, no_such_entity
from eucalite.services.context import CallContext
from eucalite.services.iam import documents, tags
from eucalite.services.iam.common import Params, Row, list_arn, new_id, now
from eucalite.services.iam.pagination import page_of, paginate
from eucalite.services.registry import operation

MAX_VERSIONS = 5


def policy_arn(row: Row) -> str:
    return arns.policy(row["account_id"], row["name"], row["path"])


def _not_found(arn: str) -> Exception:
    return no_such_entity(f"Policy {arn} does not exist or is not attachable.")


def require_policy(ctx: CallContext, arn: str) -> Row:
    """The caller's account's policy with this ARN (AWS managed policies do not exist here)."""
    try:
        service, _, account, kind, rest = arns.split(arn)
    except ValueError:
        raise _not_found(arn) from None
    path, _, name = ("/" + rest).rpartition("/")
    if service != "iam" or kind != "policy" or account != ctx.account_id:
        raise _not_found(arn)
    row = ctx.cloud.store.one("select * from managed_policies where account_id = ? and name = ? and path = ?",
                              [ctx.account_id, name, path + "/"])
    if row is None:
        raise _not_found(arn)
    return row


def _arn_param(ctx: CallContext, params: Params) -> list[str]:
    return [params["PolicyArn"]]


def _new_arn(ctx: CallContext, params: Params) -> list[str]:
    return [arns.policy(ctx.account_id, params["PolicyName"], params.get("Path") or "/")]


def attachment_count(ctx: CallContext, policy_id: str) -> int:
    row = ctx.cloud.store.one("select count(*) as n from policy_attachments where policy_id = ?", [policy_id])
    return int(row["n"]) if row else 0


def policy_shape(ctx: CallContext, row: Row, full: bool = False) -> Row:
    out: Row = {
        "PolicyName": row["name"],
        "PolicyId": row["id"],
        "Arn": policy_arn(row),
        "Path": row["path"],
        "DefaultVersionId": row["default_version"],
        "AttachmentCount": attachment_count(ctx, row["id"]),
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": row["created"],
        "UpdateDate": row["updated"],
    }
    if full:
        if row.get("description"):
            out["Description"] = row["description"]
        if policy_tags := tags.tags_of(ctx, "managed_policies", row["id"]):
            out["Tags"] = policy_tags
    return out


@operation("iam", "CreatePolicy", resources=_new_arn, condition_keys=tags.request_tag_keys)
def create_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    name, text = params["PolicyName"], params["PolicyDocument"]
    documents.check_managed(text)
    stamp = now(ctx)
    row = {"id": new_id("ANPA"), "account_id": ctx.account_id, "name": name, "path": params.get("Path") or "/",
           "description": params.get("Description") or "", "created": stamp, "updated": stamp,
           "default_version": "v1", "next_version": 2}
    with ctx.cloud.store.transaction() as db:
        if ctx.cloud.store.one("select 1 from managed_policies where account_id = ? and lower(name) = lower(?)",
                               [ctx.account_id, name]):
            raise entity_exists(f"A policy called {name} already exists. Duplicate names are not allowed.")
        db.table("managed_policies").insert(row)
        db.table("policy_versions").insert({"policy_id": row["id"], "version_id": "v1", "document": text,
                                      "created": stamp})
        tags.put_tags(db, "managed_policies", row["id"], params.get("Tags") or [])
    return {"Policy": policy_shape(ctx, row, full=True)}


@operation("iam", "GetPolicy", resources=_arn_param)
def get_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    return {"Policy": policy_shape(ctx, require_policy(ctx, params["PolicyArn"]), full=True)}


@operation("iam", "ListPolicies", resources=list_arn("policy"))
def list_policies(ctx: CallContext, params: Params) -> dict[str, Any]:
    page: list[Row]
    if params.get("Scope") == "AWS" or params.get("PolicyUsageFilter") == "PermissionsBoundary":
        # eucalite has no AWS managed policies and no permissions boundaries
        page, more = paginate([], params, key=lambda r: r["name"])
    else:
        where = "account_id = ?"
        if params.get("OnlyAttached"):
            where += (" and exists (select 1 from policy_attachments a"
                      " where a.policy_id = managed_policies.id)")
        page, more = page_of(ctx.cloud.store, "managed_policies", where, [ctx.account_id], params)
    return {"Policies": [policy_shape(ctx, r) for r in page], **more}


@operation("iam", "DeletePolicy", resources=_arn_param)
def delete_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy = require_policy(ctx, params["PolicyArn"])
    store = ctx.cloud.store
    pid = policy["id"]
    with store.transaction() as db:
        if attachment_count(ctx, pid):
            raise delete_conflict("Cannot delete a policy attached to entities.")
        if store.one("select 1 from policy_versions where policy_id = ? and version_id != ?",
                     [pid, policy["default_version"]]):
            raise delete_conflict("This policy has more than one version. Before you delete a policy, you must "
                                  "delete the policy's versions. The default version is deleted with the policy.")
        db.execute("delete from policy_versions where policy_id = ?", [pid])
        tags.delete_tags(db, "managed_policies", pid)
        db.table("managed_policies").delete(pid)
    return {}


# -- versions ------------------------------------------------------------------------------------------------
def _versions(ctx: CallContext, policy_id: str) -> list[Row]:
    return ctx.cloud.store.all("select * from policy_versions where policy_id = ?", [policy_id])


def _version_number(version_id: str) -> int:
    return int(version_id[1:].split(".", 1)[0])


def _version_shape(row: Row, default: str, with_document: bool) -> Row:
    out: Row = {"VersionId": row["version_id"], "IsDefaultVersion": row["version_id"] == default,
                "CreateDate": row["created"]}
    if with_document:
        out["Document"] = row["document"]
    return out


def _require_version(ctx: CallContext, policy: Row, version_id: str) -> Row:
    row = ctx.cloud.store.one("select * from policy_versions where policy_id = ? and version_id = ?",
                              [policy["id"], version_id])
    if row is None:
        raise no_such_entity(f"Policy {policy_arn(policy)} version {version_id} does not exist or is not "
                             "attachable.")
    return row


@operation("iam", "CreatePolicyVersion", resources=_arn_param)
def create_policy_version(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy = require_policy(ctx, params["PolicyArn"])
    text = params["PolicyDocument"]
    documents.check_managed(text)
    stamp = now(ctx)
    with ctx.cloud.store.transaction() as db:
        if len(_versions(ctx, policy["id"])) >= MAX_VERSIONS:
            raise limit_exceeded(f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a "
                                 "new version, you must delete an existing version.")
        version_id = f"v{policy['next_version']}"
        row = {"policy_id": policy["id"], "version_id": version_id, "document": text, "created": stamp}
        db.table("policy_versions").insert(row)
        changes: Row = {"next_version": policy["next_version"] + 1, "updated": stamp}
        if params.get("SetAsDefault"):
            changes["default_version"] = version_id
        db.table("managed_policies").update(policy["id"], changes)
    default = str(changes.get("default_version", policy["default_version"]))
    return {"PolicyVersion": _version_shape(row, default, with_document=False)}


@operation("iam", "GetPolicyVersion", resources=_arn_param)
def get_policy_version(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy = require_policy(ctx, params["PolicyArn"])
    row = _require_version(ctx, policy, params["VersionId"])
    return {"PolicyVersion": _version_shape(row, policy["default_version"], with_document=True)}


@operation("iam", "ListPolicyVersions", resources=_arn_param)
def list_policy_versions(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy = require_policy(ctx, params["PolicyArn"])
    # Newest first, as AWS lists them.
    page, more = paginate(_versions(ctx, policy["id"]), params,
                          key=lambda r: f"{10**9 - _version_number(r['version_id']):010d}")
    return {"Versions": [_version_shape(r, policy["default_version"], False) for r in page], **more}


@operation("iam", "SetDefaultPolicyVersion", resources=_arn_param)
def set_default_policy_version(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy = require_policy(ctx, params["PolicyArn"])
    row = _require_version(ctx, policy, params["VersionId"])
    with ctx.cloud.store.transaction() as db:
        db.table("managed_policies").update(policy["id"], {"default_version": row["version_id"], "updated": now(ctx)})
    return {}


@operation("iam", "DeletePolicyVersion", resources=_arn_param)
def delete_policy_version(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy = require_policy(ctx, params["PolicyArn"])
    row = _require_version(ctx, policy, params["VersionId"])
    if row["version_id"] == policy["default_version"]:
        raise delete_conflict("Cannot delete the default version of a policy.")
    with ctx.cloud.store.transaction() as db:
        db.execute("delete from policy_versions where policy_id = ? and version_id = ?",
                   [policy["id"], row["version_id"]])
    return {}


tags.register_tag_operations("Policy", "managed_policies", lambda ctx, params: require_policy(ctx, params["PolicyArn"]),
                             _arn_param)
