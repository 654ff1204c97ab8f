"""Properties the evaluation logic must keep whatever the policies say."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_case_table import ACCOUNT, ALICE

from eucalite.policy import Decision, Policy, PolicyKind, RequestContext, evaluate, parse_policy

ACTIONS = ["iam:CreateUser", "iam:GetUser", "ec2:RunInstances", "ec2:DescribeImages", "s3:GetObject"]
ACTION_PATTERNS = [*ACTIONS, "*", "iam:*", "ec2:Describe*", "s3:Get?bject", "EC2:run*"]
RESOURCES = [
    "*",
    "arn:aws:s3:::a/x",
    "arn:aws:s3:::b/y",
    "arn:aws:s3:::home/alice/z",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1",
]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::a/*",
    "arn:aws:s3:::*",
    f"arn:aws:iam::{ACCOUNT}:user/*",
    "arn:aws:s3:::home/${aws:username}/*",
    "arn:aws:ec2:*:*:instance/*",
]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    {"StringEquals": {"ec2:Region": "us-east-1"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"StringNotEqualsIfExists": {"ec2:Region": "eu-west-1"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["Env", "Team"]}},
    {"Bool": {"aws:SecureTransport": "true"}, "NumericLessThan": {"s3:max-keys": "10"}},
]
KEY_SETS: list[dict[str, Any]] = [
    {},
    {"ec2:Region": "us-east-1", "aws:SourceIp": "10.1.1.1"},
    {
        "ec2:Region": "eu-west-1",
        "aws:TagKeys": ["Env", "Cost"],
        "aws:SecureTransport": "true",
        "s3:max-keys": "5",
    },
]


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3))
    body["NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2))
    body["NotResource" if draw(st.booleans()) and draw(st.booleans()) else "Resource"] = resources
    condition = draw(st.sampled_from(CONDITIONS))
    if condition:
        body["Condition"] = condition
    return body


documents = st.lists(statements(), min_size=1, max_size=4)
policy_sets = st.lists(documents, min_size=0, max_size=3)


@st.composite
def contexts(draw: st.DrawFn) -> RequestContext:
    resources = tuple(draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2)))
    return RequestContext(draw(st.sampled_from(ACTIONS)), resources, ALICE, draw(st.sampled_from(KEY_SETS)))


def build(docs: list[list[dict[str, Any]]]) -> list[Policy]:
    return [
        Policy(
            f"p{i}",
            parse_policy(json.dumps({"Version": "2012-10-17", "Statement": body}), PolicyKind.IDENTITY),
            "t",
        )
        for i, body in enumerate(docs)
    ]


@settings(max_examples=200)
@given(policy_sets, statements(effect="Deny"), st.integers(min_value=0), contexts())
def test_adding_a_deny_never_widens_access(
    docs: list[list[dict[str, Any]]], extra: dict[str, Any], where: int, ctx: RequestContext
) -> None:
    before = evaluate(ctx, build(docs)).decision
    widened = [list(d) for d in docs]
    if widened and where % (len(widened) + 1) < len(widened):
        widened[where % (len(widened) + 1)].append(extra)
    else:
        widened.append([extra])
    after = evaluate(ctx, build(widened)).decision
    if after is Decision.ALLOW:
        assert before is Decision.ALLOW
    if before is Decision.EXPLICIT_DENY:
        assert after is Decision.EXPLICIT_DENY


arbitrary_resources = st.one_of(
    st.sampled_from(RESOURCES),
    st.text(min_size=1, max_size=40),
    st.builds(
        lambda s, r: f"arn:aws:{s}:us-east-1:{ACCOUNT}:{r}", st.sampled_from(["s3", "ec2", "iam"]), st.text()
    ),
)


@settings(max_examples=200)
@given(
    st.sampled_from(ACTIONS),
    st.lists(arbitrary_resources, min_size=1, max_size=3),
    st.lists(statements(effect="Deny"), max_size=3),
    st.sampled_from(KEY_SETS),
)
def test_allow_on_star_allows_every_resource_unless_denied(
    action: str, resources: list[str], denies: list[dict[str, Any]], keys: dict[str, Any]
) -> None:
    ctx = RequestContext(action, tuple(resources), ALICE, keys)
    grant = [{"Effect": "Allow", "Action": action, "Resource": "*"}]
    decision = evaluate(ctx, build([grant, denies] if denies else [grant])).decision
    denied = bool(denies) and evaluate(ctx, build([denies])).decision is Decision.EXPLICIT_DENY
    assert decision is (Decision.EXPLICIT_DENY if denied else Decision.ALLOW)


@settings(max_examples=200)
@given(policy_sets, contexts(), st.randoms(use_true_random=False))
def test_decision_is_independent_of_policy_and_statement_order(
    docs: list[list[dict[str, Any]]], ctx: RequestContext, rng: Any
) -> None:
    shuffled = [rng.sample(d, len(d)) for d in docs]
    rng.shuffle(shuffled)
    assert evaluate(ctx, build(docs)).decision is evaluate(ctx, build(shuffled)).decision


@given(policy_sets, contexts())
def test_deny_everything_always_wins(docs: list[list[dict[str, Any]]], ctx: RequestContext) -> None:
    denied = [*docs, [{"Effect": "Deny", "Action": "*", "Resource": "*"}]]
    assert evaluate(ctx, build(denied)).decision is Decision.EXPLICIT_DENY
