#!/usr/bin/env bash
# One command for a fresh Debian/Ubuntu machine: host packages and libvirt (scripts/setup-host.sh),
# a virtualenv with eucalite and its test tools, and the guest images. Idempotent: a second run only
# checks. Usage: scripts/setup.sh [--no-images] [--no-debian-image] [--bench]
# --bench also installs what scripts/bench.py needs: wrk and the `bench` extra (moto[server], py-spy).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${EUCALITE_VENV:-$ROOT/.venv}
IMAGES=1
DEBIAN_IMAGE=1
BENCH=0
for arg in "$@"; do
    case $arg in
        --no-images) IMAGES=0 ;;
        --no-debian-image) DEBIAN_IMAGE=0 ;;
        --debian-image) DEBIAN_IMAGE=1 ;;  # the default now; kept for old scripts
        --bench) BENCH=1 ;;
        *) echo "usage: $0 [--no-images] [--no-debian-image] [--bench]" >&2; exit 2 ;;
    esac
done

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Python >= 3.11 with venv support (Debian 12's python3 is 3.11).
if ! command -v python3 >/dev/null || ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "installing python3 (>= 3.11 needed)"
    as_root apt-get update -q && as_root apt-get install -y -q python3 python3-venv python3-dev
fi
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    say "installing python3-venv"
    as_root apt-get update -q && as_root apt-get install -y -q python3-venv
fi

# 2. The virtualenv first, so the host script can put libvirt-python into it.
if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv $VENV"
    python3 -m venv "$VENV"
fi

# 3. Host: QEMU, libvirt (seccomp_sandbox = 0, daemons started by hand without systemd), libvirt-python.
say "host packages and libvirt"
as_root env PYTHON="$VENV/bin/python" bash "$ROOT/scripts/setup-host.sh"

# 4. eucalite itself, editable, with the test tools (boto3, the aws CLI, pytest, hypothesis, ...).
if "$VENV/bin/python" -c 'import eucalite, boto3, awscli, pytest, hypothesis' 2>/dev/null \
        && cmp -s "$ROOT/pyproject.toml" "$VENV/.installed-pyproject" 2>/dev/null; then
    say "eucalite already installed in $VENV"
else
    say "pip install -e .[test,libvirt] (a minute on a fresh machine)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT[test,libvirt]"
    cp "$ROOT/pyproject.toml" "$VENV/.installed-pyproject"
fi
if [ "$BENCH" = 1 ]; then
    if ! command -v wrk >/dev/null; then
        say "installing wrk (the benchmarks' load generator)"
        as_root apt-get install -y -q wrk || { as_root apt-get update -q && as_root apt-get install -y -q wrk; }
    fi
    if "$VENV/bin/python" -c 'import moto, pyinstrument' 2>/dev/null; then
        say "benchmark tools already installed"
    else
        say "pip install -e .[bench] (moto[server] as the peer, profilers)"
        "$VENV/bin/python" -m pip install -q -e "$ROOT[bench]"
    fi
fi

# 5. Guest images, built from Debian packages through the host's own apt configuration into the
#    shared build cache (/var/cache/eucalite as root, ~/.cache/eucalite otherwise; EUCALITE_IMAGE_CACHE
#    overrides) and registered in the default data dir ($EUCALITE_HOME, else ~/.eucalite). A second run
#    verifies checksums and reuses both.
if [ "$IMAGES" = 1 ]; then
    say "guest image: tiny (busybox initramfs; seconds, once the kernel package is cached)"
    "$VENV/bin/eucalite" image build tiny
    if [ "$DEBIAN_IMAGE" = 1 ]; then
        say "guest image: debian (debootstrap + cloud-init + aws CLI; ~3 minutes the first time)"
        "$VENV/bin/eucalite" image build debian
    fi
fi
say "ready: $VENV/bin/eucalite up"
