"""libvirt/QEMU node driver. Importing this package does not import libvirt; the driver does, lazily."""

from eucalite.nodes.libvirt.domain_xml import DomainConfig, SlirpNet, build_domain_xml, slirp_netdev
from eucalite.nodes.libvirt.driver import LibvirtDriver

__all__ = ["DomainConfig", "LibvirtDriver", "SlirpNet", "build_domain_xml", "slirp_netdev"]
