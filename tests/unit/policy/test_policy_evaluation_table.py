"""Runs the documented evaluation cases in ``policy_case_table`` through the engine."""

from __future__ import annotations

import pytest
from policy_case_table import (
    EVALUATION_CASES,
    MALFORMED_CASES,
    OPS_SESSION,
    SESSION_CASES,
    TRUST_CASES,
    Case,
    MalformedCase,
    SessionCase,
    TrustCase,
)

from eucalite.policy import (
    MalformedPolicy,
    Policy,
    PolicyKind,
    RequestContext,
    evaluate,
    evaluate_trust,
    evaluate_with_boundaries,
    parse_policy,
)


def _policies(texts: tuple[str, ...], kind: PolicyKind, prefix: str) -> list[Policy]:
    return [
        Policy(f"{prefix}{i}", parse_policy(text, kind), f"{prefix} inline") for i, text in enumerate(texts)
    ]


@pytest.mark.parametrize("case", EVALUATION_CASES, ids=lambda c: c.id)
def test_identity_evaluation(case: Case) -> None:
    ctx = RequestContext(case.action, case.resources, case.principal, case.keys)
    reason = evaluate(ctx, _policies(case.policies, PolicyKind.IDENTITY, "user"))
    assert reason.decision is case.expected, reason.describe()


@pytest.mark.parametrize("case", TRUST_CASES, ids=lambda c: c.id)
def test_trust_evaluation(case: TrustCase) -> None:
    document = parse_policy(case.trust, PolicyKind.TRUST)
    reason = evaluate_trust(document, case.action, case.caller, case.keys)
    assert reason.decision is case.expected, reason.describe()


@pytest.mark.parametrize("case", SESSION_CASES, ids=lambda c: c.id)
def test_session_intersection(case: SessionCase) -> None:
    ctx = RequestContext(case.action, case.resources, OPS_SESSION, case.keys)
    identity = _policies(case.identity, PolicyKind.IDENTITY, "role")
    session = None if case.session is None else _policies(case.session, PolicyKind.SESSION, "session")
    reason = evaluate_with_boundaries(ctx, identity, session)
    assert reason.decision is case.expected, reason.describe()


@pytest.mark.parametrize("case", MALFORMED_CASES, ids=lambda c: c.id)
def test_malformed_documents(case: MalformedCase) -> None:
    with pytest.raises(MalformedPolicy) as raised:
        parse_policy(case.text, PolicyKind(case.kind))
    assert raised.value.message == case.message
    assert str(raised.value) == case.message
    assert case.detail in raised.value.detail
