"""`eucalite` command line: up, env, ops, and the admin commands other modules add."""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eucalite.config import Settings, SettingsError, load_settings, parse_duration
from eucalite.endpoint import record_endpoint


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="state directory (default: $EUCALITE_HOME or ~/.eucalite)")


def _settings(args: argparse.Namespace, running: bool = True, **extra: Any) -> Settings:
    return load_settings({"data_dir": args.data_dir, **extra}, running=running)


def setup_logging(settings: Settings, to_stderr: bool) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    root = logging.getLogger()
    root.setLevel(settings.log_level)
    file_handler = logging.FileHandler(settings.data_dir / "eucalite.log")
    file_handler.setFormatter(fmt)
    root.addHandler(file_handler)
    if to_stderr:
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(fmt)
        root.addHandler(err)


@contextlib.contextmanager
def _without_numpy() -> Iterator[None]:
    """sqlite-utils imports numpy and pandas at its own import whenever they are installed, only to map
    their scalar types to column types; eucalite never stores numpy values, and numpy's import was ~100 ms
    of `eucalite up`'s start. While the server's modules are imported the two read as absent (an
    ImportError, which sqlite-utils expects); afterwards they import normally again."""
    hidden = [m for m in ("numpy", "pandas") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for m in hidden:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]


def cmd_up(args: argparse.Namespace) -> int:
    import uvicorn

    with _without_numpy():
        from eucalite.app import build_app
        from eucalite.bootstrap import bootstrap
        from eucalite.cloud import Cloud

    overrides: dict[str, Any] = {
        "host": args.host, "port": args.port, "driver": args.driver,
        "credential_ttl": args.credential_ttl,
        "test_mode": True if args.test_mode else None,
        "seed_credentials": tuple(args.seed_credentials) if args.seed_credentials else None,
    }
    settings = _settings(args, running=False, **overrides)
    headless = args.no_tui or not sys.stdout.isatty()
    problem = _port_problem(settings.host, settings.port)
    if problem:
        # Before anything is recorded: a second `up` must not overwrite the running cloud's endpoint.json.
        print(f"eucalite: cannot listen on {settings.host}:{settings.port}: {problem} "
              "(another eucalite? choose another --port)", file=sys.stderr)
        return 1
    setup_logging(settings, to_stderr=headless)
    cloud = Cloud(settings)
    bootstrap(cloud)
    record_endpoint(settings)
    app = build_app(cloud)
    log = logging.getLogger("eucalite")
    log.info("eucalite %s listening on %s (data dir %s, driver %s)", _version(), settings.endpoint_url,
             settings.data_dir, settings.driver)
    log.info('point clients at it: eval "$(eucalite env --data-dir %s)"', shlex.quote(str(settings.data_dir)))
    if settings.test_mode:
        log.warning("TEST MODE: seeded keys, any signing region, /moto-api/reset and a movable clock are enabled")
    # Keep idle connections for a minute, as AWS endpoints do, not uvicorn's 5 s: at 5 s a client whose
    # pool also expires idle connections at 5 s (httpx's default) races the close and sees a reset.
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            access_log=False, lifespan="on", log_config=None, timeout_keep_alive=60)
    server = uvicorn.Server(config)
    if headless:
        server.run()
        return 0
    from eucalite.tui.app import run_dashboard

    return run_dashboard(cloud, server)


def _port_problem(host: str, port: int) -> str:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return ""


def cmd_env(args: argparse.Namespace) -> int:
    from eucalite.bootstrap import admin_key
    from eucalite.cloud import Cloud

    settings = _settings(args)
    if not settings.db_path.exists():
        print(f"eucalite: no cloud in {settings.data_dir}; start one with `eucalite up`", file=sys.stderr)
        return 1
    cloud = Cloud(settings)
    if cloud.identities.account_by_name(args.account) is None:
        print(f"eucalite: no account {args.account} in {settings.data_dir} (aws iam list-accounts lists them)",
              file=sys.stderr)
        return 1
    key = admin_key(cloud, args.account, args.user)
    if key is None:
        print(f"eucalite: no active key for user {args.user} in account {args.account}", file=sys.stderr)
        return 1
    exports = {
        "AWS_ACCESS_KEY_ID": key.id,
        "AWS_SECRET_ACCESS_KEY": key.secret,
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "AWS_DEFAULT_REGION": settings.region,
        # botocore reads the Eucalyptus extras (CreateAccount, ...) from here.
        "AWS_DATA_PATH": str(settings.data_dir / "models"),
    }
    print("unset AWS_SESSION_TOKEN AWS_PROFILE")
    for k, v in exports.items():
        print(f"export {k}={shlex.quote(v)}")
    return 0


def cmd_ops(args: argparse.Namespace) -> int:
    from eucalite import services
    from eucalite.services.registry import REGISTRY

    services.load_all()
    for (svc, name), op in sorted(REGISTRY.items()):
        print(f"{svc:4} {name:45} {op.action}")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eucalite")
    except PackageNotFoundError:
        return "dev"


BUILTIN_COMMANDS = frozenset({"up", "env", "ops"})


def build_parser(with_extras: bool = True) -> argparse.ArgumentParser:
    """The whole CLI; ``with_extras=False`` leaves out the sub-commands of ``commands.COMMAND_MODULES``
    (importing them imports the packages they live in, e.g. every EC2 module for `image`), which
    `main` does when the command is one of the built-in ones and they cannot matter."""
    parser = argparse.ArgumentParser(prog="eucalite", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the cloud (API, metadata service, nodes, dashboard)")
    _common(up)
    up.add_argument("--host")
    up.add_argument("--port", type=int, help="port to listen on (1-65535; default 8773)")
    up.add_argument("--driver", choices=["memory", "libvirt"])
    up.add_argument("--no-tui", action="store_true", help="run headless, logging to stderr")
    up.add_argument("--credential-ttl", type=_duration,
                    help="instance credential lifetime, 60 s to 12 h, e.g. 2m, 1h")
    up.add_argument("--test-mode", action="store_true", help="moto-compatible test-suite mode (see README)")
    up.add_argument("--seed-credentials", action="append", metavar="KEY:SECRET[:ACCOUNT]")
    up.set_defaults(func=cmd_up)

    env = sub.add_parser("env", help="print shell exports for a user's credentials")
    _common(env)
    env.add_argument("--account", default="eucalyptus")
    env.add_argument("--user", default="admin")
    env.set_defaults(func=cmd_env)

    ops = sub.add_parser("ops", help="list implemented operations and their IAM actions")
    ops.set_defaults(func=cmd_ops)

    if with_extras:
        from eucalite import commands

        commands.register_all(sub, _common)
    return parser


def _duration(text: str) -> int:
    # The range (credential_ttl: 60 s to 12 h) is checked with the other settings, in config.py.
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    # `eucalite up ...`: the first word names a built-in command, so the other sub-commands' modules
    # (and the services they import) are not needed to parse it; `up` imports what it serves itself.
    args = build_parser(with_extras=not (words and words[0] in BUILTIN_COMMANDS)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:  # a bad settings.toml, EUCALITE_* variable or flag value: one line
        print(f"eucalite: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `eucalite ... | head`: the reader is gone, so is any point in writing
        _discard_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by it


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError."""
    import os

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
