"""The EC2 service's live side: node drivers, placement, and driver state reports.

Lives in ``cloud.extensions["ec2"]``; built by the package's start hook (or on first use).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from eucalite.nodes import make_drivers
from eucalite.nodes.base import NodeDriver, NodeError, NodeState
from eucalite.services.ec2 import instance_types
from eucalite.services.ec2 import instances_repo as repo

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

log = logging.getLogger(__name__)

# What each node report means for the AWS-visible state, given the state the instance was in.
_FROM_NODE = {
    NodeState.PENDING: "pending", NodeState.RUNNING: "running", NodeState.STOPPING: "stopping",
    NodeState.STOPPED: "stopped", NodeState.SHUTTING_DOWN: "shutting-down", NodeState.TERMINATED: "terminated",
}


class Ec2Runtime:
    def __init__(self, cloud: Cloud, drivers: list[NodeDriver]) -> None:
        self.cloud = cloud
        self.drivers = {d.name: d for d in drivers}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Why a node offered no capacity at the last look (e.g. libvirt unreachable), for error messages.
        self.node_errors: dict[str, str] = {}
        for d in drivers:
            d.set_state_callback(self.on_node_state)

    # -- node reports -------------------------------------------------------------------------------
    def on_node_state(self, instance_id: str, state: NodeState, reason: str) -> None:
        row = repo.get(self.cloud.store, instance_id)
        if row is None:
            return
        if state == NodeState.LOST:
            # A launch that never came up ends terminated (AWS's Server.InternalError); a guest that
            # vanished later is stopped, so its owner can start it again.
            target = "terminated" if row["state"] in ("pending", "shutting-down") else "stopped"
            repo.set_state(self.cloud, instance_id, target, f"Server.InternalError: {reason or 'node lost the guest'}")
            if target == "terminated":
                self.spawn(self.release(instance_id))
            return
        new = _FROM_NODE[state]
        if row["state"] == "shutting-down" and new not in ("terminated",):
            return  # a late report from before the terminate
        reason_text = None
        if new == "stopped" and row["state"] == "stopping":
            reason_text = "Client.UserInitiatedShutdown: User initiated shutdown"
        elif new in ("running", "pending"):
            reason_text = ""
        repo.set_state(self.cloud, instance_id, new, reason_text)
        if new == "terminated":
            self.spawn(self.release(instance_id))

    async def release(self, instance_id: str) -> None:
        """What an instance held outside its node: its metadata channel."""
        metadata = self.cloud.extensions.get("metadata")
        if metadata is not None:
            try:
                await metadata.close_channel(instance_id)
            except Exception:
                log.exception("closing the metadata channel of %s", instance_id)

    def spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (a CLI process): nothing to release there
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- placement ----------------------------------------------------------------------------------
    def capacity(self, zone: str | None = None) -> dict[str, tuple[int, int]]:
        """instance type -> (free, max) over the nodes of ``zone`` (all zones when None)."""
        types = self.cloud.settings.instance_types
        out: dict[str, tuple[int, int]] = {}
        nodes = [d for d in self.drivers.values() if zone is None or d.zone == zone]
        used = {d.name: self.used(d.name) for d in nodes}
        for name, (vcpus, mem, _disk) in types.items():
            free = total = 0
            for d in nodes:
                cpu, ram = self.node_capacity(d)
                ucpu, uram = used[d.name]
                total += min(cpu // vcpus, ram // mem)
                free += max(0, min((cpu - ucpu) // vcpus, (ram - uram) // mem))
            out[name] = (free, total)
        return out

    def node_capacity(self, driver: NodeDriver) -> tuple[int, int]:
        """The node's (vcpus, memory_mb), or nothing while it cannot be reached (the reason is kept)."""
        try:
            capacity = driver.capacity()
        except NodeError as exc:
            if self.node_errors.get(driver.name) != str(exc):
                log.warning("node %s offers no capacity: %s", driver.name, exc)
            self.node_errors[driver.name] = str(exc)
            return 0, 0
        self.node_errors.pop(driver.name, None)
        return capacity

    def used(self, node: str) -> tuple[int, int]:
        cpu = ram = 0
        for row in repo.live_on_node(self.cloud.store, node):
            size = instance_types.size_of(self.cloud.settings, row["instance_type"])
            if row["state"] in repo.ACTIVE_STATES and size is not None:
                cpu, ram = cpu + size[0], ram + size[1]
        return cpu, ram

    def place(self, zone: str | None, instance_type: str, count: int,
              reserved: dict[str, tuple[int, int]] | None = None) -> list[NodeDriver]:
        """Nodes for ``count`` instances (most free capacity first), or [] when they do not fit."""
        size = instance_types.size_of(self.cloud.settings, instance_type)
        if size is None:
            return []
        vcpus, mem, _ = size
        nodes = [d for d in self.drivers.values() if zone is None or d.zone == zone]
        free: dict[str, list[int]] = {}
        for d in nodes:
            cpu, ram = self.node_capacity(d)
            ucpu, uram = self.used(d.name)
            rc, rr = (reserved or {}).get(d.name, (0, 0))
            free[d.name] = [cpu - ucpu - rc, ram - uram - rr]
        chosen: list[NodeDriver] = []
        for _ in range(count):
            fits = [d for d in nodes if free[d.name][0] >= vcpus and free[d.name][1] >= mem]
            if not fits:
                return []
            best = max(fits, key=lambda d: (free[d.name][0], free[d.name][1]))
            free[best.name][0] -= vcpus
            free[best.name][1] -= mem
            chosen.append(best)
        return chosen

    def driver(self, name: str | None) -> NodeDriver | None:
        return self.drivers.get(name or "")

    # -- lifecycle ----------------------------------------------------------------------------------
    async def reconcile(self) -> None:
        for driver in self.drivers.values():
            known = {r["id"]: NodeState(r["state"]) for r in repo.live_on_node(self.cloud.store, driver.name)}
            try:
                observed = await driver.reconcile(known)
            except NodeError as exc:
                log.warning("node %s could not reconcile: %s", driver.name, exc)
                continue
            for iid, state in observed.items():
                if known.get(iid) != state:
                    self.on_node_state(iid, state, "reconciled after restart")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for driver in self.drivers.values():
            try:
                await driver.close()
            except Exception:
                log.exception("closing node %s", driver.name)


def runtime(cloud: Cloud) -> Ec2Runtime:
    rt = cloud.extensions.get("ec2")
    if rt is None:
        rt = Ec2Runtime(cloud, make_drivers(cloud.settings, cloud.settings.data_dir))
        cloud.extensions["ec2"] = rt
    return rt  # type: ignore[no-any-return]
