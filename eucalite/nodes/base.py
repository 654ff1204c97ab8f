"""The node-driver contract: what the EC2 service asks of whatever runs guests.

The EC2 service owns instance records (ids, types, profiles, AWS-visible state); a driver owns the
guest's life on one node. Drivers report state changes through the ``on_state`` callback rather than
being polled by the service, so a libvirt event and an in-memory timer look the same upstream.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class NodeState(enum.StrEnum):
    """Guest states as the node sees them; the EC2 service maps them onto AWS instance states."""

    PENDING = "pending"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    SHUTTING_DOWN = "shutting-down"
    TERMINATED = "terminated"
    # The node lost the guest without being asked to (crash, host reboot, domain vanished).
    LOST = "lost"


class Capability(enum.StrEnum):
    STOP = "stop"
    REBOOT = "reboot"
    CONSOLE = "console"
    REAL_GUESTS = "real-guests"  # the guest actually runs code and talks to the metadata service
    SSH_FORWARD = "ssh-forward"
    ADOPT = "adopt"  # can find guests it started before a restart


@dataclass(frozen=True)
class BootImage:
    """Files a guest boots from. Direct kernel boot needs kernel (+ ramdisk); disk boot adds a base disk."""

    kernel: Path | None = None
    ramdisk: Path | None = None
    disk: Path | None = None  # qcow2 base image; each instance gets its own overlay
    kernel_cmdline: str = ""


@dataclass(frozen=True)
class LaunchSpec:
    instance_id: str
    image: BootImage
    vcpus: int
    memory_mb: int
    user_data: bytes = b""
    # Host loopback port of this instance's metadata channel; the guest reaches it as 169.254.169.254:80.
    metadata_port: int = 0
    # Host port of the cloud API; the guest reaches it at API_GUEST_ADDRESS:API_GUEST_PORT.
    api_port: int = 0
    # Host loopback port forwarded to guest tcp/22, or None when the security groups do not allow SSH.
    ssh_port: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


# Where a guest finds the cloud's own API endpoint (forwarded by the node to the host's API port).
API_GUEST_ADDRESS = "169.254.169.253"
API_GUEST_PORT = 8773
METADATA_GUEST_ADDRESS = "169.254.169.254"

StateCallback = Callable[[str, NodeState, str], None]  # (instance_id, state, reason)


class NodeError(Exception):
    """A node could not do what was asked; the message is safe to show to the API caller."""


class NodeDriver(ABC):
    """One node (hypervisor) that runs guests. Implementations: memory, libvirt."""

    kind: str = "abstract"

    def __init__(self, name: str, zone: str) -> None:
        self.name = name
        self.zone = zone
        self._on_state: StateCallback = lambda _iid, _st, _why: None

    def set_state_callback(self, callback: StateCallback) -> None:
        self._on_state = callback

    def _emit(self, instance_id: str, state: NodeState, reason: str = "") -> None:
        self._on_state(instance_id, state, reason)

    @property
    @abstractmethod
    def capabilities(self) -> frozenset[Capability]: ...

    @abstractmethod
    def capacity(self) -> tuple[int, int]:
        """(vcpus, memory_mb) this node offers guests in total."""

    @abstractmethod
    async def launch(self, spec: LaunchSpec) -> None:
        """Start booting a guest; report RUNNING (or LOST with a reason) through the callback."""

    @abstractmethod
    async def stop(self, instance_id: str) -> None: ...

    @abstractmethod
    async def start(self, instance_id: str, spec: LaunchSpec) -> None: ...

    @abstractmethod
    async def reboot(self, instance_id: str) -> None: ...

    @abstractmethod
    async def terminate(self, instance_id: str) -> None:
        """Destroy the guest and everything it owned on the node (overlay, logs stay for the record)."""

    @abstractmethod
    async def console_output(self, instance_id: str) -> bytes: ...

    @abstractmethod
    async def state(self, instance_id: str) -> NodeState: ...

    @abstractmethod
    async def reconcile(self, known: dict[str, NodeState]) -> dict[str, NodeState]:
        """Compare the service's view with the node's after a restart; return corrected states.

        Guests the node runs but the service does not know are the driver's to clean up.
        """

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; guests keep running (they are re-adopted on the next start)."""
