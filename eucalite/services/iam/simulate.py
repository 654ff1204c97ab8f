"""Policy simulation: SimulatePrincipalPolicy and SimulateCustomPolicy, through the same engine that
authorizes real calls, naming the statement that decided each result (with its position in the text)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from eucalite import arns
from eucalite.errors import no_such_entity
from eucalite.identity import Caller
from eucalite.policy import Decision, Policy, Principal, PrincipalKind, RequestContext, evaluate
from eucalite.services.context import CallContext
from eucalite.services.iam.common import Params, Row, require_group, require_role, require_user
from eucalite.services.iam.documents import validated
from eucalite.services.iam.pagination import paginate
from eucalite.services.registry import operation

_DECISIONS = {Decision.ALLOW: "allowed", Decision.EXPLICIT_DENY: "explicitDeny",
              Decision.IMPLICIT_DENY: "implicitDeny"}


@dataclass(frozen=True)
class Source:
    """A policy under simulation, with what MatchedStatements reports about it."""

    policy: Policy
    text: str
    type: str  # SourcePolicyType: user | group | role | user-managed | none


# -- statement positions ---------------------------------------------------------------------------------
def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def statement_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets [start, end) of each statement in a (valid) policy document."""
    decoder = json.JSONDecoder()
    i = _skip_ws(text, 0)
    if text[i:i + 1] != "{":
        return []
    i += 1
    while True:
        i = _skip_ws(text, i)
        if text[i:i + 1] != '"':
            return []
        key, i = scanstring(text, i + 1)
        i = _skip_ws(text, i)
        i = _skip_ws(text, i + 1)  # past the colon
        if key != "Statement":
            _, i = decoder.raw_decode(text, i)
        elif text[i] == "[":
            spans: list[tuple[int, int]] = []
            i += 1
            while True:
                i = _skip_ws(text, i)
                if text[i] == "]":
                    return spans
                _, end = decoder.raw_decode(text, i)
                spans.append((i, end))
                i = _skip_ws(text, end)
                if text[i] == ",":
                    i += 1
        else:
            _, end = decoder.raw_decode(text, i)
            return [(i, end)]
        i = _skip_ws(text, i)
        if text[i:i + 1] != ",":
            return []
        i += 1


def _position(text: str, offset: int) -> dict[str, int]:
    line = text.count("\n", 0, offset) + 1
    return {"Line": line, "Column": offset - (text.rfind("\n", 0, offset) + 1) + 1}


def _matched(source: Source, index: int) -> Row:
    out: Row = {"SourcePolicyId": source.policy.name, "SourcePolicyType": source.type}
    try:
        spans = statement_spans(source.text)
    except (ValueError, IndexError):
        spans = []
    if index < len(spans):
        start, end = spans[index]
        out["StartPosition"] = _position(source.text, start)
        out["EndPosition"] = _position(source.text, end)
    return out


# -- gathering a principal's policies ----------------------------------------------------------------------
def _inline(ctx: CallContext, principal_type: str, principal_id: str) -> list[Source]:
    rows = ctx.cloud.store.all("select name, document from inline_policies where principal_type = ? and "
                               "principal_id = ? order by name", [principal_type, principal_id])
    return [Source(Policy(r["name"], validated(r["document"]), f"{principal_type} inline"), r["document"],
                   principal_type) for r in rows]


def _attached(ctx: CallContext, principal_type: str, principal_id: str) -> list[Source]:
    rows = ctx.cloud.store.all(
        "select p.name, v.document from policy_attachments a join managed_policies p on p.id = a.policy_id "
        "join policy_versions v on v.policy_id = p.id and v.version_id = p.default_version "
        "where a.principal_type = ? and a.principal_id = ? order by p.name", [principal_type, principal_id])
    return [Source(Policy(r["name"], validated(r["document"]), "managed"), r["document"], "user-managed")
            for r in rows]


def _sources_of(ctx: CallContext, principal_type: str, principal_id: str) -> list[Source]:
    sources = _inline(ctx, principal_type, principal_id) + _attached(ctx, principal_type, principal_id)
    if principal_type == "user":
        for g in ctx.cloud.store.all("select group_id from group_members where user_id = ?", [principal_id]):
            sources += _inline(ctx, "group", g["group_id"]) + _attached(ctx, "group", g["group_id"])
    return sources


def _inputs(params: Params) -> list[Source]:
    return [Source(Policy(f"PolicyInputList.{i}", validated(text), "input"), text, "none")
            for i, text in enumerate(params.get("PolicyInputList") or [], 1)]


def _context_entries(params: Params) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for entry in params.get("ContextEntries") or []:
        values = entry.get("ContextKeyValues") or []
        list_type = str(entry.get("ContextKeyType", "")).endswith("List")
        keys[entry["ContextKeyName"]] = values if list_type or len(values) != 1 else values[0]
    return keys


# -- simulation ----------------------------------------------------------------------------------------------
def _simulate(ctx: CallContext, params: Params, principal: Principal, caller: Caller, sources: list[Source],
              admin: bool = False) -> dict[str, Any]:
    keys = ctx.cloud.authorizer.context_keys(caller, _context_entries(params))
    by_name = {(s.policy.name, s.policy.source): s for s in sources}
    policies = [s.policy for s in sources]
    results = []
    for action in params["ActionNames"]:
        for resource in params.get("ResourceArns") or ["*"]:
            request = RequestContext(action, (resource,), principal, keys)
            result: Row = {"EvalActionName": action, "EvalResourceName": resource}
            if admin:
                # eucalite (like Eucalyptus) lets an account's admin do anything in its account.
                result.update(EvalDecision="allowed", MatchedStatements=[
                    {"SourcePolicyId": "account-admin", "SourcePolicyType": "none"}], MissingContextValues=[])
                results.append(result)
                continue
            reason = evaluate(request, policies)
            matched = []
            if reason.decision is not Decision.IMPLICIT_DENY and reason.statement_index is not None:
                source = by_name.get((reason.policy_name or "", reason.policy_source or ""))
                if source is not None:
                    matched.append(_matched(source, reason.statement_index))
            result.update(EvalDecision=_DECISIONS[reason.decision], MatchedStatements=matched,
                          MissingContextValues=_missing_keys(request, policies),
                          EvalDecisionDetails={})
            results.append(result)
    page, more = paginate(list(enumerate(results)), params, key=lambda r: f"{r[0]:08d}")
    return {"EvaluationResults": [r for _, r in page], **more}


def _missing_keys(request: RequestContext, policies: list[Policy]) -> list[str]:
    """Condition keys of applicable statements that the request context lacks (AWS reports these)."""
    missing: list[str] = []
    for policy in policies:
        for statement in policy.document.statements:
            if not statement.matches_action(request.action):
                continue
            if not all(statement.matches_resource(r, request.resolve) for r in request.resources):
                continue
            for condition in statement.conditions:
                if request.lookup(condition.lookup_key) is None and condition.key not in missing:
                    missing.append(condition.key)
    return missing


def _source_arn(ctx: CallContext, params: Params) -> list[str]:
    return [params["PolicySourceArn"]]


# Inputs that would change the results and that the simulator does not model: refused, not ignored.
_UNMODELLED = ("PermissionsBoundaryPolicyInputList", "ResourcePolicy", "ResourceOwner", "ResourceHandlingOption")


@operation("iam", "SimulatePrincipalPolicy", resources=_source_arn,
           unsupported=(*_UNMODELLED, "PolicyExclusionList"))
def simulate_principal_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    arn = params["PolicySourceArn"]
    try:
        _, _, account, kind, rest = arns.split(arn)
    except ValueError:
        raise no_such_entity(f"PolicySourceArn {arn} cannot be found.") from None
    name = rest.rsplit("/", 1)[-1]
    if account != ctx.account_id or kind not in ("user", "group", "role"):
        raise no_such_entity(f"PolicySourceArn {arn} cannot be found.")
    base = dict(account_id=ctx.account_id, account_name=ctx.caller.account_name, access_key_id="",
                source_ip=ctx.caller.source_ip)
    if kind == "user":
        row = require_user(ctx, name)
        caller = Caller(arn=arn, kind="user", principal_id=row["id"], user_id=row["id"], user_name=row["name"],
                        **base)  # type: ignore[arg-type]
        principal = Principal(arn, ctx.account_id, PrincipalKind.USER, user_name=row["name"], user_id=row["id"])
        return _simulate(ctx, params, principal, caller, _sources_of(ctx, "user", row["id"]) + _inputs(params),
                         admin=bool(row["is_admin"]))
    if kind == "role":
        row = require_role(ctx, name)
        caller = Caller(arn=arn, kind="assumed-role", principal_id=row["id"], role_id=row["id"],
                        role_name=row["name"], **base)  # type: ignore[arg-type]
        principal = Principal(arn, ctx.account_id, PrincipalKind.ASSUMED_ROLE, role_name=row["name"],
                              user_id=row["id"])
        return _simulate(ctx, params, principal, caller, _sources_of(ctx, "role", row["id"]) + _inputs(params))
    row = require_group(ctx, name)
    caller = Caller(arn=arn, kind="user", principal_id=row["id"], **base)  # type: ignore[arg-type]
    principal = Principal(arn, ctx.account_id, PrincipalKind.USER, user_id=row["id"])
    return _simulate(ctx, params, principal, caller, _sources_of(ctx, "group", row["id"]) + _inputs(params))


@operation("iam", "SimulateCustomPolicy", unsupported=(*_UNMODELLED, "OrderedOrganizationPolicyInputList"))
def simulate_custom_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.caller
    principal = Principal(params.get("CallerArn") or caller.arn, caller.account_id, PrincipalKind.USER
                          if caller.kind == "user" else PrincipalKind.ASSUMED_ROLE, user_name=caller.user_name,
                          role_name=caller.role_name, user_id=caller.principal_id)
    return _simulate(ctx, params, principal, caller, _inputs(params))



