"""P4/P4b: RunInstances until the guest has used its role credentials (seen on its console), real guests
under libvirt. Only with --guests, and only where libvirt and built images exist: otherwise SKIPPED with the
reason, never a made-up number."""

from __future__ import annotations

import base64
import importlib.util
import re
import time
from pathlib import Path

from benchkit.report import Result, skipped, verdict
from benchkit.scenario import ROLE_POLICY, call, eucalite_admin, tag
from benchkit.servers import start_eucalite

GOALS = {"tiny": ("P4", "tiny-guest-run-to-role-credentials", 5.0),
         "debian": ("P4b", "debian-guest-run-to-role-credentials", 45.0)}
# What each image prints once it has called the cloud's API with the role's credentials.
MARKERS = {"tiny": r"EUCALITE-DAZ zones=", "debian": r"EUCALITE-AWS-DAZ rc=0"}


def missing(kind: str, enabled: bool) -> str | None:
    if not enabled:
        return "needs --guests"
    if importlib.util.find_spec("libvirt") is None:
        return "libvirt-python is not installed (scripts/setup-host.sh)"
    from eucalite.demo.cloud import find_built

    if find_built(kind) is None:
        return f"no intact build of the {kind} image (eucalite image build {kind})"
    try:
        import libvirt

        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        libvirt.open("qemu:///system").close()
    except Exception as exc:
        return f"libvirt unreachable: {exc}"
    return None


def run_one(kind: str, work: Path, timeout: float) -> float:
    import subprocess
    import sys

    from eucalite.demo.cloud import find_built
    from eucalite.demo.scenario import DEBIAN_USER_DATA

    built = find_built(kind)
    assert built is not None
    data = Path("/var/tmp") / f"eucalite-bench-{kind}-{time.time_ns()}"  # QEMU (libvirt-qemu) must reach it
    data.mkdir(parents=True)
    data.chmod(0o755)
    server = start_eucalite(data, "--driver", "libvirt")
    try:
        args = [sys.executable, "-m", "eucalite", "image", "import", "--kernel", str(built.kernel), "--ramdisk",
                str(built.ramdisk), "--name", f"bench-{kind}", "--cmdline", built.kernel_cmdline,
                "--data-dir", str(data)]
        if built.disk is not None:
            args += ["--disk", str(built.disk)]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        image_id = next(w for w in out.split() if w.startswith("emi-"))
        admin = eucalite_admin(server, data)
        call(admin, "iam", "CreateRole", {"RoleName": "bench-guest", "AssumeRolePolicyDocument":
             '{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'})
        call(admin, "iam", "PutRolePolicy", {"RoleName": "bench-guest", "PolicyName": "az",
                                              "PolicyDocument": ROLE_POLICY})
        body = call(admin, "iam", "CreateInstanceProfile", {"InstanceProfileName": "bench-guest"})
        profile_arn = tag(body, "Arn")[0]
        call(admin, "iam", "AddRoleToInstanceProfile", {"InstanceProfileName": "bench-guest",
                                                         "RoleName": "bench-guest"})
        t0 = time.perf_counter()
        params = {"ImageId": image_id, "MinCount": 1, "MaxCount": 1,
                  "InstanceType": "m1.small" if kind == "tiny" else "m1.xlarge",
                  "IamInstanceProfile": {"Arn": profile_arn}}
        if kind == "debian":  # the walkthrough's script: role credentials, then the aws CLI, on the console
            params["UserData"] = base64.b64encode(DEBIAN_USER_DATA.format(image_id=image_id).encode()).decode()
        body = call(admin, "ec2", "RunInstances", params)
        iid = tag(body, "instanceId")[0]
        try:
            while time.perf_counter() - t0 < timeout:
                out_xml = call(admin, "ec2", "GetConsoleOutput", {"InstanceId": iid})
                text = base64.b64decode((tag(out_xml, "output") or [""])[0] or b"").decode(errors="replace")
                if re.search(MARKERS[kind], text):
                    return time.perf_counter() - t0
                time.sleep(0.2)
            raise RuntimeError(f"{kind} guest never printed {MARKERS[kind]!r} within {timeout:.0f}s")
        finally:
            call(admin, "ec2", "TerminateInstances", {"InstanceId": [iid]})
    finally:
        server.stop()


def run(enabled: bool, work: Path) -> list[Result]:
    out = []
    for kind, (pid, name, goal) in GOALS.items():
        reason = missing(kind, enabled)
        if reason:
            out.append(skipped(pid, name, f"<{goal:g}s", reason))
            continue
        try:
            secs = run_one(kind, work, timeout=goal * 20)
        except Exception as exc:
            print(f"  {pid} failed: {exc}", flush=True)
            out.append(Result(pid, name, "error", "-", "-", f"<{goal:g}s", "FAIL", str(exc)))
            continue
        print(f"  {pid} {kind}: {secs:.1f} s", flush=True)
        out.append(Result(pid, name, f"{secs:.1f}s", "-", "-", f"<{goal:g}s", verdict(secs < goal)))
    return out
