"""Nodes run guests. ``make_drivers`` builds one driver per configured node; libvirt is imported only
when it is the configured driver, so the memory driver works on hosts without libvirt-python."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eucalite.config import Settings
    from eucalite.nodes.base import NodeDriver


def default_libvirt_uri() -> str:
    return "qemu:///system" if os.geteuid() == 0 else "qemu:///session"


def make_drivers(settings: Settings, data_dir: Path) -> list[NodeDriver]:
    drivers: list[NodeDriver] = []
    for node in settings.node_list():
        state_dir = Path(data_dir) / "nodes" / node.name
        if settings.driver == "memory":
            from eucalite.nodes.memory import MemoryDriver

            drivers.append(MemoryDriver(node.name, node.zone, state_dir, boot_seconds=settings.memory_boot_seconds,
                                        vcpus=node.vcpus, memory_mb=node.memory_mb))
        elif settings.driver == "libvirt":
            from eucalite.nodes.libvirt.driver import LibvirtDriver

            drivers.append(LibvirtDriver(node.name, node.zone, node.uri or settings.libvirt_uri
                                         or default_libvirt_uri(), state_dir))
        else:
            raise ValueError(f"unknown node driver {settings.driver!r} (memory or libvirt)")
    return drivers
