"""One contract, every node driver: what the EC2 service relies on, whatever runs the guests.

Drivers join by appending a factory to DRIVER_FACTORIES: ``factory(tmp_path) -> (driver, boot image)``.
Transitions may be synchronous (libvirt's test hypervisor) or timed (the memory driver), so the
contract waits for states rather than asserting the very next one.
"""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from eucalite.nodes.base import BootImage, Capability, LaunchSpec, NodeDriver, NodeError, NodeState

DriverFactory = Callable[[Path], tuple[NodeDriver, BootImage]]


def _boot_files(tmp_path: Path) -> BootImage:
    kernel, ramdisk = tmp_path / "vmlinuz", tmp_path / "initrd"
    kernel.write_bytes(b"\x7fELF dummy kernel")
    ramdisk.write_bytes(b"070701 dummy initramfs")
    return BootImage(kernel=kernel, ramdisk=ramdisk, kernel_cmdline="quiet")


def memory_factory(tmp_path: Path) -> tuple[NodeDriver, BootImage]:
    from eucalite.nodes.memory import MemoryDriver

    return MemoryDriver("node-m", "zone-a", tmp_path / "node", boot_seconds=0.05), _boot_files(tmp_path)


def libvirt_factory(tmp_path: Path) -> tuple[NodeDriver, BootImage]:
    from eucalite.nodes.libvirt.driver import LibvirtDriver

    return LibvirtDriver("node-l", "zone-a", "test:///default", tmp_path / "node", poll_interval=0.05), \
        _boot_files(tmp_path)


_NO_LIBVIRT = importlib.util.find_spec("libvirt") is None
DRIVER_FACTORIES: list[Any] = [
    pytest.param(memory_factory, id="memory"),
    pytest.param(libvirt_factory, id="libvirt-test",
                 marks=[pytest.mark.libvirt, pytest.mark.skipif(_NO_LIBVIRT, reason="libvirt-python missing")]),
]


class Node:
    """A driver under test plus the states it reported."""

    def __init__(self, driver: NodeDriver, image: BootImage) -> None:
        self.driver = driver
        self.image = image
        self.events: list[tuple[str, NodeState, str]] = []
        driver.set_state_callback(lambda iid, st, why: self.events.append((iid, st, why)))

    def spec(self, iid: str, user_data: bytes = b"#cloud-config\n") -> LaunchSpec:
        return LaunchSpec(iid, self.image, vcpus=1, memory_mb=128, user_data=user_data, metadata_port=0,
                          api_port=8773)

    def reported(self, iid: str) -> list[NodeState]:
        return [s for i, s, _ in self.events if i == iid]

    async def reaches(self, iid: str, state: NodeState, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if await self.driver.state(iid) == state and self.reported(iid)[-1:] == [state]:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{iid} never reached {state}; reported {self.reported(iid)}, "
                             f"now {await self.driver.state(iid)}")


@pytest_asyncio.fixture(params=DRIVER_FACTORIES)
async def node(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    driver, image = request.param(tmp_path)
    n = Node(driver, image)
    yield n
    await driver.close()


def new_id() -> str:
    return "i-" + uuid.uuid4().hex[:8]


@pytest.mark.asyncio
async def test_describes_itself(node: Node) -> None:
    cpu, mem = node.driver.capacity()
    assert cpu > 0 and mem > 0
    assert isinstance(node.driver.capabilities, frozenset)
    assert node.driver.name and node.driver.zone == "zone-a"


@pytest.mark.asyncio
async def test_launch_reports_pending_then_running(node: Node) -> None:
    iid = new_id()
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    states = node.reported(iid)
    assert states[0] == NodeState.PENDING
    assert NodeState.RUNNING in states and states.index(NodeState.PENDING) < states.index(NodeState.RUNNING)
    await node.driver.terminate(iid)


@pytest.mark.asyncio
async def test_launching_the_same_instance_twice_is_refused(node: Node) -> None:
    iid = new_id()
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    with pytest.raises(NodeError):
        await node.driver.launch(node.spec(iid))
    await node.driver.terminate(iid)


@pytest.mark.asyncio
async def test_missing_image_files_are_a_node_error(node: Node, tmp_path: Path) -> None:
    spec = node.spec(new_id())
    bad = LaunchSpec(spec.instance_id, BootImage(kernel=tmp_path / "nope"), 1, 128)
    with pytest.raises(NodeError):
        await node.driver.launch(bad)


@pytest.mark.asyncio
async def test_stop_then_start(node: Node) -> None:
    if Capability.STOP not in node.driver.capabilities:
        pytest.skip("driver cannot stop guests")
    iid = new_id()
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    await node.driver.stop(iid)
    await node.reaches(iid, NodeState.STOPPED)
    assert NodeState.STOPPING in node.reported(iid)
    await node.driver.start(iid, node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    await node.driver.terminate(iid)


@pytest.mark.asyncio
async def test_reboot_keeps_it_running(node: Node) -> None:
    if Capability.REBOOT not in node.driver.capabilities:
        pytest.skip("driver cannot reboot guests")
    iid = new_id()
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    await node.driver.reboot(iid)
    await asyncio.sleep(0.1)
    assert await node.driver.state(iid) == NodeState.RUNNING
    await node.driver.terminate(iid)


@pytest.mark.asyncio
async def test_terminate_reports_shutting_down_then_terminated(node: Node) -> None:
    iid = new_id()
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    await node.driver.terminate(iid)
    await node.reaches(iid, NodeState.TERMINATED)
    states = node.reported(iid)
    assert states.index(NodeState.SHUTTING_DOWN) < states.index(NodeState.TERMINATED)


@pytest.mark.asyncio
async def test_terminating_an_unknown_guest_is_not_an_error(node: Node) -> None:
    iid = new_id()
    await node.driver.terminate(iid)
    await node.reaches(iid, NodeState.TERMINATED)


@pytest.mark.asyncio
async def test_operations_on_unknown_guests_are_node_errors(node: Node) -> None:
    iid = new_id()
    with pytest.raises(NodeError):
        await node.driver.stop(iid)
    assert await node.driver.state(iid) == NodeState.LOST


@pytest.mark.asyncio
async def test_console_output_is_bytes(node: Node) -> None:
    iid = new_id()
    assert await node.driver.console_output(iid) == b""
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    assert isinstance(await node.driver.console_output(iid), bytes)
    await node.driver.terminate(iid)


@pytest.mark.asyncio
async def test_reconcile_keeps_known_guests_and_reports_vanished_ones(node: Node) -> None:
    iid, ghost = new_id(), new_id()
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    result = await node.driver.reconcile({iid: NodeState.RUNNING, ghost: NodeState.TERMINATED})
    assert result[iid] == NodeState.RUNNING
    assert result[ghost] == NodeState.TERMINATED
    await node.driver.terminate(iid)


@pytest.mark.asyncio
async def test_reconcile_removes_guests_the_service_does_not_know(node: Node) -> None:
    iid = new_id()
    await node.driver.launch(node.spec(iid))
    await node.reaches(iid, NodeState.RUNNING)
    await node.driver.reconcile({})
    assert await node.driver.state(iid) in (NodeState.TERMINATED, NodeState.LOST)
