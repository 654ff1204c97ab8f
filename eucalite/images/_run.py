"""Subprocess helper shared by the image builders: fail loudly with the tool's own stderr."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


class BuildError(RuntimeError):
    """An image build step failed; the message names the command and quotes its error output."""


def run(cmd: Sequence[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    args = [str(c) for c in cmd]
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BuildError(f"{args[0]} not found; run scripts/setup-host.sh first") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BuildError(f"{' '.join(args)} exited {done.returncode}:\n{tail}")
    return done.stdout
