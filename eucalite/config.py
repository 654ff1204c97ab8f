"""One Settings object, from (lowest to highest precedence) defaults, DATA_DIR/settings.toml,
EUCALITE_* environment variables and command-line flags. Nothing reads the environment elsewhere."""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from eucalite.endpoint import (
    EndpointFileError,
    read_endpoint,
)

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
SETTINGS_FILE = "settings.toml"

# Instance-profile credentials live at least a minute (AWS's own minimum session is 15 minutes; shorter
# ones are for watching rotation in a demo) and at most 12 hours, AWS's longest role session. Test mode
# goes down to 2 seconds, for suites that watch rotation in real time.
MIN_CREDENTIAL_TTL = 60
TEST_MODE_MIN_CREDENTIAL_TTL = 2
MAX_CREDENTIAL_TTL = 12 * 3600
_MAX_SECONDS = 366 * 86400  # any other duration: a year at most, so clock arithmetic stays in range
DRIVERS = ("memory", "libvirt")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class SettingsError(ValueError):
    """A setting eucalite cannot use. The message names where it came from (DATA_DIR/settings.toml, an
    EUCALITE_* variable or a flag), the key, and what was expected; the CLI prints it as one line."""


class _Invalid(Exception):
    """A value check failed: ``phrase`` says what was expected, ``suffix`` narrows the key (a node's field)."""

    def __init__(self, phrase: str, suffix: str = "") -> None:
        super().__init__(phrase)
        self.phrase, self.suffix = phrase, suffix


def _must(expected: str, value: Any) -> _Invalid:
    return _Invalid(f"must be {expected}, not {value!r}")


def parse_duration(text: str) -> int:
    """Seconds from ``90``, ``90s``, ``2m`` or ``1h``; ValueError for anything else."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip()
    try:
        if text[-1:] in units and text[:-1]:
            return int(float(text[:-1]) * units[text[-1]])  # ValueError for nan, OverflowError for inf
        return int(text)
    except (ValueError, OverflowError):
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 2m, 1h)") from None


def _integer(value: Any, expected: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    raise _must(expected, value)


def _int_range(lo: int, hi: int, expected: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        number = _integer(value, expected)
        if not lo <= number <= hi:
            raise _must(expected, value)
        return number
    return check


def _duration_range(lo: int, hi: int, expected: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except ValueError:
                raise _must(expected, value) from None
        else:
            seconds = _integer(value, expected)
        if not lo <= seconds <= hi:
            raise _must(expected, value)
        return seconds
    return check


def _seconds_float(lo: float, hi: float) -> Callable[[Any], float]:
    expected = f"a number of seconds from {lo:g} to {hi:g}"

    def check(value: Any) -> float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is None or not math.isfinite(number) or not lo <= number <= hi:
            raise _must(expected, value)
        return number
    return check


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise _must("true or false", value)


def _text(expected: str, empty: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()) or value != value.strip():
            raise _must(expected, value)
        return value
    return check


def _choice(options: tuple[str, ...], upper: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        word = value.upper() if upper and isinstance(value, str) else value
        if word not in options:
            raise _must(" or ".join(options) if len(options) == 2 else "one of " + ", ".join(options), value)
        return str(word)
    return check


def _path(value: Any) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    if isinstance(value, str) and value:
        return Path(value).expanduser()
    raise _must("a directory path", value)


def _names(expected: str) -> Callable[[Any], tuple[str, ...]]:
    """A list of distinct non-empty names, or one comma-separated string (as an environment variable)."""
    def check(value: Any) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        if (not isinstance(items, list | tuple) or not items
                or not all(isinstance(i, str) and i.strip() == i and i for i in items)
                or len(set(items)) != len(items)):
            raise _must(expected, value)
        return tuple(items)
    return check


def _seed_credentials(value: Any) -> tuple[str, ...]:
    if value == "" or value == [] or value == ():
        return ()
    items = _names("a list of ACCESS_KEY:SECRET[:ACCOUNT_ID]")(value)
    for item in items:
        parts = item.split(":")
        if (len(parts) not in (2, 3) or not all(parts)
                or (len(parts) == 3 and not (parts[2].isdigit() and len(parts[2]) == 12))):
            raise _must("ACCESS_KEY:SECRET[:ACCOUNT_ID] (a 12-digit account id)", item)
    return items


_NODE_FIELDS = {f.name: f for f in fields(NodeSettings)}
_NODE_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _text("a node name"), "zone": _text("a zone name"), "uri": _text("a libvirt URI", empty=True),
    "vcpus": _int_range(1, 1 << 20, "a positive integer"),
    "memory_mb": _int_range(1, 1 << 40, "a positive integer (MiB)"),
}
_NODES_EXPECTED = "[[nodes]] tables, each with a name and a zone"


def _nodes(value: Any) -> tuple[NodeSettings, ...]:
    if not isinstance(value, list | tuple):
        raise _must(_NODES_EXPECTED, value)
    out: list[NodeSettings] = []
    for i, node in enumerate(value, 1):
        if isinstance(node, NodeSettings):
            out.append(node)
            continue
        if not isinstance(node, dict):
            raise _Invalid(f"must be a table with a name and a zone, not {node!r}", f" #{i}")
        for key in node:
            if key not in _NODE_FIELDS:
                raise _Invalid(f"unknown key {key}{_suggest(key, _NODE_FIELDS)}", f" #{i}:")
        for key in ("name", "zone"):
            if key not in node:
                raise _Invalid(f"has no {key}", f" #{i}")
        checked = {}
        for key, raw in node.items():
            try:
                checked[key] = _NODE_CHECKS[key](raw)
            except _Invalid as exc:
                raise _Invalid(exc.phrase, f" #{i}: {key}") from None
        out.append(NodeSettings(**checked))
    names = [n.name for n in out]
    for name in names:
        if names.count(name) > 1:
            raise _Invalid(f"two nodes are named {name}", ":")
    return tuple(out)


def _instance_types(value: Any) -> dict[str, tuple[int, int, int]]:
    expected = 'a table of "type" = [vcpus, memory MiB, disk GiB], all positive integers'
    if not isinstance(value, dict) or not value:
        raise _must(expected, value)
    out = {}
    for name, spec in value.items():
        if (not isinstance(name, str) or not name or not isinstance(spec, list | tuple) or len(spec) != 3
                or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in spec)):
            raise _Invalid(f"must be [vcpus, memory MiB, disk GiB], all positive integers, not {spec!r}",
                           f".{name}")
        out[name] = (spec[0], spec[1], spec[2])
    return out


def _checks(test_mode: bool) -> dict[str, Callable[[Any], Any]]:
    """How each setting is read from a file, an environment variable or a flag, and what it may be."""
    ttl_min = TEST_MODE_MIN_CREDENTIAL_TTL if test_mode else MIN_CREDENTIAL_TTL
    return {
        "data_dir": _path,
        "host": _text("a host name or address"),
        "port": _int_range(1, 65535, "an integer from 1 to 65535"),
        "driver": _choice(DRIVERS),
        "region": _text("a region name"),
        "zones": _names("a list of distinct zone names"),
        "libvirt_uri": _text("a libvirt URI", empty=True),
        "node_state_dir": _text("a directory path", empty=True),
        "nodes": _nodes,
        "credential_ttl": _duration_range(ttl_min, MAX_CREDENTIAL_TTL,
                                          f"a duration from {ttl_min} s to 12 h (e.g. 90s, 2m, 1h)"),
        "rotation_lead": _duration_range(1, _MAX_SECONDS, "a positive duration (e.g. 900, 30m)"),
        "clock_skew": _duration_range(1, _MAX_SECONDS, "a positive duration (e.g. 900, 15m)"),
        "accept_unregistered_images": _boolean,
        "test_mode": _boolean,
        "seed_credentials": _seed_credentials,
        "terminated_visible_seconds": _duration_range(0, _MAX_SECONDS, "a duration of 0 s or more"),
        "memory_boot_seconds": _seconds_float(0, 3600),
        "instance_types": _instance_types,
        "log_level": _choice(LOG_LEVELS, upper=True),
    }


def _suggest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


@dataclass(frozen=True)
class _Source:
    """Where a value came from, to name it in an error: a key of a file, a variable, or a flag."""

    kind: str  # file | env | flag
    where: str = ""  # the file

    def label(self, key: str) -> str:
        if self.kind == "file":
            return f"{self.where}: {key}"
        if self.kind == "env":
            return _ENV_PREFIX + key.upper()
        return "--" + key.replace("_", "-")


def _read_settings_file(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{file} is not valid TOML: {exc}") from None
    known = {f.name for f in fields(Settings)} - {"data_dir"}
    for key in values:
        if key == "data_dir":
            raise SettingsError(f"{file}: data_dir cannot be set in the data dir's own settings file "
                                "(use --data-dir or EUCALITE_HOME)")
        if key not in known:
            hint = _suggest(key, known) or f" (settings are: {', '.join(sorted(known))})"
            raise SettingsError(f"{file}: unknown setting {key}{hint}")
    return values


def _warn(message: str) -> None:
    print(f"eucalite: warning: {message}", file=sys.stderr)


def load_settings(overrides: dict[str, Any] | None = None, environ: Mapping[str, str] | None = None,
                  running: bool = True, warn: Callable[[str], None] = _warn) -> Settings:
    """running=True (client commands: env, metadata-url, ...) follows where `eucalite up` last listened;
    `eucalite up` itself passes False, so settings.toml's host and port are what it binds.

    Every value is checked where it is read (settings.toml, EUCALITE_* variables, the flags in
    ``overrides``), also one a higher layer overrides: a SettingsError names the file, variable or flag,
    the key and what was expected. A damaged endpoint.json is ignored, with a ``warn``ing."""
    env = os.environ if environ is None else environ
    base = Settings()
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    data_dir = Path(flags.get("data_dir") or base.data_dir).expanduser()
    file = data_dir / SETTINGS_FILE
    layers: list[tuple[_Source, dict[str, Any]]] = [(_Source("file", str(file)), _read_settings_file(file))]
    if running:
        # Where `eucalite up` last listened, so `eucalite env` and friends find it without repeating flags.
        try:
            recorded = read_endpoint(data_dir)
        except EndpointFileError as exc:
            warn(f"{exc}, so the host and port come from the settings (the next `eucalite up` rewrites it)")
            recorded = None
        if recorded is not None:
            layers.append((_Source("endpoint"), {"host": recorded["host"], "port": recorded["port"]}))
    names = [f.name for f in fields(Settings)]
    layers.append((_Source("env"), {n: env[_ENV_PREFIX + n.upper()] for n in names
                                    if n != "data_dir" and _ENV_PREFIX + n.upper() in env}))
    unknown = set(flags) - set(names)
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
    layers.append((_Source("flag"), flags))

    # test_mode first: it decides how short credential_ttl may be.
    test_mode = base.test_mode
    for source, values in layers:
        if "test_mode" in values:
            test_mode = _checked(_boolean, source, "test_mode", values["test_mode"])
    checks = _checks(test_mode)
    merged: dict[str, Any] = {}
    origin: dict[str, _Source] = {}
    for source, values in layers:
        for key, value in values.items():
            merged[key] = _checked(checks[key], source, key, value)
            origin[key] = source
    nodes = merged.get("nodes") or ()
    zones = merged.get("zones", base.zones)
    for i, node in enumerate(nodes, 1):
        if node.zone not in zones:
            raise SettingsError(f"{origin['nodes'].label('nodes')} #{i}: zone {node.zone} is not one of the "
                                f"zones ({', '.join(zones)}); list it in zones")
    if merged.get("test_mode") and "accept_unregistered_images" not in merged:
        # moto-style suites launch made-up ami- ids; an explicit setting still wins.
        merged["accept_unregistered_images"] = True
    return replace(base, **merged)


def _checked(check: Callable[[Any], Any], source: _Source, key: str, value: Any) -> Any:
    try:
        return check(value)
    except _Invalid as exc:
        where = source.label(key) if source.kind != "endpoint" else f"endpoint.json: {key}"
        raise SettingsError(f"{where}{exc.suffix} {exc.phrase}") from None
