"""P3: instance-metadata credential GET, p50 latency (one connection) and throughput (8 connections)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from benchkit.loadgen import RawClient, run_wrk, wrk_script
from benchkit.profile import Profiler
from benchkit.report import Result, fmt_ratio, median, verdict
from benchkit.signing import Signed

CONNECTIONS = 8


def eucalite_metadata_url(data_dir: Path, instance_id: str) -> str:
    return subprocess.run([sys.executable, "-m", "eucalite", "metadata-url", instance_id, "--data-dir",
                           str(data_dir)], capture_output=True, text=True, check=True).stdout.strip()


def credential_get(base_url: str, role: str) -> tuple[str, Signed]:
    parts = urlsplit(base_url)
    path = f"/latest/meta-data/iam/security-credentials/{role}"
    return f"{parts.scheme}://{parts.netloc}", Signed(f"GET {path}", "GET", path, (("Host", parts.netloc),), b"")


def _check(url: str, req: Signed) -> None:
    with RawClient(int(urlsplit(url).port or 80)) as c:
        resp = c.send(req)
    doc = json.loads(resp.body)
    if resp.status != 200 or "AccessKeyId" not in doc:
        raise RuntimeError(f"metadata at {url} answered {resp.status}: {resp.body[:300]!r}")


def run(targets: dict[str, tuple[str, Signed]], rounds: int, seconds: float, work: Path,
        profile: tuple[Profiler, int] | None = None) -> list[Result]:
    """`profile`: a profiler and the eucalite server's pid, recorded during its throughput runs."""
    p50: dict[str, list[float]] = {k: [] for k in targets}
    rps: dict[str, list[float]] = {k: [] for k in targets}
    scripts = {}
    for name, (url, req) in targets.items():
        _check(url, req)
        scripts[name] = wrk_script([req], work)
        run_wrk(url, scripts[name], 1, CONNECTIONS)  # warm-up
    names = list(targets)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            url = targets[name][0]
            lat = run_wrk(url, scripts[name], max(1.0, seconds / 2), 1)
            with (profile[0].record("P3-throughput", profile[1]) if profile and name == "eucalite"
                  else contextlib.nullcontext()):
                thr = run_wrk(url, scripts[name], seconds, CONNECTIONS)
            if lat.status_errors or thr.status_errors:
                raise RuntimeError(f"{name} metadata answered errors under load")
            p50[name].append(lat.p50_ms)
            rps[name].append(thr.rps)
            print(f"  P3 round {r + 1}/{rounds} {name}: p50 {lat.p50_ms:.3f} ms, {thr.rps:.0f} req/s", flush=True)
    ep, mp = median(p50["eucalite"]), median(p50["moto"])
    er, mr = median(rps["eucalite"]), median(rps["moto"])
    return [
        Result("P3", "metadata-credentials-p50", f"{ep:.3f}ms", f"{mp:.3f}ms", fmt_ratio(mp / ep), "<1ms",
               verdict(ep < 1.0)),
        Result("P3", "metadata-credentials-throughput", f"{er:.0f}req/s", f"{mr:.0f}req/s", fmt_ratio(er / mr),
               ">=10x", verdict(er / mr >= 10)),
    ]
