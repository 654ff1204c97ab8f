"""R3: every implemented read/list operation (Describe*, List*, Get*) called with account A's credentials
(its admin, and a role session allowed everything) on account B's names, ids and ARNs.

A leak is any response that carries one of B's identifiers (account id, resource ids, unique names, key
ids) that the request itself did not contain. B's own admin runs the same requests as a control, so the
report can say how many of them reach B's data at all.
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer

from eucalite.services.registry import REGISTRY
from eucalite.wire.specs import service as load_service
from tests.reliability.harness import InProcessCloud, Key, Result, signed, xml_value

# By design, not a leak: AWS's GetAccessKeyInfo answers which account owns any key id.
BY_DESIGN = {("sts", "GetAccessKeyInfo")}
READ_PREFIXES = ("Describe", "List", "Get")
ALLOW_ALL = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def read_operations() -> list[tuple[str, str]]:
    from eucalite import services

    services.load_all()  # handlers register on import
    return sorted((svc, name) for (svc, name), op in REGISTRY.items()
                  if name.startswith(READ_PREFIXES) and (svc, name) not in BY_DESIGN and not op.cloud_admin_only)


class Victim:
    """Account B and everything it owns, with the identifiers a leak would show."""

    def __init__(self, cloud: InProcessCloud) -> None:
        c = self.cloud = cloud
        tag = uuid.uuid4().hex[:6]
        self.name, self.account_id, self.admin = c.new_account("r3-victim")
        k = self.admin
        self.user, self.group, self.role = f"bu-{tag}", f"bg-{tag}", f"br-{tag}"
        self.profile, self.policy, self.inline = f"bp-{tag}", f"bm-{tag}", f"bi-{tag}"
        self.key_name, self.sg_name = f"bk-{tag}", f"bs-{tag}"
        trust = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                           "Action": "sts:AssumeRole"}]})
        ids: dict[str, str] = {}
        ids["user"] = xml_value(c.ok("iam", "CreateUser", k, UserName=self.user), "UserId")
        ids["akid"] = xml_value(c.ok("iam", "CreateAccessKey", k, UserName=self.user), "AccessKeyId")
        c.ok("iam", "PutUserPolicy", k, UserName=self.user, PolicyName=self.inline, PolicyDocument=ALLOW_ALL)
        c.ok("iam", "TagUser", k, UserName=self.user, **{"Tags.member.1.Key": "owner", "Tags.member.1.Value": tag})
        ids["group"] = xml_value(c.ok("iam", "CreateGroup", k, GroupName=self.group), "GroupId")
        c.ok("iam", "AddUserToGroup", k, GroupName=self.group, UserName=self.user)
        c.ok("iam", "PutGroupPolicy", k, GroupName=self.group, PolicyName=self.inline, PolicyDocument=ALLOW_ALL)
        ids["role"] = xml_value(c.ok("iam", "CreateRole", k, RoleName=self.role, AssumeRolePolicyDocument=trust),
                                "RoleId")
        c.ok("iam", "PutRolePolicy", k, RoleName=self.role, PolicyName=self.inline, PolicyDocument=ALLOW_ALL)
        c.ok("iam", "TagRole", k, RoleName=self.role, **{"Tags.member.1.Key": "owner", "Tags.member.1.Value": tag})
        ids["profile"] = xml_value(c.ok("iam", "CreateInstanceProfile", k, InstanceProfileName=self.profile),
                                   "InstanceProfileId")
        c.ok("iam", "AddRoleToInstanceProfile", k, InstanceProfileName=self.profile, RoleName=self.role)
        c.ok("iam", "TagInstanceProfile", k, InstanceProfileName=self.profile,
             **{"Tags.member.1.Key": "owner", "Tags.member.1.Value": tag})
        text = c.ok("iam", "CreatePolicy", k, PolicyName=self.policy, PolicyDocument=ALLOW_ALL)
        ids["policy"] = xml_value(text, "PolicyId")
        self.policy_arn = xml_value(text, "Arn")
        c.ok("iam", "CreatePolicyVersion", k, PolicyArn=self.policy_arn, PolicyDocument=ALLOW_ALL,
             SetAsDefault="true")
        c.ok("iam", "TagPolicy", k, PolicyArn=self.policy_arn, **{"Tags.member.1.Key": "o", "Tags.member.1.Value": tag})
        for kind, name in (("User", self.user), ("Group", self.group), ("Role", self.role)):
            c.ok("iam", f"Attach{kind}Policy", k, PolicyArn=self.policy_arn, **{f"{kind}Name": name})
        ids["keypair"] = xml_value(c.ok("ec2", "CreateKeyPair", k, KeyName=self.key_name), "keyPairId")
        ids["sg"] = xml_value(c.ok("ec2", "CreateSecurityGroup", k, GroupName=self.sg_name,
                                   GroupDescription="victim"), "groupId")
        ids["image"] = xml_value(c.ok("ec2", "RegisterImage", k, Name=f"bimg-{tag}"), "imageId")
        text = c.ok("ec2", "RunInstances", k, ImageId=ids["image"], MinCount="1", MaxCount="1",
                    InstanceType="m1.small", KeyName=self.key_name, **{"SecurityGroup.1": self.sg_name},
                    UserData="c2VjcmV0LXVzZXItZGF0YQ==", **{"IamInstanceProfile.Name": self.profile})
        ids["instance"] = xml_value(text, "instanceId")
        ids["reservation"] = xml_value(text, "reservationId")
        c.ok("ec2", "CreateTags", k, **{"ResourceId.1": ids["instance"], "Tag.1.Key": "owner", "Tag.1.Value": tag})
        assoc = c.ok("ec2", "DescribeIamInstanceProfileAssociations", k)
        ids["association"] = xml_value(assoc, "associationId")
        self.ids = ids
        self.role_arn = f"arn:aws:iam::{self.account_id}:role/{self.role}"
        self.profile_arn = f"arn:aws:iam::{self.account_id}:instance-profile/{self.profile}"
        self.user_arn = f"arn:aws:iam::{self.account_id}:user/{self.user}"
        self.group_arn = f"arn:aws:iam::{self.account_id}:group/{self.group}"
        # What must never reach A: B's account id, every id, and the unique names.
        self.secrets = {self.account_id, *[v for v in ids.values() if v], self.user, self.group, self.role,
                        self.profile, self.policy, self.inline, self.key_name, self.sg_name, f"bimg-{tag}",
                        "c2VjcmV0LXVzZXItZGF0YQ=="}

    def values_for(self, member: str, shape: Shape) -> list[Any]:
        """Candidate values of B for one input member (by the member's name, as botocore models call it)."""
        m = member.lower()
        table: list[tuple[tuple[str, ...], list[Any]]] = [
            (("username",), [self.user]), (("groupname",), [self.group, self.sg_name]),
            (("rolename",), [self.role]), (("instanceprofilename",), [self.profile]),
            (("policyname",), [self.inline, self.policy]),
            (("policyarn", "policysourcearn", "arn", "resourcearn"),
             [self.policy_arn, self.role_arn, self.user_arn, self.profile_arn, self.group_arn]),
            (("versionid",), ["v1", "v2"]), (("accesskeyid",), [self.ids["akid"]]),
            (("instanceid", "instanceids"), [self.ids["instance"]]), (("imageid", "imageids"), [self.ids["image"]]),
            (("groupid", "groupids"), [self.ids["sg"]]), (("groupnames",), [self.sg_name]),
            (("keyname", "keynames"), [self.key_name]), (("keypairids",), [self.ids["keypair"]]),
            (("owners", "ownerids", "executableusers"), [self.account_id]),
            (("associationids", "associationid"), [self.ids["association"]]),
            (("resources", "resourceids", "resourceid"), [self.ids["instance"], self.ids["image"]]),
            (("pathprefix",), ["/"]), (("path",), ["/"]),
        ]
        for names, values in table:
            if m in names:
                return values
        if shape.enum:
            return list(shape.enum)
        return []

    def filters(self) -> list[list[dict[str, Any]]]:
        pairs = [("owner-id", self.account_id), ("instance-id", self.ids["instance"]),
                 ("resource-id", self.ids["instance"]), ("image-id", self.ids["image"]),
                 ("group-id", self.ids["sg"]), ("key-name", self.key_name), ("tag:owner", "*"),
                 ("reservation-id", self.ids["reservation"]), ("instance-state-name", "running")]
        return [[{"Name": n, "Values": [v]}] for n, v in pairs]


def _fill(victim: Victim, shape: Shape, member: str) -> list[Any]:
    """Values for one member of an input shape: B's identifiers in the member's type."""
    if member == "Filters" or (shape.type_name == "list" and member.lower() == "filter"):
        return victim.filters()
    if shape.type_name == "list":
        return [[v] for v in victim.values_for(member, shape.member)] or \
            [[v] for v in victim.values_for(member.rstrip("s"), shape.member)]
    if shape.type_name == "string":
        return victim.values_for(member, shape)
    return []


def request_sets(victim: Victim, model: OperationModel) -> list[dict[str, Any]]:
    """The required members filled with B's values (every combination), then each optional member too."""
    shape = model.input_shape
    if shape is None:
        return [{}]
    required = list(shape.required_members)
    options = {m: _fill(victim, shape.members[m], m) for m in shape.members}
    if any(not options[m] for m in required):
        return []
    bases = [dict(zip(required, combo, strict=True)) for combo in itertools.product(*(options[m] for m in required))]
    out = list(bases)
    for base in bases[:4]:
        for m, values in options.items():
            if m in required:
                continue
            out += [{**base, m: v} for v in values]
    return out


def run(cloud: InProcessCloud, per_operation: int | None = None) -> Result:
    """``per_operation`` caps the request sets per operation (spread over all of them) for a quick run."""
    result = Result("R3", "cross-account-reads")
    victim = Victim(cloud)
    _, attacker_account, attacker = cloud.new_account("r3-attacker")
    trust = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{attacker_account}:root"},
                                       "Action": "sts:AssumeRole"}]})
    role_arn = xml_value(cloud.ok("iam", "CreateRole", attacker, RoleName="r3-everything",
                                  AssumeRolePolicyDocument=trust), "Arn")
    cloud.ok("iam", "PutRolePolicy", attacker, RoleName="r3-everything", PolicyName="all", PolicyDocument=ALLOW_ALL)
    text = cloud.ok("sts", "AssumeRole", attacker, RoleArn=role_arn, RoleSessionName="r3")
    session = Key(xml_value(text, "AccessKeyId"), xml_value(text, "SecretAccessKey"), xml_value(text, "SessionToken"))
    callers = {"A-admin": attacker, "A-role-session": session}
    reached = 0
    ops = read_operations()
    for svc, name in ops:
        spec = load_service(svc)
        model = spec.operation(name)
        assert model is not None
        serializer = create_serializer(spec.protocol)
        op_reached = False
        sets = request_sets(victim, model)
        if per_operation is not None and len(sets) > per_operation:
            step = len(sets) / per_operation
            sets = [sets[int(i * step)] for i in range(per_operation)]
        for params in sets:
            body = serializer.serialize_to_request(params, model)["body"]
            request_text = json.dumps(body)
            control_status, control = cloud.send(signed(svc, body, victim.admin))
            op_reached = op_reached or (control_status == 200 and any(
                s in control and s not in request_text for s in victim.secrets))
            for who, key in callers.items():
                status, text = cloud.send(signed(svc, body, key))
                result.attempts += 1
                leaked = sorted(s for s in victim.secrets if s in text and s not in request_text)
                if leaked or status >= 500:
                    result.fail(f"{who} {svc}:{name} {params} -> {status} shows {leaked}: {text[:300]!r}")
        reached += op_reached
    result.notes.append(f"{len(ops)} read operations; {reached} of them showed B's data to B's own admin "
                        f"with the same requests (control); excluded by design: {sorted(BY_DESIGN)}")
    return result
