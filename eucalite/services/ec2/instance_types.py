"""DescribeInstanceTypes from settings.instance_types (Eucalyptus's m1.small ... c1.xlarge by default)."""

from __future__ import annotations

import functools
from typing import Any

from eucalite.config import Settings
from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.ec2.common import page
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.registry import operation


# Test mode runs moto-style suites, which launch AWS's own types (t2.micro, m5.large, ...): those are
# accepted there with the smallest configured size; outside test mode only configured types exist.
@functools.cache
def _aws_types() -> frozenset[str]:
    from eucalite.wire.specs import service

    return frozenset(service("ec2").model.shape_for("InstanceType").enum)


def size_of(settings: Settings, name: str) -> tuple[int, int, int] | None:
    """(vcpus, memory MiB, disk GiB) of a type, or None when this cloud has no such type."""
    spec = settings.instance_types.get(name)
    if spec is None and settings.test_mode and name in _aws_types():
        spec = min(settings.instance_types.values())
    return spec


def require(ctx: CallContext, name: str | None) -> tuple[int, int, int]:
    """The size of a type this cloud has; an absent name (Attribute=instanceType with no Value) is invalid."""
    spec = size_of(ctx.cloud.settings, name) if name is not None else None
    if spec is None:
        raise ServiceError("InvalidParameterValue", f"Invalid value '{name}' for InstanceType.")
    return spec


def type_info(name: str, vcpus: int, mem: int, disk: int) -> dict[str, Any]:
    return {
        "InstanceType": name, "CurrentGeneration": True, "FreeTierEligible": False,
        "SupportedUsageClasses": ["on-demand"], "SupportedRootDeviceTypes": ["instance-store"],
        "SupportedVirtualizationTypes": ["hvm", "paravirtual"], "BareMetal": False, "Hypervisor": "kvm",
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "VCpuInfo": {"DefaultVCpus": vcpus, "DefaultCores": vcpus, "DefaultThreadsPerCore": 1},
        "MemoryInfo": {"SizeInMiB": mem},
        "InstanceStorageSupported": True,
        "InstanceStorageInfo": {"TotalSizeInGB": disk, "Disks": [{"SizeInGB": disk, "Count": 1, "Type": "ssd"}]},
        "HibernationSupported": False, "BurstablePerformanceSupported": False, "DedicatedHostsSupported": False,
        "AutoRecoverySupported": False, "SupportedBootModes": ["legacy-bios"],
    }


@operation("ec2", "DescribeInstanceTypes")
def describe_instance_types(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    types = ctx.cloud.settings.instance_types
    names = params.get("InstanceTypes") or list(types)
    for n in names:
        if n not in types:
            raise ServiceError("InvalidInstanceType", f"The following supplied instance types do not exist: [{n}]")
    infos = [type_info(n, *types[n]) for n in names]
    infos = apply_filters(infos, params.get("Filters"), {
        "instance-type": lambda i: [i["InstanceType"]],
        "vcpu-info.default-vcpus": lambda i: [str(i["VCpuInfo"]["DefaultVCpus"])],
        "memory-info.size-in-mib": lambda i: [str(i["MemoryInfo"]["SizeInMiB"])],
        "current-generation": lambda i: ["true"],
        "processor-info.supported-architecture": lambda i: ["x86_64"],
    })
    chunk, token = page(infos, params, "types")
    out: dict[str, Any] = {"InstanceTypes": chunk}
    if token:
        out["NextToken"] = token
    return out
