"""Guest image builders: a tiny busybox initramfs for fast tests, a Debian cloud-init disk image."""

from eucalite.images._run import BuildError
from eucalite.images.artifacts import BuiltImage, load_built
from eucalite.images.debian import build_debian
from eucalite.images.tiny import build_tiny

__all__ = ["BuildError", "BuiltImage", "build_debian", "build_tiny", "load_built"]
