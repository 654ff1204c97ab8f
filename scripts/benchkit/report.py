"""Result lines, the machine description, and the BENCHMARKS.md run block."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

BEGIN, END = "<!-- bench:run -->", "<!-- /bench:run -->"


@dataclass(frozen=True)
class Result:
    pid: str  # "P1"
    name: str
    eucalite: str
    peer: str
    ratio: str
    goal: str
    verdict: str  # PASS | FAIL | SKIPPED
    note: str = ""

    def line(self) -> str:
        text = (f"{self.pid} {self.name} eucalite={self.eucalite} peer={self.peer} ratio={self.ratio} "
                f"goal={self.goal} {self.verdict}")
        return f"{text} ({self.note})" if self.note and self.verdict == "SKIPPED" else text


def skipped(pid: str, name: str, goal: str, reason: str) -> Result:
    return Result(pid, name, "-", "-", "-", goal, "SKIPPED", reason)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def fmt_ratio(x: float) -> str:
    return f"{x:.1f}x" if x == x else "-"


# -- machine ------------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def accel() -> str:
    """What guests would run under: KVM needs /dev/kvm usable and vmx/svm exposed to this machine."""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    virt = re.search(r"\b(vmx|svm)\b", flags) is not None
    usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
    if virt and usable:
        return "KVM"
    why = "no vmx/svm CPU flag" if not virt else "/dev/kvm not usable"
    return f"TCG ({why})"


def tool_version(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        return "absent"
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def git_commit(repo: Path) -> str:
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--",
                            "eucalite"], capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + (" (+ uncommitted changes under eucalite/)" if dirty else "")


def machine(repo: Path) -> list[str]:
    from importlib.metadata import version

    load = os.getloadavg()
    return [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {os.cpu_count()} cores, {cpu_model()}, guests under {accel()}; "
        f"{platform.system()} {platform.release()}; load average at start {load[0]:.2f}",
        f"- python {platform.python_version()}, eucalite {git_commit(repo)}, moto {version('moto')}, "
        f"{tool_version(['wrk', '-v'])}",
    ]


# -- BENCHMARKS.md ------------------------------------------------------------------------------------------
def run_block(command: str, header: list[str], plan: list[str], results: list[Result], elapsed: float) -> str:
    lines = [BEGIN, "", "### Latest run", "", *header, "", "Command:", "", "```sh", command, "```", "",
             *plan, "", "```", *[r.line() for r in results], "```", "",
             f"Wall time of the run: {elapsed:.0f} s.", "", END]
    return "\n".join(lines)


def update_markdown(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
