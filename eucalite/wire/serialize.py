"""XML responses built by walking botocore output shapes with an element builder (no templates).

Handlers return the same dicts boto3 users receive ({"Role": {"RoleName": ...}}); this module turns
them into the Query envelope (IAM, STS) or the EC2 envelope, and serializes every error in one place.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element, SubElement, tostring

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from eucalite.errors import ServiceError
from eucalite.wire.specs import Service

# botocore's IAM client URL-decodes these shapes; AWS sends them encoded exactly once.
_URL_ENCODED_SHAPES = frozenset({"policyDocumentType"})


def _text(value: Any, shape: Shape, ec2: bool) -> str:
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        ts = ts.astimezone(UTC)
        # EC2 answers with milliseconds, IAM/STS without; clients parse both but tools compare strings.
        return ts.strftime("%Y-%m-%dT%H:%M:%S.000Z" if ec2 else "%Y-%m-%dT%H:%M:%SZ")
    if t == "blob":
        raw = value if isinstance(value, bytes) else str(value).encode()
        return base64.b64encode(raw).decode()
    if shape.name in _URL_ENCODED_SHAPES:
        return quote(str(value), safe="")
    return str(value)


class _Writer:
    def __init__(self, ec2: bool) -> None:
        self.ec2 = ec2

    def element_name(self, name: str, shape: Shape) -> str:
        return str(shape.serialization.get("name", name))

    def members(self, parent: Element, value: dict[str, Any], shape: StructureShape) -> None:
        for name, member in shape.members.items():
            if name not in value or value[name] is None:
                continue
            self.node(parent, self.element_name(name, member), value[name], member)

    def node(self, parent: Element, tag: str, value: Any, shape: Shape) -> None:
        if isinstance(shape, ListShape):
            item_tag = shape.member.serialization.get("name", "member")
            if shape.serialization.get("flattened"):
                for item in value:
                    self.node(parent, tag, item, shape.member)
                return
            wrapper = SubElement(parent, tag)
            for item in value:
                self.node(wrapper, item_tag, item, shape.member)
        elif isinstance(shape, MapShape):
            wrapper = parent if shape.serialization.get("flattened") else SubElement(parent, tag)
            entry_tag = tag if shape.serialization.get("flattened") else "entry"
            for k, v in value.items():
                entry = SubElement(wrapper, entry_tag)
                SubElement(entry, shape.key.serialization.get("name", "key")).text = str(k)
                self.node(entry, shape.value.serialization.get("name", "value"), v, shape.value)
        elif isinstance(shape, StructureShape):
            self.members(SubElement(parent, tag), value, shape)
        else:
            SubElement(parent, tag).text = _text(value, shape, self.ec2)


def _xml(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8")


def serialize_result(service: Service, operation: OperationModel, result: dict[str, Any], request_id: str) -> bytes:
    ec2 = service.protocol == "ec2"
    root = Element(f"{operation.name}Response", xmlns=service.xml_namespace)
    writer = _Writer(ec2)
    shape = operation.output_shape
    if ec2:
        SubElement(root, "requestId").text = request_id
        if shape is None or not shape.members:
            # EC2 actions without output still answer <return>true</return>.
            SubElement(root, "return").text = "true"
        else:
            writer.members(root, result, shape)
        return _xml(root)
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{operation.name}Result")
        writer.members(SubElement(root, wrapper), result, shape)
    SubElement(SubElement(root, "ResponseMetadata"), "RequestId").text = request_id
    return _xml(root)


def serialize_error(service_name: str, namespace: str, error: ServiceError, request_id: str) -> bytes:
    if service_name == "ec2":
        root = Element("Response")
        err = SubElement(SubElement(root, "Errors"), "Error")
        SubElement(err, "Code").text = error.code
        SubElement(err, "Message").text = error.message
        SubElement(root, "RequestID").text = request_id
        return _xml(root)
    root = Element("ErrorResponse", xmlns=namespace)
    err = SubElement(root, "Error")
    SubElement(err, "Type").text = "Sender" if error.sender_fault else "Receiver"
    SubElement(err, "Code").text = error.code
    SubElement(err, "Message").text = error.message
    SubElement(root, "RequestId").text = request_id
    return _xml(root)
