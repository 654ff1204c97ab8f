"""Policy evaluation: is this principal allowed this action on these resources?

The logic is AWS's "Policy evaluation logic" for a single account, reduced to
what eucalite has (identity policies, role trust policies, session policies):

1. any applicable Deny statement, in any policy, decides: explicit deny;
2. otherwise any applicable Allow statement decides: allow;
3. otherwise: implicit deny.

A statement applies when its Action/NotAction matches the action, its
Resource/NotResource matches the resource and all its conditions hold. A
request naming several resources is allowed only if every one is allowed.

Speed: documents arrive pre-compiled (see ``document.py``), patterns are
cached per string, a principal's derived keys are computed once and a context
builds its case-insensitive key table once, so a decision is mostly a few
``re.fullmatch`` calls. Measured (no test asserts on timing) by benchmark P6,
ten statements with wildcards, variables and conditions, the last deciding:
``python scripts/bench.py --quick`` (scripts/benchkit/policy.py), about
7 usec per decision on a busy 2-core VM (target: well under 20).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from eucalite.policy.conditions import ContextValue
from eucalite.policy.document import Effect, PolicyDocument, PrincipalSet, Statement

__all__ = [
    "Decision",
    "Policy",
    "Principal",
    "PrincipalKind",
    "Reason",
    "RequestContext",
    "evaluate",
    "evaluate_trust",
    "evaluate_with_boundaries",
    "principal_matches",
]

ContextKeys = Mapping[str, str | Sequence[str]]


class Decision(StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


class PrincipalKind(StrEnum):
    ROOT = "Root"  # the account's root identity; AWS's aws:PrincipalType calls it "Account"
    USER = "User"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    SERVICE = "Service"
    ANONYMOUS = "Anonymous"

    @classmethod
    def _missing_(cls, value: object) -> PrincipalKind | None:
        return cls.ROOT if value == "Account" else None

    @property
    def principal_type(self) -> str:
        """The value of the aws:PrincipalType condition key."""
        return "Account" if self is PrincipalKind.ROOT else str(self)


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``kind`` also accepts the plain strings ("User", "Account"...)."""

    arn: str
    account: str
    kind: PrincipalKind
    user_name: str | None = None
    role_name: str | None = None
    session_name: str | None = None
    service: str | None = None  # e.g. "ec2.amazonaws.com" when kind is Service
    user_id: str | None = None  # AIDA... / AROA...:session, for ${aws:userid}
    role_path: str = "/"  # the session ARN lacks it, but aws:PrincipalArn (the role's ARN) has it

    _keys: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", PrincipalKind(self.kind))
        # Computed once per principal: a request context copies it instead of rebuilding it.
        object.__setattr__(self, "_keys", self._derive_context_keys())

    @property
    def role_arn(self) -> str | None:
        """The IAM role behind an assumed-role session, path included."""
        if self.kind is PrincipalKind.ASSUMED_ROLE and self.role_name:
            partition = self.arn.split(":")[1] if self.arn.count(":") >= 5 else "aws"
            return f"arn:{partition}:iam::{self.account}:role{self.role_path}{self.role_name}"
        return None

    def context_keys(self) -> dict[str, str]:
        """Global condition keys AWS derives from the caller (lower-cased)."""
        return dict(self._keys)

    def _derive_context_keys(self) -> dict[str, str]:
        keys = {
            "aws:principalaccount": self.account,
            "aws:principaltype": self.kind.principal_type,
            "aws:principalarn": self.role_arn or self.arn,
        }
        if self.kind is PrincipalKind.USER and self.user_name:
            keys["aws:username"] = self.user_name
        if self.user_id:
            keys["aws:userid"] = self.user_id
        if self.kind is PrincipalKind.SERVICE and self.service:
            keys["aws:principalservicename"] = self.service
        return keys


def _scalar(value: object) -> str:
    # Callers sometimes pass True/3600; AWS's context holds their text form.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _normalise(value: object) -> ContextValue:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence | set | frozenset):
        return tuple(_scalar(item) for item in value)
    return _scalar(value)


@dataclass(frozen=True)
class RequestContext:
    """One authorization question.

    ``resources`` holds ARNs, or ``("*",)`` for actions without a resource.
    ``keys`` are condition keys; lookups ignore case. Keys derived from the
    principal (aws:username, aws:PrincipalAccount, ...) are filled in unless
    ``keys`` sets them.
    """

    action: str
    resources: tuple[str, ...]
    principal: Principal
    keys: ContextKeys = field(default_factory=dict)
    _values: dict[str, ContextValue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        resources = (self.resources,) if isinstance(self.resources, str) else tuple(self.resources)
        object.__setattr__(self, "resources", resources or ("*",))
        values: dict[str, ContextValue] = dict(self.principal._keys)
        for key, value in self.keys.items():
            values[key.lower()] = _normalise(value)
        object.__setattr__(self, "_values", values)
        # The dict's own bound get: no Python frame per condition lookup.
        object.__setattr__(self, "lookup", values.get)

    def lookup(self, key: str) -> ContextValue | None:  # replaced per instance in __post_init__
        """The value(s) of a lower-cased condition key, or None when absent."""
        return self._values.get(key)

    def resolve(self, key: str) -> str | None:
        """A policy variable's value. AWS never substitutes multivalued keys, even one-element ones."""
        value = self._values.get(key)
        return None if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Policy:
    name: str
    document: PolicyDocument
    source: str  # "user inline", "group devs inline", "managed arn:aws:iam::123:policy/x", ...


@dataclass(frozen=True)
class Reason:
    """A decision and the statement (if any) that made it."""

    decision: Decision
    policy_name: str | None = None
    policy_source: str | None = None
    statement_index: int | None = None
    sid: str | None = None
    resource: str | None = None  # set when one resource of several decided the outcome
    scope: str | None = None  # e.g. "session policies" when those left it undecided

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    def describe(self) -> str:
        if self.decision is Decision.IMPLICIT_DENY:
            where = f" in the {self.scope}" if self.scope else ""
            text = f"no statement{where} allowed it"
            return f"{text} (resource {self.resource})" if self.resource else text
        verb = "allowed" if self.decision is Decision.ALLOW else "denied"
        sid = f" (Sid {self.sid})" if self.sid else ""
        text = f"{verb} by statement {self.statement_index}{sid} of {self.policy_source} policy {self.policy_name}"
        return f"{text} (resource {self.resource})" if self.resource else text


def _reason(decision: Decision, policy: Policy, statement: Statement, resource: str | None) -> Reason:
    return Reason(decision, policy.name, policy.source, statement.index, statement.sid, resource)


def _decide_one(ctx: RequestContext, policies: Sequence[Policy], resource: str, label: str | None) -> Reason:
    allow: Reason | None = None
    action = ctx.action
    lookup = ctx.lookup
    resolve = ctx.resolve
    for policy in policies:
        for statement in policy.document.statements:
            # Inlined Statement.matches_action: this loop is the engine's hot path.
            if (statement.action_regex.fullmatch(action) is None) is not statement.action_negated:
                continue
            if statement.resources is not None and not statement.matches_resource(resource, resolve):
                continue
            if statement.conditions and not statement.conditions_hold(lookup, resolve):
                continue
            if statement.effect is Effect.DENY:
                return _reason(Decision.EXPLICIT_DENY, policy, statement, label)
            if allow is None:
                allow = _reason(Decision.ALLOW, policy, statement, label)
    return allow or Reason(Decision.IMPLICIT_DENY, resource=label)


def evaluate(ctx: RequestContext, policies: Sequence[Policy]) -> Reason:
    """Explicit deny wins over allow; allow wins over the default (implicit) deny.

    With several resources every one must be allowed; a deny on any of them
    wins over an implicit deny on another, so the most severe reason is reported.
    """
    if len(ctx.resources) == 1:
        return _decide_one(ctx, policies, ctx.resources[0], None)
    first_allow: Reason | None = None
    first_implicit: Reason | None = None
    for resource in ctx.resources:
        reason = _decide_one(ctx, policies, resource, resource)
        if reason.decision is Decision.EXPLICIT_DENY:
            return reason
        if reason.decision is Decision.IMPLICIT_DENY:
            first_implicit = first_implicit or reason
        else:
            first_allow = first_allow or reason
    return first_implicit or first_allow or Reason(Decision.IMPLICIT_DENY)


def evaluate_with_boundaries(
    ctx: RequestContext, identity_policies: Sequence[Policy], session_policies: Sequence[Policy] | None
) -> Reason:
    """Identity policies intersected with session policies (AssumeRole's Policy/PolicyArns).

    An explicit deny in either set denies; otherwise both sets must allow.
    ``None`` means "no session policy was passed" and leaves the identity policies alone. An empty
    sequence means session policies were passed but none could be read (a managed session policy that
    does not exist, or was deleted since): nothing allows, so the session is denied everything rather
    than falling back to the role's full permissions.
    """
    identity = evaluate(ctx, identity_policies)
    if session_policies is None or identity.decision is Decision.EXPLICIT_DENY:
        return identity
    session = evaluate(ctx, session_policies)
    if session.decision is Decision.EXPLICIT_DENY:
        return session
    if identity.decision is Decision.IMPLICIT_DENY:
        return identity
    if session.decision is Decision.IMPLICIT_DENY:
        return Reason(Decision.IMPLICIT_DENY, resource=session.resource, scope="session policies")
    return identity


# --- trust policies -------------------------------------------------------------------


def _account_of_root(value: str) -> str | None:
    """``123456789012`` or ``arn:aws:iam::123456789012:root`` -> the account id."""
    if value.isdigit() and len(value) == 12:
        return value
    fields = value.split(":")
    if len(fields) == 6 and fields[0] == "arn" and fields[2] == "iam" and fields[5] == "root":
        return fields[4]
    return None


def _aws_member_matches(value: str, caller: Principal) -> bool:
    if value == "*":
        return True
    if caller.kind in (PrincipalKind.SERVICE, PrincipalKind.ANONYMOUS):
        return value == caller.arn
    account = _account_of_root(value)
    if account is not None:
        # Naming an account trusts every principal in it; the account's own
        # identity policies then decide who may actually make the call.
        return account == caller.account
    if value == caller.arn:
        return True
    fields = value.split(":", 5)
    if len(fields) == 6 and fields[2] == "iam" and fields[5].startswith("role/"):
        # A role ARN also matches its sessions, whose ARN is assumed-role/NAME/SESSION.
        role_name = fields[5].rsplit("/", 1)[-1]
        return (
            caller.kind is PrincipalKind.ASSUMED_ROLE
            and caller.account == fields[4]
            and caller.role_name == role_name
        )
    return False


def principal_matches(principals: PrincipalSet, caller: Principal, stale: Collection[str] = ()) -> bool:
    """Does the Principal element name ``caller``? Federated/CanonicalUser never do here. ``stale`` members
    are ARNs whose entity is gone since the policy was saved: they name nobody, as on AWS, which keeps the
    unique id of a user or role principal rather than its name."""
    if principals.wildcard:
        return True
    if any(_aws_member_matches(member, caller) for member in principals.aws if member not in stale):
        return True
    if caller.kind is PrincipalKind.SERVICE and caller.service:
        service = caller.service.lower()
        return any(member.lower() == service for member in principals.service)
    return False


def evaluate_trust(
    trust: PolicyDocument,
    action: str,
    caller: Principal,
    keys: ContextKeys | None = None,
    *,
    name: str = "trust-policy",
    source: str = "role trust",
    stale: Collection[str] = (),
) -> Reason:
    """May ``caller`` perform ``action`` (sts:AssumeRole...) under this trust policy?

    Resources in a trust statement are ignored: the role itself is the resource.
    """
    ctx = RequestContext(action, ("*",), caller, keys or {})
    policy = Policy(name, trust, source)
    allow: Reason | None = None
    for statement in trust.statements:
        if statement.principals is None or not statement.matches_action(action):
            continue
        if principal_matches(statement.principals, caller, stale) is statement.principal_negated:
            continue
        if statement.conditions and not statement.conditions_hold(ctx.lookup, ctx.resolve):
            continue
        if statement.effect is Effect.DENY:
            return _reason(Decision.EXPLICIT_DENY, policy, statement, None)
        allow = allow or _reason(Decision.ALLOW, policy, statement, None)
    return allow or Reason(Decision.IMPLICIT_DENY)
