"""STS AssumeRole: the trust policy must trust the caller, and the caller's policies must allow it."""

from __future__ import annotations

from typing import Any

from eucalite.authz import principal_of
from eucalite.credentials.minter import packed_policy_size
from eucalite.errors import ServiceError, malformed_policy, validation_error
from eucalite.policy import MalformedPolicy, PolicyKind, parse_policy
from eucalite.services.context import CallContext
from eucalite.services.registry import operation
from eucalite.services.sts.roles import role_by_arn, trust_allows

CHAINED_SESSION_LIMIT = 3600  # AWS caps role chaining at one hour


def _denied(ctx: CallContext, role_arn: str) -> ServiceError:
    return ServiceError("AccessDenied", f"User: {ctx.caller.arn} is not authorized to perform: sts:AssumeRole on "
                        f"resource: {role_arn}", 403)


@operation("sts", "AssumeRole", authorizes_itself=True)
def assume_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    role_arn = params["RoleArn"]
    policy = params.get("Policy")
    policy_arns = tuple(p["arn"] for p in params.get("PolicyArns", []) if p.get("arn"))
    if policy:
        try:
            parse_policy(policy, PolicyKind.SESSION)
        except MalformedPolicy as exc:
            raise malformed_policy(str(exc)) from None
    # Identity side first, so an unknown role and a forbidden one look the same to the caller.
    ctx.authorize("sts:AssumeRole", [role_arn], cross_account=True)
    role = role_by_arn(ctx.cloud.store, role_arn)
    if role is None:
        raise _denied(ctx, role_arn)
    keys: dict[str, Any] = {"aws:PrincipalArn": ctx.caller.role_arn or ctx.caller.arn,
                            "aws:PrincipalAccount": ctx.caller.account_id,
                            "aws:PrincipalType": ctx.caller.principal_type,
                            "aws:SourceIp": ctx.caller.source_ip, "sts:RoleSessionName": params["RoleSessionName"]}
    if params.get("ExternalId") is not None:
        keys["sts:ExternalId"] = params["ExternalId"]
    verdict = trust_allows(ctx.cloud.store, role, principal_of(ctx.caller), keys)
    if verdict is None or not verdict.allowed:
        raise _denied(ctx, role_arn)
    tags = {t["Key"]: t["Value"] for t in params.get("Tags", [])}
    # Session tags and a source identity need their own permission, in the trust policy and the caller's.
    extra_actions = []
    if tags or params.get("TransitiveTagKeys"):
        keys["aws:RequestTag"] = tags
        keys["aws:TagKeys"] = list(tags)
        extra_actions.append("sts:TagSession")
    if params.get("SourceIdentity"):
        keys["sts:SourceIdentity"] = params["SourceIdentity"]
        extra_actions.append("sts:SetSourceIdentity")
    for action in extra_actions:
        ctx.authorize(action, [role_arn], {f"aws:RequestTag/{k}": v for k, v in tags.items()}, cross_account=True)
        verdict = trust_allows(ctx.cloud.store, role, principal_of(ctx.caller), keys, action)
        if verdict is None or not verdict.allowed:
            raise ServiceError("AccessDenied", f"User: {ctx.caller.arn} is not authorized to perform: {action} on "
                               f"resource: {role_arn}", 403)
    if params.get("SerialNumber") or params.get("TokenCode"):
        # eucalite has no MFA devices, so no serial number can name one and no code can be valid.
        raise ServiceError("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                           403)
    chained = ctx.caller.kind == "assumed-role"
    duration = params.get("DurationSeconds", 3600)
    if chained and duration > CHAINED_SESSION_LIMIT:
        raise validation_error("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
                               "by role chaining.")
    if duration > (role["max_session_duration"] or 3600):
        raise validation_error("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    size = packed_policy_size(policy, policy_arns)
    if size > 100:
        raise ServiceError("PackedPolicyTooLarge", f"Packed policy consumes {size}% of allotted space, please use "
                           "smaller policy.", 400)
    session = params["RoleSessionName"]
    minted = ctx.cloud.minter.mint(account_id=role["account_id"], kind="assumed-role", duration=duration,
                                   role_id=role["id"], role_name=role["name"], session_name=session,
                                   policy=policy, policy_arns=policy_arns, chained=chained,
                                   role_path=role["path"], tags=tags)
    with ctx.cloud.store.transaction() as db:
        db.table("roles").update(role["id"], {"last_used": minted.issued.strftime("%Y-%m-%dT%H:%M:%SZ")})
    result: dict[str, Any] = {
        "Credentials": minted.as_sts(),
        "AssumedRoleUser": {"AssumedRoleId": f"{role['id']}:{session}",
                            "Arn": f"arn:aws:sts::{role['account_id']}:assumed-role/{role['name']}/{session}"},
    }
    if size:
        result["PackedPolicySize"] = size
    return result
