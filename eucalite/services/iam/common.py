"""Shared lookups for IAM handlers: find-or-NoSuchEntity, and whose user a call is about."""

from __future__ import annotations

from typing import Any

from eucalite import arns
from eucalite.errors import no_such_entity
from eucalite.services.context import CallContext


def target_user_name(ctx: CallContext, params: dict[str, Any]) -> str:
    """Key and user operations default to the caller's own user when UserName is absent (AWS semantics)."""
    name = params.get("UserName")
    if name:
        return str(name)
    if ctx.caller.user_name:
        return ctx.caller.user_name
    raise no_such_entity("Must specify userName when calling with non-User credentials")


def require_user(ctx: CallContext, name: str) -> dict[str, Any]:
    user = ctx.cloud.identities.user(ctx.account_id, name)
    if user is None:
        raise no_such_entity(f"The user with name {name} cannot be found.")
    return user


def user_arn_of(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    name = target_user_name(ctx, params)
    user = ctx.cloud.identities.user(ctx.account_id, name)
    return [arns.user(ctx.account_id, name, user["path"] if user else "/")]


def user_shape(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row["path"],
        "UserName": row["name"],
        "UserId": row["id"],
        "Arn": arns.user(row["account_id"], row["name"], row["path"]),
        "CreateDate": row["created"],
    }
    return out
