"""Fetch Debian packages through the host's own apt configuration.

Nothing here names a mirror: `apt-get download` uses whatever the host is configured with, and
debootstrap gets the first Debian archive URI parsed from the host's sources files.
"""

from __future__ import annotations

import re
from pathlib import Path

from eucalite.images._run import BuildError, run

SOURCES_LIST = Path("/etc/apt/sources.list")
SOURCES_DIR = Path("/etc/apt/sources.list.d")


def _uris_from_list(text: str) -> list[tuple[str, str]]:
    """(uri, suites) from one-line `deb [opts] uri suite comps` entries."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def _uris_from_deb822(text: str) -> list[tuple[str, str]]:
    """(uri, suites) from deb822 `.sources` stanzas (Types/URIs/Suites), skipping disabled ones."""
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            out.append((uri, fields.get("suites", "")))
    return out


def host_sources() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if SOURCES_LIST.exists():
        found += _uris_from_list(SOURCES_LIST.read_text())
    if SOURCES_DIR.is_dir():
        for path in sorted(SOURCES_DIR.iterdir()):
            if path.suffix == ".list":
                found += _uris_from_list(path.read_text())
            elif path.suffix == ".sources":
                found += _uris_from_deb822(path.read_text())
    return found


def debian_mirror(suite: str = "bookworm") -> str:
    """The host's archive for `suite` (not -security/-updates), for debootstrap."""
    for uri, suites in host_sources():
        if suite in suites.split() and "security" not in uri:
            return uri
    raise BuildError(f"no apt source for {suite} in {SOURCES_LIST} or {SOURCES_DIR}")


def resolve_depends(metapackage: str, prefix: str) -> str:
    """The concrete package a metapackage points at, e.g. linux-image-amd64 -> linux-image-6.1.0-57-amd64."""
    for line in run(["apt-cache", "depends", metapackage]).splitlines():
        name = line.split(":", 1)[-1].strip()
        if line.strip().startswith("Depends:") and name.startswith(prefix):
            return name
    raise BuildError(f"apt-cache depends {metapackage}: no dependency starting with {prefix}")


def download(package: str, cache_dir: Path) -> Path:
    """The .deb for `package` in cache_dir, downloaded once (apt-get download keeps the pool name)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(cache_dir.glob(f"{package}_*.deb"))
    if existing:
        return existing[-1]
    run(["apt-get", "download", "-q", package], cwd=cache_dir)
    existing = sorted(cache_dir.glob(f"{package}_*.deb"))
    if not existing:
        raise BuildError(f"apt-get download {package} produced no .deb in {cache_dir}")
    return existing[-1]


def extract(deb: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    run(["dpkg-deb", "-x", deb, dest])
    return dest
