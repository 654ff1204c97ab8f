"""XML responses built by walking botocore output shapes (no per-operation templates): one writer emits
escaped text as it walks, byte for byte what ElementTree's tostring() gives for the same tree, without
building the tree (that cost a third of a small request). Escaping lives in _esc/_esc_attr only.

Whatever a handler returns, the reply is well-formed XML: characters XML 1.0 cannot carry (the parser refuses
them in requests, but data stored earlier may hold them) come out as U+FFFD (wire.xmlchars).

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
from eucalite.wire.xmlchars import encode_document, safe

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


def _esc(text: str) -> str:
    # ElementTree's text escaping (tostring): &, < and > only.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _esc_attr(text: str) -> str:
    # ElementTree's attribute escaping (tostring).
    text = _esc(text)
    for raw, ref in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if raw in text:
            text = text.replace(raw, ref)
    return text


def _leaf(out: list[str], tag: str, text: str) -> None:
    # ElementTree writes an element without text or children as <tag />.
    if text:
        out.append(f"<{tag}>{_esc(text)}</{tag}>")
    else:
        out.append(f"<{tag} />")


class _Writer:
    """Appends XML text to ``out`` while walking the shapes: the bytes ElementTree's tostring() would give for
    the same element tree, without building the tree (serialization was a third of a small request)."""

    def __init__(self, ec2: bool, out: list[str]) -> None:
        self.ec2 = ec2
        self.out = out

    def element_name(self, name: str, shape: Shape) -> str:
        return str(shape.serialization.get("name", name))

    def members(self, value: dict[str, Any], shape: StructureShape) -> None:
        for name, member in shape.members.items():
            if name not in value or value[name] is None:
                continue
            self.node(self.element_name(name, member), value[name], member)

    def open(self, tag: str) -> int:
        self.out.append(f"<{tag}>")
        return len(self.out)

    def close(self, tag: str, mark: int) -> None:
        if len(self.out) == mark:  # nothing inside: ElementTree's short empty element
            self.out[-1] = f"<{tag} />"
        else:
            self.out.append(f"</{tag}>")

    def node(self, tag: str, value: Any, shape: Shape) -> None:
        if isinstance(shape, ListShape):
            item_tag = shape.member.serialization.get("name", "member")
            if shape.serialization.get("flattened"):
                for item in value:
                    self.node(tag, item, shape.member)
                return
            mark = self.open(tag)
            for item in value:
                self.node(item_tag, item, shape.member)
            self.close(tag, mark)
        elif isinstance(shape, MapShape):
            flattened = shape.serialization.get("flattened")
            if not flattened:
                mark = self.open(tag)
            entry_tag = tag if flattened else "entry"
            key_tag = shape.key.serialization.get("name", "key")
            value_tag = shape.value.serialization.get("name", "value")
            for k, v in value.items():
                entry_mark = self.open(entry_tag)
                _leaf(self.out, key_tag, str(k))
                self.node(value_tag, v, shape.value)
                self.close(entry_tag, entry_mark)
            if not flattened:
                self.close(tag, mark)
        elif isinstance(shape, StructureShape):
            mark = self.open(tag)
            self.members(value, shape)
            self.close(tag, mark)
        else:
            _leaf(self.out, tag, _text(value, shape, self.ec2))


_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _xml(root: Element) -> bytes:
    return _DECLARATION.encode() + tostring(root, encoding="utf-8")


def serialize_result(service: Service, operation: OperationModel, result: dict[str, Any], request_id: str) -> bytes:
    ec2 = service.protocol == "ec2"
    out: list[str] = []
    writer = _Writer(ec2, out)
    root = f"{operation.name}Response"
    out.append(f'{_DECLARATION}<{root} xmlns="{_esc_attr(service.xml_namespace)}">')
    shape = operation.output_shape
    if ec2:
        _leaf(out, "requestId", request_id)
        if shape is None or not shape.members:
            # EC2 actions without output still answer <return>true</return>.
            _leaf(out, "return", "true")
        else:
            writer.members(result, shape)
    else:
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{operation.name}Result")
            mark = writer.open(wrapper)
            writer.members(result, shape)
            writer.close(wrapper, mark)
        out.append("<ResponseMetadata>")
        _leaf(out, "RequestId", request_id)
        out.append("</ResponseMetadata>")
    out.append(f"</{root}>")
    return encode_document("".join(out))


def serialize_error(service_name: str, namespace: str, error: ServiceError, request_id: str) -> bytes:
    code, message = safe(error.code), safe(error.message)  # a message may quote what the client sent
    if service_name == "ec2":
        root = Element("Response")
        err = SubElement(SubElement(root, "Errors"), "Error")
        SubElement(err, "Code").text = code
        SubElement(err, "Message").text = message
        SubElement(root, "RequestID").text = request_id
        return _xml(root)
    root = Element("ErrorResponse", xmlns=namespace)
    err = SubElement(root, "Error")
    SubElement(err, "Type").text = "Sender" if error.sender_fault else "Receiver"
    SubElement(err, "Code").text = code
    SubElement(err, "Message").text = message
    SubElement(root, "RequestId").text = request_id
    return _xml(root)
