"""The IAM policy engine: pure functions over parsed policy documents.

Standalone by design (standard library only, no other eucalite imports), so
services, the CLI and tests can all ask the same question the same way::

    doc = parse_policy(text, PolicyKind.IDENTITY)
    reason = evaluate(RequestContext("ec2:RunInstances", ("*",), principal), [Policy("p", doc, "user inline")])
    if reason.decision is not Decision.ALLOW: ...
"""

from eucalite.policy.conditions import Condition, Qualifier, UnknownConditionOperator
from eucalite.policy.document import (
    Effect,
    MalformedPolicy,
    PolicyDocument,
    PolicyKind,
    PrincipalSet,
    Statement,
    document_size_without_whitespace,
    parse_policy,
)
from eucalite.policy.engine import (
    Decision,
    Policy,
    Principal,
    PrincipalKind,
    Reason,
    RequestContext,
    evaluate,
    evaluate_trust,
    evaluate_with_boundaries,
    principal_matches,
)

__all__ = [
    "Condition",
    "Decision",
    "Effect",
    "MalformedPolicy",
    "Policy",
    "PolicyDocument",
    "PolicyKind",
    "Principal",
    "PrincipalKind",
    "PrincipalSet",
    "Qualifier",
    "Reason",
    "RequestContext",
    "Statement",
    "UnknownConditionOperator",
    "document_size_without_whitespace",
    "evaluate",
    "evaluate_trust",
    "evaluate_with_boundaries",
    "parse_policy",
    "principal_matches",
]
