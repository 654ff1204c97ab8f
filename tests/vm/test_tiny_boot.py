"""A real TCG boot of the tiny image through LibvirtDriver, against a stand-in metadata service + API.

Proves the node side of the instance-profile story: slirp guestfwd reaches the per-instance metadata
port and the API port, the guest's IMDSv2 + SigV4 client produces signatures a server accepts, and
credential rotation shows on the console that console_output returns.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import Recorder
from vm_fake_cloud import FakeCloud

from eucalite.nodes.base import BootImage, LaunchSpec, NodeState
from eucalite.nodes.libvirt import LibvirtDriver
from eucalite.nodes.libvirt.accel import CACHE_FILE, detect_accel

pytestmark = [pytest.mark.vm, pytest.mark.libvirt, pytest.mark.slow]

BOOT_TIMEOUT = 180.0  # generous: TCG on a busy 2-core host


async def _console_until(driver: LibvirtDriver, iid: str, pattern: str, timeout: float = BOOT_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = (await driver.console_output(iid)).decode(errors="replace")
        if re.search(pattern, text):
            return text
        await asyncio.sleep(0.5)
    raise AssertionError(f"console never matched {pattern!r}; last output:\n{text[-2000:]}")


def test_tiny_guest_reads_role_credentials_and_calls_the_api(
    qemu_host: str, tiny_image: Any, node_dir: Path, recorder: Recorder
) -> None:
    iid = "i-" + uuid.uuid4().hex[:8]
    cloud = FakeCloud(instance_id=iid)
    state_dir = node_dir
    spec = LaunchSpec(
        instance_id=iid,
        image=BootImage(
            kernel=tiny_image.kernel,
            ramdisk=tiny_image.ramdisk,
            kernel_cmdline=f"{tiny_image.kernel_cmdline} eucalite.interval=2",
        ),
        vcpus=1,
        memory_mb=256,
        metadata_port=cloud.metadata_port,
        api_port=cloud.api_port,
    )

    async def scenario() -> tuple[str, str, str]:
        driver = LibvirtDriver("node-vm", "eucalite-1a", qemu_host, state_dir, stop_grace=2.0)
        driver.set_state_callback(recorder)
        try:
            await driver.launch(spec)
            assert await driver.state(iid) == NodeState.RUNNING
            first_key = cloud.current.access_key_id
            first = await _console_until(driver, iid, r"EUCALITE-RUN error=")

            new_key = cloud.rotate().access_key_id
            rotated = await _console_until(driver, iid, rf"key={new_key[:16]}\*\*\*\*[^\n]*\n(.*\n)*EUCALITE-DAZ zones=")

            # Stop: the tiny guest ignores ACPI, so this also covers the forced destroy after the grace.
            await driver.stop(iid)
            await asyncio.wait_for(_state(recorder, iid, NodeState.STOPPED), 30)
            await driver.start(iid, spec)
            restarted = await _console_until(driver, iid, r"(?s)EUCALITE-TINY-BOOT.*EUCALITE-TINY-BOOT.*EUCALITE-CREDS")
            assert first_key != new_key
            return first, rotated, restarted
        finally:
            await driver.terminate(iid)
            await driver.close()
            cloud.close()
            assert not driver.overlay_path(iid).exists()

    first, _rotated, restarted = asyncio.run(scenario())

    assert "EUCALITE-TINY-BOOT" in first
    assert f"EUCALITE-IMDS instance-id={iid} ami-id={cloud.ami_id} region={cloud.region}" in first
    assert re.search(rf"EUCALITE-CREDS role={cloud.role} key=ASIA\w{{12}}\*\*\*\* secret=\S{{4}}\*\*\*\*", first)
    assert "EUCALITE-DAZ zones=eucalite-1a eucalite-1b" in first
    assert "EUCALITE-RUN error=UnauthorizedOperation" in first
    for creds in cloud.creds:  # secrets never reach the console in full
        assert creds.secret not in restarted and creds.token not in restarted

    # The server verified every signature itself, including ones made with the rotated key.
    assert cloud.api_calls and all(call.signature_ok for call in cloud.api_calls)
    signers = {call.access_key_id for call in cloud.api_calls}
    assert {c.access_key_id for c in cloud.creds} <= signers
    actions = {call.action for call in cloud.api_calls}
    assert actions == {"DescribeAvailabilityZones", "RunInstances"}
    # IMDSv2 only: every metadata GET carried a valid token.
    assert all(status != 401 for method, _, status in cloud.metadata_requests if method == "GET")

    states = recorder.states(iid)
    assert states[:2] == [NodeState.PENDING, NodeState.RUNNING]
    assert NodeState.STOPPED in states and states[-1] == NodeState.TERMINATED


async def _state(recorder: Recorder, iid: str, wanted: NodeState) -> None:
    while not recorder.states(iid) or recorder.states(iid)[-1] != wanted:
        await asyncio.sleep(0.1)


def test_accelerator_probe_decides_and_caches(qemu_host: str, tiny_image: Any, tmp_path: Path) -> None:
    started = time.monotonic()
    accel = detect_accel(tmp_path, tiny_image.kernel, timeout=5.0)
    assert accel in ("kvm", "tcg")
    assert (tmp_path / CACHE_FILE).exists()
    assert time.monotonic() - started < 30
    started = time.monotonic()
    assert detect_accel(tmp_path, tiny_image.kernel) == accel
    assert time.monotonic() - started < 1  # the second answer comes from the cache
