"""`python -m eucalite.images tiny|debian [--out DIR] [--cache DIR]`: build a guest image."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eucalite.images import BuildError, build_debian, build_tiny

BUILDERS = {"tiny": build_tiny, "debian": build_debian}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eucalite.images", description=__doc__)
    parser.add_argument("image", choices=sorted(BUILDERS))
    parser.add_argument("--out", type=Path, help="output directory (default images/<image>/build)")
    parser.add_argument("--cache", type=Path, default=Path("images/cache"), help="downloads and rootfs cache")
    args = parser.parse_args(argv)
    out = args.out or Path("images") / args.image / "build"
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {args.image}: {message}", flush=True)

    try:
        built = BUILDERS[args.image](out, args.cache, progress)
    except BuildError as exc:
        print(f"{args.image}: build failed: {exc}", file=sys.stderr)
        return 1
    for name, digest in sorted(built.checksums.items()):
        print(f"{digest}  {out / name}")
    print(f"kernel cmdline: {built.kernel_cmdline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
