"""Authorization: gather the caller's policies from the store and ask the pure policy engine.

Account admins may do anything inside their own account (Eucalyptus semantics); nothing crosses
accounts except the cloud admin's account operations; everyone else gets what their policies allow.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eucalite.clock import iso8601
from eucalite.credentials.tokens import Keyring, seal_message
from eucalite.errors import ServiceError
from eucalite.identity import Caller
from eucalite.policy import (
    Decision,
    MalformedPolicy,
    Policy,
    PolicyDocument,
    PolicyKind,
    Principal,
    PrincipalKind,
    Reason,
    RequestContext,
    evaluate,
    evaluate_with_boundaries,
    parse_policy,
)
from eucalite.store.db import Memo, Store

if TYPE_CHECKING:
    from eucalite.clock import Clock
    from eucalite.services.context import CallContext

log = logging.getLogger(__name__)
AUTH_MESSAGE_AAD = b"eucalite-ec2-authorization-message"
# Every table a principal's identity or session policies are read from: a write to any of them drops the
# remembered policy sets (Memo), so a decision never sees a stale policy.
_POLICY_TABLES = ("roles", "users", "groups", "group_members", "inline_policies", "policy_attachments",
                  "managed_policies", "policy_versions")


@functools.lru_cache(maxsize=4096)
def parsed(text: str, kind: PolicyKind = PolicyKind.IDENTITY) -> PolicyDocument:
    return parse_policy(text, kind)


def principal_of(caller: Caller) -> Principal:
    kind = {"user": PrincipalKind.USER, "assumed-role": PrincipalKind.ASSUMED_ROLE,
            "federated-user": PrincipalKind.FEDERATED_USER}[caller.kind]
    return Principal(arn=caller.arn, account=caller.account_id, kind=kind, user_name=caller.user_name,
                     role_name=caller.role_name, session_name=caller.session_name, user_id=caller.principal_id,
                     role_path=caller.role_path)


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) >= 6 and arn.startswith("arn:") and parts[4] else None


class Authorizer:
    def __init__(self, store: Store, clock: Clock, keyring: Keyring, region: str) -> None:
        self.store = store
        self.clock = clock
        self.keyring = keyring
        self.region = region
        self._identity_memo = Memo(store, _POLICY_TABLES)
        self._session_memo = Memo(store, _POLICY_TABLES)

    # -- policy sources ------------------------------------------------------------------------------------
    def _inline(self, principal_type: str, principal_id: str, label: str) -> list[Policy]:
        rows = self.store.all("select name, document from inline_policies where principal_type = ? and "
                              "principal_id = ? order by name", [principal_type, principal_id])
        return [Policy(r["name"], parsed(r["document"]), label) for r in rows]

    def _attached(self, principal_type: str, principal_id: str) -> list[Policy]:
        rows = self.store.all(
            "select p.name, p.account_id, p.path, v.document from policy_attachments a "
            "join managed_policies p on p.id = a.policy_id "
            "join policy_versions v on v.policy_id = p.id and v.version_id = p.default_version "
            "where a.principal_type = ? and a.principal_id = ?", [principal_type, principal_id])
        return [Policy(r["name"], parsed(r["document"]),
                       f"managed arn:aws:iam::{r['account_id']}:policy{r['path']}{r['name']}") for r in rows]

    def identity_policies(self, caller: Caller) -> list[Policy]:
        key = (caller.kind, caller.role_id) if caller.kind == "assumed-role" else ("user", caller.user_id or "")
        return list(self._identity_memo.get(key, lambda: self._identity_policies(caller)))

    def _identity_policies(self, caller: Caller) -> list[Policy]:
        if caller.kind == "assumed-role":
            role = self.store.one("select id from roles where id = ?", [caller.role_id])
            if role is None:  # a deleted role leaves its sessions with nothing
                return []
            return self._inline("role", role["id"], "role inline") + self._attached("role", role["id"])
        uid = caller.user_id or ""
        policies = self._inline("user", uid, "user inline") + self._attached("user", uid)
        for g in self.store.all("select g.id, g.name from group_members m join groups g on g.id = m.group_id "
                                "where m.user_id = ?", [uid]):
            policies += self._inline("group", g["id"], f"group {g['name']} inline")
            policies += self._attached("group", g["id"])
        return policies

    def session_policies(self, caller: Caller) -> list[Policy] | None:
        if not caller.session_policy and not caller.session_policy_arns:
            return None
        key = (caller.account_id, caller.session_policy, tuple(caller.session_policy_arns))
        return list(self._session_memo.get(key, lambda: self._session_policies(caller)))

    def _session_policies(self, caller: Caller) -> list[Policy]:
        out: list[Policy] = []
        if caller.session_policy:
            out.append(Policy("session-policy", parsed(caller.session_policy, PolicyKind.SESSION), "session"))
        for arn in caller.session_policy_arns:
            account = _arn_account(arn) or caller.account_id
            name = arn.rsplit("/", 1)[-1]
            row = self.store.one(
                "select v.document from managed_policies p join policy_versions v on v.policy_id = p.id and "
                "v.version_id = p.default_version where p.account_id = ? and p.name = ?", [account, name])
            if row:
                out.append(Policy(name, parsed(row["document"]), f"session managed {arn}"))
        return out

    # -- decisions -----------------------------------------------------------------------------------------
    def context_keys(self, caller: Caller, extra: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        keys: dict[str, Any] = {
            "aws:CurrentTime": iso8601(now),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:SourceIp": caller.source_ip,
            "aws:SecureTransport": "false",
            "aws:userid": caller.principal_id,
            "aws:PrincipalArn": caller.role_arn or caller.arn,
            "aws:PrincipalAccount": caller.account_id,
            "aws:PrincipalType": caller.principal_type,
            "aws:RequestedRegion": self.region,
        }
        if caller.user_name:
            keys["aws:username"] = caller.user_name
        for tag_key, tag_value in caller.tags.items():
            keys[f"aws:PrincipalTag/{tag_key}"] = tag_value
        if caller.instance_id:
            keys["ec2:SourceInstanceARN"] = f"arn:aws:ec2:{self.region}:{caller.account_id}:instance/{caller.instance_id}"
        keys.update(extra)
        return keys

    def decide(self, caller: Caller, action: str, resources: Sequence[str], extra: dict[str, Any],
               cross_account: bool = False) -> Reason:
        """cross_account=True is for actions whose resource policy governs other accounts (sts:AssumeRole
        with a role's trust policy): the caller's identity policies must still allow it."""
        foreign = [r for r in resources if (a := _arn_account(r)) and a != caller.account_id]
        if foreign and not caller.is_cloud_admin and not cross_account:
            return Reason(Decision.IMPLICIT_DENY, resource=foreign[0], scope="caller's account")
        if caller.is_account_admin and not foreign:
            return Reason(Decision.ALLOW, policy_name="account-admin", policy_source="implicit",
                          statement_index=0)
        ctx = RequestContext(action, tuple(resources), principal_of(caller), self.context_keys(caller, extra))
        try:
            identity = self.identity_policies(caller)
            session = self.session_policies(caller)
        except MalformedPolicy:  # stored documents were validated; a bad one must never grant anything
            log.exception("stored policy failed to parse for %s", caller.arn)
            return Reason(Decision.IMPLICIT_DENY, scope="unreadable stored policy")
        if session is None:
            return evaluate(ctx, identity)
        return evaluate_with_boundaries(ctx, identity, session)

    def require(self, call: CallContext, action: str, resources: list[str], extra: dict[str, Any],
                cross_account: bool = False) -> None:
        caller = call.caller
        reason = self.decide(caller, action, resources, extra, cross_account)
        call.decisions.append(f"{action}: {reason.describe()}")
        if reason.allowed:
            return
        resource = reason.resource or resources[0]
        if call.service == "ec2":
            message = seal_message(self.keyring, {
                "allowed": False,
                "explicitDeny": reason.decision is Decision.EXPLICIT_DENY,
                "matchedStatements": {"items": [] if reason.statement_index is None else [{
                    "statementId": reason.sid or "", "effect": "DENY", "policy": reason.policy_name,
                    "source": reason.policy_source, "index": reason.statement_index}]},
                "failures": {"items": []},
                "context": {"principal": {"id": caller.principal_id, "arn": caller.arn},
                            "action": action, "resource": resource,
                            "conditions": {"items": []}},
                "reason": reason.describe(),
            }, AUTH_MESSAGE_AAD)
            raise ServiceError("UnauthorizedOperation", "You are not authorized to perform this operation. "
                               f"Encoded authorization failure message: {message}", 403)
        why = ("with an explicit deny in an identity-based policy" if reason.decision is Decision.EXPLICIT_DENY
               else "because no identity-based policy allows the " + action + " action")
        if reason.scope == "session policies":
            why = "because no session policy allows the " + action + " action"
        raise ServiceError("AccessDenied", f"User: {caller.arn} is not authorized to perform: {action} on "
                           f"resource: {resource} {why}", 403)
