"""R2: the policy engine against its documented case table, and properties beyond the ones in
tests/unit/policy/test_policy_properties.py (which this reuses the strategies of, and also runs).

New properties: adding an Allow never narrows; several resources decide as the strictest of each one
alone; action names are case-insensitive; splitting or duplicating statements changes nothing; a session
policy only ever narrows; Allow/NotAction is the complement of Allow/Action; evaluation is pure.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

POLICY_TESTS = Path(__file__).resolve().parents[1] / "unit" / "policy"
if str(POLICY_TESTS) not in sys.path:
    sys.path.insert(0, str(POLICY_TESTS))  # the unit tests import their table as a top-level module

import policy_case_table as table  # noqa: E402
import test_policy_evaluation_table as table_tests  # noqa: E402
import test_policy_properties as props  # noqa: E402

from eucalite.policy import (  # noqa: E402
    Decision,
    Policy,
    PolicyKind,
    RequestContext,
    evaluate,
    evaluate_with_boundaries,
    parse_policy,
)
from tests.reliability.harness import Result  # noqa: E402

ALLOW, DENY, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY
Docs = list[list[dict[str, Any]]]


def _session(docs: Docs) -> list[Policy]:
    return [Policy(f"s{i}", parse_policy(json.dumps({"Version": "2012-10-17", "Statement": d}), PolicyKind.SESSION),
                   "session") for i, d in enumerate(docs)]


def _strictest(decisions: list[Decision]) -> Decision:
    if DENY in decisions:
        return DENY
    return IMPLICIT if IMPLICIT in decisions else ALLOW


def _recase(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flips[i % len(flips)] else c for i, c in enumerate(text))


# Each property takes hypothesis-drawn arguments and raises AssertionError when it does not hold.
def adding_an_allow_never_narrows(docs: Docs, extra: dict[str, Any], ctx: RequestContext) -> None:
    before = evaluate(ctx, props.build(docs)).decision
    after = evaluate(ctx, props.build([*docs, [extra]])).decision
    if before is ALLOW:
        assert after is ALLOW
    assert (after is DENY) == (before is DENY)


def several_resources_decide_as_the_strictest(docs: Docs, ctx: RequestContext) -> None:
    policies = props.build(docs)
    each = [evaluate(RequestContext(ctx.action, (r,), ctx.principal, ctx.keys), policies).decision
            for r in ctx.resources]
    assert evaluate(ctx, policies).decision is _strictest(each)


def action_names_are_case_insensitive(docs: Docs, ctx: RequestContext, flips: list[bool]) -> None:
    policies = props.build(docs)
    recased = RequestContext(_recase(ctx.action, flips), ctx.resources, ctx.principal, ctx.keys)
    assert evaluate(recased, policies).decision is evaluate(ctx, policies).decision


def splitting_or_duplicating_statements_changes_nothing(docs: Docs, ctx: RequestContext) -> None:
    decision = evaluate(ctx, props.build(docs)).decision
    split = [[s] for d in docs for s in d]
    doubled = [d + d for d in docs]
    assert evaluate(ctx, props.build(split)).decision is decision
    assert evaluate(ctx, props.build(doubled)).decision is decision


def a_session_policy_only_narrows(identity: Docs, session: Docs, ctx: RequestContext) -> None:
    alone = evaluate(ctx, props.build(identity)).decision
    combined = evaluate_with_boundaries(ctx, props.build(identity), _session(session) if session else None)
    if combined.decision is ALLOW:
        assert alone is ALLOW
        if session:
            assert evaluate(ctx, _session(session)).decision is ALLOW
    if alone is DENY:
        assert combined.decision is DENY


def not_action_is_the_complement(patterns: list[str], ctx: RequestContext) -> None:
    plain = evaluate(ctx, props.build([[{"Effect": "Allow", "Action": patterns, "Resource": "*"}]])).decision
    negated = evaluate(ctx, props.build([[{"Effect": "Allow", "NotAction": patterns, "Resource": "*"}]])).decision
    assert {plain, negated} == {ALLOW, IMPLICIT}


def evaluation_is_pure(docs: Docs, ctx: RequestContext) -> None:
    snapshot = (ctx.action, ctx.resources, json.dumps(ctx.keys, sort_keys=True, default=str))
    policies = props.build(docs)
    first = evaluate(ctx, policies)
    assert evaluate(ctx, policies) == first
    assert (ctx.action, ctx.resources, json.dumps(ctx.keys, sort_keys=True, default=str)) == snapshot


PROPERTIES: dict[str, tuple[Callable[..., None], tuple[Any, ...]]] = {
    "adding_an_allow_never_narrows": (adding_an_allow_never_narrows,
                                      (props.policy_sets, props.statements(effect="Allow"), props.contexts())),
    "several_resources_decide_as_the_strictest": (several_resources_decide_as_the_strictest,
                                                  (props.policy_sets, props.contexts())),
    "action_names_are_case_insensitive": (action_names_are_case_insensitive,
                                          (props.policy_sets, props.contexts(),
                                           st.lists(st.booleans(), min_size=1, max_size=8))),
    "splitting_or_duplicating_statements_changes_nothing": (splitting_or_duplicating_statements_changes_nothing,
                                                            (props.policy_sets, props.contexts())),
    "a_session_policy_only_narrows": (a_session_policy_only_narrows,
                                      (props.policy_sets, props.policy_sets, props.contexts())),
    "not_action_is_the_complement": (not_action_is_the_complement,
                                     (st.lists(st.sampled_from(props.ACTION_PATTERNS), min_size=1, max_size=3),
                                      props.contexts())),
    "evaluation_is_pure": (evaluation_is_pure, (props.policy_sets, props.contexts())),
    # The two, as written in the unit tests (run here at the stress size too).
    "adding_a_deny_never_widens_access": (props.test_adding_a_deny_never_widens_access.hypothesis.inner_test,
                                          (props.policy_sets, props.statements(effect="Deny"),
                                           st.integers(min_value=0), props.contexts())),
    "allow_on_star_allows_every_resource_unless_denied": (
        props.test_allow_on_star_allows_every_resource_unless_denied.hypothesis.inner_test,
        (st.sampled_from(props.ACTIONS), st.lists(props.arbitrary_resources, min_size=1, max_size=3),
         st.lists(props.statements(effect="Deny"), max_size=3), st.sampled_from(props.KEY_SETS))),
}


def check_property(name: str, examples: int, result: Result | None = None) -> int:
    """Run one property for ``examples`` examples; returns how many ran. Raises on a counterexample
    unless ``result`` collects failures."""
    fn, strategies = PROPERTIES[name]
    ran = 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=result is None,
              suppress_health_check=list(HealthCheck))
    @given(st.tuples(*strategies))
    def prop(args: tuple[Any, ...]) -> None:
        nonlocal ran
        ran += 1
        fn(*args)

    if result is None:
        prop()
    else:
        try:
            prop()
        except AssertionError as exc:
            result.fail(f"{name}: {str(exc)[:300]}")
        result.attempts += ran
    return ran


def run_case_table(result: Result) -> None:
    groups: list[tuple[str, Callable[[Any], None], tuple[Any, ...]]] = [
        ("evaluation", table_tests.test_identity_evaluation, table.EVALUATION_CASES),
        ("trust", table_tests.test_trust_evaluation, table.TRUST_CASES),
        ("session", table_tests.test_session_intersection, table.SESSION_CASES),
        ("malformed", table_tests.test_malformed_documents, table.MALFORMED_CASES),
    ]
    for label, test, cases in groups:
        for case in cases:
            result.attempts += 1
            try:
                test(case)
            except AssertionError as exc:
                result.fail(f"case {label}/{case.id}: {str(exc)[:200]}")
    result.notes.append(", ".join(f"{len(c)} {label} cases" for label, _, c in groups))


def run(examples_per_property: int) -> Result:
    result = Result("R2", "policy-engine-properties")
    run_case_table(result)
    for name in PROPERTIES:
        check_property(name, examples_per_property, result)
    result.notes.append(f"{len(PROPERTIES)} properties x up to {examples_per_property} examples")
    return result
