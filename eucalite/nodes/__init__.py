"""Nodes run guests. ``make_drivers`` builds one driver per configured node; libvirt is imported only
when it is the configured driver, so the memory driver works on hosts without libvirt-python."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eucalite.config import Settings
    from eucalite.nodes.base import NodeDriver

# Host-wide home of system-libvirt node state: world-searchable, so QEMU (libvirt-qemu) reaches it.
SYSTEM_NODE_ROOT = Path("/var/lib/eucalite")
# In each per-data-dir node root: which data dir it belongs to, so a root whose data dir was deleted
# can be recognised as abandoned and reaped (LibvirtDriver.reconcile).
OWNER_FILE = "data_dir"


def default_libvirt_uri() -> str:
    return "qemu:///system" if os.geteuid() == 0 else "qemu:///session"


def is_system_uri(uri: str) -> bool:
    return uri.startswith("qemu") and "/system" in uri


def node_state_root(settings: Settings, uri: str) -> Path:
    """The directory holding one sub-directory per node of this cloud (settings.node_state_dir wins).

    Under qemu:///system QEMU runs as libvirt-qemu, which cannot enter a 0700 data dir (/root/.eucalite,
    pytest's tmp dirs), so overlays, consoles and staged boot files go below /var/lib/eucalite, in a
    directory per data dir so that two clouds on one host never share (or reap) each other's files.
    """
    if settings.node_state_dir:
        return Path(settings.node_state_dir).expanduser()
    if is_system_uri(uri):
        key = hashlib.sha256(str(Path(settings.data_dir).resolve()).encode()).hexdigest()[:16]
        return SYSTEM_NODE_ROOT / "nodes" / key
    return Path(settings.data_dir) / "nodes"


def make_drivers(settings: Settings, data_dir: Path) -> list[NodeDriver]:
    drivers: list[NodeDriver] = []
    for node in settings.node_list():
        if settings.driver == "memory":
            from eucalite.nodes.memory import MemoryDriver

            drivers.append(MemoryDriver(node.name, node.zone, Path(data_dir) / "nodes" / node.name,
                                        boot_seconds=settings.memory_boot_seconds,
                                        vcpus=node.vcpus, memory_mb=node.memory_mb))
        elif settings.driver == "libvirt":
            from eucalite.nodes.libvirt.driver import LibvirtDriver

            uri = node.uri or settings.libvirt_uri or default_libvirt_uri()
            root = node_state_root(settings, uri)
            state_dir = root / node.name
            if is_system_uri(uri) and not settings.node_state_dir:
                root.mkdir(parents=True, exist_ok=True)
                (root / OWNER_FILE).write_text(str(Path(settings.data_dir).resolve()) + "\n")
            # The accelerator verdict is the host's: probe once per host, not per cloud.
            accel_cache = SYSTEM_NODE_ROOT if is_system_uri(uri) else state_dir
            drivers.append(LibvirtDriver(node.name, node.zone, uri, state_dir, accel_cache_dir=accel_cache,
                                         reap_abandoned=is_system_uri(uri) and not settings.node_state_dir))
        else:
            raise ValueError(f"unknown node driver {settings.driver!r} (memory or libvirt)")
    return drivers
