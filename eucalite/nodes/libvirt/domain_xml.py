"""libvirt domain XML for one eucalite guest, built with ElementTree.

Everything QEMU-specific (the slirp netdev with guestfwd, passed through <qemu:commandline>) hangs
off `DomainConfig.net`, so the same builder serves libvirt's `test:///default` hypervisor, which
runs no QEMU, by leaving it out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from eucalite.nodes.base import API_GUEST_ADDRESS, API_GUEST_PORT, METADATA_GUEST_ADDRESS

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
EUCALITE_NS = "urn:eucalite:domain:1"
ET.register_namespace("qemu", QEMU_NS)
ET.register_namespace("eucalite", EUCALITE_NS)

# The guest's link-local network. DHCP starts above the gateway; 169.254.169.253/.254 are the
# forwarded service addresses and must lie inside it for slirp to accept the guestfwd rules.
GUEST_NET = "169.254.0.0/16"
GUEST_GATEWAY = "169.254.0.2"
GUEST_DHCP_START = "169.254.0.15"
NETDEV_ID = "eucanet0"
# A fixed, high PCI slot keeps the NIC clear of the slots libvirt assigns to its own devices.
NIC_PCI_ADDR = "0x10"


@dataclass(frozen=True)
class SlirpNet:
    """QEMU user-mode network: the guest reaches only the two forwarded services (and ssh in)."""

    metadata_port: int  # host loopback port of this instance's metadata view
    api_port: int  # host loopback port of the cloud API
    ssh_port: int | None = None  # host loopback port forwarded to guest tcp/22


@dataclass(frozen=True)
class DomainConfig:
    name: str
    instance_id: str
    node: str  # the eucalite node (driver name) that owns the domain
    vcpus: int
    memory_mb: int
    console_log: Path
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str = ""
    disk: Path | None = None  # the instance's qcow2 overlay
    domain_type: str = "qemu"  # "qemu" (TCG), "kvm", or "test" for libvirt's test driver
    machine: str | None = "pc"
    net: SlirpNet | None = None
    uuid: str | None = None  # redefining an existing domain must repeat its UUID
    # The owning node's state dir: several clouds (data dirs) share one libvirt, and all call their
    # node "node-1"; this is what tells one cloud's domains from another's.
    home: str = ""


def _guestfwd(address: str, port: int, host_port: int) -> str:
    # A fresh socat per guest connection; slirp wires its stdio to the guest's TCP stream.
    return f"guestfwd=tcp:{address}:{port}-cmd:socat STDIO TCP:127.0.0.1:{host_port}"


def slirp_netdev(net: SlirpNet) -> str:
    """The `-netdev user,...` argument. restrict=on: the guest has no route to the host or beyond."""
    opts = [
        "user", f"id={NETDEV_ID}", "restrict=on",
        f"net={GUEST_NET}", f"host={GUEST_GATEWAY}", f"dhcpstart={GUEST_DHCP_START}",
        _guestfwd(METADATA_GUEST_ADDRESS, 80, net.metadata_port),
        _guestfwd(API_GUEST_ADDRESS, API_GUEST_PORT, net.api_port),
    ]
    if net.ssh_port is not None:
        opts.append(f"hostfwd=tcp:127.0.0.1:{net.ssh_port}-:22")
    return ",".join(opts)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def build_domain_xml(cfg: DomainConfig) -> str:
    dom = ET.Element("domain", {"type": cfg.domain_type})
    _sub(dom, "name", cfg.name)
    if cfg.uuid:
        _sub(dom, "uuid", cfg.uuid)
    meta = _sub(dom, "metadata")
    # Lets reconcile tell our domains apart from look-alikes by more than the name prefix.
    _sub(meta, f"{{{EUCALITE_NS}}}instance", id=cfg.instance_id, node=cfg.node,
         **({"home": cfg.home} if cfg.home else {}))
    _sub(dom, "memory", str(cfg.memory_mb), unit="MiB")
    _sub(dom, "vcpu", str(cfg.vcpus))

    os_el = _sub(dom, "os")
    type_attrs = {"arch": "x86_64"} | ({"machine": cfg.machine} if cfg.machine else {})
    _sub(os_el, "type", "hvm", **type_attrs)
    if cfg.kernel is not None:
        _sub(os_el, "kernel", str(cfg.kernel))
        if cfg.initrd is not None:
            _sub(os_el, "initrd", str(cfg.initrd))
        _sub(os_el, "cmdline", cfg.cmdline)
    else:
        _sub(os_el, "boot", dev="hd")

    features = _sub(dom, "features")
    _sub(features, "acpi")
    if cfg.domain_type == "kvm":
        # Same CPU as accel.py's probe boot (which proved it works): host minus arch-capabilities.
        cpu = _sub(dom, "cpu", mode="host-passthrough")
        _sub(cpu, "feature", policy="disable", name="arch-capabilities")
    _sub(dom, "clock", offset="utc")  # SigV4 in the guest needs the host's UTC time
    # A guest powering off is an instance stopping itself; a guest reboot stays a reboot.
    _sub(dom, "on_poweroff", "destroy")
    _sub(dom, "on_reboot", "restart")
    _sub(dom, "on_crash", "destroy")

    devices = _sub(dom, "devices")
    if cfg.disk is not None:
        disk = _sub(devices, "disk", type="file", device="disk")
        # unsafe cache: overlays are scratch space that dies with the instance; flushes cost TCG time.
        _sub(disk, "driver", name="qemu", type="qcow2", cache="unsafe")
        _sub(disk, "source", file=str(cfg.disk))
        _sub(disk, "target", dev="vda", bus="virtio")
    # append: GetConsoleOutput after a stop/start still shows the earlier boot.
    serial = _sub(devices, "serial", type="file")
    _sub(serial, "source", path=str(cfg.console_log), append="on")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="file")
    _sub(console, "source", path=str(cfg.console_log), append="on")
    _sub(console, "target", type="serial", port="0")
    _sub(devices, "memballoon", model="none")

    if cfg.net is not None:
        # libvirt's <interface type='user'> cannot express guestfwd, hence raw QEMU arguments.
        cmd = _sub(dom, f"{{{QEMU_NS}}}commandline")
        nic = f"virtio-net-pci,netdev={NETDEV_ID},romfile=,addr={NIC_PCI_ADDR}"
        for arg in ("-netdev", slirp_netdev(cfg.net), "-device", nic):
            _sub(cmd, f"{{{QEMU_NS}}}arg", value=arg)

    ET.indent(dom)
    return ET.tostring(dom, encoding="unicode")


def owner_of(xml: str) -> tuple[str, str] | None:
    """(instance_id, node) recorded in a domain's XML by build_domain_xml, or None."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    el = root.find(f"metadata/{{{EUCALITE_NS}}}instance")
    if el is None:
        return None
    return el.get("id", ""), el.get("node", "")


def home_of(xml: str) -> str:
    """The owning node's state dir recorded by build_domain_xml ("" for domains that predate it)."""
    try:
        el = ET.fromstring(xml).find(f"metadata/{{{EUCALITE_NS}}}instance")
    except ET.ParseError:
        return ""
    return "" if el is None else el.get("home", "")
