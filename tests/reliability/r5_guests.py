"""R5, libvirt half: a running guest outlives kill -9 of eucalite and is re-adopted on restart.

The scenario lives with the other real-guest tests (tests/vm/test_cloud_libvirt.py, which kills
`eucalite up` under a booted tiny guest, restarts it on the same data dir and checks the guest is still
running, adopted, and served credentials on its channel); this runs it and reports it as a figure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.reliability.harness import Result

ROOT = Path(__file__).resolve().parents[2]
TEST = "tests/vm/test_cloud_libvirt.py"


def run(work: Path, result: Result, repeats: int = 1) -> Result:
    if not (ROOT / TEST).exists():
        result.skipped = f"{TEST} (the real-guest restart scenario) is not in this checkout"
        return result
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-m", "pytest", TEST, "-q", "-rs", "-k", "restart",
                               "-p", "no:cacheprovider", "--basetemp", str(work / "pytest")],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        out = proc.stdout + proc.stderr
        skipped = re.search(r"SKIPPED \[\d+\] [^:]+:\d+: (.*)", out)
        if skipped and "passed" not in out:
            result.skipped = f"no libvirt guests here: {skipped.group(1).strip()}"
            return result
        passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", out)) else 0
        failed = int(m.group(1)) if (m := re.search(r"(\d+) (failed|error)", out)) else 0
        result.attempts += passed + failed
        for _ in range(failed):
            result.fail(out[-1500:])
        if passed + failed == 0:
            result.fail(f"the restart scenario did not run: {out[-800:]}")
    return result
