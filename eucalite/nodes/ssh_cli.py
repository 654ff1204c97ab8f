"""`eucalite ssh INSTANCE_ID`: SSH into a guest through its forwarded loopback port.

A guest's port 22 is forwarded from a host loopback port when its security groups allowed tcp/22 at
launch (the libvirt node's hostfwd). The private key is `-i FILE`, or the key pair's material where the
tool that created it saved it: DATA_DIR/keys/<account id>/<key name>.pem or DATA_DIR/keys/<key name>.pem
(eucalite never keeps private keys itself; CreateKeyPair hands the material to the caller only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

DEFAULT_USER = "debian"  # cloud-init's default user on the Debian image


def key_file_for(data_dir: Path, account_id: str, key_name: str) -> Path | None:
    for path in (data_dir / "keys" / account_id / f"{key_name}.pem", data_dir / "keys" / f"{key_name}.pem"):
        if path.is_file():
            return path
    return None


def ssh_command(port: int, key: Path, user: str, extra: list[str]) -> list[str]:
    return ["ssh", "-i", str(key), "-p", str(port), "-o", "IdentitiesOnly=yes",
            # Every instance has fresh host keys behind a reused loopback port: nothing to pin.
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            f"{user}@127.0.0.1", *extra]


def cmd_ssh(args: argparse.Namespace) -> int:
    from eucalite.cloud import Cloud
    from eucalite.config import load_settings

    trailing = getattr(args, "trailing_parser", None)
    if trailing is not None:
        options, args.command = split_trailing(trailing, list(args.command))
        trailing.parse_args(options, namespace=args)
    settings = load_settings({"data_dir": args.data_dir})
    if not settings.db_path.exists():
        print(f"eucalite: no cloud in {settings.data_dir}", file=sys.stderr)
        return 1
    cloud = Cloud(settings)
    try:
        row = cloud.store.one("select * from instances where id = ?", [args.instance_id]) \
            if "instances" in cloud.store.db.table_names() else None
    finally:
        cloud.close()
    if row is None:
        print(f"eucalite: no instance {args.instance_id} in {settings.data_dir}", file=sys.stderr)
        return 1
    if row["state"] != "running":
        print(f"eucalite: {args.instance_id} is {row['state']}, not running", file=sys.stderr)
        return 1
    if not row["ssh_port"]:
        print(f"eucalite: {args.instance_id} has no SSH forwarding: its security groups did not allow tcp/22 "
              "when it was launched (or its node cannot forward ports)", file=sys.stderr)
        return 1
    key = args.identity
    if key is None:
        if not row["key_name"]:
            print(f"eucalite: {args.instance_id} was launched without a key pair; pass -i FILE", file=sys.stderr)
            return 1
        key = key_file_for(settings.data_dir, row["account_id"], row["key_name"])
        if key is None:
            print(f"eucalite: no private key for key pair {row['key_name']!r}: pass -i FILE, or save "
                  f"CreateKeyPair's material as {settings.data_dir / 'keys' / (row['key_name'] + '.pem')} (mode 0600)",
                  file=sys.stderr)
            return 1
    if shutil.which("ssh") is None:
        print("eucalite: ssh is not installed (apt-get install openssh-client)", file=sys.stderr)
        return 1
    cmd = ssh_command(int(row["ssh_port"]), Path(key), args.user, list(args.command))
    if args.print:
        print(" ".join(cmd))
        return 0
    os.execvp(cmd[0], cmd)
    return 127  # not reached


def _add_options(p: argparse.ArgumentParser, add_common: Any, defaults: bool) -> None:
    add_common(p)
    p.add_argument("-i", "--identity", type=Path, help="private key file (default: the key pair's saved material)")
    p.add_argument("-l", "--user", help=f"login name (default {DEFAULT_USER})",
                   default=DEFAULT_USER if defaults else argparse.SUPPRESS)
    p.add_argument("--print", action="store_true", help="print the ssh command instead of running it")


def split_trailing(parser: argparse.ArgumentParser, words: list[str]) -> tuple[list[str], list[str]]:
    """The words after INSTANCE_ID: (eucalite's options, the remote command). As with ssh, options come
    first and the command starts at `--` (dropped) or at the first word that is not an option."""
    takes_value = {o for a in parser._actions if a.nargs != 0 for o in a.option_strings}
    options: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return options, words[i + 1:]
        if not word.startswith("-") or word == "-":
            break
        options.append(word)
        i += 1
        name = word.partition("=")[0]
        # A long option may be abbreviated (--data for --data-dir), as argparse allows.
        if "=" not in word and (name in takes_value or (name.startswith("--") and len(name) > 2 and any(
                o.startswith(name) for o in takes_value if o.startswith("--")))) and i < len(words):
            options.append(words[i])
            i += 1
    return options, words[i:]


def register(sub: Any, add_common: Any) -> None:
    p = sub.add_parser("ssh", help="ssh into an instance through its forwarded port, with its key pair's key",
                       usage="eucalite ssh INSTANCE_ID [options] [-- COMMAND ...]")
    p.add_argument("instance_id")
    _add_options(p, add_common, defaults=True)
    p.add_argument("command", nargs=argparse.REMAINDER, help="command to run in the guest (after `--`, or "
                   "after the options; options go before or after INSTANCE_ID)")
    # Options after INSTANCE_ID land in `command` (REMAINDER takes everything): cmd_ssh parses them with
    # this parser, which sets only what they name (no defaults), over what came before INSTANCE_ID.
    trailing = argparse.ArgumentParser(prog="eucalite ssh INSTANCE_ID", add_help=False,
                                       argument_default=argparse.SUPPRESS)
    _add_options(trailing, add_common, defaults=False)
    p.set_defaults(func=cmd_ssh, trailing_parser=trailing)
