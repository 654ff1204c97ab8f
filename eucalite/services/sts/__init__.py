"""STS: caller identity, sessions and role assumption; and the instance-credential rotation task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eucalite.credentials.instance_profile import InstanceCredentials
from eucalite.services.sts import access_key_info, assume_role, decode_message, identity, session_token  # noqa: F401

if TYPE_CHECKING:
    from eucalite.cloud import Cloud


def credentials_of(cloud: Cloud) -> InstanceCredentials:
    creds: InstanceCredentials | None = cloud.extensions.get("instance-credentials")
    if creds is None:
        creds = cloud.extensions["instance-credentials"] = InstanceCredentials(cloud)
        cloud.extensions.setdefault("instance-hooks", []).append(creds.refresh)
    return creds


async def start(cloud: Cloud) -> None:
    from eucalite.credentials.rotation import Rotator

    rotator = Rotator(credentials_of(cloud))
    cloud.extensions["credential-rotator"] = rotator
    rotator.start()


async def stop(cloud: Cloud) -> None:
    rotator = cloud.extensions.pop("credential-rotator", None)
    if rotator is not None:
        await rotator.stop()
