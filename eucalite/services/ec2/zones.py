"""EC2 DescribeRegions and DescribeAvailabilityZones, from settings."""

from __future__ import annotations

from typing import Any

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
    names = [n for n in params.get("ZoneNames", []) if n != "verbose"]
    if names:
        zones = [z for z in zones if z["ZoneName"] in names]
    zones = apply_filters(zones, params.get("Filters"), {
        "zone-name": lambda z: [z["ZoneName"]], "region-name": lambda z: [z["RegionName"]],
        "state": lambda z: [z["State"]], "zone-id": lambda z: [z["ZoneId"]]})
    return {"AvailabilityZones": zones}
