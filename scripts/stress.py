#!/usr/bin/env python3
"""Reliability and security stress run for eucalite (issue 11): R1-R8, each printed as

    R<n> <name> attempts=<n> failures=<n> PASS|FAIL

`--quick` finishes in under ten minutes; without it every figure is at full size (R1 >= 50,000 requests,
R6 >= 50,000 fuzz cases). The same checks run at CI size in tests/reliability/.

    python scripts/stress.py --quick              # all of R1-R8
    python scripts/stress.py --only R1,R6         # some of them
    python scripts/stress.py --guests             # R5 also kills eucalite under running libvirt guests
    python scripts/stress.py --json out.json      # the figures, machine-readable
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability import (  # noqa: E402
    r1_auth,
    r2_policy,
    r3_cross_account,
    r4_metadata,
    r5_crash,
    r6_fuzz,
    r7_load,
    r8_secrets,
)
from tests.reliability.harness import Result, in_process  # noqa: E402

SIZES: dict[str, tuple[Any, Any]] = {
    #            quick    full
    "r1": (10_000, 50_000),  # mutated requests
    "r2": (200, 2_000),  # examples per property
    "r3": (None, None),  # request sets per operation (None: all)
    "r4": (3, 10),  # rounds of every attack
    "r5": (4, 10),  # kill -9 cycles
    "r6": (10_000, 50_000),  # fuzz cases
    "r7": (60, 120),  # seconds of 100 clients
}


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    try:
        load = ", load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return f"{platform.node()}: {platform.system()} {platform.release()}, {cpus} CPUs{mem}{load}, " \
           f"Python {platform.python_version()}"


def r5_guests(work: Path) -> Result:
    """The libvirt half of R5: running guests survive kill -9 of eucalite and are re-adopted."""
    result = Result("R5g", "kill-9-libvirt-readoption")
    try:
        import libvirt  # noqa: F401
    except ImportError as exc:
        result.skipped = f"libvirt-python not installed: {exc}"
        return result
    from tests.reliability import r5_guests as guests

    return guests.run(work, result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the under-ten-minutes sizes")
    parser.add_argument("--guests", action="store_true", help="R5 also checks libvirt guest re-adoption")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. R1,R6")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    size = {k: v[0] if args.quick else v[1] for k, v in SIZES.items()}
    wanted = {x.strip().upper() for x in args.only.split(",") if x.strip()}
    work = Path(tempfile.mkdtemp(prefix="eucalite-stress-"))
    print(f"# eucalite stress ({'quick' if args.quick else 'full'}) on {machine()}", flush=True)
    print(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)

    def in_app(fn: Callable[..., Result]) -> Callable[[], Result]:
        def run() -> Result:
            with in_process() as cloud:
                return fn(cloud)
        return run

    checks: list[tuple[str, Callable[[], Result]]] = [
        ("R1", in_app(lambda c: r1_auth.run(c, size["r1"], seed=args.seed))),
        ("R2", lambda: r2_policy.run(size["r2"])),
        ("R3", in_app(lambda c: r3_cross_account.run(c, size["r3"]))),
        ("R4", in_app(lambda c: r4_metadata.run(c, rounds=size["r4"], seed=args.seed))),
        ("R5", lambda: r5_crash.run(work / "r5", cycles=size["r5"], seed=args.seed)),
        ("R6", in_app(lambda c: r6_fuzz.run(c, size["r6"], seed=args.seed))),
        ("R7", lambda: r7_load.run(work / "r7", clients=100, seconds=size["r7"], ttl="4s")),
        ("R8", lambda: r8_secrets.run(work / "r8")),
    ]
    results: list[tuple[Result, float]] = []
    started = time.time()
    for rid, check in checks:
        if wanted and rid not in wanted:
            continue
        t0 = time.time()
        try:
            result = check()
        except Exception as exc:  # a broken check is a failure, not a crash of the whole run
            result = Result(rid, "crashed")
            result.fail(f"{type(exc).__name__}: {exc}")
        results.append((result, time.time() - t0))
        print(result.report(), flush=True)
        print(f"  took {time.time() - t0:.0f} s", flush=True)
        if rid == "R5" and (not wanted or "R5" in wanted):
            if args.guests:
                (work / "r5g").mkdir(exist_ok=True)
                t0 = time.time()
                guest = r5_guests(work / "r5g")
            else:
                guest = Result("R5g", "kill-9-libvirt-readoption",
                               skipped="needs --guests (real libvirt guests); the memory driver part ran above")
            results.append((guest, time.time() - t0))
            print(guest.report(), flush=True)
    total = time.time() - started
    print(f"# {len(results)} checks in {total:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "quick": args.quick, "seconds": round(total),
                                         "command": " ".join(sys.argv),
                                         "results": [{**asdict(r), "line": r.line(), "seconds": round(s)}
                                                     for r, s in results]}, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.passed or r.skipped for r, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
