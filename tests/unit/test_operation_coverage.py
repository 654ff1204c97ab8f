"""Which operations of each botocore model eucalite serves, and that every one it serves is real."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eucalite import services
from eucalite.services.registry import REGISTRY, implemented
from eucalite.wire.specs import service

services.load_all()


@pytest.mark.parametrize("svc", ["iam", "sts", "ec2"])
def test_registered_operations_exist_in_the_model(svc: str) -> None:
    names = service(svc).operation_names
    ops = implemented(svc)
    assert ops, f"no {svc} operations registered"
    missing = [op for op in ops if op not in names]
    assert not missing, f"registered but not in the {svc} model: {missing}"


def test_every_operation_names_an_iam_action() -> None:
    for (svc, name), op in REGISTRY.items():
        prefix, _, action = op.action.partition(":")
        assert prefix in ("iam", "sts", "ec2") and action, f"{svc}:{name} has action {op.action!r}"


def test_sts_and_walkthrough_operations_are_served() -> None:
    assert set(implemented("sts")) >= {"AssumeRole", "GetCallerIdentity", "GetSessionToken", "GetAccessKeyInfo",
                                       "DecodeAuthorizationMessage"}
    assert set(implemented("ec2")) >= {"RunInstances", "DescribeInstances", "DescribeAvailabilityZones",
                                       "TerminateInstances", "CreateKeyPair", "AuthorizeSecurityGroupIngress"}
    assert set(implemented("iam")) >= {"CreateAccount", "CreateRole", "PutRolePolicy", "CreateInstanceProfile",
                                       "AddRoleToInstanceProfile", "ListInstanceProfiles", "PutUserPolicy"}


def test_ops_command_lists_the_table() -> None:
    out = subprocess.run([sys.executable, "-m", "eucalite", "ops"], capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    assert len(lines) == len(REGISTRY)
    assert any(line.split()[:3] == ["ec2", "RunInstances", "ec2:RunInstances"] for line in lines)
    for svc in ("iam", "sts", "ec2"):
        total = len(service(svc).operation_names)
        print(f"{svc}: {len(implemented(svc))} of {total} model operations implemented")
