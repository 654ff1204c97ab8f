#!/bin/bash
# Prepare a Debian 12 host to run eucalite guests under libvirt/QEMU.
# Idempotent: every step checks before it changes anything, so a second run is a quick no-op.
# Env: PYTHON=<interpreter that runs eucalite> (default python3) gets libvirt-python.
set -euo pipefail

PYTHON=${PYTHON:-python3}
QEMU_CONF=/etc/libvirt/qemu.conf
PACKAGES=(qemu-system-x86 qemu-utils socat busybox-static e2fsprogs kmod cpio xz-utils
          libvirt-daemon-system libvirt-dev pkg-config debootstrap python3-venv)

say() { printf '[setup-host] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    say "must run as root (apt-get, /etc/libvirt, daemons)"; exit 1
fi

# 1. Packages. dpkg-query first so a second run does not touch apt at all.
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (about a minute on a fresh host)"
    # Another apt run (e.g. a provisioning job) may hold the lock; wait for it instead of failing.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
else
    say "packages already installed"
fi

# 2. QEMU's default seccomp sandbox (spawn=deny) kills QEMU the moment slirp spawns the
#    guestfwd "cmd:socat" helper, which is how guests reach the metadata service.
if grep -Eq '^[[:space:]]*seccomp_sandbox[[:space:]]*=[[:space:]]*0' "$QEMU_CONF"; then
    say "seccomp_sandbox = 0 already set in $QEMU_CONF"
    conf_changed=0
else
    say "setting seccomp_sandbox = 0 in $QEMU_CONF"
    sed -i -E 's/^[[:space:]]*seccomp_sandbox[[:space:]]*=.*/# &  (replaced by eucalite)/' "$QEMU_CONF"
    echo 'seccomp_sandbox = 0' >> "$QEMU_CONF"
    conf_changed=1
fi

# 3. Daemons. Containers here have no systemd, so start them by hand (and restart libvirtd
#    only when its config changed, so a running cloud's libvirt connection survives a re-run).
if [ "$(ps -p 1 -o comm= | tr -d ' ')" = systemd ]; then
    say "systemd: restarting libvirtd"
    systemctl enable --now virtlogd.socket >/dev/null 2>&1 || true
    systemctl restart libvirtd
else
    if pgrep -x virtlogd >/dev/null; then say "virtlogd running"; else say "starting virtlogd"; virtlogd -d; fi
    if pgrep -x libvirtd >/dev/null && [ "$conf_changed" = 1 ]; then
        say "restarting libvirtd (qemu.conf changed)"
        kill "$(pgrep -x libvirtd)"
        for _ in $(seq 50); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
    fi
    if pgrep -x libvirtd >/dev/null; then say "libvirtd running"; else say "starting libvirtd"; libvirtd -d; fi
fi
for _ in $(seq 50); do [ -S /var/run/libvirt/libvirt-sock ] && break; sleep 0.1; done
virsh -c qemu:///system version >/dev/null && say "libvirt reachable at qemu:///system"

# 4. Python binding. It is an sdist built against libvirt-dev (~15 s), so skip it when importable.
if "$PYTHON" -c 'import libvirt' 2>/dev/null; then
    say "libvirt-python already importable by $PYTHON"
else
    say "pip install libvirt-python into $PYTHON (builds from source, ~15 s)"
    "$PYTHON" -m pip install -q libvirt-python
fi
say "done"
