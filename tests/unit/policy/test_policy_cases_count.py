"""The evaluation table is the engine's specification; keep it broad."""

from __future__ import annotations

from collections import Counter

from policy_case_table import CONDITION_ROWS, EVALUATION_CASES, MALFORMED_CASES, SESSION_CASES, TRUST_CASES

from eucalite.policy import Decision

OPERATORS = (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Null",
)  # fmt: skip


def test_table_has_at_least_150_evaluation_cases() -> None:
    assert len(EVALUATION_CASES) >= 150


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in (*EVALUATION_CASES, *TRUST_CASES, *SESSION_CASES, *MALFORMED_CASES)]
    assert [name for name, count in Counter(ids).items() if count > 1] == []


def test_table_exercises_every_decision() -> None:
    assert {c.expected for c in EVALUATION_CASES} == set(Decision)


def test_every_operator_has_rows() -> None:
    used = {row[1] for row in CONDITION_ROWS}
    assert set(OPERATORS) <= used


def test_every_operator_family_has_an_if_exists_row() -> None:
    used = {row[1] for row in CONDITION_ROWS if row[1].endswith("IfExists")}
    for family in ("String", "Numeric", "Date", "Bool", "Binary", "IpAddress", "NotIpAddress", "Arn"):
        assert any(op.split(":")[-1].startswith(family) for op in used), family
