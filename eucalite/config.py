"""One Settings object, from (lowest to highest precedence) defaults, DATA_DIR/settings.toml,
EUCALITE_* environment variables and command-line flags. Nothing reads the environment elsewhere."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# Eucalyptus 3.4's default instance types: (vcpus, memory MiB, disk GiB).
DEFAULT_INSTANCE_TYPES: dict[str, tuple[int, int, int]] = {
    "m1.small": (1, 256, 5),
    "c1.medium": (1, 256, 5),
    "m1.large": (1, 512, 10),
    "m1.xlarge": (2, 1024, 10),
    "c1.xlarge": (2, 2048, 10),
}


def default_data_dir() -> Path:
    env = os.environ.get("EUCALITE_HOME")
    return Path(env) if env else Path.home() / ".eucalite"


@dataclass(frozen=True)
class NodeSettings:
    name: str
    zone: str
    uri: str = ""  # libvirt URI; empty for the memory driver
    # What the memory driver offers (a libvirt node reports its host's real size instead): generous, so
    # suites that leave instances running do not meet an invented capacity limit.
    vcpus: int = 64
    memory_mb: int = 131072


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8773
    driver: str = "memory"  # memory | libvirt
    region: str = "eucalite-1"
    zones: tuple[str, ...] = ("eucalite-1a",)
    libvirt_uri: str = ""  # default: qemu:///system as root, qemu:///session otherwise
    # Where libvirt nodes keep overlays, consoles and staged boot files (one sub-directory per node).
    # Empty: /var/lib/eucalite/nodes/<hash of data_dir> under qemu:///system (QEMU runs as another
    # user and cannot enter /root or pytest's tmp dirs), DATA_DIR/nodes otherwise. See nodes/__init__.py.
    node_state_dir: str = ""
    nodes: tuple[NodeSettings, ...] = ()
    credential_ttl: int = 3600  # seconds an instance-profile credential lives
    # Serve new credentials when this much lifetime is left. AWS promises ">= 5 minutes before expiry",
    # but botocore treats IMDS credentials with under ~25 minutes left as an outage and keeps them for
    # 17-25 more minutes (static stability), so SDK clients only refresh in time if served credentials
    # always have more than that left: hence 30 minutes.
    rotation_lead: int = 1800
    clock_skew: int = 900  # signatures outside +-15 minutes are refused
    accept_unregistered_images: bool = False
    test_mode: bool = False
    seed_credentials: tuple[str, ...] = ()  # ACCESS_KEY:SECRET[:ACCOUNT_ID]
    terminated_visible_seconds: int = 3600
    memory_boot_seconds: float = 0.5  # memory driver: pending -> running
    instance_types: dict[str, tuple[int, int, int]] = field(default_factory=lambda: dict(DEFAULT_INSTANCE_TYPES))
    log_level: str = "INFO"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "eucalite.db"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def rotation_lead_for(self, ttl: int) -> int:
        """Short demo TTLs cannot keep the lead; rotate at half-life there (see rotation_lead)."""
        return self.rotation_lead if ttl > 2 * self.rotation_lead else ttl // 2

    def node_list(self) -> tuple[NodeSettings, ...]:
        if self.nodes:
            return self.nodes
        # One node per zone, so every configured zone has capacity.
        return tuple(NodeSettings(name=f"node-{i}", zone=zone, uri=self.libvirt_uri)
                     for i, zone in enumerate(self.zones, 1))


_ENV_PREFIX = "EUCALITE_"
RUNTIME_FILE = "endpoint.json"


def record_endpoint(settings: Settings) -> None:
    # Only host and port are read back into settings; the rest tells tools (eucalite demo) what is running.
    (settings.data_dir / RUNTIME_FILE).write_text(json.dumps({
        "host": settings.host, "port": settings.port, "driver": settings.driver, "test_mode": settings.test_mode,
        "pid": os.getpid()}))


def _coerce(name: str, value: Any, current: Any) -> Any:
    if isinstance(current, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if isinstance(current, int) and not isinstance(current, bool):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, Path):
        return Path(value).expanduser()
    if isinstance(current, tuple) and name == "nodes":
        return tuple(NodeSettings(**n) for n in value)
    if isinstance(current, tuple):
        return tuple(value.split(",")) if isinstance(value, str) else tuple(value)
    return value


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None,
                  running: bool = True) -> Settings:
    """running=True (client commands: env, metadata-url, ...) follows where `eucalite up` last listened;
    `eucalite up` itself passes False, so settings.toml's host and port are what it binds."""
    env = os.environ if environ is None else environ
    base = Settings()
    values: dict[str, Any] = {}
    data_dir = (overrides or {}).get("data_dir") or base.data_dir
    file = Path(data_dir) / "settings.toml"
    if file.exists():
        values.update(tomllib.loads(file.read_text()))
    # Where `eucalite up` last listened, so `eucalite env` and friends find it without repeating flags.
    runtime = Path(data_dir) / RUNTIME_FILE
    if running and runtime.exists():
        values.update({k: v for k, v in json.loads(runtime.read_text()).items() if k in ("host", "port")})
    for f in fields(Settings):
        key = _ENV_PREFIX + f.name.upper()
        if key in env and f.name != "data_dir":
            values[f.name] = env[key]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name: getattr(base, f.name) for f in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    coerced = {k: _coerce(k, v, known[k]) for k, v in values.items()}
    if coerced.get("test_mode") and "accept_unregistered_images" not in coerced:
        # moto-style suites launch made-up ami- ids; an explicit setting still wins.
        coerced["accept_unregistered_images"] = True
    return replace(base, **coerced)
