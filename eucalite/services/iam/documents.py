"""Validating policy documents on the way in: syntax through the policy engine, size by AWS's quotas."""

from __future__ import annotations

from eucalite.errors import limit_exceeded, malformed_policy
from eucalite.policy import (
    MalformedPolicy,
    PolicyDocument,
    PolicyKind,
    document_size_without_whitespace,
    parse_policy,
)
from eucalite.store.db import Store

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


def check_trust(text: str, store: Store) -> None:
    if size(text) > TRUST_POLICY_MAX:
        raise limit_exceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_MAX}")
    doc = validated(text, PolicyKind.TRUST)
    for statement in doc.statements:
        for principal in statement.principals.aws if statement.principals else ():
            if not _principal_exists(store, principal):
                raise malformed_policy(f'Invalid principal in policy: "AWS":"{principal}"')


_PRINCIPAL_TABLES = {"user": "users", "role": "roles"}


def _principal_exists(store: Store, principal: str) -> bool:
    """AWS resolves user and role principals when the policy is saved. Principals of accounts this cloud
    does not hold cannot be checked, and are kept as written."""
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        return True
    kind, _, rest = parts[5].partition("/")
    table = _PRINCIPAL_TABLES.get(kind)
    if table is None or not rest or store.one("select 1 from accounts where id = ?", [parts[4]]) is None:
        return True
    path, _, name = ("/" + rest).rpartition("/")
    return store.one(f"select 1 from {table} where account_id = ? and name = ? and path = ?",
                     [parts[4], name, path + "/"]) is not None


def check_managed(text: str) -> None:
    if size(text) > MANAGED_POLICY_MAX:
        raise limit_exceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_MAX}")
    validated(text)


def check_inline(text: str, principal_type: str, principal_name: str, others_size: int) -> None:
    limit = INLINE_MAX[principal_type]
    if others_size + size(text) > limit:
        raise limit_exceeded(f"Maximum policy size of {limit} bytes exceeded for {principal_type} {principal_name}")
    validated(text)
