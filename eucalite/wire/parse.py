"""Query-protocol request parsing by walking botocore input shapes (the inverse of botocore's serializers).

Flat form parameters (``Tags.member.1.Key=a``) become the nested dicts boto3 users write
(``{"Tags": [{"Key": "a"}]}``), typed by the model, and checked against the model's constraints.
The Query dialect (IAM, STS) and the EC2 dialect differ only in how names and lists are spelled,
so the differences live in two small naming functions.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from eucalite.errors import ServiceError, missing_parameter
from eucalite.wire.patterns import compiled as _compiled
from eucalite.wire.xmlchars import UNSAFE, shown

_VALUE = "\0v"  # trie key for a parameter's own value; cannot collide with a dotted name part

Trie = dict[str, Any]


def build_trie(params: dict[str, str]) -> Trie:
    root: Trie = {}
    for key, value in params.items():
        node = root
        for part in key.split("."):
            node = node.setdefault(part, {})
        node[_VALUE] = value
    return root


_XML_UNSAFE = "Member must not contain characters that are not allowed in XML 1.0"


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


class _Parser:
    def __init__(self, protocol: str) -> None:
        self.ec2 = protocol == "ec2"
        self.errors: list[str] = []
        self.ec2_error: ServiceError | None = None

    # -- naming: the only place the two dialects differ ------------------------------------------------
    def member_key(self, name: str, shape: Shape) -> str:
        ser = shape.serialization
        if self.ec2:
            if "queryName" in ser:
                return str(ser["queryName"])
            if "name" in ser:
                loc = str(ser["name"])
                return loc[:1].upper() + loc[1:]
            return name
        return str(ser.get("name", name))

    def list_items(self, node: Trie, shape: ListShape, key: str, parent: Trie) -> list[tuple[int, Trie]]:
        if self.ec2:
            container = node
        elif shape.serialization.get("flattened"):
            member_name = shape.member.serialization.get("name")
            container = parent.get(member_name, {}) if member_name else node
        else:
            container = node.get(shape.member.serialization.get("name", "member"), {})
        items = [(int(k), v) for k, v in container.items() if k != _VALUE and k.isdigit()]
        return sorted(items)

    # -- walking -----------------------------------------------------------------------------------------
    def structure(self, node: Trie, shape: StructureShape, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(shape.required_members)
        for name, member in shape.members.items():
            key = self.member_key(name, member)
            child = node.get(key)
            mpath = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
            if child is None:
                if name in required:
                    self.missing(key, mpath)
                continue
            value = self.value(child, member, mpath, key, node)
            if value is not None:
                out[name] = value
        return out

    def value(self, node: Trie, shape: Shape, path: str, key: str, parent: Trie) -> Any:
        if isinstance(shape, StructureShape):
            return self.structure(node, shape, path)
        if isinstance(shape, ListShape):
            items = self.list_items(node, shape, key, parent)
            values = [self.value(v, shape.member, f"{path}.{i}.member", "", {}) for i, v in items]
            self.check_length(values, shape, path)
            return values
        if isinstance(shape, MapShape):
            return self.map(node, shape, path)
        raw = node.get(_VALUE)
        if raw is None:
            return None
        return self.scalar(raw, shape, path, key)

    def map(self, node: Trie, shape: MapShape, path: str) -> dict[str, Any]:
        container = node if shape.serialization.get("flattened") else node.get("entry", {})
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out: dict[str, Any] = {}
        for idx in sorted((k for k in container if k.isdigit()), key=int):
            entry = container[idx]
            k = entry.get(kname, {}).get(_VALUE)
            if k is None:
                continue
            if UNSAFE.search(k):
                self.invalid(k, f"{path}.{idx}.key", kname, _XML_UNSAFE)
                continue
            out[k] = self.value(entry.get(vname, {}), shape.value, f"{path}.{idx}.value", vname, entry)
        return out

    def scalar(self, raw: str, shape: Shape, path: str, key: str) -> Any:
        if UNSAFE.search(raw):  # before any conversion: int() would even strip some of them as whitespace
            self.invalid(raw, path, key, self.unsafe_constraint(raw, shape))
            return None
        t = shape.type_name
        try:
            if t in ("integer", "long"):
                number = int(raw)
                self.check_range(number, shape, path, raw)
                return number
            if t in ("float", "double"):
                return float(raw)
            if t == "boolean":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                return raw.lower() == "true"
            if t == "timestamp":
                return _timestamp(raw)
            if t == "blob":
                return base64.b64decode(raw, validate=True)
        except (ValueError, binascii.Error):
            self.invalid(raw, path, key, f"Member must be a valid {t}")
            return None
        self.check_string(raw, shape, path, key)
        return raw

    # -- constraints -------------------------------------------------------------------------------------
    def check_string(self, raw: str, shape: Shape, path: str, key: str) -> None:
        meta = shape.metadata
        if "min" in meta and len(raw) < meta["min"]:
            self.invalid(raw, path, key, f"Member must have length greater than or equal to {meta['min']}")
        elif "max" in meta and len(raw) > meta["max"]:
            self.invalid(raw, path, key, f"Member must have length less than or equal to {meta['max']}")
        elif "pattern" in meta and (rx := _compiled(meta["pattern"])) and not rx.fullmatch(raw):
            self.invalid(raw, path, key, f"Member must satisfy regular expression pattern: {meta['pattern']}")
        # EC2 enums are not enforced here: AWS's EC2 answers those with service-specific errors.
        elif shape.enum and not self.ec2 and raw not in shape.enum:
            self.invalid(raw, path, key, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")

    @staticmethod
    def unsafe_constraint(raw: str, shape: Shape) -> str:
        # The model's pattern, when it refuses the value too (nearly all do), is what AWS would name.
        pattern = shape.metadata.get("pattern")
        if pattern and (rx := _compiled(pattern)) and not rx.fullmatch(raw):
            return f"Member must satisfy regular expression pattern: {pattern}"
        return _XML_UNSAFE

    def check_range(self, number: int, shape: Shape, path: str, raw: str) -> None:
        meta = shape.metadata
        if "min" in meta and number < meta["min"]:
            self.invalid(raw, path, "", f"Member must have value greater than or equal to {meta['min']}")
        elif "max" in meta and number > meta["max"]:
            self.invalid(raw, path, "", f"Member must have value less than or equal to {meta['max']}")

    def check_length(self, values: list[Any], shape: Shape, path: str) -> None:
        meta = shape.metadata
        if "max" in meta and len(values) > meta["max"]:
            self.errors.append(
                f"Value '{values}' at '{path}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {meta['max']}"
            )

    def missing(self, key: str, path: str) -> None:
        if self.ec2:
            self.ec2_error = self.ec2_error or missing_parameter(key)
        else:
            self.errors.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")

    def invalid(self, raw: str, path: str, key: str, constraint: str) -> None:
        raw = shown(raw)  # the message must stay well-formed XML whatever the value held
        if self.ec2:
            self.ec2_error = self.ec2_error or ServiceError(
                "InvalidParameterValue", f"Value ({raw}) for parameter {key or path} is invalid. {constraint}"
            )
        else:
            self.errors.append(f"Value '{raw}' at '{path}' failed to satisfy constraint: {constraint}")

    def raise_errors(self) -> None:
        if self.ec2_error:
            raise self.ec2_error
        if self.errors:
            n = len(self.errors)
            noun = "error" if n == 1 else "errors"
            raise ServiceError("ValidationError", f"{n} validation {noun} detected: " + "; ".join(self.errors))


def _timestamp(raw: str) -> datetime:
    if raw.replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(raw), UTC)
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)


def parse_params(operation: OperationModel, protocol: str, params: dict[str, str]) -> dict[str, Any]:
    """Typed, validated input for ``operation`` from the flat request parameters."""
    shape = operation.input_shape
    if shape is None:
        return {}
    parser = _Parser(protocol)
    result = parser.structure(build_trie(params), shape, "")
    parser.raise_errors()
    return result
