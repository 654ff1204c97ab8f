"""Service packages. Importing one registers its operations; a package may also define
``async start(cloud)`` / ``async stop(cloud)`` hooks for background work."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

# Order matters for start-up: metadata channels exist before EC2 re-adopts guests and launches new ones.
SERVICE_MODULES = (
    "eucalite.services.iam",
    "eucalite.services.sts",
    "eucalite.metadata",
    "eucalite.services.ec2",
)


def load_all() -> list[ModuleType]:
    return [importlib.import_module(m) for m in SERVICE_MODULES]


async def start_all(cloud: Cloud) -> None:
    for module in load_all():
        hook = getattr(module, "start", None)
        if hook is not None:
            await hook(cloud)


async def stop_all(cloud: Cloud) -> None:
    for module in reversed(load_all()):
        hook = getattr(module, "stop", None)
        if hook is not None:
            await hook(cloud)
