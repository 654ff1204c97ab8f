"""The in-memory node: guests that walk the real state machine on timers and write a console log,
without running any code. First class: the EC2 service, the dashboard and most tests use it.

Console logs live in the node's state directory (when it has one), so they outlive a restart the way
a hypervisor's serial logs do; the guests themselves are "adopted" back by reconcile().
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eucalite.nodes.base import BootImage, Capability, LaunchSpec, NodeDriver, NodeError, NodeState

CONSOLE_TAIL = 64 * 1024
_NO_IMAGE = BootImage()


@dataclass
class _Guest:
    spec: LaunchSpec
    state: NodeState
    console: bytearray = field(default_factory=bytearray)
    task: asyncio.Task[None] | None = None


class MemoryDriver(NodeDriver):
    kind = "memory"

    def __init__(self, name: str, zone: str, state_dir: Path | None = None, *, boot_seconds: float = 0.5,
                 vcpus: int = 8, memory_mb: int = 16384) -> None:
        super().__init__(name, zone)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.boot_seconds = boot_seconds
        self._capacity = (vcpus, memory_mb)
        self._guests: dict[str, _Guest] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.STOP, Capability.REBOOT, Capability.CONSOLE, Capability.ADOPT})

    def capacity(self) -> tuple[int, int]:
        return self._capacity

    # -- console ----------------------------------------------------------------------------------
    def console_path(self, instance_id: str) -> Path | None:
        return self.state_dir / f"{instance_id}.console.log" if self.state_dir else None

    def _say(self, instance_id: str, *lines: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        text = "".join(f"[{stamp}] {line}\r\n" for line in lines).encode()
        guest = self._guests.get(instance_id)
        if guest is not None:
            guest.console += text
            del guest.console[:-CONSOLE_TAIL]
        path = self.console_path(instance_id)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as fh:
                fh.write(text)

    def _boot_lines(self, spec: LaunchSpec) -> list[str]:
        img = spec.image
        lines = [f"eucalite memory node {self.name} ({self.zone}): booting {spec.instance_id}",
                 f"Linux version 0.0-eucalite (memory driver) vcpus={spec.vcpus} mem={spec.memory_mb}M",
                 f"kernel={img.kernel.name if img.kernel else '-'} ramdisk={img.ramdisk.name if img.ramdisk else '-'}"
                 f" disk={img.disk.name if img.disk else '-'} cmdline={img.kernel_cmdline!r}"]
        if spec.metadata_port:
            lines.append(f"metadata service 169.254.169.254:80 -> 127.0.0.1:{spec.metadata_port}")
        if spec.user_data:
            first = spec.user_data.split(b"\n", 1)[0][:60].decode("utf-8", "replace")
            lines.append(f"user-data: {len(spec.user_data)} bytes, sha256 "
                         f"{hashlib.sha256(spec.user_data).hexdigest()[:16]}, first line {first!r}")
        else:
            lines.append("user-data: none")
        return lines

    # -- state machine ----------------------------------------------------------------------------
    def _set(self, instance_id: str, state: NodeState, reason: str = "") -> None:
        self._guests[instance_id].state = state
        self._emit(instance_id, state, reason)

    def _after(self, instance_id: str, delay: float, state: NodeState, *lines: str) -> None:
        """Reach ``state`` after ``delay`` unless another transition supersedes this one."""
        guest = self._guests[instance_id]
        if guest.task is not None and not guest.task.done():
            guest.task.cancel()

        async def later() -> None:
            await asyncio.sleep(delay)
            self._say(instance_id, *lines)
            self._set(instance_id, state)

        task = asyncio.get_running_loop().create_task(later())
        guest.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _require(self, instance_id: str) -> _Guest:
        guest = self._guests.get(instance_id)
        if guest is None or guest.state == NodeState.TERMINATED:
            raise NodeError(f"node {self.name} has no guest {instance_id}")
        return guest

    async def launch(self, spec: LaunchSpec) -> None:
        iid = spec.instance_id
        for label, path in (("kernel", spec.image.kernel), ("ramdisk", spec.image.ramdisk),
                            ("disk", spec.image.disk)):
            if path is not None and not path.exists():
                raise NodeError(f"image {label} {path} does not exist on node {self.name}")
        existing = self._guests.get(iid)
        if existing is not None and existing.state != NodeState.TERMINATED:
            raise NodeError(f"node {self.name} already has a guest {iid}")
        path = self.console_path(iid)
        if path is not None:
            path.unlink(missing_ok=True)
        self._guests[iid] = _Guest(spec, NodeState.PENDING)
        self._say(iid, *self._boot_lines(spec))
        self._set(iid, NodeState.PENDING)
        self._after(iid, self.boot_seconds, NodeState.RUNNING, "cloud-init: datasource Ec2 found",
                    f"{iid} login:")

    async def stop(self, instance_id: str) -> None:
        guest = self._require(instance_id)
        if guest.state == NodeState.STOPPED:
            self._set(instance_id, NodeState.STOPPED)
            return
        self._say(instance_id, "ACPI: power button pressed; shutting down")
        self._set(instance_id, NodeState.STOPPING)
        self._after(instance_id, self.boot_seconds / 2, NodeState.STOPPED, "reboot: Power down")

    async def start(self, instance_id: str, spec: LaunchSpec) -> None:
        guest = self._require(instance_id)
        if guest.state in (NodeState.RUNNING, NodeState.PENDING):
            self._set(instance_id, guest.state)
            return
        if guest.state == NodeState.STOPPING:
            raise NodeError(f"{instance_id} is still stopping")
        guest.spec = spec
        self._say(instance_id, *self._boot_lines(spec))
        self._set(instance_id, NodeState.PENDING)
        self._after(instance_id, self.boot_seconds, NodeState.RUNNING, f"{instance_id} login:")

    async def reboot(self, instance_id: str) -> None:
        guest = self._require(instance_id)
        if guest.state != NodeState.RUNNING:
            raise NodeError(f"{instance_id} is not running")
        self._say(instance_id, "reboot: Restarting system", *self._boot_lines(guest.spec), f"{instance_id} login:")

    async def terminate(self, instance_id: str) -> None:
        guest = self._guests.get(instance_id)
        if guest is None:  # unknown guests are already gone: terminating them is not an error
            self._guests[instance_id] = guest = _Guest(
                LaunchSpec(instance_id, image=_NO_IMAGE, vcpus=0, memory_mb=0), NodeState.SHUTTING_DOWN)
        if guest.state == NodeState.TERMINATED:
            self._set(instance_id, NodeState.TERMINATED)
            return
        self._say(instance_id, "terminating: powering off")
        self._set(instance_id, NodeState.SHUTTING_DOWN)
        self._after(instance_id, self.boot_seconds / 2, NodeState.TERMINATED, "terminated")

    async def console_output(self, instance_id: str) -> bytes:
        path = self.console_path(instance_id)
        if path is not None and path.exists():
            data = path.read_bytes()
            return data[-CONSOLE_TAIL:]
        guest = self._guests.get(instance_id)
        return bytes(guest.console) if guest else b""

    async def state(self, instance_id: str) -> NodeState:
        guest = self._guests.get(instance_id)
        return guest.state if guest else NodeState.LOST

    async def reconcile(self, known: dict[str, NodeState]) -> dict[str, NodeState]:
        """Memory guests cannot outlive the process, so the node adopts what the service remembers:
        transitions in flight complete (pending -> running, stopping -> stopped, ...)."""
        settle = {NodeState.PENDING: NodeState.RUNNING, NodeState.STOPPING: NodeState.STOPPED,
                  NodeState.SHUTTING_DOWN: NodeState.TERMINATED, NodeState.LOST: NodeState.STOPPED}
        result: dict[str, NodeState] = {}
        for iid, state in known.items():
            guest = self._guests.get(iid)
            if guest is not None:
                result[iid] = guest.state
                continue
            state = settle.get(state, state)
            self._guests[iid] = _Guest(LaunchSpec(iid, image=_NO_IMAGE, vcpus=0, memory_mb=0), state)
            result[iid] = state
        for iid, guest in list(self._guests.items()):
            if iid not in known and guest.state != NodeState.TERMINATED:
                if guest.task is not None:
                    guest.task.cancel()
                guest.state = NodeState.TERMINATED
        return result

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
