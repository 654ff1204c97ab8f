"""Attaching managed policies to users, groups and roles: Attach/Detach{User,Group,Role}Policy and
ListAttached{User,Group,Role}Policies (one implementation per verb, registered per principal type),
and ListEntitiesForPolicy."""

from __future__ import annotations

import functools
from typing import Any

from eucalite.errors import limit_exceeded, no_such_entity
from eucalite.services.context import CallContext
from eucalite.services.iam.common import PRINCIPAL_TYPES, Params, PrincipalType
from eucalite.services.iam.managed_policies import policy_arn, require_policy
from eucalite.services.iam.pagination import paginate
from eucalite.services.registry import operation

MAX_ATTACHED = 10  # AWS's default quota per user, group and role


def _policy_arn_key(ctx: CallContext, params: Params) -> dict[str, Any]:
    return {"iam:PolicyARN": params["PolicyArn"]}


def attach(kind: PrincipalType, ctx: CallContext, params: Params) -> dict[str, Any]:
    principal = kind.row(ctx, params)
    policy = require_policy(ctx, params["PolicyArn"])
    store = ctx.cloud.store
    with store.transaction() as db:
        key = {"policy_id": policy["id"], "principal_type": kind.type, "principal_id": principal["id"]}
        if store.one("select 1 from policy_attachments where policy_id = ? and principal_type = ? and "
                     "principal_id = ?", list(key.values())):
            return {}  # attaching twice is not an error in AWS
        count = store.one("select count(*) as n from policy_attachments where principal_type = ? and "
                          "principal_id = ?", [kind.type, principal["id"]])
        if count and count["n"] >= MAX_ATTACHED:
            raise limit_exceeded(f"Cannot exceed quota for PoliciesPer{kind.noun}: {MAX_ATTACHED}")
        db.table("policy_attachments").insert(key)
    return {}


def detach(kind: PrincipalType, ctx: CallContext, params: Params) -> dict[str, Any]:
    principal = kind.row(ctx, params)
    policy = require_policy(ctx, params["PolicyArn"])
    args = [policy["id"], kind.type, principal["id"]]
    with ctx.cloud.store.transaction() as db:
        if not ctx.cloud.store.one("select 1 from policy_attachments where policy_id = ? and principal_type = ? "
                                   "and principal_id = ?", args):
            raise no_such_entity(f"Policy {params['PolicyArn']} was not found.")
        db.execute("delete from policy_attachments where policy_id = ? and principal_type = ? and "
                   "principal_id = ?", args)
    return {}


def list_attached(kind: PrincipalType, ctx: CallContext, params: Params) -> dict[str, Any]:
    principal = kind.row(ctx, params)
    rows = ctx.cloud.store.all("select p.* from managed_policies p join policy_attachments a on a.policy_id = p.id "
                               "where a.principal_type = ? and a.principal_id = ?", [kind.type, principal["id"]])
    prefix = params.get("PathPrefix") or "/"
    rows = [r for r in rows if r["path"].startswith(prefix)]
    page, more = paginate(rows, params, key=lambda r: r["name"])
    return {"AttachedPolicies": [{"PolicyName": r["name"], "PolicyArn": policy_arn(r)} for r in page], **more}


for _kind in PRINCIPAL_TYPES:
    operation("iam", f"Attach{_kind.noun}Policy", resources=_kind.resources,
              condition_keys=_policy_arn_key)(functools.partial(attach, _kind))
    operation("iam", f"Detach{_kind.noun}Policy", resources=_kind.resources,
              condition_keys=_policy_arn_key)(functools.partial(detach, _kind))
    operation("iam", f"ListAttached{_kind.noun}Policies",
              resources=_kind.resources)(functools.partial(list_attached, _kind))


@operation("iam", "ListEntitiesForPolicy", resources=lambda ctx, params: [params["PolicyArn"]])
def list_entities_for_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy = require_policy(ctx, params["PolicyArn"])
    wanted = params.get("EntityFilter")
    prefix = params.get("PathPrefix") or "/"
    store = ctx.cloud.store
    entities: list[tuple[str, dict[str, Any]]] = []
    for kind, table in (("user", "users"), ("group", "groups"), ("role", "roles")):
        if wanted and wanted not in (kind.capitalize(), "LocalManagedPolicy"):
            continue
        for r in store.all(f"select t.* from {table} t join policy_attachments a on a.principal_id = t.id "
                           "where a.principal_type = ? and a.policy_id = ?", [kind, policy["id"]]):
            if r["path"].startswith(prefix):
                entities.append((kind, r))
    page, more = paginate(entities, params, key=lambda e: f"{e[0]}:{e[1]['name']}")
    out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    for kind, r in page:
        if kind == "group":
            out["PolicyGroups"].append({"GroupName": r["name"], "GroupId": r["id"]})
        elif kind == "user":
            out["PolicyUsers"].append({"UserName": r["name"], "UserId": r["id"]})
        else:
            out["PolicyRoles"].append({"RoleName": r["name"], "RoleId": r["id"]})
    return {**out, **more}
