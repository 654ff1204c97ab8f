"""R6: hypothesis fuzzing of the Query parameters of every implemented operation, policy documents
included, through the ASGI app in process. Parameters are drawn from each operation's botocore input
shape (right types, out-of-model values), serialized by botocore's own serializer, then sometimes
mangled on the wire (dropped, added, duplicated or re-indexed keys, garbage values). Correctly signed,
so they reach the parser and the handlers. No response may be a 500.
"""

from __future__ import annotations

import datetime
import json
import random
from typing import Any

import hypothesis
from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eucalite.services.registry import REGISTRY
from eucalite.wire.specs import service as load_service
from tests.reliability.harness import API_VERSIONS, InProcessCloud, Key, Result, signed

# Names worth drawing besides random text: they reach past "not found" into the handlers.
VOCABULARY = ["fuzz", "fuzz-role", "fuzz-user", "fuzz-group", "fuzz-profile", "default", "/", "/fuzz/", "v1", "v2",
              "i-00000000", "emi-00000000", "sg-00000000", "key-fuzz", "r-00000000", "eucalite-1a", "m1.small",
              "arn:aws:iam::123456789012:role/fuzz-role", "arn:aws:iam::aws:policy/ReadOnlyAccess",
              "arn:aws:iam::123456789012:policy/fuzz", "*", "", " ", "%", "..", "\u00e9", "\x00", "a" * 300,
              "9" * 30, "-1", "true", "self", "all"]

_statement = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny", "allow", "", "Maybe"])},
    optional={
        "Action": st.one_of(st.sampled_from(["*", "iam:*", "ec2:Describe*", "sts:AssumeRole", "bad", ":", "a:b:c"]),
                            st.lists(st.text(max_size=12), max_size=3)),
        "NotAction": st.sampled_from(["iam:*", ["ec2:*"]]),
        "Resource": st.one_of(st.sampled_from(["*", "arn:aws:iam::*:role/*", "arn:", "arn:aws"]),
                              st.lists(st.text(max_size=20), max_size=3)),
        "NotResource": st.just("arn:aws:s3:::*"),
        "Principal": st.one_of(st.just("*"), st.fixed_dictionaries({"AWS": st.sampled_from(
            ["*", "123456789012", "arn:aws:iam::123456789012:root", "bogus", ["*", 1]])}),
            st.fixed_dictionaries({"Service": st.sampled_from(["ec2.amazonaws.com", ""])}), st.integers()),
        "NotPrincipal": st.just({"AWS": "*"}),
        "Condition": st.one_of(
            st.dictionaries(st.sampled_from(["StringEquals", "StringLike", "NumericLessThan", "DateGreaterThan",
                                             "IpAddress", "Bool", "Null", "ForAllValues:StringEquals",
                                             "StringEqualsIfExists", "Bogus", "ForAnyValue:IpAddress"]),
                            st.dictionaries(st.sampled_from(["aws:SourceIp", "aws:username", "ec2:Region",
                                                             "aws:CurrentTime", "aws:TagKeys", "x"]),
                                            st.one_of(st.text(max_size=20), st.lists(st.text(max_size=10)),
                                                      st.integers(), st.booleans(), st.none()), max_size=2),
                            max_size=3),
            st.text(max_size=10), st.lists(st.integers(), max_size=2)),
        "Sid": st.text(max_size=10),
    })
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                           max_leaves=8)
policy_documents = st.one_of(
    st.builds(lambda v, s: json.dumps({"Version": v, "Statement": s}),
              st.sampled_from(["2012-10-17", "2008-10-17", "", "2099-01-01"]),
              st.one_of(_statement, st.lists(_statement, max_size=4))),
    st.builds(json.dumps, json_values),
    st.text(max_size=60),
    st.sampled_from(["{", "{}", "null", "[]", '{"Statement": "x"}', '{"Statement": [{}]}',
                     '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' * 2]),
)


def _is_document(member: str) -> bool:
    return member.endswith("PolicyDocument") or member in ("Policy", "PolicyInputList", "ResourcePolicy")


def strategy_for(shape: Shape, member: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    t = shape.type_name
    if t == "string":
        if _is_document(member):
            return policy_documents
        options: list[st.SearchStrategy[Any]] = [st.text(max_size=40), st.sampled_from(VOCABULARY)]
        if shape.enum:
            options.append(st.sampled_from(list(shape.enum)))
        return st.one_of(*options)
    if t in ("integer", "long"):
        return st.one_of(st.integers(-(2**63), 2**63), st.integers(-2, 1100))
    if t in ("float", "double"):
        return st.floats(allow_nan=True, allow_infinity=True)
    if t == "boolean":
        return st.booleans()
    if t == "timestamp":
        return st.datetimes(min_value=datetime.datetime(1970, 1, 2), max_value=datetime.datetime(9000, 1, 1))
    if t == "blob":
        return st.binary(max_size=64)
    if t == "list":
        if depth > 4:
            return st.just([])
        return st.lists(strategy_for(shape.member, member, depth + 1), max_size=4)
    if t == "map":
        if depth > 4:
            return st.just({})
        return st.dictionaries(strategy_for(shape.key, "", depth + 1), strategy_for(shape.value, "", depth + 1),
                               max_size=3)
    if t == "structure":
        if depth > 4:
            return st.just({})
        members = {name: strategy_for(s, name, depth + 1) for name, s in shape.members.items()}
        required = {n: members[n] for n in shape.required_members if n in members}
        optional = {n: s for n, s in members.items() if n not in required}
        return st.fixed_dictionaries(required, optional=optional)
    return st.none()


mangles = st.lists(st.tuples(st.sampled_from(["drop", "add", "dup", "garbage", "reindex", "empty"]),
                             st.integers(0, 10**6), st.text(max_size=30)), max_size=3)


def mangle(body: dict[str, Any], ops: list[tuple[str, int, str]]) -> list[tuple[str, str]]:
    pairs = [(k, str(v)) for k, v in body.items()]
    for op, n, text in ops:
        keys = [k for k, _ in pairs if k not in ("Action", "Version")]
        if op == "add" or not keys:
            pairs.append((text or "X", text))
            continue
        key = keys[n % len(keys)]
        if op == "drop":
            pairs = [p for p in pairs if p[0] != key]
        elif op == "dup":
            pairs.append((key, text))
        elif op == "garbage":
            pairs = [(k, text if k == key else v) for k, v in pairs]
        elif op == "empty":
            pairs = [(k, "" if k == key else v) for k, v in pairs]
        else:  # re-index list members: .0, .-1, huge, non-numeric
            index = ["0", "-1", "99999999999999999999", "x", ""][n % 5]
            parts = key.split(".")
            digits = [i for i, p in enumerate(parts) if p.isdigit()]
            if digits:
                parts[digits[n % len(digits)]] = index
                pairs = [(".".join(parts) if k == key else k, v) for k, v in pairs]
    return pairs


def operations() -> list[tuple[str, str]]:
    from eucalite import services

    services.load_all()
    return sorted(REGISTRY)


class Fuzzer:
    def __init__(self, cloud: InProcessCloud) -> None:
        self.cloud = cloud
        self.key = self._account()
        self.cloud_admin = cloud.admin

    def _account(self) -> Key:
        _, _account_id, key = self.cloud.new_account("r6-fuzz")
        # Something to find: names from VOCABULARY exist in the fuzz account.
        c = self.cloud
        trust = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                           "Action": "sts:AssumeRole"}]})
        c.ok("iam", "CreateRole", key, RoleName="fuzz-role", AssumeRolePolicyDocument=trust)
        c.ok("iam", "CreateUser", key, UserName="fuzz-user")
        c.ok("iam", "CreateGroup", key, GroupName="fuzz-group")
        c.ok("iam", "CreateInstanceProfile", key, InstanceProfileName="fuzz-profile")
        c.ok("iam", "CreatePolicy", key, PolicyName="fuzz", PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        return key

    def alive(self) -> None:
        """Fuzzed writes may delete or disable what the fuzz caller stands on: start over if so."""
        status, _ = self.cloud.call("sts", "GetCallerIdentity", self.key)
        if status != 200:
            self.key = self._account()

    def run_operation(self, svc: str, name: str, examples: int, result: Result, seed: int) -> None:
        spec = load_service(svc)
        model = spec.operation(name)
        assert model is not None
        serializer = create_serializer(spec.protocol)
        params_strategy = strategy_for(model.input_shape) if model.input_shape is not None else st.just({})
        admin_only = REGISTRY[(svc, name)].cloud_admin_only
        rng = random.Random(seed)

        # Deterministic per seed (not derandomize, whose seed is fixed per function: a second pass over an
        # operation would repeat the first one's cases).
        @hypothesis.seed(seed)
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(params_strategy, mangles)
        def case(params: dict[str, Any], ops: list[tuple[str, int, str]]) -> None:
            self.send(svc, name, model, serializer, params, ops, admin_only and rng.random() < 0.5, result)

        case()
        self.alive()

    def send(self, svc: str, name: str, model: OperationModel, serializer: Any, params: dict[str, Any],
             ops: list[tuple[str, int, str]], as_cloud_admin: bool, result: Result) -> None:
        try:
            body = serializer.serialize_to_request(params, model)["body"]
        except Exception:  # a value botocore cannot even put on the wire: send it raw
            body = {"Action": name, "Version": API_VERSIONS[svc], **{k: str(v) for k, v in params.items()}}
        pairs = mangle(body, ops)
        key = self.cloud_admin if as_cloud_admin else self.key
        status, text = self.cloud.send(signed(svc, pairs, key))  # type: ignore[arg-type]
        result.attempts += 1
        # A 501 NotImplemented is eucalite's deliberate answer to a parameter it does not honour (the
        # operation's `unsupported` list), not a server failure; any other 5xx is.
        if status >= 500 and not (status == 501 and "<Code>NotImplemented</Code>" in text):
            result.fail(f"{svc}:{name} {pairs!r:.400} -> {status} {text[:200]!r}")


def run(cloud: InProcessCloud, total: int, seed: int = 6) -> Result:
    result = Result("R6", "query-and-policy-fuzzing")
    fuzzer = Fuzzer(cloud)
    ops = operations()
    per = max(1, -(-total // len(ops)))
    roomy: list[tuple[str, str]] = []  # operations whose inputs gave every case asked for
    for i, (svc, name) in enumerate(ops):
        before = result.attempts
        fuzzer.run_operation(svc, name, per, result, seed + i)
        if result.attempts - before >= per:
            roomy.append((svc, name))
    # Operations with small inputs run fewer cases; the others make up the difference, so a run is never
    # smaller than asked.
    if result.attempts < total and roomy:
        extra = -(-(total - result.attempts) // len(roomy))
        for i, (svc, name) in enumerate(roomy):
            fuzzer.run_operation(svc, name, extra, result, seed + len(ops) + i)
    result.notes.append(f"{len(ops)} operations x up to {per} cases (operations with small inputs run fewer, "
                        "others make up the difference)")
    return result
