"""The Debian guest: bookworm minbase + cloud-init (Ec2 datasource) + aws CLI, as a qcow2 base disk.

This is the guest of the full walkthrough: cloud-init reads eucalite's metadata service, and the aws
CLI inside, with no keys configured, uses the instance-profile credentials against the cloud's API.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from eucalite.images import apt
from eucalite.images._run import BuildError, run
from eucalite.images.artifacts import BuiltImage, write_checksums
from eucalite.images.kernel import extract_vmlinux
from eucalite.nodes.base import API_GUEST_ADDRESS, API_GUEST_PORT, METADATA_GUEST_ADDRESS

SUITE = "bookworm"
PACKAGES = [
    "systemd-sysv", "udev", "linux-image-amd64", "ifupdown", "isc-dhcp-client", "netbase", "iproute2",
    "cloud-init", "openssh-server", "sudo", "curl", "awscli", "python3-boto3", "python3-cffi-backend",
]
CMDLINE = "console=ttyS0 root=/dev/vda rw"
API_URL = f"http://{API_GUEST_ADDRESS}:{API_GUEST_PORT}"

CLOUD_CFG = f"""\
# eucalite: only the EC2 metadata service exists, at its usual address (forwarded by the node).
datasource_list: [ Ec2 ]
datasource:
  Ec2:
    strict_id: false
    metadata_urls: [ 'http://{METADATA_GUEST_ADDRESS}' ]
    timeout: 5
    max_wait: 60
# Guests run under TCG (no KVM), where RSA key generation and resizing cost tens of seconds.
ssh_genkeytypes: [ ed25519 ]
resize_rootfs: false
growpart: {{ mode: 'off' }}
locale: C.UTF-8
"""

# No keys: botocore falls through to the instance-metadata credential provider. No pager: minbase
# has no `less`, and the CLI fails (rc 253) when it cannot start one.
AWS_CONFIG = f"""\
[default]
endpoint_url = {API_URL}
cli_pager =
"""

# awscli 2.9 in bookworm predates `endpoint_url` in config files (2.13), so a wrapper earlier in
# PATH supplies the endpoint, and the region from the metadata service when none is configured.
AWS_WRAPPER = f"""\
#!/bin/sh
# eucalite: point the aws CLI at the cloud that runs this instance.
case " $* " in *" --endpoint-url"*) exec /usr/bin/aws "$@" ;; esac
if [ -z "$AWS_REGION$AWS_DEFAULT_REGION" ] && ! /usr/bin/aws configure get region >/dev/null 2>&1; then
  tok=$(curl -sf -m 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://{METADATA_GUEST_ADDRESS}/latest/api/token)
  AWS_DEFAULT_REGION=$(curl -sf -m 3 -H "X-aws-ec2-metadata-token: $tok" http://{METADATA_GUEST_ADDRESS}/latest/meta-data/placement/region)
  export AWS_DEFAULT_REGION
fi
exec /usr/bin/aws --endpoint-url {API_URL} "$@"
"""

# Units that only cost boot time on an emulated CPU and do nothing useful in a test guest.
MASK_UNITS = ["apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "e2scrub_all.timer",
              "fstrim.timer", "systemd-timesyncd.service"]


def build_debian(
    out_dir: Path, cache_dir: Path, progress: Callable[[str], None], *, rebuild_rootfs: bool = False
) -> BuiltImage:
    out_dir.mkdir(parents=True, exist_ok=True)
    rootfs = cache_dir / "debian-rootfs"
    _debootstrap(rootfs, progress, rebuild_rootfs)
    progress("configuring cloud-init, aws CLI and boot trims")
    _configure(rootfs)
    kver = _kernel_version(rootfs)
    kernel, ramdisk = out_dir / f"vmlinux-{kver}", out_dir / f"initrd.img-{kver}"
    shutil.copyfile(rootfs / "boot" / f"initrd.img-{kver}", ramdisk)
    extract_vmlinux(rootfs / "boot" / f"vmlinuz-{kver}", kernel)
    disk = _make_disk(rootfs, out_dir, progress)
    sums = write_checksums(out_dir, [kernel, ramdisk, disk])
    (out_dir / "cmdline").write_text(CMDLINE + "\n")
    progress(f"done: {disk} ({disk.stat().st_size >> 20} MiB), kernel {kver}")
    return BuiltImage(kernel=kernel, ramdisk=ramdisk, disk=disk, checksums=sums, kernel_cmdline=CMDLINE)


def _debootstrap(rootfs: Path, progress: Callable[[str], None], rebuild: bool) -> None:
    done_marker = rootfs / ".eucalite-debootstrap-done"
    if done_marker.exists() and not rebuild:
        progress(f"reusing debootstrapped rootfs in {rootfs}")
        return
    shutil.rmtree(rootfs, ignore_errors=True)
    mirror = apt.debian_mirror(SUITE)
    progress(f"debootstrap {SUITE} minbase from the host's apt source {mirror} (a few minutes)")
    started = time.monotonic()
    run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, rootfs, mirror])
    progress(f"debootstrap finished in {time.monotonic() - started:.0f} s")
    done_marker.touch()


def _configure(root: Path) -> None:
    (root / "etc/cloud/cloud.cfg.d/99-eucalite.cfg").write_text(CLOUD_CFG)
    for aws_dir in (root / "root/.aws", root / "etc/skel/.aws"):
        aws_dir.mkdir(parents=True, exist_ok=True)
        (aws_dir / "config").write_text(AWS_CONFIG)
    wrapper = root / "usr/local/bin/aws"
    wrapper.write_text(AWS_WRAPPER)
    wrapper.chmod(0o755)
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults,errors=remount-ro 0 1\n")
    (root / "etc/hostname").write_text("eucalite-guest\n")
    (root / "etc/network/interfaces").write_text(
        "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n"
    )
    # Empty machine-id: systemd makes a fresh one per instance, so clones do not share DHCP ids.
    (root / "etc/machine-id").write_text("")
    for unit in MASK_UNITS:
        link = root / "etc/systemd/system" / unit
        if not link.is_symlink():
            link.symlink_to("/dev/null")
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def _kernel_version(root: Path) -> str:
    versions = sorted(p.name for p in (root / "lib/modules").iterdir())
    if not versions:
        raise BuildError(f"{root}: no kernel installed")
    return versions[-1]


def _make_disk(root: Path, out_dir: Path, progress: Callable[[str], None]) -> Path:
    used_mb = int(run(["du", "-sm", "--exclude=./proc", root]).split()[0])
    # 40% headroom for cloud-init's writes, rounded up to 256 MiB.
    size_mb = (used_mb * 14 // 10 // 256 + 1) * 256
    raw, disk = out_dir / "base.raw", out_dir / "base.qcow2"
    raw.unlink(missing_ok=True)
    progress(f"mkfs.ext4 -d ({used_mb} MiB of files into a {size_mb} MiB filesystem)")
    run(["mkfs.ext4", "-q", "-L", "rootfs", "-d", root, raw, f"{size_mb}M"])
    progress("qemu-img convert to qcow2")
    # Convert beside and rename: a running guest's overlay keeps reading the old base's inode.
    tmp = out_dir / "base.qcow2.tmp"
    run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, tmp])
    tmp.replace(disk)
    raw.unlink()
    return disk
