"""`eucalite tui`: attach the dashboard to a running eucalite through its admin view."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable


def cmd_tui(args: argparse.Namespace) -> int:
    from eucalite.tui.app import EucaliteDashboard
    from eucalite.tui.sources import RemoteSource

    if args.url:
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            print("eucalite tui --url needs the cloud admin's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                  '(eval "$(eucalite env)" on the cloud host)', file=sys.stderr)
            return 1
        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "eucalite-1"
        source = RemoteSource(args.url, key, secret, region, os.environ.get("AWS_SESSION_TOKEN") or None)
    else:
        from eucalite.bootstrap import admin_key
        from eucalite.cloud import Cloud
        from eucalite.config import load_settings

        settings = load_settings({"data_dir": args.data_dir})
        if not settings.db_path.exists():
            print(f"eucalite: no cloud in {settings.data_dir}; start one with `eucalite up`", file=sys.stderr)
            return 1
        cloud = Cloud(settings)
        try:
            admin = admin_key(cloud)
        finally:
            cloud.close()
        if admin is None:
            print("eucalite: the cloud administrator has no active access key", file=sys.stderr)
            return 1
        source = RemoteSource(settings.endpoint_url, admin.id, admin.secret, settings.region)
    return int(EucaliteDashboard(source, poll_interval=args.interval).run() or 0)


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tui", help="attach the dashboard to a running eucalite (cloud admin only)")
    common(p)
    p.add_argument("--url", help="endpoint of a remote eucalite; keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes (default 1)")
    p.set_defaults(func=cmd_tui)
