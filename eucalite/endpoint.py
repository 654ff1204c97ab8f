"""DATA_DIR/endpoint.json: where `eucalite up` listens, for the commands that talk to a running cloud
(env, demo, tui). Written atomically by `up`, read in one place."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eucalite.config import Settings

RUNTIME_FILE = "endpoint.json"


class EndpointFileError(ValueError):
    """DATA_DIR/endpoint.json exists but cannot be used (empty, not JSON, no valid host and port)."""


def read_endpoint(data_dir: Path) -> dict[str, Any] | None:
    """What `eucalite up` recorded in DATA_DIR/endpoint.json (host, port, driver, test_mode, pid), or None
    when there is no such file. Every reader goes through here; EndpointFileError for a damaged file."""
    path = Path(data_dir) / RUNTIME_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise EndpointFileError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not text.strip():
        raise EndpointFileError(f"{path} is empty")
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise EndpointFileError(f"{path} is not valid JSON ({exc})") from None
    host = info.get("host") if isinstance(info, dict) else None
    port = info.get("port") if isinstance(info, dict) else None
    if not isinstance(host, str) or not host or not isinstance(port, int) or isinstance(port, bool) \
            or not 1 <= port <= 65535:
        raise EndpointFileError(f"{path} has no valid host and port")
    pid = info.get("pid")
    return {"host": host, "port": port, "driver": info.get("driver") if isinstance(info.get("driver"), str) else None,
            "test_mode": info.get("test_mode") is True,
            "pid": pid if isinstance(pid, int) and not isinstance(pid, bool) else None}


def record_endpoint(settings: Settings) -> None:
    # Only host and port are read back into settings; the rest tells tools (eucalite demo) what is running.
    write_atomically(settings.data_dir / RUNTIME_FILE, json.dumps({
        "host": settings.host, "port": settings.port, "driver": settings.driver, "test_mode": settings.test_mode,
        "pid": os.getpid()}))


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old content or the new, never a truncated file: the text goes to a temporary file in
    the same directory, then replaces ``path`` in one rename. The file keeps its mode (a new one gets the
    umask's, as open() would give it)."""
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
