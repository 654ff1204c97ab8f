"""`eucalite image build tiny|debian`: build a guest image (cached) and register it as emi/eki/eri.

The registration is the cloud admin's, public, named `<image>-<first 12 hex of the build digest>`;
the full digest (sha256 over the build's checksums.txt and kernel command line) is the machine image's
description. Building an unchanged image again finds that name and prints the ids it already has.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from eucalite.images.artifacts import BuiltImage

DESCRIPTION_PREFIX = "eucalite image build, sha256:"


def registered(store: Any, account_id: str, name: str) -> list[dict[str, Any]] | None:
    """[kernel, ramdisk, machine] rows of an earlier registration of this build, or None."""
    machine = store.one("select * from images where account_id = ? and name = ? and kind = 'machine'",
                        [account_id, name])
    if machine is None:
        return None
    parts = [store.one("select * from images where id = ?", [i]) for i in (machine["kernel_id"], machine["ramdisk_id"])]
    if any(p is None for p in parts):
        return None
    return [*parts, machine]  # type: ignore[list-item]


def register_built(cloud: Any, image: str, built: BuiltImage) -> tuple[list[dict[str, Any]], bool]:
    """Register ``built`` for the cloud admin; (rows, created). Idempotent by build digest."""
    from eucalite.bootstrap import ensure_account
    from eucalite.clock import iso8601
    from eucalite.identity import CLOUD_ADMIN_ACCOUNT
    from eucalite.images.store import build_digest
    from eucalite.services.ec2.images import import_files

    digest = build_digest(built)
    name = f"{image}-{digest[:12]}"
    account, _, _ = ensure_account(cloud, CLOUD_ADMIN_ACCOUNT)
    earlier = registered(cloud.store, account["id"], name)
    if earlier is not None:
        return earlier, False
    rows = import_files(cloud.store, cloud.settings.data_dir / "images", account["id"], name, built.kernel,
                        built.ramdisk, built.disk, iso8601(cloud.clock.now()), public=True,
                        cmdline=built.kernel_cmdline, link=True)
    machine = rows[-1]
    with cloud.store.transaction() as db:
        db.table("images").update(machine["id"], {"description": DESCRIPTION_PREFIX + digest})
    machine["description"] = DESCRIPTION_PREFIX + digest
    return rows, True


def cmd_build(args: argparse.Namespace) -> int:
    from eucalite.cloud import Cloud
    from eucalite.config import load_settings
    from eucalite.errors import ServiceError
    from eucalite.images import BuildError
    from eucalite.images.store import ensure_built

    started = time.monotonic()
    # Before a build that can take minutes: a bad settings.toml is reported at once.
    settings = None if args.no_register else load_settings({"data_dir": args.data_dir})

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {args.image}: {message}", flush=True)

    try:
        built = ensure_built(args.image, progress, root=args.cache, rebuild=args.rebuild)
    except BuildError as exc:
        print(f"eucalite: building {args.image} failed: {exc}", file=sys.stderr)
        return 1
    for name, digest in sorted(built.checksums.items()):
        print(f"{digest}  {built.kernel.parent / name}")
    if settings is None:
        return 0
    if not settings.db_path.exists():
        # Unlike `eucalite image import`, build makes the cloud when there is none yet: scripts/setup.sh
        # builds and registers the images on a fresh machine before anyone ran `eucalite up`.
        progress(f"no cloud in {settings.data_dir} yet: creating it to register the image in "
                 "(`eucalite up` starts it)")
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cloud = Cloud(settings)
    try:
        rows, created = register_built(cloud, args.image, built)
    except ServiceError as err:
        print(f"eucalite: {err.message}", file=sys.stderr)
        return 1
    finally:
        cloud.close()
    progress(("registered" if created else "already registered") + f" in {settings.data_dir}")
    for row in rows:
        print(f"IMAGE\t{row['id']}\t{row['kind']}\t{row['name']}")
    return 0


def register(image_sub: Any, add_common: Any) -> None:
    build = image_sub.add_parser("build", help="build a guest image (tiny or debian; cached) and register it as the "
                                               "cloud admin's emi-/eki-/eri- images")
    add_common(build)
    build.add_argument("image", choices=["tiny", "debian"])
    build.add_argument("--cache", type=Path, help="build cache (default $EUCALITE_IMAGE_CACHE, /var/cache/eucalite "
                                                  "as root, else ~/.cache/eucalite)")
    build.add_argument("--rebuild", action="store_true", help="build again even when the cached build is intact")
    build.add_argument("--no-register", action="store_true", help="only build")
    build.set_defaults(func=cmd_build)
