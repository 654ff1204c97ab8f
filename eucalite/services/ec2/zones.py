"""EC2 DescribeRegions and DescribeAvailabilityZones, from settings.

`ZoneNames=verbose` is Eucalyptus's capacity report: after each zone, one row per instance type whose
state reads "free / max  cpu  ram  disk" (euca-describe-availability-zones verbose prints it).
"""

from __future__ import annotations

from typing import Any

from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.registry import operation


@operation("ec2", "DescribeRegions")
def describe_regions(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    s = ctx.cloud.settings
    regions = [{"RegionName": s.region, "Endpoint": s.endpoint_url.split("://", 1)[1],
                "OptInStatus": "opt-in-not-required"}]
    names = params.get("RegionNames")
    if names:
        regions = [r for r in regions if r["RegionName"] in names]
    regions = apply_filters(regions, params.get("Filters"), {
        "region-name": lambda r: [r["RegionName"]], "endpoint": lambda r: [r["Endpoint"]]})
    return {"Regions": regions}


def zone_entries(ctx: CallContext) -> list[dict[str, Any]]:
    s = ctx.cloud.settings
    return [{"ZoneName": z, "State": "available", "RegionName": s.region, "ZoneId": f"{s.region}-az{i}",
             "ZoneType": "availability-zone", "GroupName": s.region, "NetworkBorderGroup": s.region,
             "OptInStatus": "opt-in-not-required", "Messages": []}
            for i, z in enumerate(s.zones, 1)]


@operation("ec2", "DescribeAvailabilityZones")
def describe_availability_zones(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    zones = zone_entries(ctx)
    verbose = "verbose" in params.get("ZoneNames", [])
    names = [n for n in params.get("ZoneNames", []) if n != "verbose"]
    if names:
        unknown = [n for n in names if n not in {z["ZoneName"] for z in zones}]
        if unknown:
            raise ServiceError("InvalidParameterValue", f"Invalid availability zone: [{unknown[0]}]")
        zones = [z for z in zones if z["ZoneName"] in names]
    zones = apply_filters(zones, params.get("Filters"), {
        "zone-name": lambda z: [z["ZoneName"]], "region-name": lambda z: [z["RegionName"]],
        "state": lambda z: [z["State"]], "zone-id": lambda z: [z["ZoneId"]]})
    if verbose:
        zones = [row for z in zones for row in [z, *capacity_rows(ctx, z)]]
    return {"AvailabilityZones": zones}


def capacity_rows(ctx: CallContext, zone: dict[str, Any]) -> list[dict[str, Any]]:
    from eucalite.services.ec2.runtime import runtime

    capacity = runtime(ctx.cloud).capacity(zone["ZoneName"])
    rows = [{"ZoneName": "|- vm types", "State": "free / max   cpu   ram  disk", "RegionName": zone["RegionName"]}]
    for name, (vcpus, mem, disk) in ctx.cloud.settings.instance_types.items():
        free, total = capacity.get(name, (0, 0))
        rows.append({"ZoneName": f"|- {name}", "RegionName": zone["RegionName"],
                     "State": f"{free:04d} / {total:04d}  {vcpus:3d}  {mem:5d}  {disk:3d}"})
    return rows
