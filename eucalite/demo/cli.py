"""`eucalite demo [--image tiny|debian] [--data-dir DIR] [--driver libvirt|memory]`."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
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


def run_demo(args: argparse.Namespace, printer: Printer) -> int:
    from eucalite.demo import scenario
    from eucalite.demo.cloud import choose
    from eucalite.demo.runner import Runner, StepFailed

    p = printer
    p.line(p.bold("eucalite demo: the Eucalyptus 3.4 instance-profile walkthrough, with the aws CLI"))
    try:
        target = choose(args.data_dir, args.driver, args.image)
    except RuntimeError as exc:
        p.fail(str(exc))
        return 2
    guest = "metadata" if target.driver == "memory" else args.image
    p.comment(f"cloud: {target.url}, data dir {target.data_dir}"
              + (" (started by the demo, stopped at the end)" if target.proc else " (already running)"))
    p.comment(f"node driver: {target.why}")
    workdir = Path(tempfile.mkdtemp(prefix="eucalite-demo-work-"))
    from eucalite.config import default_data_dir

    runner = Runner(p, target.data_dir, workdir, {}, show_data_dir=target.data_dir != default_data_dir())
    try:
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
    except Exception as exc:  # a bug in the demo itself: still clean up and report
        p.fail(f"the demo broke: {exc!r}")
    finally:
        _finish(runner, target, workdir, p)
    p.summary(runner.held, runner.failures)
    return 0 if all(runner.held.values()) else 1


def _finish(runner: Runner, target: Target, workdir: Path, p: Printer) -> None:
    from eucalite.demo import scenario
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
            p.comment(f"stopping the eucalite the demo started (pid {target.proc.pid})")
        target.stop(keep=False)
        shutil.rmtree(workdir, ignore_errors=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from eucalite.demo.output import Printer

    return run_demo(args, Printer(sys.stdout))


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the Eucalyptus 3.4 instance-profile walkthrough end to end")
    common(p)
    p.add_argument("--image", choices=["tiny", "debian"], default="tiny",
                   help="guest image under libvirt (default tiny; debian runs cloud-init and the real aws CLI)")
    p.add_argument("--driver", choices=["libvirt", "memory"],
                   help="node driver of the cloud the demo starts (default: libvirt when it works here)")
    p.add_argument("--account", default="account1", help="account to create (default account1)")
    p.set_defaults(func=cmd_demo)

