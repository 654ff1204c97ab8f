"""Domain XML builder: QEMU-only parts present only when asked for, everything else plain libvirt."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from eucalite.nodes.libvirt.domain_xml import (
    QEMU_NS,
    DomainConfig,
    SlirpNet,
    build_domain_xml,
    owner_of,
    slirp_netdev,
)

Q = f"{{{QEMU_NS}}}"


def _config(**overrides: object) -> DomainConfig:
    base: dict[str, object] = dict(
        name="eucalite-i-1", instance_id="i-1", node="node-a", vcpus=2, memory_mb=384,
        console_log=Path("/state/i-1.console.log"), kernel=Path("/img/vmlinux"),
        initrd=Path("/img/initramfs.cpio.gz"), cmdline="console=ttyS0 quiet",
    )
    base.update(overrides)
    return DomainConfig(**base)  # type: ignore[arg-type]


def test_direct_kernel_boot_resources_and_lifecycle() -> None:
    root = ET.fromstring(build_domain_xml(_config()))
    assert root.get("type") == "qemu"
    assert root.findtext("name") == "eucalite-i-1"
    assert root.find("memory").get("unit") == "MiB" and root.findtext("memory") == "384"  # type: ignore[union-attr]
    assert root.findtext("vcpu") == "2"
    assert root.findtext("os/kernel") == "/img/vmlinux"
    assert root.findtext("os/initrd") == "/img/initramfs.cpio.gz"
    assert root.findtext("os/cmdline") == "console=ttyS0 quiet"
    assert root.findtext("on_poweroff") == "destroy"
    assert root.find("devices/serial/source").get("path") == "/state/i-1.console.log"  # type: ignore[union-attr]
    assert root.find("devices/disk") is None
    assert root.find(f"{Q}commandline") is None  # no net asked for: nothing QEMU-specific
    assert owner_of(build_domain_xml(_config())) == ("i-1", "node-a")


def test_disk_overlay_and_uuid() -> None:
    root = ET.fromstring(build_domain_xml(_config(disk=Path("/state/i-1.qcow2"), uuid="0" * 32)))
    disk = root.find("devices/disk")
    assert disk is not None
    assert disk.find("source").get("file") == "/state/i-1.qcow2"  # type: ignore[union-attr]
    assert disk.find("driver").get("type") == "qcow2"  # type: ignore[union-attr]
    assert disk.find("target").get("bus") == "virtio"  # type: ignore[union-attr]
    assert root.findtext("uuid") == "0" * 32


def test_slirp_with_guestfwd_rules_via_qemu_commandline() -> None:
    net = SlirpNet(metadata_port=41001, api_port=8773)
    root = ET.fromstring(build_domain_xml(_config(net=net)))
    args = [a.get("value") for a in root.findall(f"{Q}commandline/{Q}arg")]
    assert args[0] == "-netdev" and args[2] == "-device"
    netdev = args[1]
    assert netdev == slirp_netdev(net)
    assert "restrict=on" in netdev and "net=169.254.0.0/16" in netdev
    assert "guestfwd=tcp:169.254.169.254:80-cmd:socat STDIO TCP:127.0.0.1:41001" in netdev
    assert "guestfwd=tcp:169.254.169.253:8773-cmd:socat STDIO TCP:127.0.0.1:8773" in netdev
    assert "hostfwd" not in netdev
    assert str(args[3]).startswith("virtio-net-pci,netdev=eucanet0")


def test_ssh_hostfwd_only_when_given() -> None:
    netdev = slirp_netdev(SlirpNet(1, 2, ssh_port=2222))
    assert netdev.endswith("hostfwd=tcp:127.0.0.1:2222-:22")


def test_kvm_domain_uses_the_probed_cpu() -> None:
    root = ET.fromstring(build_domain_xml(_config(domain_type="kvm")))
    cpu = root.find("cpu")
    assert cpu is not None and cpu.get("mode") == "host-passthrough"
    assert cpu.find("feature").get("name") == "arch-capabilities"  # type: ignore[union-attr]


def test_owner_of_ignores_foreign_xml() -> None:
    assert owner_of("<domain><name>x</name></domain>") is None
    assert owner_of("not xml") is None
