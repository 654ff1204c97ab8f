"""Evaluation cases for the policy engine, written from AWS's IAM documentation.

Sources read (not copied): "Policy evaluation logic", "IAM JSON policy elements:
Condition operators", "...: NotAction", "...: NotResource", "...: Principal",
"IAM policy elements: Variables and tags", "Single-valued vs. multivalued
context keys" and "Session policies".

Each case is one authorization question with the decision AWS documents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eucalite.policy import Decision, Principal, PrincipalKind

ALLOW = Decision.ALLOW
DENY = Decision.EXPLICIT_DENY
IMPLICIT = Decision.IMPLICIT_DENY

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"

ALICE = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
    account=ACCOUNT,
    kind=PrincipalKind.USER,
    user_name="alice",
    user_id="AIDAALICEEXAMPLE",
)
BOB_ELSEWHERE = Principal(
    arn=f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob", account=OTHER_ACCOUNT, kind=PrincipalKind.USER, user_name="bob"
)
USER_NAMED_OPS = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/ops", account=ACCOUNT, kind=PrincipalKind.USER, user_name="ops"
)
OPS_SESSION = Principal(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/i-0abc",
    account=ACCOUNT,
    kind=PrincipalKind.ASSUMED_ROLE,
    role_name="ops",
    session_name="i-0abc",
)
ROOT = Principal(arn=f"arn:aws:iam::{ACCOUNT}:root", account=ACCOUNT, kind=PrincipalKind.ROOT)
EC2_SERVICE = Principal(arn="ec2.amazonaws.com", account="", kind=PrincipalKind.SERVICE, service="ec2.amazonaws.com")
LAMBDA_SERVICE = Principal(
    arn="lambda.amazonaws.com", account="", kind=PrincipalKind.SERVICE, service="lambda.amazonaws.com"
)

MISSING: Any = object()  # a condition key absent from the request


def statement(
    effect: str,
    action: str | Sequence[str],
    resource: str | Sequence[str] | None = "*",
    *,
    not_action: bool = False,
    not_resource: bool = False,
    condition: Mapping[str, Any] | None = None,
    sid: str | None = None,
    principal: Any = None,
    not_principal: Any = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect, ("NotAction" if not_action else "Action"): action}
    if resource is not None:
        body["NotResource" if not_resource else "Resource"] = resource
    if condition:
        body["Condition"] = condition
    if sid:
        body["Sid"] = sid
    if principal is not None:
        body["Principal"] = principal
    if not_principal is not None:
        body["NotPrincipal"] = not_principal
    return body


def allow(action: str | Sequence[str], resource: str | Sequence[str] | None = "*", **kw: Any) -> dict[str, Any]:
    return statement("Allow", action, resource, **kw)


def deny(action: str | Sequence[str], resource: str | Sequence[str] | None = "*", **kw: Any) -> dict[str, Any]:
    return statement("Deny", action, resource, **kw)


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        body["Version"] = version
    return json.dumps(body)


def single(stmt: dict[str, Any], version: str | None = "2012-10-17") -> str:
    """A document whose Statement is one object rather than a list."""
    body: dict[str, Any] = {"Statement": stmt}
    if version is not None:
        body["Version"] = version
    return json.dumps(body)


@dataclass(frozen=True)
class Case:
    id: str
    expected: Decision
    action: str
    policies: tuple[str, ...]
    resources: tuple[str, ...] = ("*",)
    keys: Mapping[str, Any] = field(default_factory=dict)
    principal: Principal = ALICE


def case(
    id: str,
    expected: Decision,
    action: str,
    *policies: str,
    resources: Sequence[str] = ("*",),
    keys: Mapping[str, Any] | None = None,
    principal: Principal = ALICE,
) -> Case:
    return Case(id, expected, action, tuple(policies), tuple(resources), dict(keys or {}), principal)


def user_arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


S3_HOME = "arn:aws:s3:::home/${aws:username}/*"

BASICS: list[Case] = [
    case("no-policy-is-implicit-deny", IMPLICIT, "iam:CreateUser"),
    case("allow-exact-action", ALLOW, "iam:CreateUser", doc(allow("iam:CreateUser"))),
    case("allow-does-not-cover-other-action", IMPLICIT, "iam:DeleteUser", doc(allow("iam:CreateUser"))),
    case("action-match-ignores-case-in-policy", ALLOW, "iam:CreateUser", doc(allow("IAM:createuser"))),
    case("action-match-ignores-case-in-request", ALLOW, "iam:createUSER", doc(allow("iam:CreateUser"))),
    case("action-star-matches-everything", ALLOW, "ec2:RunInstances", doc(allow("*"))),
    case("action-service-star", ALLOW, "ec2:RunInstances", doc(allow("ec2:*"))),
    case("action-service-star-other-service", IMPLICIT, "iam:CreateUser", doc(allow("ec2:*"))),
    case("action-prefix-star", ALLOW, "ec2:DescribeInstances", doc(allow("ec2:Describe*"))),
    case("action-prefix-star-miss", IMPLICIT, "ec2:RunInstances", doc(allow("ec2:Describe*"))),
    case("action-question-mark-one-char", ALLOW, "iam:GetUser", doc(allow("iam:?etUser"))),
    case("action-question-mark-not-two-chars", IMPLICIT, "iam:ResetUser", doc(allow("iam:?etUser"))),
    case("action-infix-star", ALLOW, "iam:ListUserPolicies", doc(allow("iam:*User*"))),
    case("action-list-any-element", ALLOW, "ec2:RunInstances", doc(allow(["iam:GetUser", "ec2:RunInstances"]))),
    case("action-list-none-match", IMPLICIT, "ec2:StopInstances", doc(allow(["iam:GetUser", "ec2:RunInstances"]))),
    case("action-no-partial-match", IMPLICIT, "iam:GetUserPolicy", doc(allow("iam:GetUser"))),
    case("single-statement-object", ALLOW, "iam:GetUser", single(allow("iam:GetUser"))),
    case(
        "deny-beats-allow-same-policy",
        DENY,
        "iam:CreateUser",
        doc(allow("*"), deny("iam:CreateUser", sid="NoUsers")),
    ),
    case("deny-beats-allow-across-policies", DENY, "iam:CreateUser", doc(allow("*")), doc(deny("iam:*"))),
    case("deny-in-first-policy-beats-later-allow", DENY, "iam:CreateUser", doc(deny("iam:*")), doc(allow("*"))),
    case("deny-other-action-leaves-allow", ALLOW, "iam:CreateUser", doc(allow("*"), deny("iam:DeleteUser"))),
    case("deny-only-is-explicit", DENY, "iam:CreateUser", doc(deny("iam:CreateUser"))),
    case("non-matching-deny-only-is-implicit", IMPLICIT, "iam:CreateUser", doc(deny("ec2:*"))),
    case("deny-star-beats-specific-allow", DENY, "ec2:RunInstances", doc(allow("ec2:RunInstances")), doc(deny("*"))),
    case("allow-in-second-of-three-policies", ALLOW, "sts:GetCallerIdentity",
         doc(allow("iam:*")), doc(allow("sts:*")), doc(deny("ec2:*"))),
    case("notaction-allow-other-service", ALLOW, "ec2:RunInstances", doc(allow("iam:*", not_action=True))),
    case("notaction-allow-excluded-action", IMPLICIT, "iam:CreateUser", doc(allow("iam:*", not_action=True))),
    case("notaction-deny-all-but-iam", DENY, "ec2:RunInstances", doc(allow("*"), deny("iam:*", not_action=True))),
    case("notaction-deny-spares-excluded", ALLOW, "iam:GetUser", doc(allow("*"), deny("iam:*", not_action=True))),
    case("notaction-list", IMPLICIT, "sts:GetCallerIdentity", doc(allow(["iam:*", "sts:*"], not_action=True))),
    case("notaction-ignores-case", IMPLICIT, "iam:GetUser", doc(allow("IAM:*", not_action=True))),
    case("notaction-with-resource-scope", IMPLICIT, "s3:GetObject",
         doc(allow("iam:*", "arn:aws:s3:::public/*", not_action=True)), resources=["arn:aws:s3:::private/x"]),
    case("resource-exact", ALLOW, "iam:GetUser", doc(allow("iam:GetUser", user_arn("alice"))),
         resources=[user_arn("alice")]),
    case("resource-other-name", IMPLICIT, "iam:GetUser", doc(allow("iam:GetUser", user_arn("alice"))),
         resources=[user_arn("bob")]),
    case("resource-is-case-sensitive", IMPLICIT, "iam:GetUser", doc(allow("iam:GetUser", user_arn("Alice"))),
         resources=[user_arn("alice")]),
    case("resource-star-spans-slash", ALLOW, "iam:GetUser", doc(allow("iam:GetUser", user_arn("*"))),
         resources=[user_arn("division/alice")]),
    case("resource-star-spans-colon-in-resource-part", ALLOW, "logs:PutLogEvents",
         doc(allow("logs:*", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*")),
         resources=[f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app:log-stream:web"]),
    case("resource-account-field-wildcard", ALLOW, "iam:GetUser", doc(allow("iam:GetUser", "arn:aws:iam::*:user/alice")),
         resources=[user_arn("alice")]),
    case("resource-region-prefix-wildcard", ALLOW, "ec2:StopInstances",
         doc(allow("ec2:*", f"arn:aws:ec2:us-*:{ACCOUNT}:instance/*")),
         resources=[f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1"]),
    case("resource-region-prefix-wildcard-miss", IMPLICIT, "ec2:StopInstances",
         doc(allow("ec2:*", f"arn:aws:ec2:us-*:{ACCOUNT}:instance/*")),
         resources=[f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1"]),
    case("resource-question-mark", ALLOW, "iam:GetUser", doc(allow("iam:GetUser", user_arn("al?ce"))),
         resources=[user_arn("alice")]),
    case("resource-list-second-matches", ALLOW, "iam:GetUser",
         doc(allow("iam:GetUser", [user_arn("bob"), user_arn("alice")])), resources=[user_arn("alice")]),
    case("resource-prefix-not-enough", IMPLICIT, "s3:GetObject", doc(allow("s3:*", "arn:aws:s3:::bucket")),
         resources=["arn:aws:s3:::bucket/key"]),
    case("resource-bucket-star", ALLOW, "s3:GetObject", doc(allow("s3:*", "arn:aws:s3:::bucket/*")),
         resources=["arn:aws:s3:::bucket/a/b/c"]),
    case("notresource-allow-outside", ALLOW, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::secret/*", not_resource=True)), resources=["arn:aws:s3:::public/x"]),
    case("notresource-allow-excluded", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::secret/*", not_resource=True)), resources=["arn:aws:s3:::secret/x"]),
    case("notresource-deny-others", DENY, "iam:DeleteUser",
         doc(allow("*"), deny("iam:*", user_arn("alice"), not_resource=True)), resources=[user_arn("bob")]),
    case("notresource-deny-spares-listed", ALLOW, "iam:DeleteUser",
         doc(allow("*"), deny("iam:*", user_arn("alice"), not_resource=True)), resources=[user_arn("alice")]),
    case("notresource-list", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"], not_resource=True)),
         resources=["arn:aws:s3:::b/x"]),
    case("notaction-and-notresource", ALLOW, "ec2:RunInstances",
         doc(allow("iam:*", "arn:aws:s3:::secret/*", not_action=True, not_resource=True))),
    case("star-resource-for-resourceless-action", ALLOW, "ec2:DescribeInstances", doc(allow("ec2:Describe*"))),
    case("arn-pattern-does-not-match-star-request", IMPLICIT, "ec2:DescribeInstances",
         doc(allow("ec2:Describe*", "arn:aws:ec2:*:*:instance/*"))),
    case("version-2008-keeps-variables-literal", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", S3_HOME), version="2008-10-17"), resources=["arn:aws:s3:::home/alice/x"]),
    case("version-2008-literal-variable-text-matches", ALLOW, "s3:GetObject",
         doc(allow("s3:*", S3_HOME), version="2008-10-17"), resources=["arn:aws:s3:::home/${aws:username}/x"]),
    case("no-version-keeps-variables-literal", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", S3_HOME), version=None), resources=["arn:aws:s3:::home/alice/x"]),
]

VARIABLES: list[Case] = [
    case("var-username-own-prefix", ALLOW, "s3:GetObject", doc(allow("s3:*", S3_HOME)),
         resources=["arn:aws:s3:::home/alice/notes.txt"]),
    case("var-username-other-prefix", IMPLICIT, "s3:GetObject", doc(allow("s3:*", S3_HOME)),
         resources=["arn:aws:s3:::home/bob/notes.txt"]),
    case("var-username-absent-for-role-session", IMPLICIT, "s3:GetObject", doc(allow("s3:*", S3_HOME)),
         resources=["arn:aws:s3:::home/ops/x"], principal=OPS_SESSION),
    case("var-default-used-when-absent", ALLOW, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::home/${aws:username, 'shared'}/*")),
         resources=["arn:aws:s3:::home/shared/x"], principal=OPS_SESSION),
    case("var-default-ignored-when-present", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::home/${aws:username, 'shared'}/*")),
         resources=["arn:aws:s3:::home/shared/x"]),
    case("var-userid", ALLOW, "s3:GetObject", doc(allow("s3:*", "arn:aws:s3:::ids/${aws:userid}/*")),
         resources=["arn:aws:s3:::ids/AIDAALICEEXAMPLE/x"]),
    case("var-principal-account", ALLOW, "iam:GetUser",
         doc(allow("iam:*", "arn:aws:iam::${aws:PrincipalAccount}:user/*")), resources=[user_arn("carol")]),
    case("var-principal-account-other-account", IMPLICIT, "iam:GetUser",
         doc(allow("iam:*", "arn:aws:iam::${aws:PrincipalAccount}:user/*")),
         resources=[user_arn("carol", OTHER_ACCOUNT)]),
    case("var-key-name-ignores-case", ALLOW, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::home/${AWS:UserName}/*")), resources=["arn:aws:s3:::home/alice/x"]),
    case("var-value-is-case-sensitive", IMPLICIT, "s3:GetObject", doc(allow("s3:*", S3_HOME)),
         resources=["arn:aws:s3:::home/ALICE/x"]),
    case("var-escape-star-is-literal", IMPLICIT, "s3:GetObject", doc(allow("s3:*", "arn:aws:s3:::b/${*}")),
         resources=["arn:aws:s3:::b/anything"]),
    case("var-escape-star-matches-star", ALLOW, "s3:GetObject", doc(allow("s3:*", "arn:aws:s3:::b/${*}")),
         resources=["arn:aws:s3:::b/*"]),
    case("var-escape-question-matches-question", ALLOW, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::b/what${?}")), resources=["arn:aws:s3:::b/what?"]),
    case("var-escape-question-is-literal", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::b/what${?}")), resources=["arn:aws:s3:::b/whatx"]),
    case("var-escape-dollar", ALLOW, "s3:GetObject", doc(allow("s3:*", "arn:aws:s3:::b/${$}x")),
         resources=["arn:aws:s3:::b/$x"]),
    case("var-substituted-wildcard-is-literal", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::b/${aws:PrincipalTag/team}")),
         resources=["arn:aws:s3:::b/abc"], keys={"aws:PrincipalTag/team": "a*"}),
    case("var-principal-tag", ALLOW, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::b/${aws:PrincipalTag/team}/*")),
         resources=["arn:aws:s3:::b/red/x"], keys={"aws:PrincipalTag/team": "red"}),
    case("var-multivalued-key-not-substituted", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::b/${aws:TagKeys}")),
         resources=["arn:aws:s3:::b/a"], keys={"aws:TagKeys": ["a", "b"]}),
    case("var-one-element-list-not-substituted", IMPLICIT, "s3:GetObject",
         doc(allow("s3:*", "arn:aws:s3:::b/${aws:PrincipalTag/team}/*")),
         resources=["arn:aws:s3:::b/red/x"], keys={"aws:PrincipalTag/team": ["red"]}),
    case("var-in-condition-equals", ALLOW, "s3:ListBucket",
         doc(allow("s3:*", condition={"StringEquals": {"aws:PrincipalTag/owner": "${aws:username}"}})),
         keys={"aws:PrincipalTag/owner": "alice"}),
    case("var-in-condition-unresolved", IMPLICIT, "s3:ListBucket",
         doc(allow("s3:*", condition={"StringEquals": {"aws:PrincipalTag/owner": "${aws:username}"}})),
         keys={"aws:PrincipalTag/owner": "ops"}, principal=OPS_SESSION),
    case("var-in-negated-condition-unresolved-voids-it", IMPLICIT, "s3:ListBucket",
         doc(allow("s3:*", condition={"StringNotEquals": {"s3:prefix": "${aws:username}"}})),
         keys={"s3:prefix": "x"}, principal=OPS_SESSION),
    case("var-in-condition-like", ALLOW, "s3:ListBucket",
         doc(allow("s3:*", condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}})),
         keys={"s3:prefix": "home/alice/docs"}),
    case("var-in-condition-like-other-user", IMPLICIT, "s3:ListBucket",
         doc(allow("s3:*", condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}})),
         keys={"s3:prefix": "home/bob/docs"}),
    case("var-in-arn-condition", ALLOW, "iam:PassRole",
         doc(allow("iam:PassRole", condition={"ArnLike": {"iam:AssociatedResourceArn": "arn:aws:ec2:*:${aws:PrincipalAccount}:instance/*"}})),
         keys={"iam:AssociatedResourceArn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1"}),
    case("var-deny-outside-home", DENY, "s3:GetObject",
         doc(allow("s3:*"), deny("s3:*", S3_HOME, not_resource=True)), resources=["arn:aws:s3:::home/bob/x"]),
    case("var-deny-spares-home", ALLOW, "s3:GetObject",
         doc(allow("s3:*"), deny("s3:*", S3_HOME, not_resource=True)), resources=["arn:aws:s3:::home/alice/x"]),
    case("var-explicit-key-overrides-derived", ALLOW, "s3:GetObject", doc(allow("s3:*", S3_HOME)),
         resources=["arn:aws:s3:::home/override/x"], keys={"aws:username": "override"}),
]

MULTI_RESOURCE: list[Case] = [
    case("multi-all-allowed", ALLOW, "s3:CopyObject", doc(allow("s3:*", "arn:aws:s3:::a/*")),
         resources=["arn:aws:s3:::a/1", "arn:aws:s3:::a/2"]),
    case("multi-one-not-allowed", IMPLICIT, "s3:CopyObject", doc(allow("s3:*", "arn:aws:s3:::a/*")),
         resources=["arn:aws:s3:::a/1", "arn:aws:s3:::b/2"]),
    case("multi-one-denied", DENY, "s3:CopyObject", doc(allow("s3:*"), deny("s3:*", "arn:aws:s3:::b/*")),
         resources=["arn:aws:s3:::a/1", "arn:aws:s3:::b/2"]),
    case("multi-deny-outranks-implicit", DENY, "s3:CopyObject",
         doc(allow("s3:*", "arn:aws:s3:::a/*"), deny("s3:*", "arn:aws:s3:::c/*")),
         resources=["arn:aws:s3:::b/1", "arn:aws:s3:::c/2"]),
    case("multi-allowed-by-different-policies", ALLOW, "s3:CopyObject",
         doc(allow("s3:*", "arn:aws:s3:::a/*")), doc(allow("s3:*", "arn:aws:s3:::b/*")),
         resources=["arn:aws:s3:::a/1", "arn:aws:s3:::b/2"]),
    case("multi-notresource", ALLOW, "s3:CopyObject",
         doc(allow("s3:*", "arn:aws:s3:::secret/*", not_resource=True)),
         resources=["arn:aws:s3:::a/1", "arn:aws:s3:::b/2"]),
    case("multi-notresource-one-excluded", IMPLICIT, "s3:CopyObject",
         doc(allow("s3:*", "arn:aws:s3:::secret/*", not_resource=True)),
         resources=["arn:aws:s3:::a/1", "arn:aws:s3:::secret/2"]),
]

CONDITION_COMBINATIONS: list[Case] = [
    case("condition-keys-under-one-operator-are-anded", IMPLICIT, "ec2:RunInstances",
         doc(allow("ec2:*", condition={"StringEquals": {"ec2:Region": "us-east-1", "ec2:InstanceType": "t2.micro"}})),
         keys={"ec2:Region": "us-east-1", "ec2:InstanceType": "m1.large"}),
    case("condition-keys-under-one-operator-all-hold", ALLOW, "ec2:RunInstances",
         doc(allow("ec2:*", condition={"StringEquals": {"ec2:Region": "us-east-1", "ec2:InstanceType": "t2.micro"}})),
         keys={"ec2:Region": "us-east-1", "ec2:InstanceType": "t2.micro"}),
    case("condition-operators-are-anded", IMPLICIT, "ec2:RunInstances",
         doc(allow("ec2:*", condition={"StringEquals": {"ec2:Region": "us-east-1"},
                                       "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
         keys={"ec2:Region": "us-east-1", "aws:SourceIp": "192.168.1.1"}),
    case("condition-operators-all-hold", ALLOW, "ec2:RunInstances",
         doc(allow("ec2:*", condition={"StringEquals": {"ec2:Region": "us-east-1"},
                                       "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
         keys={"ec2:Region": "us-east-1", "aws:SourceIp": "10.1.2.3"}),
    case("deny-unless-secure-transport", DENY, "s3:GetObject",
         doc(allow("s3:*"), deny("s3:*", condition={"Bool": {"aws:SecureTransport": "false"}})),
         keys={"aws:SecureTransport": "false"}),
    case("deny-unless-secure-transport-passes", ALLOW, "s3:GetObject",
         doc(allow("s3:*"), deny("s3:*", condition={"Bool": {"aws:SecureTransport": "false"}})),
         keys={"aws:SecureTransport": "true"}),
    case("deny-from-outside-network", DENY, "ec2:TerminateInstances",
         doc(allow("ec2:*"), deny("*", condition={"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}})),
         keys={"aws:SourceIp": "198.51.100.7"}),
    case("deny-from-outside-network-inside", ALLOW, "ec2:TerminateInstances",
         doc(allow("ec2:*"), deny("*", condition={"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}})),
         keys={"aws:SourceIp": "192.0.2.44"}),
    case("deny-outside-regions-with-missing-key-applies", DENY, "ec2:RunInstances",
         doc(allow("ec2:*"), deny("ec2:*", condition={"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}))),
    case("deny-outside-regions-ifexists-missing-key-applies", DENY, "ec2:RunInstances",
         doc(allow("ec2:*"), deny("ec2:*", condition={"StringNotEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}}))),
    case("deny-in-region-missing-key-does-not-apply", ALLOW, "ec2:RunInstances",
         doc(allow("ec2:*"), deny("ec2:*", condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))),
    case("allow-after-date-window", ALLOW, "iam:GetUser",
         doc(allow("iam:*", condition={"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
                                       "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})),
         keys={"aws:CurrentTime": "2025-06-01T12:00:00Z"}),
    case("deny-untagged-create-with-null", DENY, "ec2:CreateVolume",
         doc(allow("ec2:*"), deny("ec2:CreateVolume", condition={"Null": {"aws:RequestTag/Env": "true"}}))),
    case("deny-untagged-create-tag-present", ALLOW, "ec2:CreateVolume",
         doc(allow("ec2:*"), deny("ec2:CreateVolume", condition={"Null": {"aws:RequestTag/Env": "true"}})),
         keys={"aws:RequestTag/Env": "prod"}),
    case("condition-key-lookup-ignores-case", ALLOW, "ec2:RunInstances",
         doc(allow("ec2:*", condition={"IpAddress": {"AWS:SourceIP": "10.0.0.0/8"}})), keys={"aws:sourceip": "10.9.9.9"}),
    case("principal-type-derived-key", ALLOW, "iam:GetUser",
         doc(allow("iam:*", condition={"StringEquals": {"aws:PrincipalType": "User"}}))),
    case("principal-type-root-is-account", ALLOW, "iam:GetUser",
         doc(allow("iam:*", condition={"StringEquals": {"aws:PrincipalType": "Account"}})), principal=ROOT),
    case("principal-arn-of-session-is-role-arn", ALLOW, "iam:GetUser",
         doc(allow("iam:*", condition={"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ops"}})),
         principal=OPS_SESSION),
]

# (id, operator, key, policy values, request value or MISSING, condition holds?)
# Each row becomes an Allow statement with that single condition: holds => allow.
ConditionRow = tuple[str, str, str, Any, Any, bool]
CONDITION_ROWS: list[ConditionRow] = [
    ("string-equals-match", "StringEquals", "aws:username", "alice", "alice", True),
    ("string-equals-mismatch", "StringEquals", "ec2:Region", "us-east-1", "eu-west-1", False),
    ("string-equals-case-sensitive", "StringEquals", "ec2:Region", "US-EAST-1", "us-east-1", False),
    ("string-equals-values-ored", "StringEquals", "ec2:Region", ["eu-west-1", "us-east-1"], "us-east-1", True),
    ("string-equals-no-wildcards", "StringEquals", "ec2:Region", "us-*", "us-east-1", False),
    ("string-equals-missing-key", "StringEquals", "ec2:Region", "us-east-1", MISSING, False),
    ("string-equals-ifexists-missing", "StringEqualsIfExists", "ec2:Region", "us-east-1", MISSING, True),
    ("string-equals-ifexists-present-mismatch", "StringEqualsIfExists", "ec2:Region", "us-east-1", "eu-west-1", False),
    ("string-equals-ifexists-present-match", "StringEqualsIfExists", "ec2:Region", "us-east-1", "us-east-1", True),
    ("string-equals-multivalued-request-any", "StringEquals", "aws:TagKeys", "Env", ["Team", "Env"], True),
    ("string-equals-json-number-value", "StringEquals", "s3:max-keys", 10, "10", True),
    ("string-not-equals-differs", "StringNotEquals", "ec2:Region", "us-east-1", "eu-west-1", True),
    ("string-not-equals-same", "StringNotEquals", "ec2:Region", "us-east-1", "us-east-1", False),
    ("string-not-equals-none-of-values", "StringNotEquals", "ec2:Region", ["us-east-1", "us-west-2"], "eu-west-1", True),
    ("string-not-equals-one-of-values", "StringNotEquals", "ec2:Region", ["us-east-1", "us-west-2"], "us-west-2", False),
    ("string-not-equals-missing-key-is-true", "StringNotEquals", "ec2:Region", "us-east-1", MISSING, True),
    ("string-not-equals-ifexists-missing", "StringNotEqualsIfExists", "ec2:Region", "us-east-1", MISSING, True),
    ("string-not-equals-ifexists-present-same", "StringNotEqualsIfExists", "ec2:Region", "us-east-1", "us-east-1", False),
    ("string-equals-ignore-case-match", "StringEqualsIgnoreCase", "aws:username", "ALICE", "alice", True),
    ("string-equals-ignore-case-mismatch", "StringEqualsIgnoreCase", "aws:username", "bob", "alice", False),
    ("string-equals-ignore-case-missing", "StringEqualsIgnoreCase", "ec2:Region", "x", MISSING, False),
    ("string-equals-ignore-case-ifexists-missing", "StringEqualsIgnoreCaseIfExists", "ec2:Region", "x", MISSING, True),
    ("string-not-equals-ignore-case-same", "StringNotEqualsIgnoreCase", "aws:username", "ALICE", "alice", False),
    ("string-not-equals-ignore-case-differs", "StringNotEqualsIgnoreCase", "aws:username", "bob", "alice", True),
    ("string-not-equals-ignore-case-missing", "StringNotEqualsIgnoreCase", "ec2:Region", "x", MISSING, True),
    ("string-like-star", "StringLike", "s3:prefix", "home/*", "home/alice/x", True),
    ("string-like-question", "StringLike", "s3:prefix", "home/?", "home/ab", False),
    ("string-like-question-one", "StringLike", "s3:prefix", "home/?", "home/a", True),
    ("string-like-case-sensitive", "StringLike", "s3:prefix", "Home/*", "home/x", False),
    ("string-like-values-ored", "StringLike", "s3:prefix", ["tmp/*", "home/*"], "home/x", True),
    ("string-like-missing", "StringLike", "s3:prefix", "home/*", MISSING, False),
    ("string-like-ifexists-missing", "StringLikeIfExists", "s3:prefix", "home/*", MISSING, True),
    ("string-like-ifexists-present-miss", "StringLikeIfExists", "s3:prefix", "home/*", "tmp/x", False),
    ("string-like-empty-value", "StringLike", "s3:prefix", "", "", True),
    ("string-not-like-outside", "StringNotLike", "s3:prefix", "tmp/*", "home/x", True),
    ("string-not-like-inside", "StringNotLike", "s3:prefix", "tmp/*", "tmp/x", False),
    ("string-not-like-missing-is-true", "StringNotLike", "s3:prefix", "tmp/*", MISSING, True),
    ("string-not-like-ifexists-present-inside", "StringNotLikeIfExists", "s3:prefix", "tmp/*", "tmp/x", False),
    ("numeric-equals", "NumericEquals", "s3:max-keys", "10", "10", True),
    ("numeric-equals-decimal-form", "NumericEquals", "s3:max-keys", "10", "10.0", True),
    ("numeric-equals-json-number", "NumericEquals", "s3:max-keys", 10, "10", True),
    ("numeric-equals-other", "NumericEquals", "s3:max-keys", "10", "11", False),
    ("numeric-equals-not-a-number", "NumericEquals", "s3:max-keys", "10", "ten", False),
    ("numeric-equals-missing", "NumericEquals", "s3:max-keys", "10", MISSING, False),
    ("numeric-not-equals-differs", "NumericNotEquals", "s3:max-keys", "10", "11", True),
    ("numeric-not-equals-same", "NumericNotEquals", "s3:max-keys", "10", "10", False),
    ("numeric-not-equals-missing", "NumericNotEquals", "s3:max-keys", "10", MISSING, True),
    ("numeric-less-than", "NumericLessThan", "s3:max-keys", "10", "9", True),
    ("numeric-less-than-equal-bound", "NumericLessThan", "s3:max-keys", "10", "10", False),
    ("numeric-less-than-negative", "NumericLessThan", "s3:max-keys", "0", "-1.5", True),
    ("numeric-less-than-ifexists-missing", "NumericLessThanIfExists", "s3:max-keys", "10", MISSING, True),
    ("numeric-less-than-equals-bound", "NumericLessThanEquals", "s3:max-keys", "10", "10", True),
    ("numeric-less-than-equals-above", "NumericLessThanEquals", "s3:max-keys", "10", "11", False),
    ("numeric-greater-than", "NumericGreaterThan", "s3:max-keys", "10", "11", True),
    ("numeric-greater-than-bound", "NumericGreaterThan", "s3:max-keys", "10", "10", False),
    ("numeric-greater-than-equals-bound", "NumericGreaterThanEquals", "s3:max-keys", "10", "10", True),
    ("numeric-greater-than-equals-below", "NumericGreaterThanEquals", "s3:max-keys", "10", "9", False),
    ("numeric-greater-than-equals-ifexists-present-below", "NumericGreaterThanEqualsIfExists", "s3:max-keys", "10", "9", False),
    ("date-equals-iso", "DateEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
    ("date-equals-epoch-request", "DateEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "1577836800", True),
    ("date-equals-epoch-policy", "DateEquals", "aws:EpochTime", 1577836800, "2020-01-01T00:00:00Z", True),
    ("date-equals-other", "DateEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", False),
    ("date-equals-missing", "DateEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", MISSING, False),
    ("date-not-equals-same", "DateNotEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", False),
    ("date-not-equals-other", "DateNotEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", True),
    ("date-less-than-before", "DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", True),
    ("date-less-than-bound", "DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", False),
    ("date-less-than-offset", "DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:30:00+01:00", True),
    ("date-less-than-date-only", "DateLessThan", "aws:CurrentTime", "2020-01-02", "2020-01-01T12:00:00Z", True),
    ("date-less-than-equals-bound", "DateLessThanEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
    ("date-greater-than-after", "DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-06-01T00:00:00Z", True),
    ("date-greater-than-before", "DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2019-06-01T00:00:00Z", False),
    ("date-greater-than-equals-bound", "DateGreaterThanEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
    ("date-greater-than-ifexists-missing", "DateGreaterThanIfExists", "aws:TokenIssueTime", "2020-01-01T00:00:00Z", MISSING, True),
    ("date-garbage-request", "DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "yesterday", False),
    ("bool-true", "Bool", "aws:SecureTransport", "true", "true", True),
    ("bool-false-request", "Bool", "aws:SecureTransport", "true", "false", False),
    ("bool-json-literal", "Bool", "aws:SecureTransport", True, "true", True),
    ("bool-ignores-case", "Bool", "aws:MultiFactorAuthPresent", "True", "true", True),
    ("bool-missing", "Bool", "aws:MultiFactorAuthPresent", "true", MISSING, False),
    ("bool-ifexists-missing", "BoolIfExists", "aws:MultiFactorAuthPresent", "true", MISSING, True),
    ("bool-ifexists-present-false", "BoolIfExists", "aws:MultiFactorAuthPresent", "true", "false", False),
    ("binary-equals", "BinaryEquals", "key:blob", "aGVsbG8=", "aGVsbG8=", True),
    ("binary-equals-raw-request", "BinaryEquals", "key:blob", "aGVsbG8=", "hello", True),
    ("binary-equals-other", "BinaryEquals", "key:blob", "aGVsbG8=", "d29ybGQ=", False),
    ("binary-equals-missing", "BinaryEquals", "key:blob", "aGVsbG8=", MISSING, False),
    ("binary-equals-ifexists-missing", "BinaryEqualsIfExists", "key:blob", "aGVsbG8=", MISSING, True),
    ("ip-address-in-range", "IpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.113.5", True),
    ("ip-address-out-of-range", "IpAddress", "aws:SourceIp", "203.0.113.0/24", "198.51.100.1", False),
    ("ip-address-ranges-ored", "IpAddress", "aws:SourceIp", ["10.0.0.0/8", "203.0.113.0/24"], "10.200.0.1", True),
    ("ip-address-single-host", "IpAddress", "aws:SourceIp", "203.0.113.5", "203.0.113.5", True),
    ("ip-address-host-bits-set", "IpAddress", "aws:SourceIp", "203.0.113.77/24", "203.0.113.5", True),
    ("ip-address-ipv6", "IpAddress", "aws:SourceIp", "2001:db8::/32", "2001:db8::1", True),
    ("ip-address-ipv6-outside", "IpAddress", "aws:SourceIp", "2001:db8::/32", "2001:db9::1", False),
    ("ip-address-family-mismatch", "IpAddress", "aws:SourceIp", "2001:db8::/32", "203.0.113.5", False),
    ("ip-address-not-an-ip", "IpAddress", "aws:SourceIp", "10.0.0.0/8", "localhost", False),
    ("ip-address-missing", "IpAddress", "aws:SourceIp", "10.0.0.0/8", MISSING, False),
    ("ip-address-ifexists-missing", "IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8", MISSING, True),
    ("not-ip-address-outside", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", "198.51.100.1", True),
    ("not-ip-address-inside", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.113.9", False),
    ("not-ip-address-missing-is-true", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", MISSING, True),
    ("not-ip-address-ifexists-inside", "NotIpAddressIfExists", "aws:SourceIp", "203.0.113.0/24", "203.0.113.9", False),
    ("arn-equals-exact", "ArnEquals", "aws:SourceArn", f"arn:aws:iam::{ACCOUNT}:role/x", f"arn:aws:iam::{ACCOUNT}:role/x", True),
    ("arn-equals-allows-wildcards", "ArnEquals", "aws:SourceArn", "arn:aws:iam::*:role/*", f"arn:aws:iam::{ACCOUNT}:role/x", True),
    ("arn-equals-other", "ArnEquals", "aws:SourceArn", f"arn:aws:iam::{ACCOUNT}:role/x", f"arn:aws:iam::{ACCOUNT}:role/y", False),
    ("arn-like-wildcard", "ArnLike", "aws:SourceArn", "arn:aws:ec2:*:*:instance/*", f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1", True),
    ("arn-like-case-sensitive", "ArnLike", "aws:SourceArn", "arn:aws:iam::*:role/X", f"arn:aws:iam::{ACCOUNT}:role/x", False),
    ("arn-like-field-star-stays-in-field", "ArnLike", "aws:SourceArn", "arn:aws:sns:*:topic", f"arn:aws:sns:us-east-1:{ACCOUNT}:topic", False),
    ("arn-like-missing", "ArnLike", "aws:SourceArn", "arn:aws:ec2:*:*:instance/*", MISSING, False),
    ("arn-like-ifexists-missing", "ArnLikeIfExists", "aws:SourceArn", "arn:aws:ec2:*:*:instance/*", MISSING, True),
    ("arn-not-equals-other", "ArnNotEquals", "aws:SourceArn", f"arn:aws:iam::{ACCOUNT}:role/x", f"arn:aws:iam::{ACCOUNT}:role/y", True),
    ("arn-not-equals-same", "ArnNotEquals", "aws:SourceArn", f"arn:aws:iam::{ACCOUNT}:role/x", f"arn:aws:iam::{ACCOUNT}:role/x", False),
    ("arn-not-like-match", "ArnNotLike", "aws:SourceArn", "arn:aws:iam::*:role/*", f"arn:aws:iam::{ACCOUNT}:role/x", False),
    ("arn-not-like-missing-is-true", "ArnNotLike", "aws:SourceArn", "arn:aws:iam::*:role/*", MISSING, True),
    ("null-true-key-absent", "Null", "aws:TokenIssueTime", "true", MISSING, True),
    ("null-true-key-present", "Null", "aws:TokenIssueTime", "true", "2020-01-01T00:00:00Z", False),
    ("null-false-key-present", "Null", "aws:TokenIssueTime", "false", "2020-01-01T00:00:00Z", True),
    ("null-false-key-absent", "Null", "aws:TokenIssueTime", "false", MISSING, False),
    ("null-json-bool", "Null", "aws:TokenIssueTime", False, "x", True),
    ("null-empty-list-is-absent", "Null", "aws:TagKeys", "true", [], True),
    ("for-all-values-subset", "ForAllValues:StringEquals", "aws:TagKeys", ["Env", "Team", "Owner"], ["Env", "Team"], True),
    ("for-all-values-extra-value", "ForAllValues:StringEquals", "aws:TagKeys", ["Env", "Team"], ["Env", "Cost"], False),
    ("for-all-values-missing-is-true", "ForAllValues:StringEquals", "aws:TagKeys", ["Env"], MISSING, True),
    ("for-all-values-empty-is-true", "ForAllValues:StringEquals", "aws:TagKeys", ["Env"], [], True),
    ("for-all-values-single-string", "ForAllValues:StringEquals", "aws:TagKeys", ["Env"], "Env", True),
    ("for-all-values-like", "ForAllValues:StringLike", "aws:TagKeys", "Env*", ["Env", "Environment"], True),
    ("for-all-values-ignore-case", "ForAllValues:StringEqualsIgnoreCase", "aws:TagKeys", "env", ["ENV", "Env"], True),
    ("for-all-values-not-equals-none-listed", "ForAllValues:StringNotEquals", "aws:TagKeys", "Secret", ["a", "b"], True),
    ("for-all-values-not-equals-one-listed", "ForAllValues:StringNotEquals", "aws:TagKeys", "Secret", ["a", "Secret"], False),
    ("for-all-values-numeric", "ForAllValues:NumericLessThan", "key:sizes", "100", ["1", "99"], True),
    ("for-any-value-one-matches", "ForAnyValue:StringEquals", "aws:TagKeys", "Env", ["Env", "Foo"], True),
    ("for-any-value-none-match", "ForAnyValue:StringEquals", "aws:TagKeys", "Env", ["Foo", "Bar"], False),
    ("for-any-value-missing-is-false", "ForAnyValue:StringEquals", "aws:TagKeys", "Env", MISSING, False),
    ("for-any-value-empty-is-false", "ForAnyValue:StringEquals", "aws:TagKeys", "Env", [], False),
    ("for-any-value-like", "ForAnyValue:StringLike", "aws:TagKeys", "Cost*", ["Env", "CostCenter"], True),
    ("for-any-value-not-equals-some-other", "ForAnyValue:StringNotEquals", "aws:TagKeys", "Env", ["Env", "Team"], True),
    ("for-any-value-not-equals-all-listed", "ForAnyValue:StringNotEquals", "aws:TagKeys", "Env", ["Env"], False),
    ("for-any-value-not-equals-missing-is-false", "ForAnyValue:StringNotEquals", "aws:TagKeys", "Env", MISSING, False),
    ("for-any-value-ifexists-missing", "ForAnyValue:StringEqualsIfExists", "aws:TagKeys", "Env", MISSING, True),
    ("for-any-value-ip", "ForAnyValue:IpAddress", "key:addresses", "10.0.0.0/8", ["192.0.2.1", "10.1.1.1"], True),
]


def _row_to_case(row: ConditionRow) -> Case:
    name, operator, key, values, request, holds = row
    keys = {} if request is MISSING else {key: request}
    policy = doc(allow("ec2:DescribeInstances", condition={operator: {key: values}}))
    return case(f"cond-{name}", ALLOW if holds else IMPLICIT, "ec2:DescribeInstances", policy, keys=keys)


CONDITIONS: list[Case] = [_row_to_case(row) for row in CONDITION_ROWS]

EVALUATION_CASES: list[Case] = BASICS + VARIABLES + MULTI_RESOURCE + CONDITION_COMBINATIONS + CONDITIONS


# --- trust policies --------------------------------------------------------------------


@dataclass(frozen=True)
class TrustCase:
    id: str
    expected: Decision
    trust: str
    caller: Principal
    action: str = "sts:AssumeRole"
    keys: Mapping[str, Any] = field(default_factory=dict)


def trust(*statements: dict[str, Any]) -> str:
    return doc(*statements)


def trusts(principal: Any, **kw: Any) -> dict[str, Any]:
    return allow("sts:AssumeRole", None, principal=principal, **kw)


ROLE_OPS = f"arn:aws:iam::{ACCOUNT}:role/ops"

TRUST_CASES: list[TrustCase] = [
    TrustCase("service-ec2-trusts-ec2", ALLOW, trust(trusts({"Service": "ec2.amazonaws.com"})), EC2_SERVICE),
    TrustCase("service-ec2-rejects-user", IMPLICIT, trust(trusts({"Service": "ec2.amazonaws.com"})), ALICE),
    TrustCase("service-ec2-rejects-other-service", IMPLICIT, trust(trusts({"Service": "ec2.amazonaws.com"})), LAMBDA_SERVICE),
    TrustCase("service-list", ALLOW, trust(trusts({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]})), EC2_SERVICE),
    TrustCase("service-name-ignores-case", ALLOW, trust(trusts({"Service": "EC2.amazonaws.com"})), EC2_SERVICE),
    TrustCase("account-id-trusts-its-users", ALLOW, trust(trusts({"AWS": ACCOUNT})), ALICE),
    TrustCase("account-id-rejects-other-account", IMPLICIT, trust(trusts({"AWS": ACCOUNT})), BOB_ELSEWHERE),
    TrustCase("root-arn-trusts-its-users", ALLOW, trust(trusts({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), ALICE),
    TrustCase("root-arn-trusts-its-role-sessions", ALLOW, trust(trusts({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), OPS_SESSION),
    TrustCase("root-arn-trusts-root", ALLOW, trust(trusts({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), ROOT),
    TrustCase("root-arn-rejects-other-account", IMPLICIT, trust(trusts({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), BOB_ELSEWHERE),
    TrustCase("account-does-not-cover-services", IMPLICIT, trust(trusts({"AWS": ACCOUNT})), EC2_SERVICE),
    TrustCase("user-arn-exact", ALLOW, trust(trusts({"AWS": user_arn("alice")})), ALICE),
    TrustCase("user-arn-other-user", IMPLICIT, trust(trusts({"AWS": user_arn("alice")})), USER_NAMED_OPS),
    TrustCase("user-arn-list", ALLOW, trust(trusts({"AWS": [user_arn("x"), user_arn("bob", OTHER_ACCOUNT)]})), BOB_ELSEWHERE),
    TrustCase("role-arn-matches-its-session", ALLOW, trust(trusts({"AWS": ROLE_OPS})), OPS_SESSION),
    TrustCase("role-arn-with-path-matches-session", ALLOW,
              trust(trusts({"AWS": f"arn:aws:iam::{ACCOUNT}:role/team/ops"})), OPS_SESSION),
    TrustCase("role-arn-other-role", IMPLICIT, trust(trusts({"AWS": f"arn:aws:iam::{ACCOUNT}:role/dev"})), OPS_SESSION),
    TrustCase("role-arn-other-account", IMPLICIT, trust(trusts({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:role/ops"})), OPS_SESSION),
    TrustCase("role-arn-not-user-of-same-name", IMPLICIT, trust(trusts({"AWS": ROLE_OPS})), USER_NAMED_OPS),
    TrustCase("assumed-role-arn-exact", ALLOW, trust(trusts({"AWS": OPS_SESSION.arn})), OPS_SESSION),
    TrustCase("principal-star-anyone", ALLOW, trust(trusts("*")), BOB_ELSEWHERE),
    TrustCase("aws-star-anyone", ALLOW, trust(trusts({"AWS": "*"})), ALICE),
    TrustCase("federated-never-matches-here", IMPLICIT,
              trust(trusts({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/corp"})), ALICE),
    TrustCase("canonical-user-never-matches-here", IMPLICIT, trust(trusts({"CanonicalUser": "79a59df900b949e5"})), ALICE),
    TrustCase("other-action-not-trusted", IMPLICIT, trust(trusts({"AWS": ACCOUNT})), ALICE,
              action="sts:AssumeRoleWithWebIdentity"),
    TrustCase("trusted-action-wildcard", ALLOW, trust(allow("sts:Assume*", None, principal={"AWS": ACCOUNT})), ALICE),
    TrustCase("deny-user-beats-account-allow", DENY,
              trust(trusts({"AWS": ACCOUNT}), deny("sts:AssumeRole", None, principal={"AWS": user_arn("alice")})), ALICE),
    TrustCase("deny-user-spares-others", ALLOW,
              trust(trusts({"AWS": ACCOUNT}), deny("sts:AssumeRole", None, principal={"AWS": user_arn("alice")})),
              USER_NAMED_OPS),
    TrustCase("not-principal-deny-spares-named", ALLOW,
              trust(trusts({"AWS": ACCOUNT}), deny("sts:AssumeRole", None, not_principal={"AWS": user_arn("alice")})), ALICE),
    TrustCase("not-principal-deny-hits-others", DENY,
              trust(trusts({"AWS": ACCOUNT}), deny("sts:AssumeRole", None, not_principal={"AWS": user_arn("alice")})),
              OPS_SESSION),
    TrustCase("not-principal-allow", ALLOW, trust(allow("sts:AssumeRole", None, not_principal={"AWS": OTHER_ACCOUNT})), ALICE),
    TrustCase("external-id-matches", ALLOW,
              trust(trusts({"AWS": OTHER_ACCOUNT}, condition={"StringEquals": {"sts:ExternalId": "abc"}})),
              BOB_ELSEWHERE, keys={"sts:ExternalId": "abc"}),
    TrustCase("external-id-wrong", IMPLICIT,
              trust(trusts({"AWS": OTHER_ACCOUNT}, condition={"StringEquals": {"sts:ExternalId": "abc"}})),
              BOB_ELSEWHERE, keys={"sts:ExternalId": "xyz"}),
    TrustCase("external-id-missing", IMPLICIT,
              trust(trusts({"AWS": OTHER_ACCOUNT}, condition={"StringEquals": {"sts:ExternalId": "abc"}})), BOB_ELSEWHERE),
    TrustCase("mixed-principal-map-service", ALLOW,
              trust(trusts({"AWS": OTHER_ACCOUNT, "Service": "ec2.amazonaws.com"})), EC2_SERVICE),
    TrustCase("mixed-principal-map-account", ALLOW,
              trust(trusts({"AWS": OTHER_ACCOUNT, "Service": "ec2.amazonaws.com"})), BOB_ELSEWHERE),
    TrustCase("resource-in-trust-is-ignored", ALLOW,
              trust(allow("sts:AssumeRole", "arn:aws:iam::000000000000:role/elsewhere", principal={"AWS": ACCOUNT})), ALICE),
]


# --- session policies ------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCase:
    id: str
    expected: Decision
    identity: tuple[str, ...]
    session: tuple[str, ...] | None
    action: str
    resources: tuple[str, ...] = ("*",)
    keys: Mapping[str, Any] = field(default_factory=dict)


SESSION_CASES: list[SessionCase] = [
    SessionCase("no-session-policy-identity-decides", ALLOW, (doc(allow("ec2:*")),), None, "ec2:RunInstances"),
    # Session policies were passed but none is readable (a deleted managed policy): nothing allows.
    SessionCase("unreadable-session-policies-deny", IMPLICIT, (doc(allow("ec2:*")),), (), "ec2:RunInstances"),
    SessionCase("both-allow", ALLOW, (doc(allow("ec2:*")),), (doc(allow("ec2:Describe*")),), "ec2:DescribeImages"),
    SessionCase("session-narrows", IMPLICIT, (doc(allow("ec2:*")),), (doc(allow("ec2:Describe*")),), "ec2:RunInstances"),
    SessionCase("session-cannot-widen", IMPLICIT, (doc(allow("ec2:Describe*")),), (doc(allow("*")),), "iam:CreateUser"),
    SessionCase("session-explicit-deny", DENY, (doc(allow("*")),), (doc(allow("*"), deny("ec2:RunInstances")),),
                "ec2:RunInstances"),
    SessionCase("session-deny-beats-identity-implicit", DENY, (doc(allow("iam:*")),), (doc(deny("ec2:*")),),
                "ec2:RunInstances"),
    SessionCase("identity-deny-beats-session-allow", DENY, (doc(allow("*"), deny("ec2:*")),), (doc(allow("*")),),
                "ec2:RunInstances"),
    SessionCase("neither-allows", IMPLICIT, (doc(allow("iam:*")),), (doc(allow("s3:*")),), "ec2:RunInstances"),
    SessionCase("session-resource-scope-inside", ALLOW, (doc(allow("s3:*")),), (doc(allow("s3:*", "arn:aws:s3:::a/*")),),
                "s3:GetObject", ("arn:aws:s3:::a/k",)),
    SessionCase("session-resource-scope-outside", IMPLICIT, (doc(allow("s3:*")),),
                (doc(allow("s3:*", "arn:aws:s3:::a/*")),), "s3:GetObject", ("arn:aws:s3:::b/k",)),
    SessionCase("session-conditional-deny", DENY, (doc(allow("*")),),
                (doc(allow("*"), deny("*", condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),),
                "ec2:RunInstances", keys={"aws:SourceIp": "192.0.2.1"}),
    SessionCase("two-session-policies-union", ALLOW, (doc(allow("*")),),
                (doc(allow("s3:*")), doc(allow("ec2:*"))), "ec2:RunInstances"),
]


# --- malformed documents ---------------------------------------------------------------

SYNTAX = "Syntax errors in policy."


@dataclass(frozen=True)
class MalformedCase:
    id: str
    text: str
    kind: str
    message: str  # the exact client-facing message, or its start for the operator case
    detail: str = ""  # a fragment of the detail, when the message alone is ambiguous


def _raw(body: Any) -> str:
    return json.dumps(body)


_OK = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}

MALFORMED_CASES: list[MalformedCase] = [
    MalformedCase("invalid-json", '{"Version": "2012-10-17", ', "identity", SYNTAX, "JSON"),
    MalformedCase("not-an-object", "[]", "identity", SYNTAX, "object"),
    MalformedCase("missing-statement", _raw({"Version": "2012-10-17"}), "identity", SYNTAX, "missing Statement"),
    MalformedCase("empty-statement-list", _raw({"Version": "2012-10-17", "Statement": []}), "identity", SYNTAX,
                  "non-empty"),
    MalformedCase("statement-not-object", _raw({"Statement": ["x"]}), "identity", SYNTAX, "object"),
    MalformedCase("unknown-top-level-element", _raw({"Statement": [_OK], "Statements": []}), "identity", SYNTAX,
                  "Statements"),
    MalformedCase("unknown-statement-element", _raw({"Statement": [{**_OK, "Actions": "x"}]}), "identity", SYNTAX,
                  "Actions"),
    MalformedCase("missing-effect", _raw({"Statement": [{"Action": "iam:GetUser", "Resource": "*"}]}), "identity",
                  SYNTAX, "no Effect"),
    MalformedCase("effect-not-allow-or-deny", _raw({"Statement": [{**_OK, "Effect": "Maybe"}]}), "identity", SYNTAX,
                  "Effect"),
    MalformedCase("effect-lowercase", _raw({"Statement": [{**_OK, "Effect": "allow"}]}), "identity",
                  "The policy failed legacy parsing"),
    MalformedCase("missing-action", _raw({"Statement": [{"Effect": "Allow", "Resource": "*"}]}), "identity",
                  "Policy statement must contain actions."),
    MalformedCase("empty-action-list", _raw({"Statement": [{**_OK, "Action": []}]}), "identity",
                  "Policy statement must contain actions."),
    MalformedCase("action-and-notaction", _raw({"Statement": [{**_OK, "NotAction": "ec2:*"}]}), "identity", SYNTAX,
                  "both Action and NotAction"),
    MalformedCase("action-not-strings", _raw({"Statement": [{**_OK, "Action": [1]}]}), "identity", SYNTAX, "Action"),
    MalformedCase("action-without-vendor", _raw({"Statement": [{**_OK, "Action": "GetUser"}]}), "identity",
                  "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    MalformedCase("identity-missing-resource", _raw({"Statement": [{"Effect": "Allow", "Action": "iam:GetUser"}]}),
                  "identity", "Policy statement must contain resources."),
    MalformedCase("session-missing-resource", _raw({"Statement": [{"Effect": "Allow", "Action": "iam:GetUser"}]}),
                  "session", "Policy statement must contain resources."),
    MalformedCase("resource-and-notresource", _raw({"Statement": [{**_OK, "NotResource": "*"}]}), "identity", SYNTAX,
                  "both Resource and NotResource"),
    MalformedCase("identity-with-principal", _raw({"Statement": [{**_OK, "Principal": "*"}]}), "identity",
                  "Policy document should not specify a principal."),
    MalformedCase("identity-with-notprincipal", _raw({"Statement": [{**_OK, "NotPrincipal": {"AWS": ACCOUNT}}]}),
                  "identity", "Policy document should not specify a principal."),
    MalformedCase("session-with-principal", _raw({"Statement": [{**_OK, "Principal": "*"}]}), "session",
                  "Policy document should not specify a principal."),
    MalformedCase("trust-missing-principal",
                  _raw({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}), "trust",
                  "Missing required field Principal"),
    MalformedCase("trust-unknown-principal-type",
                  _raw({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Foo": "x"}}]}),
                  "trust", SYNTAX, "principal type"),
    MalformedCase("trust-principal-bad-string",
                  _raw({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "bob"}]}),
                  "trust", SYNTAX, "Principal"),
    MalformedCase("trust-invalid-aws-principal",
                  _raw({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "bob"}}]}),
                  "trust", 'Invalid principal in policy: "AWS":"bob"'),
    MalformedCase("unknown-condition-operator",
                  _raw({"Statement": [{**_OK, "Condition": {"StringEqualz": {"aws:username": "a"}}}]}), "identity",
                  "Syntax errors in policy. Unknown condition operator StringEqualz."),
    MalformedCase("null-has-no-ifexists",
                  _raw({"Statement": [{**_OK, "Condition": {"NullIfExists": {"aws:username": "true"}}}]}), "identity",
                  "Syntax errors in policy. Unknown condition operator NullIfExists."),
    MalformedCase("unknown-set-qualifier",
                  _raw({"Statement": [{**_OK, "Condition": {"ForSomeValues:StringEquals": {"k:k": "a"}}}]}),
                  "identity", "Syntax errors in policy. Unknown condition operator ForSomeValues:StringEquals."),
    MalformedCase("operator-case-matters",
                  _raw({"Statement": [{**_OK, "Condition": {"stringequals": {"k:k": "a"}}}]}), "identity",
                  "Syntax errors in policy. Unknown condition operator stringequals."),
    MalformedCase("condition-not-object", _raw({"Statement": [{**_OK, "Condition": ["x"]}]}), "identity", SYNTAX,
                  "Condition"),
    MalformedCase("condition-value-object",
                  _raw({"Statement": [{**_OK, "Condition": {"StringEquals": {"k:k": {"a": 1}}}}]}), "identity", SYNTAX,
                  "scalars"),
    MalformedCase("bad-version", _raw({"Version": "2020-01-01", "Statement": [_OK]}), "identity", SYNTAX, "Version"),
    MalformedCase("version-not-string", _raw({"Version": 2012, "Statement": [_OK]}), "identity", SYNTAX, "Version"),
    MalformedCase("duplicate-sid", _raw({"Statement": [{**_OK, "Sid": "A"}, {**_OK, "Sid": "A"}]}), "identity",
                  "Statement IDs (SID) in a single policy must be unique."),
    MalformedCase("sid-not-string", _raw({"Statement": [{**_OK, "Sid": 5}]}), "identity", SYNTAX, "Sid"),
    MalformedCase("sid-not-alphanumeric", _raw({"Statement": [{**_OK, "Sid": "allow ec2"}]}), "identity",
                  "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular "
                  "expression [0-9A-Za-z]*", "alphanumeric"),
    MalformedCase("sid-not-ascii", _raw({"Statement": [{**_OK, "Sid": "Grüße"}]}), "trust",
                  "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular "
                  "expression [0-9A-Za-z]*", "alphanumeric"),
]
