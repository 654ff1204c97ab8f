"""Shared lookups for IAM handlers: find-or-NoSuchEntity within the caller's account, ARNs for
authorization, and the response shapes of users, groups and roles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eucalite import arns, ids
from eucalite.clock import iso8601
from eucalite.errors import entity_exists, no_such_entity
from eucalite.services.context import CallContext

Row = dict[str, Any]
Params = dict[str, Any]


def now(ctx: CallContext) -> str:
    return iso8601(ctx.cloud.clock.now())


def new_id(prefix: str) -> str:
    return ids.iam_unique_id(prefix)


def target_user_name(ctx: CallContext, params: Params) -> str:
    """Key and user operations default to the caller's own user when UserName is absent (AWS semantics)."""
    name = params.get("UserName")
    if name:
        return str(name)
    if ctx.caller.user_name:
        return ctx.caller.user_name
    raise no_such_entity("Must specify userName when calling with non-User credentials")


def require_user(ctx: CallContext, name: str) -> Row:
    user = ctx.cloud.identities.user(ctx.account_id, name)
    if user is None:
        raise no_such_entity(f"The user with name {name} cannot be found.")
    return user


def user_arn_of(ctx: CallContext, params: Params) -> list[str]:
    name = target_user_name(ctx, params)
    user = ctx.cloud.identities.user(ctx.account_id, name)
    return [arns.user(ctx.account_id, name, user["path"] if user else "/")]


def user_shape(row: Row) -> Row:
    out: Row = {
        "Path": row["path"],
        "UserName": row["name"],
        "UserId": row["id"],
        "Arn": arns.user(row["account_id"], row["name"], row["path"]),
        "CreateDate": row["created"],
    }
    return out


# -- entities other than users: one lookup, parameterized by table --------------------------------------
def find(ctx: CallContext, table: str, name: str) -> Row | None:
    return ctx.cloud.store.one(f"select * from {table} where account_id = ? and name = ?", [ctx.account_id, name])


def ensure_unused(ctx: CallContext, table: str, name: str, message: str) -> None:
    """IAM names are unique within an account regardless of case."""
    if ctx.cloud.store.one(f"select 1 from {table} where account_id = ? and lower(name) = lower(?)",
                           [ctx.account_id, name]):
        raise entity_exists(message)


def require_role(ctx: CallContext, name: str) -> Row:
    row = find(ctx, "roles", name)
    if row is None:
        raise no_such_entity(f"The role with name {name} cannot be found.")
    return row


def require_group(ctx: CallContext, name: str) -> Row:
    row = find(ctx, "groups", name)
    if row is None:
        raise no_such_entity(f"The group with name {name} cannot be found.")
    return row


def require_profile(ctx: CallContext, name: str) -> Row:
    row = find(ctx, "instance_profiles", name)
    if row is None:
        raise no_such_entity(f"Instance Profile {name} cannot be found.")
    return row


def role_shape(row: Row, tags: list[Row] | None = None, full: bool = False) -> Row:
    """A Role as ListRoles/GetInstanceProfile show it; ``full`` adds what only GetRole returns."""
    out: Row = {
        "Path": row["path"],
        "RoleName": row["name"],
        "RoleId": row["id"],
        "Arn": arns.role(row["account_id"], row["name"], row["path"]),
        "CreateDate": row["created"],
        "AssumeRolePolicyDocument": row["trust_policy"],
        "MaxSessionDuration": row["max_session_duration"],
    }
    if row.get("description"):
        out["Description"] = row["description"]
    if full:
        out["RoleLastUsed"] = {"LastUsedDate": row["last_used"]} if row.get("last_used") else {}
        if tags:
            out["Tags"] = tags
    return out


def group_shape(row: Row) -> Row:
    return {"Path": row["path"], "GroupName": row["name"], "GroupId": row["id"],
            "Arn": arns.group(row["account_id"], row["name"], row["path"]), "CreateDate": row["created"]}


# -- principals that carry policies (users, groups, roles) ---------------------------------------------
@dataclass(frozen=True)
class PrincipalType:
    """What inline policies and attachments need to know about users, groups and roles."""

    type: str  # "user" | "group" | "role": inline_policies.principal_type, policy_attachments.principal_type
    noun: str  # "User" | "Group" | "Role": operation names (PutUserPolicy) and parameter names (UserName)
    require: Callable[[CallContext, str], Row]
    arn: Callable[[str, str, str], str]

    @property
    def name_param(self) -> str:
        return f"{self.noun}Name"

    def row(self, ctx: CallContext, params: Params) -> Row:
        return self.require(ctx, params[self.name_param])

    def resources(self, ctx: CallContext, params: Params) -> list[str]:
        """The principal's ARN, with its path when it exists (authorization runs before the lookup)."""
        name = params[self.name_param]
        table = {"user": "users", "group": "groups", "role": "roles"}[self.type]
        row = find(ctx, table, name)
        return [self.arn(ctx.account_id, name, row["path"] if row else "/")]


PRINCIPAL_TYPES = (
    PrincipalType("user", "User", require_user, arns.user),
    PrincipalType("group", "Group", require_group, arns.group),
    PrincipalType("role", "Role", require_role, arns.role),
)


def list_arn(kind: str) -> Callable[[CallContext, Params], list[str]]:
    """Account-level resource of List* calls: arn:aws:iam::ACCT:role/PATHPREFIX, as AWS reports it."""
    def resources(ctx: CallContext, params: Params) -> list[str]:
        return [f"arn:aws:iam::{ctx.account_id}:{kind}{params.get('PathPrefix') or '/'}"]
    return resources


def named_arn(kind: str, table: str, param: str) -> Callable[[CallContext, Params], list[str]]:
    """The ARN of the entity named by ``param``, with its stored path (or "/" when it does not exist yet)."""
    def resources(ctx: CallContext, params: Params) -> list[str]:
        name = params[param]
        row = find(ctx, table, name)
        path = row["path"] if row else params.get("Path") or "/"
        return [arns.iam(ctx.account_id, kind, name, path)]
    return resources
