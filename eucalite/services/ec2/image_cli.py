"""`eucalite image import`: register kernel/ramdisk(/disk) files as the cloud admin's images.

Writes through the store directly, so it works with or without a running server (SQLite WAL lets the
server and this command share the database), but only into a data dir that has a cloud already.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def cmd_import(args: argparse.Namespace) -> int:
    from eucalite.bootstrap import ensure_account
    from eucalite.clock import iso8601
    from eucalite.cloud import Cloud
    from eucalite.config import load_settings
    from eucalite.errors import ServiceError
    from eucalite.identity import CLOUD_ADMIN_ACCOUNT
    from eucalite.services.ec2.images import import_files

    files = {"kernel": args.kernel, "ramdisk": args.ramdisk, "disk": args.disk}
    for label, path in files.items():
        if path is not None and not path.is_file():
            print(f"eucalite: {label} {path} is not a file", file=sys.stderr)
            return 2
    settings = load_settings({"data_dir": args.data_dir})
    if not settings.db_path.exists():
        # As `eucalite env` and `metadata-url`: a mistyped --data-dir must not become a new, empty cloud.
        # (`eucalite image build` does create one, so that scripts/setup.sh can register images first.)
        print(f"eucalite: no cloud in {settings.data_dir}; start one with `eucalite up`", file=sys.stderr)
        return 1
    cloud = Cloud(settings)
    try:
        account, _, _ = ensure_account(cloud, CLOUD_ADMIN_ACCOUNT)
        try:
            rows = import_files(cloud.store, settings.data_dir / "images", account["id"], args.name, args.kernel,
                                args.ramdisk, args.disk, iso8601(cloud.clock.now()), public=not args.private,
                                cmdline=args.cmdline or "")
        except ServiceError as err:
            print(f"eucalite: {err.message}", file=sys.stderr)
            return 1
    finally:
        cloud.close()
    for row in rows:
        print(f"IMAGE\t{row['id']}\t{row['kind']}\t{row['name']}")
    return 0


def register(sub: Any, add_common: Any) -> None:
    image = sub.add_parser("image", help="manage images")
    image_sub = image.add_subparsers(dest="image_command", required=True)
    imp = image_sub.add_parser("import", help="register kernel, ramdisk (and disk) files as the cloud admin's "
                                              "eki-/eri-/emi- images and print their ids")
    add_common(imp)
    imp.add_argument("--kernel", type=Path, required=True)
    imp.add_argument("--ramdisk", type=Path, required=True)
    imp.add_argument("--disk", type=Path, help="qcow2 base disk (optional)")
    imp.add_argument("--name", required=True)
    imp.add_argument("--cmdline", help="kernel command line for instances of the machine image")
    imp.add_argument("--private", action="store_true", help="do not make the images public (launch permission all)")
    imp.set_defaults(func=cmd_import)
    from eucalite.images.cli import register as register_build

    register_build(image_sub, add_common)
