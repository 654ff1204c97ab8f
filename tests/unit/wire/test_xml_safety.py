"""Characters XML 1.0 cannot carry: the parser refuses them in any parameter (so nothing holding one is stored),
and the serializer never emits one (so stored data or an error message cannot make a reply unparseable)."""

from __future__ import annotations

import datetime
from xml.etree import ElementTree

import pytest
from botocore import parsers

from eucalite.errors import ServiceError
from eucalite.wire.parse import parse_params
from eucalite.wire.serialize import serialize_error, serialize_result
from eucalite.wire.specs import service
from eucalite.wire.xmlchars import encode_document, safe, shown

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


# -- the serializer's safety net -----------------------------------------------------------------------------------
NOW = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)


def _parse_xml(body: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(body)  # expat: raises on anything not well-formed


@pytest.mark.parametrize("bad", UNSAFE)
def test_stored_data_never_makes_a_reply_unparseable(bad: str) -> None:
    iam = service("iam")
    model = iam.operation("GetRole")
    text = f"before{bad}after ü ✓"
    role = {"RoleName": "r", "Path": "/", "RoleId": "AROAEXAMPLE", "Arn": "arn:aws:iam::1:role/r",
            "CreateDate": NOW, "Description": text, "Tags": [{"Key": f"k{bad}", "Value": text}]}
    body = serialize_result(iam, model, {"Role": role}, "r")
    _parse_xml(body)
    parsed = parsers.create_parser("query").parse({"body": body, "headers": {}, "status_code": 200},
                                                   model.output_shape)
    assert parsed["Role"]["Description"] == "before\ufffdafter ü ✓"
    assert parsed["Role"]["Tags"] == [{"Key": "k\ufffd", "Value": "before\ufffdafter ü ✓"}]

    ec2 = service("ec2")
    model = ec2.operation("DescribeTags")
    out = {"Tags": [{"Key": "k", "ResourceId": "i-1", "ResourceType": "instance", "Value": text}]}
    body = serialize_result(ec2, model, out, "r")
    _parse_xml(body)
    parsed = parsers.create_parser("ec2").parse({"body": body, "headers": {}, "status_code": 200},
                                                 model.output_shape)
    assert parsed["Tags"][0]["Value"] == "before\ufffdafter ü ✓"


@pytest.mark.parametrize("svc", ["iam", "sts", "ec2"])
@pytest.mark.parametrize("bad", UNSAFE)
def test_error_messages_never_make_a_reply_unparseable(svc: str, bad: str) -> None:
    spec = service(svc)
    body = serialize_error(svc, spec.xml_namespace, ServiceError(f"Code{bad}", f"quoting 'a{bad}b'"), "rid")
    _parse_xml(body)
    parsed = parsers.create_parser(spec.protocol).parse({"body": body, "headers": {}, "status_code": 400}, None)
    assert parsed["Error"]["Message"] == "quoting 'a\ufffdb'"
    assert parsed["Error"]["Code"] == "Code\ufffd"


@pytest.mark.parametrize("text", ["plain ascii <&>", "ünïcödé ✓ 日本 \U0001f600", "tab\tlf\ncr\r", "\ufffd\x7f"])
def test_clean_documents_are_encoded_as_before(text: str) -> None:
    assert encode_document(text) == text.encode("utf-8")
    assert safe(text) is text


def test_escaped_and_replaced_forms() -> None:
    assert shown("a\x01b\ud800c\uffff") == "a\\u0001b\\ud800c\\uffff"
    assert safe("a\x01b\ud800c\uffff") == "a\ufffdb\ufffdc\ufffd"
    assert encode_document("<a>\x00\ufffe</a>") == "<a>\ufffd\ufffd</a>".encode()
