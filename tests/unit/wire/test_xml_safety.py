"""Characters XML 1.0 cannot carry: the parser refuses them in any parameter (so nothing holding one is stored),
and the serializer never emits one (so stored data or an error message cannot make a reply unparseable)."""

from __future__ import annotations

import pytest

from eucalite.errors import ServiceError
from eucalite.wire.parse import parse_params
from eucalite.wire.specs import service

# C0 controls but \t \n \r, a lone surrogate (as a str can hold one), and the two noncharacters.
UNSAFE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]


def _iam_error(op: str, params: dict[str, str]) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        parse_params(service("iam").operation(op), "query", params)
    return err.value


def _ec2_error(op: str, params: dict[str, str]) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        parse_params(service("ec2").operation(op), "ec2", params)
    return err.value


@pytest.mark.parametrize("bad", UNSAFE)
def test_iam_refuses_and_shows_the_character_escaped(bad: str) -> None:
    err = _iam_error("GetUser", {"UserName": f"a{bad}"})
    assert err.code == "ValidationError" and err.status == 400
    escaped = f"\\u{ord(bad):04x}"
    assert err.message == (f"1 validation error detected: Value 'a{escaped}' at 'userName' failed to satisfy "
                           "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    assert bad not in err.message


def test_iam_member_without_a_pattern_is_refused_too() -> None:
    # A managed policy's Description has no pattern in the model: only the XML check stands in the way.
    err = _iam_error("CreatePolicy", {"PolicyName": "p", "PolicyDocument": "{}", "Description": "x\x01y"})
    assert err.code == "ValidationError"
    assert err.message == ("1 validation error detected: Value 'x\\u0001y' at 'description' failed to satisfy "
                           "constraint: Member must not contain characters that are not allowed in XML 1.0")


def test_map_keys_are_checked() -> None:
    # No map in the implemented inputs of these models today; the parser checks their keys all the same.
    from botocore.model import ShapeResolver

    from eucalite.wire.parse import _Parser, build_trie

    resolver = ShapeResolver({"M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
                              "S": {"type": "string"}})
    parser = _Parser("query")
    parser.map(build_trie({"entry.1.key": "k\x02", "entry.1.value": "v"}), resolver.get_shape_by_name("M"), "m")
    assert parser.errors == ["Value 'k\\u0002' at 'm.1.key' failed to satisfy constraint: Member must not contain "
                             "characters that are not allowed in XML 1.0"]


def test_ec2_refuses_with_invalid_parameter_value() -> None:
    err = _ec2_error("CreateTags", {"ResourceId.1": "i-12345678", "Tag.1.Key": "note", "Tag.1.Value": "a\x01b"})
    assert err.code == "InvalidParameterValue" and err.status == 400
    assert err.message == ("Value (a\\u0001b) for parameter Value is invalid. "
                           "Member must not contain characters that are not allowed in XML 1.0")
    err = _ec2_error("CreateSecurityGroup", {"GroupName": "g", "GroupDescription": "x\x01y"})
    assert err.code == "InvalidParameterValue" and "\x01" not in err.message and "x\\u0001y" in err.message


def test_numbers_with_a_control_character_are_refused_not_stripped() -> None:
    # int() strips \x1c-\x1f as whitespace: the check runs before any conversion.
    err = _ec2_error("DescribeInstances", {"MaxResults": "10\x1c"})
    assert err.code == "InvalidParameterValue"


def test_what_xml_allows_is_accepted() -> None:
    value = "tab\tlf\ncr\r del\x7f nbsp\u00a0 bmp-end\ufffd astral\U0001f600 max\U0010ffff"
    got = parse_params(service("ec2").operation("CreateTags"), "ec2",
                       {"ResourceId.1": "i-12345678", "Tag.1.Key": "k", "Tag.1.Value": value})
    assert got["Tags"] == [{"Key": "k", "Value": value}]
