"""Both directions through botocore for every implemented operation: botocore serializes a request
into our parser, and our serializer's output goes through botocore's response parser."""

from __future__ import annotations

import base64
import datetime
import re
from typing import Any
from urllib.parse import parse_qsl

import pytest
from botocore import parsers, serialize
from botocore.model import ListShape, MapShape, Shape, StructureShape

from eucalite import services
from eucalite.errors import ServiceError
from eucalite.services.registry import implemented
from eucalite.wire.parse import parse_params
from eucalite.wire.serialize import serialize_error, serialize_result
from eucalite.wire.specs import service

services.load_all()
_CANDIDATES = ["abc", "a" * 20, "arn:aws:iam::123456789012:role/x", "{}", "/", "AKIAABCDEFGHIJKLMNOP", "i-12345678",
               "2012-10-17", "us-east-1", "Active", "1", "x", "v1", "ab", "123456", "abcdefghijklmnopqrstuvwxyz0123456789"]
NOW = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)


def example(shape: Shape, depth: int = 0) -> Any:
    """A value valid for ``shape`` (length, pattern, enum), with every member of structures filled in."""
    if isinstance(shape, StructureShape):
        if depth > 4:
            return {}
        members = shape.members.items()
        if shape.is_tagged_union:  # exactly one member may be set (newer models have unions in IAM)
            members = list(members)[:1]
        return {name: example(member, depth + 1) for name, member in members}
    if isinstance(shape, ListShape):
        return [] if depth > 4 else [example(shape.member, depth + 1)]
    if isinstance(shape, MapShape):
        return {"k": example(shape.value, depth + 1)}
    t = shape.type_name
    meta = shape.metadata
    if t in ("integer", "long"):
        return int(meta.get("min", 1)) if meta.get("min", 1) > 0 else 1
    if t in ("float", "double"):
        return 1.5
    if t == "boolean":
        return True
    if t == "timestamp":
        return NOW
    if t == "blob":
        return b"blob-bytes"
    if shape.enum:
        return shape.enum[0]
    lo, hi = meta.get("min", 0), meta.get("max", 10_000)
    pattern = meta.get("pattern")
    for cand in _CANDIDATES:
        if lo <= len(cand) <= hi and (not pattern or _fullmatch(pattern, cand)):
            return cand
    return "a" * max(lo, 1)


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value, re.DOTALL) is not None
    except re.error:
        return True


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).replace(microsecond=0)
    if isinstance(value, float):
        return round(value, 3)
    return value


OPERATIONS = [(svc, op) for svc in ("iam", "sts", "ec2") for op in implemented(svc)]


def test_every_service_has_implemented_operations() -> None:
    assert {svc for svc, _ in OPERATIONS} == {"iam", "sts", "ec2"}


@pytest.mark.parametrize(("svc", "op"), OPERATIONS, ids=[f"{s}:{o}" for s, o in OPERATIONS])
def test_request_roundtrip(svc: str, op: str) -> None:
    spec = service(svc)
    model = spec.operation(op)
    assert model is not None
    params = example(model.input_shape) if model.input_shape is not None else {}
    request = serialize.create_serializer(spec.protocol).serialize_to_request(params, model)
    # On the wire every value is text; botocore's EC2 serializer leaves numbers as ints until it encodes the body.
    flat = dict(parse_qsl(request["body"], keep_blank_values=True)) if isinstance(request["body"], str) \
        else {k: str(v) for k, v in request["body"].items()}
    flat.pop("Action", None)
    flat.pop("Version", None)
    parsed = parse_params(model, spec.protocol, flat)
    expected = normalise(params)
    for blob_field in [k for k, v in expected.items() if isinstance(v, bytes)]:
        # EC2 and Query both base64 blobs on the wire; the parser gives bytes back.
        assert parsed[blob_field] == expected[blob_field] or base64.b64decode(parsed[blob_field])
    assert normalise(parsed) == expected


@pytest.mark.parametrize(("svc", "op"), OPERATIONS, ids=[f"{s}:{o}" for s, o in OPERATIONS])
def test_response_roundtrip(svc: str, op: str) -> None:
    spec = service(svc)
    model = spec.operation(op)
    assert model is not None
    output = example(model.output_shape) if model.output_shape is not None else {}
    body = serialize_result(spec, model, output, "req-123")
    parser = parsers.create_parser(spec.protocol)
    parsed = parser.parse({"body": body, "headers": {}, "status_code": 200}, model.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "req-123"
    if model.output_shape is not None:
        got = normalise(parsed)
        want = normalise(output)
        if svc == "iam":  # botocore's IAM client URL-decodes policy documents after parsing
            from urllib.parse import unquote

            got = _map_strings(got, unquote)
            want = _map_strings(want, unquote)
        assert got == want


def _map_strings(value: Any, fn: Any) -> Any:
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return fn(value) if isinstance(value, str) else value


@pytest.mark.parametrize("svc", ["iam", "sts", "ec2"])
def test_errors_parse_with_botocore(svc: str) -> None:
    spec = service(svc)
    body = serialize_error(svc, spec.xml_namespace, ServiceError("NoSuchThing", "it is gone", 404), "rid-9")
    parsed = parsers.create_parser(spec.protocol).parse({"body": body, "headers": {}, "status_code": 404}, None)
    assert parsed["Error"]["Code"] == "NoSuchThing"
    assert parsed["Error"]["Message"] == "it is gone"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"


def test_policy_documents_are_url_encoded_exactly_once() -> None:
    spec = service("iam")
    model = spec.operation("GetRolePolicy")
    doc = '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    body = serialize_result(spec, model, {"RoleName": "r", "PolicyName": "p", "PolicyDocument": doc}, "r")
    assert b"%7B%22Statement%22" in body
    parsed = parsers.create_parser("query").parse({"body": body, "headers": {}, "status_code": 200},
                                                   model.output_shape)
    from urllib.parse import unquote

    assert unquote(parsed["PolicyDocument"]) == doc


def test_validation_error_message_shape() -> None:
    spec = service("iam")
    with pytest.raises(ServiceError) as err:
        parse_params(spec.operation("CreateRole"), "query", {"RoleName": "bad name!"})
    assert err.value.code == "ValidationError"
    assert err.value.message.startswith("2 validation errors detected: ")
    assert "Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null" \
        in err.value.message


def test_ec2_missing_parameter() -> None:
    spec = service("ec2")
    with pytest.raises(ServiceError) as err:
        parse_params(spec.operation("RunInstances"), "ec2", {"ImageId": "emi-1"})
    assert err.value.code == "MissingParameter"


def test_model_patterns_are_ascii_like_aws() -> None:
    with pytest.raises(ServiceError) as err:
        parse_params(service("iam").operation("CreateUser"), "query", {"UserName": "üser"})
    assert err.value.code == "ValidationError"
    assert parse_params(service("iam").operation("CreateUser"), "query", {"UserName": "user_01"})["UserName"]


HOSTILE = ["a & b", "<tag attr=\"x\">", "]]> & <![CDATA[", "quote ' and \" both", "ünïcödé ✓ 日本", "line\nbreak\ttab",
           "&amp; already escaped", "trailing space "]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_survives_both_envelopes(text: str) -> None:
    """Whatever a user stored (descriptions, tag values) comes back exactly through botocore's parsers."""
    iam = service("iam")
    model = iam.operation("GetRole")
    role = {"RoleName": "r", "Path": "/", "RoleId": "AROAEXAMPLE", "Arn": "arn:aws:iam::1:role/r",
            "CreateDate": NOW, "Description": text, "Tags": [{"Key": "k", "Value": text}]}
    parsed = parsers.create_parser("query").parse(
        {"body": serialize_result(iam, model, {"Role": role}, "r"), "headers": {}, "status_code": 200},
        model.output_shape)
    assert parsed["Role"]["Description"] == text and parsed["Role"]["Tags"][0]["Value"] == text
    ec2 = service("ec2")
    model = ec2.operation("DescribeTags")
    out = {"Tags": [{"Key": "k", "ResourceId": "i-1", "ResourceType": "instance", "Value": text}]}
    parsed = parsers.create_parser("ec2").parse(
        {"body": serialize_result(ec2, model, out, "r"), "headers": {}, "status_code": 200}, model.output_shape)
    assert parsed["Tags"][0]["Value"] == text
    err = serialize_error("ec2", "", ServiceError("InvalidParameterValue", text), "r")
    assert parsers.create_parser("ec2").parse({"body": err, "headers": {}, "status_code": 400}, None)[
        "Error"]["Message"] == text
