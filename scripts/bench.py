#!/usr/bin/env python3
"""eucalite benchmarks, side by side with moto_server (issue 10): see BENCHMARKS.md.

    python scripts/bench.py --quick            # every benchmark, < 10 minutes on 2 cores
    python scripts/bench.py                    # more and longer rounds
    python scripts/bench.py --quick --guests   # also P4/P4b (real guests; libvirt + built images)
    python scripts/bench.py --quick --only P1,P6 --no-write
    python scripts/bench.py --quick --only P1,P3,P2 --profile --no-write   # py-spy: where the time goes

Core plan on a 2-core machine: each server under test runs pinned to core 0 (taskset), alone; wrk (one
thread) and this orchestrator run pinned to core 1. Servers are single processes (uvicorn for eucalite,
moto_server's threaded werkzeug); peers alternate within each round and medians over rounds are reported.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import guests, metadata, policy, report, scale, scenario, startup, throughput
from benchkit.loadgen import have_wrk
from benchkit.profile import Profiler
from benchkit.servers import CLIENT_CPU, SERVER_CPU, start_eucalite, start_moto

REPO = Path(__file__).resolve().parents[1]
ALL = ("P1", "P2", "P3", "P4", "P5", "P6")


def plan(quick: bool) -> dict[str, float]:
    if quick:
        return {"rounds": 3, "seconds": 5, "startup_rounds": 5, "scale_rounds": 3, "policy_rounds": 7}
    return {"rounds": 5, "seconds": 10, "startup_rounds": 9, "scale_rounds": 5, "policy_rounds": 15}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (< 10 minutes)")
    ap.add_argument("--guests", action="store_true", help="also run P4/P4b with real guests")
    ap.add_argument("--only", default=",".join(ALL), help="comma-separated subset, e.g. P1,P3")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--profile", nargs="?", type=Path, const=REPO / "bench-profiles", default=None,
                    metavar="DIR", help="record the eucalite server with py-spy during P1's and P3's measured "
                    "rounds and one extra P2 start; per-function summaries printed and saved in DIR "
                    "(default bench-profiles/)")
    args = ap.parse_args(argv)
    only = {p.strip().upper() for p in args.only.split(",")}
    cfg = plan(args.quick)
    if not have_wrk() and only & {"P1", "P3"}:
        print("bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if (os.cpu_count() or 1) > 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(CLIENT_CPU)})  # keep this orchestrator off the server's core
    work = Path(tempfile.mkdtemp(prefix="eucalite-bench-"))
    header = report.machine(REPO)
    for line in header:
        print(line)
    profiler = Profiler(args.profile) if args.profile else None
    started = time.monotonic()
    results: list[report.Result] = []
    try:
        if only & {"P1", "P3"}:
            e_data = work / "eucalite"
            euca, moto = start_eucalite(e_data), start_moto(work)
            try:
                we = scenario.build_eucalite(euca, e_data, work)
                wm = scenario.build_moto(moto)
                if "P1" in only:
                    results += throughput.run([(euca, we), (moto, wm)], int(cfg["rounds"]), cfg["seconds"], work,
                                              profiler)
                    print(results[-1].line(), flush=True)
                if "P3" in only:
                    targets = {
                        "eucalite": metadata.credential_get(
                            metadata.eucalite_metadata_url(e_data, we.instance_ids[0]), "bench-role-0"),
                        "moto": metadata.credential_get(moto.url, "default-role"),
                    }
                    res = metadata.run(targets, int(cfg["rounds"]), cfg["seconds"], work,
                                       (profiler, euca.proc.pid) if profiler else None)
                    results += res
                    for r in res:
                        print(r.line(), flush=True)
            finally:
                euca.stop()
                moto.stop()
        if "P2" in only:
            results += startup.run(work, int(cfg["startup_rounds"]), profiler)
            print(results[-1].line(), flush=True)
        if "P4" in only:
            res = guests.run(args.guests, work)
            results += res
            for r in res:
                print(r.line(), flush=True)
        if "P5" in only:
            e_data = work / "scale"
            euca, moto = start_eucalite(e_data), start_moto(work)
            try:
                res = scale.run(euca, e_data, moto, work, int(cfg["scale_rounds"]))
                results += res
                for r in res:
                    print(r.line(), flush=True)
            finally:
                euca.stop()
                moto.stop()
        if "P6" in only:
            results += policy.run(int(cfg["policy_rounds"]))
            print(results[-1].line(), flush=True)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    order = {p: i for i, p in enumerate(("P1", "P2", "P3", "P4", "P4b", "P5", "P6"))}
    results.sort(key=lambda r: order.get(r.pid, 99))
    print("\n" + "\n".join(r.line() for r in results))
    print(f"({elapsed:.0f} s)")
    if profiler is not None:
        print()
        profiler.report()
    if profiler is not None and not args.no_write:
        print("not writing BENCHMARKS.md: py-spy shared the client core during this run")
    elif not args.no_write:
        command = "python " + " ".join(shlex.quote(a) for a in ["scripts/bench.py", *(argv or sys.argv[1:])])
        cores = [f"Cores: servers under test pinned to core {SERVER_CPU} (one process each, alone on it); wrk "
                 f"(1 thread, {throughput.CONNECTIONS} connections; 1 connection for p50) and the orchestrator "
                 f"pinned to core {CLIENT_CPU}. Rounds: {int(cfg['rounds'])} x {cfg['seconds']:g} s per server "
                 f"for P1/P3, {int(cfg['startup_rounds'])} starts each for P2, {int(cfg['scale_rounds'])} for P5; "
                 "medians reported, peers alternating."]
        report.update_markdown(args.markdown, report.run_block(command, header, cores, results, elapsed))
        print(f"wrote {args.markdown}")
    return 0 if all(r.verdict != "FAIL" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
