"""`python -m eucalite.images tiny|debian [--out DIR] [--cache DIR]`: build a guest image.

Without --out this is `eucalite image build --no-register`: the build lands in the shared build cache
(eucalite/images/store.py). With --out the recipe runs into that directory, uncached.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eucalite.images import BuildError
from eucalite.images.store import BUILDERS, ensure_built, sources_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eucalite.images", description=__doc__)
    parser.add_argument("image", choices=sorted(BUILDERS))
    parser.add_argument("--out", type=Path, help="build into this directory instead of the build cache")
    parser.add_argument("--cache", type=Path, help="cache root (default: see eucalite/images/store.py)")
    args = parser.parse_args(argv)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {args.image}: {message}", flush=True)

    try:
        if args.out:
            built = BUILDERS[args.image](args.out, sources_dir(args.cache), progress)
        else:
            built = ensure_built(args.image, progress, root=args.cache)
    except BuildError as exc:
        print(f"{args.image}: build failed: {exc}", file=sys.stderr)
        return 1
    for name, digest in sorted(built.checksums.items()):
        print(f"{digest}  {built.kernel.parent / name}")
    print(f"kernel cmdline: {built.kernel_cmdline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
