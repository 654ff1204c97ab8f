"""The instance metadata service (169.254.169.254 as guests see it). Started with the cloud; EC2 asks it
for a channel per instance (cloud.extensions["metadata"])."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eucalite.cloud import Cloud


async def start(cloud: Cloud) -> None:
    from eucalite.metadata.server import MetadataService
    from eucalite.services.sts import credentials_of

    service = MetadataService(cloud, credentials_of(cloud))
    cloud.extensions["metadata"] = service
    if "instances" not in cloud.store.db.table_names():
        return
    # Re-open the channels of instances that outlived a restart, on their recorded ports.
    for row in cloud.store.all("select id, metadata_port from instances where state != 'terminated' "
                               "and metadata_port is not null and metadata_port > 0"):
        await service.open_channel(row["id"], int(row["metadata_port"]))


async def stop(cloud: Cloud) -> None:
    service = cloud.extensions.pop("metadata", None)
    if service is not None:
        await service.close()
