"""What only the memory driver promises: a console log with the boot and a user-data summary, kept on
disk, and adoption of the service's instances after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from eucalite.config import NodeSettings, Settings
from eucalite.nodes import make_drivers
from eucalite.nodes.base import BootImage, LaunchSpec, NodeState
from eucalite.nodes.memory import MemoryDriver


async def _until(driver: MemoryDriver, iid: str, state: NodeState) -> None:
    for _ in range(200):
        if await driver.state(iid) == state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{iid} did not reach {state}")


@pytest.mark.asyncio
async def test_console_has_boot_lines_and_user_data_summary(tmp_path: Path) -> None:
    d = MemoryDriver("n1", "z", tmp_path, boot_seconds=0.02)
    await d.launch(LaunchSpec("i-00000001", BootImage(), 1, 256, user_data=b"#cloud-config\nruncmd: []\n",
                              metadata_port=4242))
    await _until(d, "i-00000001", NodeState.RUNNING)
    text = (await d.console_output("i-00000001")).decode()
    assert "booting i-00000001" in text and "i-00000001 login:" in text
    assert "user-data: 25 bytes" in text and "'#cloud-config'" in text
    assert "127.0.0.1:4242" in text
    assert (tmp_path / "i-00000001.console.log").read_bytes().decode() == text
    await d.close()


@pytest.mark.asyncio
async def test_reconcile_adopts_and_settles_transitions(tmp_path: Path) -> None:
    d = MemoryDriver("n1", "z", tmp_path)
    result = await d.reconcile({"i-1": NodeState.RUNNING, "i-2": NodeState.PENDING, "i-3": NodeState.STOPPING})
    assert result == {"i-1": NodeState.RUNNING, "i-2": NodeState.RUNNING, "i-3": NodeState.STOPPED}
    assert await d.state("i-1") == NodeState.RUNNING


@pytest.mark.asyncio
async def test_terminate_during_boot_wins(tmp_path: Path) -> None:
    d = MemoryDriver("n1", "z", None, boot_seconds=0.05)
    seen: list[NodeState] = []
    d.set_state_callback(lambda _i, s, _r: seen.append(s))
    await d.launch(LaunchSpec("i-2", BootImage(), 1, 256))
    await d.terminate("i-2")
    await asyncio.sleep(0.15)
    assert seen == [NodeState.PENDING, NodeState.SHUTTING_DOWN, NodeState.TERMINATED]


def test_make_drivers_builds_one_memory_driver_per_node(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, memory_boot_seconds=0.1,
                        nodes=(NodeSettings("a", "z1", vcpus=4, memory_mb=2048), NodeSettings("b", "z2")))
    drivers = make_drivers(settings, tmp_path)
    assert [(d.name, d.zone, d.kind) for d in drivers] == [("a", "z1", "memory"), ("b", "z2", "memory")]
    assert drivers[0].capacity() == (4, 2048)
    assert isinstance(drivers[0], MemoryDriver) and drivers[0].boot_seconds == 0.1


def test_make_drivers_rejects_unknown_driver(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_drivers(Settings(data_dir=tmp_path, driver="vmware"), tmp_path)
