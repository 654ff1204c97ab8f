"""Wildcards, ARN fields and policy variables at the pattern level."""

from __future__ import annotations

import pytest

from eucalite.policy.matching import (
    Variable,
    Wildcard,
    compile_actions,
    compile_glob,
    compile_template,
    parse_parts,
)

VALUES = {"aws:username": "alice", "aws:principalaccount": "123456789012", "team": "a*b"}


def resolve(key: str) -> str | None:
    return VALUES.get(key)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("plain", ("plain",)),
        ("a*b?c", ("a", Wildcard.STAR, "b", Wildcard.QUESTION, "c")),
        ("home/${aws:username}/*", ("home/", Variable("aws:username"), "/", Wildcard.STAR)),
        ("${AWS:UserName}", (Variable("aws:username"),)),
        ("${aws:username, 'guest'}", (Variable("aws:username", "guest"),)),
        ("${ aws:username ,'guest' }", (Variable("aws:username", "guest"),)),
        ("${k, 'it''s'}", (Variable("k", "it's"),)),
        ("${k, 'a}b'}", (Variable("k", "a}b"),)),
        ("x${*}y${?}z${$}", ("x*y?z$",)),
        ("${unclosed", ("${unclosed",)),
        ("${}", ("${}",)),
        ("${k, unquoted}", ("${k, unquoted}",)),
    ],
)
def test_parse_parts(text: str, parts: tuple[object, ...]) -> None:
    assert parse_parts(text, wildcards=True, variables=True) == parts


def test_variables_off_keeps_text() -> None:
    assert parse_parts("${aws:username}", wildcards=True, variables=False) == ("${aws:username}",)


def test_template_renders_and_reports_unresolved() -> None:
    assert compile_template("u-${aws:username}", variables=True).render(resolve) == "u-alice"
    assert compile_template("u-${aws:nope}", variables=True).render(resolve) is None
    assert compile_template("u-${aws:nope, 'x'}", variables=True).render(resolve) == "u-x"
    assert compile_template("a*", variables=True).render(resolve) == "a*"


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "anything:at/all", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c", True),
        ("arn:aws:iam::*:user/*", "arn:aws:iam::123456789012:user/x", True),
        # a wildcard in the first five fields stays inside its field
        ("arn:aws:*:user/x", "arn:aws:iam::123456789012:user/x", False),
        ("arn:aws:s3:*:*:b", "arn:aws:s3:us-east-1:123:b", True),
        ("arn:aws:s3:::B*", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::bucket?", "arn:aws:s3:::bucket1", True),
        ("arn:aws:s3:::bucket?", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::b/line\nbreak", "arn:aws:s3:::b/line\nbreak", True),
        ("arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::home/alice/f", True),
        ("arn:aws:s3:::t/${team}", "arn:aws:s3:::t/a*b", True),
        ("arn:aws:s3:::t/${team}", "arn:aws:s3:::t/axxb", False),
    ],
)
def test_arn_globs(pattern: str, value: str, expected: bool) -> None:
    assert compile_glob(pattern, arn=True, variables=True).matches(value, resolve) is expected


def test_unresolvable_variable_is_reported_not_matched() -> None:
    assert (
        compile_glob("arn:aws:s3:::${aws:nope}", arn=True, variables=True).matches("arn:aws:s3:::x", resolve)
        is None
    )


def test_compiled_patterns_are_cached() -> None:
    assert compile_glob("arn:aws:s3:::cache/*", arn=True, variables=True) is compile_glob(
        "arn:aws:s3:::cache/*", arn=True, variables=True
    )
    assert compile_actions(("iam:*",)) is compile_actions(("iam:*",))


@pytest.mark.parametrize(
    ("patterns", "action", "expected"),
    [
        (("iam:*",), "IAM:CreateUser", True),
        (("iam:Get*", "ec2:Describe*"), "ec2:describeimages", True),
        (("iam:Get*", "ec2:Describe*"), "ec2:RunInstances", False),
        (("iam:GetUser",), "iam:GetUserPolicy", False),
        (("iam:Get.ser",), "iam:GetXser", False),  # regex metacharacters are literal
        ((), "iam:GetUser", False),
    ],
)
def test_action_sets(patterns: tuple[str, ...], action: str, expected: bool) -> None:
    assert (compile_actions(patterns).fullmatch(action) is not None) is expected
