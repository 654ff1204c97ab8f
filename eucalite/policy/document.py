"""Parsing and validating policy documents into compiled, immutable statements.

Validation mirrors what IAM answers with ``MalformedPolicyDocument``: first a
syntax pass over the whole document (anything structurally wrong is "Syntax
errors in policy."), then per-statement rules with their own messages. The
``detail`` on the exception says which rule fired, for logs and tests; the
``message`` is what goes back to clients.

Everything the engine needs per request (action regex, resource globs,
condition matchers) is compiled here, once per document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from eucalite.policy.conditions import (
    Condition,
    ContextLookup,
    UnknownConditionOperator,
    compile_condition,
)
from eucalite.policy.matching import Glob, Resolver, compile_actions, compile_glob

__all__ = [
    "Effect",
    "MalformedPolicy",
    "PolicyDocument",
    "PolicyKind",
    "PrincipalSet",
    "Statement",
    "document_size_without_whitespace",
    "parse_policy",
]

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
_VERSIONS = (VERSION_2012, VERSION_2008)

SYNTAX_ERROR = "Syntax errors in policy."
MISSING_ACTIONS = "Policy statement must contain actions."
MISSING_RESOURCES = "Policy statement must contain resources."
PRINCIPAL_NOT_ALLOWED = "Policy document should not specify a principal."
MISSING_PRINCIPAL = "Missing required field Principal"
LEGACY_PARSING = "The policy failed legacy parsing"
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
INVALID_SID = ("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression "
               "[0-9A-Za-z]*")
_SID = re.compile(r"[0-9A-Za-z]*")
MISSING_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."

_TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ACCOUNT_ID = re.compile(r"\d{12}")


class PolicyKind(StrEnum):
    IDENTITY = "identity"  # user/group/role policies: Resource required, no Principal
    TRUST = "trust"  # resource-based (role trust): Principal required, Resource optional
    SESSION = "session"  # AssumeRole's Policy parameter: shaped like an identity policy


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class MalformedPolicy(ValueError):
    """A document IAM would reject with MalformedPolicyDocument."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    """The Principal / NotPrincipal element: ``"*"`` or a map of principal types."""

    wildcard: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Statement:
    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...]
    action_negated: bool  # NotAction
    resources: tuple[str, ...] | None  # None: the statement names no resource (trust policies)
    resource_negated: bool  # NotResource
    principals: PrincipalSet | None
    principal_negated: bool  # NotPrincipal
    conditions: tuple[Condition, ...]
    action_regex: re.Pattern[str] = field(repr=False, compare=False)
    resource_globs: tuple[Glob, ...] = field(repr=False, compare=False)

    def matches_action(self, action: str) -> bool:
        return (self.action_regex.fullmatch(action) is not None) is not self.action_negated

    def matches_resource(self, resource: str, resolve: Resolver) -> bool:
        if self.resources is None:
            return True
        if self.resource_negated:
            # An unresolvable variable makes the statement inapplicable rather
            # than quietly matching everything.
            return all(glob.matches(resource, resolve) is False for glob in self.resource_globs)
        for glob in self.resource_globs:
            pattern = glob.static or glob.regex(resolve)
            if pattern is not None and pattern.fullmatch(resource) is not None:
                return True
        return False

    def conditions_hold(self, lookup: ContextLookup, resolve: Resolver) -> bool:
        # A plain loop, not all(genexpr): this runs per request and the generator costs more.
        for condition in self.conditions:  # noqa: SIM110
            if not condition.holds(lookup, resolve):
                return False
        return True


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    kind: PolicyKind
    version: str | None
    statements: tuple[Statement, ...]
    id: str | None = None

    @property
    def variables_enabled(self) -> bool:
        # AWS only substitutes ${...} in 2012-10-17 documents; older ones see literal text.
        return self.version == VERSION_2012


def document_size_without_whitespace(text: str) -> int:
    """The size IAM checks against its quotas: characters, whitespace excluded."""
    return sum(1 for char in text if not char.isspace())


def _syntax(detail: str) -> MalformedPolicy:
    return MalformedPolicy(SYNTAX_ERROR, detail)


def _string_list(value: object, element: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise _syntax(f"{element} must be a string or a list of strings")


def _parse_principal(value: object, element: str) -> PrincipalSet:
    if value == "*":
        return PrincipalSet(wildcard=True)
    if not isinstance(value, dict) or not value:
        raise _syntax(f'{element} must be "*" or an object of principal types')
    found: dict[str, tuple[str, ...]] = {}
    for kind, members in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise _syntax(f"unknown principal type {kind!r}")
        found[kind] = _string_list(members, f"{element}.{kind}")
        if kind == "AWS":
            for member in found[kind]:
                if member != "*" and not _ACCOUNT_ID.fullmatch(member) and not member.startswith("arn:"):
                    raise MalformedPolicy(
                        f'Invalid principal in policy: "AWS":"{member}"', f"bad AWS principal {member!r}"
                    )
    return PrincipalSet(
        wildcard=found.get("AWS") == ("*",),
        aws=found.get("AWS", ()),
        service=found.get("Service", ()),
        federated=found.get("Federated", ()),
        canonical_user=found.get("CanonicalUser", ()),
    )


def _parse_conditions(value: object, variables: bool) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise _syntax("Condition must be an object")
    conditions: list[Condition] = []
    for operator_name, block in value.items():
        if not isinstance(block, dict):
            raise _syntax(f"Condition operator {operator_name} must map keys to values")
        for key, values in block.items():
            scalar = (str, int, float, bool)
            if not isinstance(values, scalar) and not (
                isinstance(values, list) and all(isinstance(v, scalar) for v in values)
            ):
                raise _syntax(f"values of condition key {key} must be scalars or a list of scalars")
            try:
                conditions.append(compile_condition(operator_name, key, values, variables=variables))
            except UnknownConditionOperator:
                # AWS itself only says "Syntax errors in policy."; naming the operator is kinder.
                raise MalformedPolicy(
                    f"{SYNTAX_ERROR} Unknown condition operator {operator_name}.",
                    f"unknown condition operator {operator_name}",
                ) from None
    return tuple(conditions)


def _check_statement_syntax(raw: object) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise _syntax("each statement must be an object")
    unknown = set(raw) - _STATEMENT_ELEMENTS
    if unknown:
        raise _syntax(f"unknown statement element(s) {', '.join(sorted(unknown))}")
    for first, second in (
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
        ("Principal", "NotPrincipal"),
    ):
        if first in raw and second in raw:
            raise _syntax(f"a statement may not have both {first} and {second}")
    if "Effect" not in raw:
        raise _syntax("statement has no Effect")
    effect = raw["Effect"]
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        raise _syntax(f"Effect must be Allow or Deny, not {effect!r}")
    if "Sid" in raw and not isinstance(raw["Sid"], str):
        raise _syntax("Sid must be a string")
    if "Sid" in raw and not _SID.fullmatch(raw["Sid"]):
        raise MalformedPolicy(INVALID_SID, f"Sid {raw['Sid']!r} is not alphanumeric")
    return raw


def _check_action_vendor(action: str) -> None:
    if action != "*" and ":" not in action:
        raise MalformedPolicy(MISSING_VENDOR, f"action {action!r} has no service prefix")


def _build_statement(index: int, raw: Mapping[str, object], kind: PolicyKind, variables: bool) -> Statement:
    effect_text = str(raw["Effect"])
    if effect_text not in (Effect.ALLOW, Effect.DENY):
        # "allow" passes the syntax check but not IAM's case-sensitive legacy parser.
        raise MalformedPolicy(LEGACY_PARSING, f"Effect {effect_text!r} is not capitalised")

    action_element = "Action" if "Action" in raw else "NotAction"
    actions = _string_list(raw[action_element], action_element) if action_element in raw else ()
    if not actions:
        raise MalformedPolicy(MISSING_ACTIONS, "statement has neither Action nor NotAction")
    for action in actions:
        _check_action_vendor(action)

    principal_element = "Principal" if "Principal" in raw else "NotPrincipal"
    principals: PrincipalSet | None = None
    if principal_element in raw:
        if kind is not PolicyKind.TRUST:
            raise MalformedPolicy(PRINCIPAL_NOT_ALLOWED, f"{principal_element} in a {kind} policy")
        principals = _parse_principal(raw[principal_element], principal_element)
    elif kind is PolicyKind.TRUST:
        raise MalformedPolicy(MISSING_PRINCIPAL, "trust statement has neither Principal nor NotPrincipal")

    resource_element = "Resource" if "Resource" in raw else "NotResource"
    resources: tuple[str, ...] | None = None
    if resource_element in raw:
        resources = _string_list(raw[resource_element], resource_element)
    if kind is not PolicyKind.TRUST and not resources:
        raise MalformedPolicy(MISSING_RESOURCES, "statement has neither Resource nor NotResource")

    conditions = _parse_conditions(raw["Condition"], variables) if "Condition" in raw else ()
    sid = raw.get("Sid")
    return Statement(
        index=index,
        sid=sid if isinstance(sid, str) and sid else None,
        effect=Effect(effect_text),
        actions=actions,
        action_negated=action_element == "NotAction",
        resources=resources,
        resource_negated=resource_element == "NotResource",
        principals=principals,
        principal_negated=principal_element == "NotPrincipal",
        conditions=conditions,
        action_regex=compile_actions(actions),
        resource_globs=tuple(compile_glob(r, arn=True, variables=variables) for r in resources or ()),
    )


def parse_policy(text: str, kind: PolicyKind) -> PolicyDocument:
    """Parse and validate ``text``; raise MalformedPolicy with IAM's wording."""
    try:
        document = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise _syntax("not valid JSON") from None
    if not isinstance(document, dict):
        raise _syntax("the document must be a JSON object")
    unknown = set(document) - _TOP_LEVEL
    if unknown:
        raise _syntax(f"unknown top-level element(s) {', '.join(sorted(unknown))}")

    raw_version = document.get("Version")
    if "Version" in document and raw_version not in _VERSIONS:
        raise _syntax(f"unsupported Version {raw_version!r}")
    version = raw_version if isinstance(raw_version, str) else None
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _syntax("Id must be a string")

    if "Statement" not in document:
        raise _syntax("missing Statement")
    raw_statements = document["Statement"]
    statements_raw: Sequence[object] = (
        [raw_statements] if isinstance(raw_statements, dict) else raw_statements
    )
    if not isinstance(statements_raw, list) or not statements_raw:
        raise _syntax("Statement must be an object or a non-empty list")
    checked = [_check_statement_syntax(raw) for raw in statements_raw]

    variables = version == VERSION_2012
    statements = tuple(_build_statement(i, raw, kind, variables) for i, raw in enumerate(checked))

    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise MalformedPolicy(DUPLICATE_SID, "duplicate Sid")
    return PolicyDocument(kind=PolicyKind(kind), version=version, statements=statements, id=policy_id)
