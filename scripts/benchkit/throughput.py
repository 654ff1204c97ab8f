"""P1: server throughput on the mixed IAM/STS/EC2 workload, signatures verified, both servers alternating."""

from __future__ import annotations

import contextlib
from pathlib import Path

from benchkit.loadgen import run_wrk, wrk_script
from benchkit.profile import Profiler
from benchkit.report import Result, fmt_ratio, median, verdict
from benchkit.scenario import World, check_all_ok, p1_requests
from benchkit.servers import Server

CONNECTIONS = 8


def run(pairs: list[tuple[Server, World]], rounds: int, seconds: float, work: Path,
        profiler: Profiler | None = None) -> list[Result]:
    rates: dict[str, list[float]] = {s.name: [] for s, _ in pairs}
    problems: list[str] = []
    for server, world in pairs:  # every request must succeed on its server before it is replayed
        check_all_ok(server.port, p1_requests(world))
        run_wrk(server.url, wrk_script(p1_requests(world), work), 2, CONNECTIONS)  # warm-up
    for r in range(rounds):
        order = pairs if r % 2 == 0 else pairs[::-1]
        for server, world in order:
            script = wrk_script(p1_requests(world), work)  # re-signed each round: a fresh X-Amz-Date
            with (profiler.record("P1", server.proc.pid) if profiler and server.name == "eucalite"
                  else contextlib.nullcontext()):
                res = run_wrk(server.url, script, seconds, CONNECTIONS)
            if res.status_errors or res.socket_errors:
                problems.append(f"{server.name} round {r}: {res.status_errors} non-2xx, "
                                f"{res.socket_errors} socket errors")
            rates[server.name].append(res.rps)
            print(f"  P1 round {r + 1}/{rounds} {server.name}: {res.rps:.0f} req/s "
                  f"(p50 {res.p50_ms:.1f} ms, p99 {res.p99_ms:.1f} ms)", flush=True)
    e, m = median(rates["eucalite"]), median(rates["moto"])
    ratio = e / m if m else float("nan")
    ok = ratio >= 10 and not problems
    for p in problems:
        print("  P1 problem:", p)
    return [Result("P1", "mixed-iam-sts-ec2-throughput", f"{e:.0f}req/s", f"{m:.0f}req/s", fmt_ratio(ratio),
                   ">=10x", verdict(ok))]
