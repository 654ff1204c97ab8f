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


def check_trust(text: str) -> None:
    if size(text) > TRUST_POLICY_MAX:
        raise limit_exceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_MAX}")
    validated(text, PolicyKind.TRUST)


def check_managed(text: str) -> None:
    if size(text) > MANAGED_POLICY_MAX:
        raise limit_exceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_MAX}")
    validated(text)


def check_inline(text: str, principal_type: str, principal_name: str, others_size: int) -> None:
    limit = INLINE_MAX[principal_type]
    if others_size + size(text) > limit:
        raise limit_exceeded(f"Maximum policy size of {limit} bytes exceeded for {principal_type} {principal_name}")
    validated(text)
