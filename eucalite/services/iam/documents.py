"""Validating policy documents on the way in: syntax through the policy engine, size by AWS's quotas."""

from __future__ import annotations

import json
from typing import Any

from eucalite.errors import limit_exceeded, malformed_policy
from eucalite.policy import (
    MalformedPolicy,
    PolicyDocument,
    PolicyKind,
    document_size_without_whitespace,
    parse_policy,
)
from eucalite.store.db import Store

Row = dict[str, Any]

# AWS quotas, in characters without whitespace. Inline limits are per principal, all its inline
# policies together.
TRUST_POLICY_MAX = 2048
MANAGED_POLICY_MAX = 6144
INLINE_MAX = {"user": 2048, "group": 5120, "role": 10240}


def validated(text: str, kind: PolicyKind = PolicyKind.IDENTITY) -> PolicyDocument:
    """The parsed document, or MalformedPolicyDocument with IAM's message."""
    try:
        doc = parse_policy(text, kind)
    except MalformedPolicy as err:
        raise malformed_policy(err.message) from None
    for statement in doc.statements:
        element = "NotResource" if statement.resource_negated else "Resource"
        if kind is PolicyKind.TRUST:
            if statement.resources is not None:
                raise malformed_policy(f"Has prohibited field {element}")
            continue
        for resource in statement.resources or ():
            if resource != "*" and not resource.startswith("arn:"):
                raise malformed_policy(f'{element} {resource} must be in ARN format or "*".')
    return doc


def size(text: str) -> int:
    return document_size_without_whitespace(text)


def check_trust(text: str, store: Store) -> dict[str, str]:
    """Validate a trust policy; returns the unique id of each user or role principal it names, which is
    what AWS keeps: a user or role deleted and made again under the same name is not trusted any more."""
    if size(text) > TRUST_POLICY_MAX:
        raise limit_exceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_MAX}")
    doc = validated(text, PolicyKind.TRUST)
    resolved: dict[str, str] = {}
    for statement in doc.statements:
        for principal in statement.principals.aws if statement.principals else ():
            exists, unique_id = _resolve_principal(store, principal)
            if not exists:
                raise malformed_policy(f'Invalid principal in policy: "AWS":"{principal}"')
            if unique_id is not None:
                resolved[principal] = unique_id
    return resolved


def stale_principals(store: Store, role: Row) -> dict[str, str]:
    """Principal ARNs of the role's trust policy that no longer name the entity they named when the policy
    was saved (deleted, or deleted and made again), each with the unique id it was saved with."""
    raw = role.get("trust_principal_ids")
    if not raw or raw == "{}":  # most trust policies name a service or an account: nothing to look up
        return {}
    recorded: dict[str, str] = json.loads(raw)
    return {arn: uid for arn, uid in recorded.items() if _resolve_principal(store, arn)[1] != uid}


def trust_as_shown(store: Store, role: Row) -> str:
    """The trust policy as GetRole shows it: a principal whose entity is gone appears as its unique id."""
    stale = stale_principals(store, role)
    if not stale:
        return str(role["trust_policy"])
    doc = json.loads(role["trust_policy"])
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    for statement in statements:
        principal = statement.get("Principal")
        if isinstance(principal, dict) and "AWS" in principal:
            members = principal["AWS"]
            swap = [stale.get(m, m) for m in (members if isinstance(members, list) else [members])]
            principal["AWS"] = swap if isinstance(members, list) else swap[0]
    return json.dumps(doc)


_PRINCIPAL_TABLES = {"user": "users", "role": "roles"}


def _resolve_principal(store: Store, principal: str) -> tuple[bool, str | None]:
    """(may be trusted, unique id). AWS resolves user and role principals when the policy is saved.
    Principals of accounts this cloud does not hold cannot be checked, and are kept as written."""
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        return True, None
    kind, _, rest = parts[5].partition("/")
    table = _PRINCIPAL_TABLES.get(kind)
    if table is None or not rest or store.one("select 1 from accounts where id = ?", [parts[4]]) is None:
        return True, None
    path, _, name = ("/" + rest).rpartition("/")
    row = store.one(f"select id from {table} where account_id = ? and name = ? and path = ?",
                    [parts[4], name, path + "/"])
    return (True, str(row["id"])) if row else (False, None)


def check_managed(text: str) -> None:
    if size(text) > MANAGED_POLICY_MAX:
        raise limit_exceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_MAX}")
    validated(text)


def check_inline(text: str, principal_type: str, principal_name: str, others_size: int) -> None:
    limit = INLINE_MAX[principal_type]
    if others_size + size(text) > limit:
        raise limit_exceeded(f"Maximum policy size of {limit} bytes exceeded for {principal_type} {principal_name}")
    validated(text)
