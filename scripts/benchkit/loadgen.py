"""Load generation that is not the bottleneck: wrk replaying pre-signed requests from a Lua table, pinned
to the client core; and a small raw-socket HTTP/1.1 client for sequential latency and bulk set-up."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchkit.servers import CLIENT_CPU, pinned
from benchkit.signing import Signed

_LUA = """
local reqs = {%s}
local n = #reqs
local i = 0
function init(args)
  -- threads start at different offsets so they do not send the same request in lock-step
  i = math.random(n) - 1
end
function request()
  i = i %% n + 1
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%%d duration_us=%%d status_errors=%%d socket_errors=%%d "
    .. "p50_us=%%d p90_us=%%d p99_us=%%d\\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99)))
end
"""


def _lua_string(data: bytes) -> str:
    out = []
    for b in data:
        ch = chr(b)
        if ch in '"\\' or not 32 <= b < 127:
            out.append(f"\\{b:03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def wrk_script(requests: Sequence[Signed], directory: Path) -> Path:
    path = Path(tempfile.mkstemp(suffix=".lua", dir=directory)[1])
    path.write_text(_LUA % ",\n".join(_lua_string(r.wire()) for r in requests))
    return path


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, script: Path, seconds: float, connections: int, threads: int = 1) -> WrkResult:
    cmd = pinned(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
                  "-s", str(script), url], CLIENT_CPU)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"BENCH (.*)", out)
    if m is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
    return WrkResult(v["requests"], v["duration_us"] / 1e6, v["status_errors"], v["socket_errors"],
                     v["p50_us"] / 1000, v["p90_us"] / 1000, v["p99_us"] / 1000)


# -- raw client ---------------------------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    body: bytes
    closing: bool = False


class RawClient:
    """One keep-alive HTTP/1.1 connection; no parsing beyond status and Content-Length."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 120) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:  # (re)connect lazily: moto's server answers `Connection: close`
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, req: Signed | bytes) -> Response:
        self._connect().sendall(req if isinstance(req, bytes) else req.wire())
        resp = self._read()
        if resp.closing:
            self.close()
        return resp

    def timed(self, req: Signed | bytes) -> tuple[float, Response]:
        data = req if isinstance(req, bytes) else req.wire()
        t0 = time.perf_counter()
        resp = self.send(data)
        return time.perf_counter() - t0, resp

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _read(self) -> Response:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        closing = headers.get("connection", "").lower() == "close" or lines[0].startswith("HTTP/1.0")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            self.buf = rest
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    return Response(status, body, closing)
        length = int(headers.get("content-length", "0"))
        self.buf = rest
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return Response(status, body, closing)


def send_all(port: int, requests: Iterable[Signed], connections: int = 4) -> list[Response]:
    """Set-up traffic (not measured): spread over a few keep-alive connections; raises on any non-200."""
    reqs = list(requests)
    chunks = [reqs[i::connections] for i in range(connections)]

    def run(chunk: list[Signed]) -> list[Response]:
        out = []
        with RawClient(port) as c:
            for r in chunk:
                resp = c.send(r)
                if resp.status != 200:
                    raise RuntimeError(f"{r.op} -> {resp.status}: {resp.body[:400]!r}")
                out.append(resp)
        return out

    with ThreadPoolExecutor(connections) as pool:
        results = list(pool.map(run, chunks))
    return [r for chunk in results for r in chunk]
