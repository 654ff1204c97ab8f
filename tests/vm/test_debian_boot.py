"""The walkthrough guest: Debian + cloud-init booted by LibvirtDriver (TCG), aws CLI with role credentials.

Slow (about 2 minutes of boot under TCG, plus a one-time ~2 minute image build into the image cache).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from vm_fake_cloud import FakeCloud

from eucalite.nodes.base import BootImage, LaunchSpec, NodeState
from eucalite.nodes.libvirt import LibvirtDriver

pytestmark = [pytest.mark.vm, pytest.mark.libvirt, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
USER_DATA = """#cloud-config
runcmd:
  - [ sh, -c, 'aws ec2 describe-availability-zones --query AvailabilityZones[].ZoneName --output text > /dev/ttyS0 2>&1; echo "EUCALITE-AWS-DAZ rc=$?" > /dev/ttyS0; aws ec2 run-instances --image-id {ami} --count 1 > /dev/ttyS0 2>&1; echo "EUCALITE-AWS-RUN rc=$?" > /dev/ttyS0' ]
final_message: "EUCALITE-CLOUDINIT-FINAL after $UPTIME seconds"
"""


@pytest.fixture(scope="module")
def debian_image(qemu_host: str) -> Any:
    from eucalite.images.store import ensure_built

    # Reuses an intact build; a rebuild swaps in a new directory, never rewriting a base in use.
    return ensure_built("debian", lambda m: print(f"[debian] {m}"))


def test_cloud_init_and_aws_cli_use_the_instance_profile(
    qemu_host: str, debian_image: Any, node_dir: Path
) -> None:
    iid = "i-deb" + os.urandom(3).hex()
    # cloud-init 22.4 uses IMDSv1 off AWS hardware (see images/debian/README.md).
    cloud = FakeCloud(instance_id=iid, http_tokens="optional")
    cloud.user_data = USER_DATA.format(ami=cloud.ami_id)
    spec = LaunchSpec(
        instance_id=iid,
        image=BootImage(
            kernel=debian_image.kernel, ramdisk=debian_image.ramdisk, disk=debian_image.disk,
            kernel_cmdline=debian_image.kernel_cmdline,
        ),
        vcpus=1, memory_mb=1024, metadata_port=cloud.metadata_port, api_port=cloud.api_port,
    )

    async def scenario() -> str:
        driver = LibvirtDriver("node-vm", "eucalite-1a", qemu_host, node_dir, accel="tcg")
        try:
            await driver.launch(spec)
            assert await driver.state(iid) == NodeState.RUNNING, (await driver.console_output(iid))[-2000:]
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                text = (await driver.console_output(iid)).decode(errors="replace")
                if "EUCALITE-CLOUDINIT-FINAL" in text:
                    return text
                await asyncio.sleep(2)
            raise AssertionError(f"cloud-init never finished; console tail:\n{text[-3000:]}")
        finally:
            await driver.terminate(iid)
            await driver.close()
            cloud.close()

    console = asyncio.run(scenario())
    assert re.search(r"eucalite-1a\s+eucalite-1b", console)
    assert "EUCALITE-AWS-DAZ rc=0" in console
    assert "(UnauthorizedOperation) when calling the RunInstances operation" in console
    assert "EUCALITE-AWS-RUN rc=254" in console
    assert [(c.action, c.status) for c in cloud.api_calls] == [
        ("DescribeAvailabilityZones", 200), ("RunInstances", 403),
    ]
    assert all(c.signature_ok and c.access_key_id == cloud.current.access_key_id for c in cloud.api_calls)
