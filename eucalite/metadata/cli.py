"""`eucalite metadata-url INSTANCE_ID` and `eucalite identity-cert`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from eucalite.config import load_settings


def _open_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from eucalite.cloud import Cloud

    settings = load_settings({"data_dir": args.data_dir})
    if not settings.db_path.exists():
        print(f"eucalite: no cloud in {settings.data_dir}", file=sys.stderr)
        return None
    return Cloud(settings)


def cmd_metadata_url(args: argparse.Namespace) -> int:
    cloud = _open_store(args)
    if cloud is None:
        return 1
    row = cloud.store.one("select state, metadata_port from instances where id = ?", [args.instance_id]) \
        if "instances" in cloud.store.db.table_names() else None
    if row is None:
        print(f"eucalite: no instance {args.instance_id} in {cloud.settings.data_dir}", file=sys.stderr)
        return 1
    if not row["metadata_port"] or row["state"] == "terminated":
        print(f"eucalite: instance {args.instance_id} has no metadata channel (state {row['state']})",
              file=sys.stderr)
        return 1
    print(f"http://127.0.0.1:{row['metadata_port']}")
    return 0


def cmd_identity_cert(args: argparse.Namespace) -> int:
    settings = load_settings({"data_dir": args.data_dir})
    cert = settings.data_dir / "identity-cert.pem"
    if not cert.exists():
        print("eucalite: no identity certificate yet; it is made when `eucalite up` first starts", file=sys.stderr)
        return 1
    sys.stdout.write(cert.read_text())
    return 0


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("metadata-url", help="the host-side URL of an instance's metadata service")
    common(p)
    p.add_argument("instance_id")
    p.set_defaults(func=cmd_metadata_url)
    c = sub.add_parser("identity-cert", help="print the certificate instance identity documents are signed with")
    common(c)
    c.set_defaults(func=cmd_identity_cert)
