"""Document parsing details and the engine's small public helpers."""

from __future__ import annotations

import json

import pytest
from policy_case_table import ACCOUNT, ALICE, OPS_SESSION, allow, deny, doc

from eucalite.policy import (
    Decision,
    Effect,
    Policy,
    PolicyKind,
    Principal,
    PrincipalKind,
    PrincipalSet,
    Reason,
    RequestContext,
    document_size_without_whitespace,
    evaluate,
    evaluate_trust,
    evaluate_with_boundaries,
    parse_policy,
)


def test_size_ignores_whitespace() -> None:
    text = '{\n  "Version": "2012-10-17",\t"Statement": []\n}'
    assert document_size_without_whitespace(text) == len("".join(text.split()))


@pytest.mark.parametrize("version", [None, "2008-10-17", "2012-10-17"])
def test_versions_accepted(version: str | None) -> None:
    assert parse_policy(doc(allow("iam:GetUser"), version=version), PolicyKind.IDENTITY).version == version


def test_statement_fields() -> None:
    text = doc(
        allow("iam:GetUser", "arn:aws:iam::*:user/*", sid="Read"),
        deny(["ec2:*", "s3:*"], "*", not_action=True, not_resource=True, condition={"Bool": {"aws:x": True}}),
    )
    first, second = parse_policy(text, PolicyKind.IDENTITY).statements
    assert (first.index, first.sid, first.effect, first.actions) == (
        0,
        "Read",
        Effect.ALLOW,
        ("iam:GetUser",),
    )
    assert first.resources == ("arn:aws:iam::*:user/*",) and not first.resource_negated
    assert second.action_negated and second.resource_negated and second.effect is Effect.DENY
    assert [(c.operator, c.key, c.values) for c in second.conditions] == [("Bool", "aws:x", ("true",))]


def test_trust_principals_parsed() -> None:
    text = json.dumps(
        {
            "Statement": {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": [ACCOUNT, "*"], "Service": "ec2.amazonaws.com", "Federated": "cognito"},
            }
        }
    )
    (statement,) = parse_policy(text, PolicyKind.TRUST).statements
    assert statement.resources is None
    assert statement.principals == PrincipalSet(
        wildcard=False, aws=(ACCOUNT, "*"), service=("ec2.amazonaws.com",), federated=("cognito",)
    )


def test_principal_kind_accepts_strings_and_account_alias() -> None:
    root = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Account")  # type: ignore[arg-type]
    assert root.kind is PrincipalKind.ROOT
    assert Principal("a", ACCOUNT, "User").kind is PrincipalKind.USER  # type: ignore[arg-type]


def test_context_lookup_is_case_insensitive_and_derives_principal_keys() -> None:
    ctx = RequestContext("iam:GetUser", ("*",), ALICE, {"AWS:SourceIp": "10.0.0.1", "aws:TagKeys": ["a"]})
    assert ctx.lookup("aws:sourceip") == "10.0.0.1"
    assert ctx.lookup("aws:tagkeys") == ("a",)
    assert ctx.lookup("aws:username") == "alice"
    assert ctx.lookup("aws:principalarn") == ALICE.arn
    session = RequestContext("iam:GetUser", ("*",), OPS_SESSION)
    assert session.lookup("aws:username") is None
    assert session.lookup("aws:principalarn") == f"arn:aws:iam::{ACCOUNT}:role/ops"


def test_context_normalises_resources_and_scalars() -> None:
    ctx = RequestContext("s3:GetObject", (), ALICE, {"k:flag": True, "k:n": 3})  # type: ignore[dict-item]
    assert ctx.resources == ("*",)
    assert (ctx.lookup("k:flag"), ctx.lookup("k:n")) == ("true", "3")


def _policy(text: str, name: str = "deny-all", source: str = "user inline") -> Policy:
    return Policy(name, parse_policy(text, PolicyKind.IDENTITY), source)


def test_reason_describes_explicit_deny() -> None:
    ctx = RequestContext("iam:CreateUser", ("*",), ALICE)
    reason = evaluate(ctx, [_policy(doc(deny("*", sid="DenyAll")))])
    assert reason == Reason(Decision.EXPLICIT_DENY, "deny-all", "user inline", 0, "DenyAll")
    assert reason.describe() == "denied by statement 0 (Sid DenyAll) of user inline policy deny-all"
    assert not reason.allowed


def test_reason_describes_allow_and_implicit_deny() -> None:
    ctx = RequestContext("iam:GetUser", ("*",), ALICE)
    allowed = evaluate(ctx, [_policy(doc(allow("ec2:*"), allow("iam:*")), "read", "group devs inline")])
    assert allowed.describe() == "allowed by statement 1 of group devs inline policy read"
    assert allowed.allowed
    assert evaluate(ctx, []).describe() == "no statement allowed it"


def test_reason_names_the_resource_that_decided_a_multi_resource_request() -> None:
    ctx = RequestContext("s3:CopyObject", ("arn:aws:s3:::a/1", "arn:aws:s3:::b/2"), ALICE)
    reason = evaluate(ctx, [_policy(doc(allow("s3:*", "arn:aws:s3:::a/*")))])
    assert reason.resource == "arn:aws:s3:::b/2"
    assert reason.describe() == "no statement allowed it (resource arn:aws:s3:::b/2)"


def test_session_implicit_deny_says_where() -> None:
    ctx = RequestContext("ec2:RunInstances", ("*",), OPS_SESSION)
    session = Policy("s", parse_policy(doc(allow("s3:*")), PolicyKind.SESSION), "session")
    reason = evaluate_with_boundaries(ctx, [_policy(doc(allow("*")))], [session])
    assert reason.describe() == "no statement in the session policies allowed it"


def test_trust_reason_carries_given_name() -> None:
    trust = parse_policy(
        doc(allow("sts:AssumeRole", None, principal={"Service": "ec2.amazonaws.com"}, sid="Ec2")),
        PolicyKind.TRUST,
    )
    ec2 = Principal("ec2.amazonaws.com", "", PrincipalKind.SERVICE, service="ec2.amazonaws.com")
    reason = evaluate_trust(trust, "sts:AssumeRole", ec2, name="ACCT1-EC2-ACTIONS")
    assert reason.describe() == "allowed by statement 0 (Sid Ec2) of role trust policy ACCT1-EC2-ACTIONS"


def test_identity_evaluation_ignores_statement_principals_of_trust_documents() -> None:
    trust = parse_policy(doc(allow("sts:AssumeRole", "*", principal={"AWS": ACCOUNT})), PolicyKind.TRUST)
    ctx = RequestContext("sts:AssumeRole", ("*",), ALICE)
    assert evaluate(ctx, [Policy("t", trust, "role trust")]).decision is Decision.ALLOW
