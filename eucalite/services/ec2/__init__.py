"""EC2 (Eucalyptus compute): regions, zones, images, instances, key pairs, security groups, tags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eucalite.services.ec2 import (  # noqa: F401  (registers operations and the 020_ec2 migration)
    images,
    instance_types,
    instances,
    keypairs,
    profiles,
    schema,
    security_groups,
    tags,
    zones,
)

if TYPE_CHECKING:
    from eucalite.cloud import Cloud


async def start(cloud: Cloud) -> None:
    from eucalite.services.ec2.runtime import runtime

    deleters = cloud.extensions.setdefault("account-deleters", [])
    if schema.delete_account_rows not in deleters:
        deleters.append(schema.delete_account_rows)
    releasers = cloud.extensions.setdefault("account-releasers", [])
    if instances.release_account not in releasers:
        releasers.append(instances.release_account)
    await runtime(cloud).reconcile()


async def stop(cloud: Cloud) -> None:
    rt = cloud.extensions.pop("ec2", None)
    if rt is not None:
        await rt.close()
