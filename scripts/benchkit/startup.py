"""P2: process start to the first answered signed request (eucalite restarting on an existing data dir;
moto_server from scratch), alternating, median over rounds."""

from __future__ import annotations

import compileall
import contextlib
import importlib.util
import os
import signal
import subprocess
import time
from pathlib import Path

from benchkit.loadgen import RawClient
from benchkit.profile import Profiler
from benchkit.report import Result, fmt_ratio, median, verdict
from benchkit.scenario import MOTO_REGION, eucalite_env
from benchkit.servers import SERVER_CPU, eucalite_cmd, free_port, moto_cmd, moto_env, pinned, start_eucalite
from benchkit.signing import Keys, Signed, Target, sign

POLL = 0.002


def time_to_answer(cmd: list[str], port: int, req: Signed, log: Path, env: dict[str, str] | None = None,
                   timeout: float = 60, launcher: list[str] | None = None) -> float:
    """`launcher` replaces the pinned command line (--profile: the same command under py-spy)."""
    with open(log, "ab") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(launcher or pinned(cmd, SERVER_CPU), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                with RawClient(port, timeout=timeout) as c:
                    resp = c.send(req)
                elapsed = time.perf_counter() - t0
                if resp.status != 200:
                    raise RuntimeError(f"first answer was {resp.status}: {resp.body[:300]!r}")
                return elapsed
            except (ConnectionRefusedError, ConnectionResetError):
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited {proc.returncode}; see {log}") from None
                time.sleep(POLL)
        raise RuntimeError(f"no answer within {timeout}s; see {log}")
    finally:
        children = _children(proc.pid)
        if launcher:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        else:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pid in children:  # the server py-spy started, if it outlived py-spy
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def compile_eucalite() -> None:
    """Byte-compile eucalite's modules, as installing a wheel does (pip compiled moto's when it installed
    it). An editable install never gets .pyc files where PYTHONDONTWRITEBYTECODE=1 is set (as on this
    machine), and every start then compiles ~150 modules from source: about 0.12 s of P2 here."""
    spec = importlib.util.find_spec("eucalite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(location, quiet=1)


def run(work: Path, rounds: int, profiler: Profiler | None = None) -> list[Result]:
    compile_eucalite()
    data = work / "startup"
    start_eucalite(data).stop()  # first start bootstraps the data dir; P2 measures the restarts after it
    env = eucalite_env(data)
    e_port, m_port = free_port(), free_port()
    e_req = sign(Target("eucalite", f"http://127.0.0.1:{e_port}", env["AWS_DEFAULT_REGION"],
                        Keys(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])), "sts", "GetCallerIdentity")
    m_req = sign(Target("moto", f"http://127.0.0.1:{m_port}", MOTO_REGION, Keys("testing", "testing")),
                 "sts", "GetCallerIdentity")
    runs = {
        "eucalite": lambda: time_to_answer(eucalite_cmd(data, e_port), e_port, e_req, work / "p2-eucalite.out"),
        "moto": lambda: time_to_answer(moto_cmd(m_port), m_port, m_req, work / "p2-moto.out", env=moto_env()),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(runs[name]())
            print(f"  P2 round {r + 1}/{rounds} {name}: {times[name][-1]:.3f} s", flush=True)
    if profiler is not None:  # one more eucalite start, under py-spy from exec; not counted in the medians
        port = free_port()
        req = sign(Target("eucalite", f"http://127.0.0.1:{port}", env["AWS_DEFAULT_REGION"],
                          Keys(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])), "sts", "GetCallerIdentity")
        launcher, _ = profiler.spawn("P2-start", eucalite_cmd(data, port), SERVER_CPU)
        secs = time_to_answer([], port, req, work / "p2-profiled.out", launcher=launcher)
        print(f"  P2 profiled start (under py-spy, not counted): {secs:.3f} s", flush=True)
    e, m = median(times["eucalite"]), median(times["moto"])
    ratio = m / e
    return [Result("P2", "start-to-first-signed-answer", f"{e:.3f}s", f"{m:.3f}s", fmt_ratio(ratio),
                   "<0.5s,>=4x", verdict(e < 0.5 and ratio >= 4))]
