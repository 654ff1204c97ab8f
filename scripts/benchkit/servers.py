"""The servers under test, each started as its own process pinned to the server core."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_CPU = "0"  # servers run here ...
CLIENT_CPU = "1"  # ... load generators here (see bench.py's core plan)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: str) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *cmd]
    return cmd


def console_script(name: str) -> list[str]:
    """The installed entry point next to this interpreter (not a pyenv shim, whose bash start-up would be
    counted against the server in P2), else `python -m`."""
    exe = Path(sys.executable).parent / name
    return [str(exe)] if exe.exists() else []


def eucalite_cmd(data_dir: Path, port: int, *extra: str) -> list[str]:
    base = console_script("eucalite") or [sys.executable, "-m", "eucalite"]
    return [*base, "up", "--no-tui", "--data-dir", str(data_dir), "--port", str(port), *extra]


def moto_cmd(port: int) -> list[str]:
    base = console_script("moto_server") or [sys.executable, "-m", "moto.server"]
    return [*base, "-H", "127.0.0.1", "-p", str(port)]


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident set of the server process itself (taskset execs, so the pid is the server's)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def launch(name: str, cmd: list[str], port: int, log_path: Path, cpu: str = SERVER_CPU,
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(pinned(cmd, cpu), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env)


def wait_listening(server: Server, timeout: float = 60) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.proc.returncode}); see {server.log_path}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"{server.name} did not listen on {server.port}; see {server.log_path}")


BIG_NODE = """# written by scripts/bench.py: one memory node big enough for the scale benchmark
[[nodes]]
name = "node-1"
zone = "eucalite-1a"
vcpus = 4096
memory_mb = 2097152
"""


def start_eucalite(data_dir: Path, *extra: str, port: int | None = None) -> Server:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = data_dir / "settings.toml"
    if not settings.exists():
        settings.write_text(BIG_NODE)
    log_path = data_dir.parent / f"{data_dir.name}.out"
    proc = launch("eucalite", eucalite_cmd(data_dir, port, *extra), port, log_path)
    return wait_listening(Server("eucalite", port, proc, log_path))


def moto_env() -> dict[str, str]:
    # moto_server needs no credentials, but botocore inside it must not go looking for an IMDS.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1"})
    return env


def start_moto(workdir: Path, port: int | None = None) -> Server:
    port = port or free_port()
    log_path = workdir / f"moto-{port}.out"
    proc = launch("moto", moto_cmd(port), port, log_path, env=moto_env())
    return wait_listening(Server("moto", port, proc, log_path))
