"""--profile: py-spy records the eucalite server while a benchmark measures it, and the raw stacks are summed
into a per-function inclusive share (the "where the time goes" tables in BENCHMARKS.md come from this).

py-spy runs pinned to the client core with --nonblocking (the server is never paused), so a profiled round
costs the server little, but the rounds of a --profile run are still not the numbers to publish.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchkit.servers import CLIENT_CPU, pinned

RATE = 250  # samples per second: enough for a 5 s round, light enough for a 2-core machine
TOP = 15
# A sample whose innermost frame is one of these is the event loop (or a worker) waiting, not working.
IDLE = re.compile(r"^(\w+\.)?(select|poll|_worker|wait|accept|sleep) \((selectors|threading|"
                  r"concurrent/futures/thread|socket|asyncio/base_events)\.py")
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# Where a sample's time is charged: the innermost frame that belongs to one of these (first match wins), so
# a SQL query run by a handler counts as SQL and json.dumps called by the metadata service counts as JSON.
COMPONENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((label, re.compile(rx)) for label, rx in (
    ("XML serialization (wire/serialize)", r"^eucalite/wire/serialize\.py"),
    ("SigV4 authentication (wire/auth, wire/sigv4)", r"^eucalite/wire/(auth|sigv4)\.py"),
    ("request parsing (wire/parse)", r"^eucalite/wire/parse\.py"),
    ("authorization (authz, policy/)", r"^eucalite/(authz\.py|policy/)"),
    ("credentials, ids, sealing (credentials/, ids, store/secretbox)",
     r"^eucalite/(credentials/minter|ids|store/secretbox|wire/tokens)"),
    ("SQL (store/, sqlite_utils, sqlite3)", r"^(eucalite/store/|sqlite_utils/|sqlite3/)"),
    ("instance credentials (credentials/instance_profile)", r"^eucalite/credentials/"),
    ("operation handlers (services/)", r"^eucalite/services/"),
    ("metadata tree and views (metadata/tree, render, views)", r"^eucalite/metadata/(tree|render|views)\.py"),
    ("JSON encoding (json)", r"^json/"),
    ("logging (request log line)", r"^logging/"),
    ("dashboard events (events)", r"^eucalite/events\.py"),
    ("dispatch (wire/dispatch, app)", r"^eucalite/(wire/dispatch|app)\.py"),
    ("metadata HTTP loop (metadata/server)", r"^eucalite/metadata/server\.py"),
    ("h11 (HTTP/1.1 parsing and framing)", r"^h11/"),
    ("Starlette (routing, middleware, responses)", r"^starlette/"),
    ("uvicorn (protocol, ASGI cycle)", r"^uvicorn/"),
    ("asyncio (loop, transports, streams)", r"^(asyncio/|selectors\.py)"),
    ("other eucalite code", r"^eucalite/"),
))


def py_spy() -> str | None:
    exe = Path(sys.executable).parent / "py-spy"
    return str(exe) if exe.exists() else shutil.which("py-spy")


@dataclass
class Summary:
    label: str
    samples: int  # all samples, idle included
    idle: int
    components: list[tuple[str, float]]  # (component, % of busy samples): a partition, sums to 100
    inclusive: list[tuple[str, float]]  # eucalite's own functions, (function, % of busy samples)
    self_: list[tuple[str, float]]

    def text(self) -> str:
        busy = self.samples - self.idle
        head = (f"profile {self.label}: {self.samples} samples, {busy} busy "
                f"({100 * busy / self.samples if self.samples else 0:.0f}%); shares are of busy samples")
        return "\n".join([
            head, "  by component (innermost frame that belongs to one; sums to 100%):",
            *(f"  {pct:5.1f}%  {name}" for name, pct in self.components),
            "  eucalite functions, inclusive (the function and everything it calls):",
            *(f"  {pct:5.1f}%  {fn}" for fn, pct in self.inclusive),
            "  innermost Python frame (self):",
            *(f"  {pct:5.1f}%  {fn}" for fn, pct in self.self_)])


def _split(frame: str) -> tuple[str, str]:
    """(function, package-relative path) of a py-spy frame `func (path:line)`."""
    m = _FRAME.match(frame)
    if not m:
        return frame, ""
    path = m["file"]
    if "/site-packages/" in path:
        path = path.split("/site-packages/", 1)[1]
    elif "/lib/python3." in path:
        path = path.split("/lib/python3.", 1)[1].split("/", 1)[-1]
    return m["func"], path


IMPORTING = "importing modules (loading code, running module bodies)"


def _component(files: list[str]) -> str:
    if any(path.startswith("<frozen importlib") for path in files):
        return IMPORTING
    for path in reversed(files):
        for name, rx in COMPONENTS:
            if rx.match(path):
                return name
    return "other (interpreter, stdlib without a named caller)"


def summarize(raw: Path, label: str, top: int = TOP, trunk: float = 80.0) -> Summary:
    """Inclusive share: a function counts once per sample it is anywhere on (recursion counted once).
    Functions on more than `trunk`% of busy samples (cli.main, the serve loop) are left out: they say
    nothing about where the time goes."""
    components: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_split(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        total += n
        if not frames or IDLE.match(f"{frames[-1][0]} ({frames[-1][1]})"):
            idle += n
            continue
        components[_component([path for _, path in frames])] += n
        for key in {f"{fn} ({path})" for fn, path in frames if path.startswith("eucalite/")}:
            inclusive[key] += n
        own[f"{frames[-1][0]} ({frames[-1][1]})"] += n
    busy = total - idle
    if not busy:
        return Summary(label, total, idle, [], [], [])

    def pct(c: Counter[str], limit: float = 100.0) -> list[tuple[str, float]]:
        return [(k, 100 * v / busy) for k, v in c.most_common() if 100 * v / busy <= limit][:top]

    return Summary(label, total, idle, pct(components), pct(inclusive, trunk), pct(own))


class Profiler:
    """One per bench run; `record` wraps the measured part of a benchmark, `report` prints and saves."""

    def __init__(self, directory: Path, rate: int = RATE) -> None:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed (pip install -e '.[bench]')")
        self.exe, self.rate, self.directory = exe, rate, directory
        directory.mkdir(parents=True, exist_ok=True)
        self.raws: dict[str, list[Path]] = {}

    def _raw(self, label: str) -> Path:
        paths = self.raws.setdefault(label, [])
        path = self.directory / f"{label}-{len(paths)}.raw"
        paths.append(path)
        return path

    @contextmanager
    def record(self, label: str, pid: int) -> Iterator[None]:
        """Samples `pid` (the server process: taskset execs, so Popen's pid is the server's) until the
        block ends."""
        path = self._raw(label)
        proc = subprocess.Popen(pinned([self.exe, "record", "--pid", str(pid), "--rate", str(self.rate),
                                        "--nonblocking", "--format", "raw", "--output", str(path)], CLIENT_CPU),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield
        finally:
            self._stop(proc, path)

    def spawn(self, label: str, cmd: list[str], cpu: str, rate: int = 1000) -> tuple[list[str], Path]:
        """A command line that starts `cmd` (pinned to `cpu`) under py-spy from its first instruction; py-spy
        itself is pinned to the client core. The caller runs it and ends it with `stop`."""
        path = self._raw(label)
        return pinned([self.exe, "record", "--rate", str(rate), "--nonblocking", "--format", "raw",
                       "--output", str(path), "--", *pinned(cmd, cpu)], CLIENT_CPU), path

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes], path: Path) -> None:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if not path.exists():
            print(f"  profile: py-spy wrote nothing to {path}: {err.decode(errors='replace')[-400:]}", flush=True)

    def report(self) -> list[Summary]:
        out = []
        for label, paths in self.raws.items():
            merged = self.directory / f"{label}.raw"
            merged.write_text("".join(p.read_text() for p in paths if p.exists()))
            summary = summarize(merged, label)
            (self.directory / f"{label}.txt").write_text(summary.text() + "\n")
            print(summary.text(), flush=True)
            out.append(summary)
        print(f"profiles (raw py-spy stacks and summaries) in {self.directory}", flush=True)
        return out
