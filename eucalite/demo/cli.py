"""`eucalite demo [--image tiny|debian] [--data-dir DIR] [--driver libvirt|memory]`."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the demo's modules load when the demo runs, not when the CLI parser is built
    from eucalite.demo.cloud import Target
    from eucalite.demo.output import Printer
    from eucalite.demo.runner import Runner


def _image_facts(image: str, driver: str, workdir: Path) -> dict[str, Any]:
    """The image the walkthrough launches: the built guest image, or (memory driver, nothing built)
    placeholder files, since the memory driver boots nothing."""
    from eucalite.demo.cloud import find_built, image_name
    from eucalite.demo.runner import StepFailed

    built = find_built(image)
    if built is None and driver == "libvirt":
        raise StepFailed(f"the {image} image is not built: eucalite image build {image}")
    if built is None:
        kernel, ramdisk = workdir / "vmlinux-placeholder", workdir / "initrd-placeholder"
        kernel.write_bytes(b"the memory driver boots nothing")
        ramdisk.write_bytes(b"the memory driver boots nothing")
        return {"image_name": "eucalite-placeholder", "image_args": ["--kernel", str(kernel), "--ramdisk",
                                                                     str(ramdisk)]}
    args = ["--kernel", str(built.kernel), "--ramdisk", str(built.ramdisk)]
    if built.disk is not None:
        args += ["--disk", str(built.disk)]
    if built.kernel_cmdline:
        args += ["--cmdline", built.kernel_cmdline]
    return {"image_name": image_name(image, built), "image_args": args}


def _account_name(runner: Runner, wanted: str) -> str:
    """account1 the first time; account1-2, -3, ... when an earlier run left account1 behind."""
    from eucalite.demo import scenario

    listed = runner.execute(scenario.Command(("aws", "iam", "list-accounts"), "cloud-admin"),
                            ["aws", "iam", "list-accounts"])
    taken = {a.get("AccountName") for a in listed.data.get("Accounts", [])} if listed.rc == 0 else set()
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}-{n}"
    return name


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C is: the walkthrough stops, cleans up and stops the cloud it
    started (the default action would end the demo at once and leave that cloud running)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(args: argparse.Namespace, printer: Printer) -> int:
    from eucalite.demo.cloud import choose

    p = printer
    p.line(p.bold("eucalite demo: the Eucalyptus 3.4 instance-profile walkthrough, with the aws CLI"))
    try:
        target = choose(args.data_dir, args.driver, args.image)
    except RuntimeError as exc:
        p.fail(str(exc))
        return 2
    try:
        return _walk(args, p, target)
    finally:
        target.stop(keep=False)  # done in _finish already, unless the demo broke off before it got there


def _walk(args: argparse.Namespace, p: Printer, target: Target) -> int:
    from eucalite.config import default_data_dir
    from eucalite.demo import scenario
    from eucalite.demo.output import OutputClosed
    from eucalite.demo.runner import Runner, StepFailed

    guest = "metadata" if target.driver == "memory" else args.image
    workdir = Path(tempfile.mkdtemp(prefix="eucalite-demo-work-"))
    runner = Runner(p, target.data_dir, workdir, {}, show_data_dir=target.data_dir != default_data_dir())
    try:
        p.comment(f"cloud: {target.url}, data dir {target.data_dir}"
                  + (" (started by the demo, stopped at the end)" if target.proc else " (already running)"))
        p.comment(f"node driver: {target.why}")
        for name, content in scenario.FILES.items():
            (workdir / name).write_text(content + "\n")
        runner.load_env("cloud-admin", "eucalyptus")
        runner.facts.update(_image_facts(args.image, target.driver, workdir))
        runner.facts["account"] = _account_name(runner, args.account)
        if runner.facts["account"] != args.account:
            p.comment(f"{args.account} exists from an earlier run; this run uses {runner.facts['account']}")
        # The Debian guest needs 1 GiB for cloud-init and the aws CLI; Eucalyptus' m1.large has 512 MiB.
        runner.facts["instance_type"] = "m1.xlarge" if guest == "debian" else "m1.large"
        for i, section in enumerate(scenario.sections(guest)):
            if i == 3:  # the image id is known now, and the Debian guest's script names it
                text = scenario.DEBIAN_USER_DATA if guest == "debian" else scenario.USER_DATA
                (workdir / "user-data").write_text(text.replace("{image_id}", runner.facts["image_id"]))
            runner.run_section(section)
    except StepFailed as exc:
        p.fail(str(exc))
    except OutputClosed:
        raise
    except KeyboardInterrupt as exc:
        with contextlib.suppress(OutputClosed):
            p.fail("interrupted" + (f" ({signal.Signals(exc.signum).name})" if isinstance(exc, Terminated) else "")
                   + ": cleaning up")
        raise
    except Exception as exc:  # a bug in the demo itself: still clean up and report
        p.fail(f"the demo broke: {exc!r}")
    finally:
        _finish(runner, target, workdir, p)
    p.summary(runner.held, runner.failures)
    return 0 if all(runner.held.values()) else 1


def _finish(runner: Runner, target: Target, workdir: Path, p: Printer) -> None:
    from eucalite.demo import scenario
    from eucalite.demo.output import OutputClosed
    from eucalite.demo.runner import StepFailed

    try:
        if runner.facts.get("instance_id"):
            p.section("Clean-up")
            for cmd in scenario.cleanup():
                try:
                    runner.run(cmd)
                except StepFailed as exc:
                    p.fail(str(exc))
    finally:
        if target.proc is not None:
            with contextlib.suppress(OutputClosed):  # stopping it matters more than saying so
                p.comment(f"stopping the eucalite the demo started (pid {target.proc.pid})")
        target.stop(keep=False)
        shutil.rmtree(workdir, ignore_errors=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from eucalite.demo.output import OutputClosed, Printer

    with _signals_interrupt():
        try:
            return run_demo(args, Printer(sys.stdout))
        except OutputClosed:  # `eucalite demo | head`: cleaned up; nobody reads a message now
            return 141  # 128 + SIGPIPE, as for any eucalite command writing to a closed pipe
        except Terminated as exc:
            return 128 + exc.signum


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the Eucalyptus 3.4 instance-profile walkthrough end to end")
    common(p)
    p.add_argument("--image", choices=["tiny", "debian"], default="tiny",
                   help="guest image under libvirt (default tiny; debian runs cloud-init and the real aws CLI)")
    p.add_argument("--driver", choices=["libvirt", "memory"],
                   help="node driver of the cloud the demo starts (default: libvirt when it works here)")
    p.add_argument("--account", default="account1", help="account to create (default account1)")
    p.set_defaults(func=cmd_demo)

