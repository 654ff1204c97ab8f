"""P4/P4b: RunInstances until the guest has used its role credentials (seen on its console), real guests
under libvirt. Only with --guests, and only where libvirt and built images exist: otherwise SKIPPED with the
reason, never a made-up number."""

from __future__ import annotations

import base64
import datetime as dt
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
# Console lines on the way there, for the breakdown printed after each guest (first time each is seen).
MILESTONES = {
    "tiny": [("init runs (PID 1 of the initramfs)", r"EUCALITE-TINY-BOOT"),
             ("network up (DHCP lease)", r"EUCALITE-NET \d"),
             ("first metadata answers (token, instance id)", r"EUCALITE-IMDS instance-id"),
             ("role credentials read", r"EUCALITE-CREDS role=")],
    "debian": [("kernel's first line", r"Linux version"),
               ("initramfs hands over to the root fs", r"Run /init|Freeing unused kernel"),
               ("systemd starts", r"systemd\[1\]|Welcome to"),
               ("cloud-init init-local", r"running 'init-local'"),
               ("cloud-init init (network up, datasource)", r"running 'init' "),
               ("cloud-init modules:config", r"running 'modules:config'"),
               ("cloud-init modules:final", r"running 'modules:final'"),
               ("user data read role credentials", r"EUCALITE-CREDS role=")],
}
_GUEST_CLOCK = re.compile(r"^\[\s*(\d+\.\d+)\]|uptime=(\d+\.\d+)")
LIBVIRT_LOGS = Path("/var/log/libvirt/qemu")
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


class Timeline:
    """When each step between RunInstances and the marker was first seen, relative to RunInstances being
    sent: host times from the polling loop (0.1 s granularity plus a GetConsoleOutput call), the guest's
    own clock (printk stamps, uptime=) where its line carries one, and eucalite.log's request lines."""

    def __init__(self, kind: str, data: Path) -> None:
        self.kind, self.data = kind, data
        self.t0, self.wall0 = time.perf_counter(), time.time()
        self.seen: dict[str, tuple[float, str]] = {}
        self.text = ""

    def mark(self, label: str, line: str = "") -> None:
        if label not in self.seen:
            self.seen[label] = (time.perf_counter() - self.t0, line)

    def console(self, text: str) -> None:
        self.text = text
        marker = ("marker: API called with the role's credentials", MARKERS[self.kind])
        for label, rx in [*MILESTONES[self.kind], marker]:
            if label not in self.seen:
                m = re.search(rf"^.*(?:{rx}).*$", text, re.M)
                if m:
                    self.mark(label, m.group(0))

    def _log_lines(self, iid: str) -> list[tuple[float, str]]:
        out: list[tuple[float, str]] = []
        try:
            lines = (self.data / "eucalite.log").read_text(errors="replace").splitlines()
        except OSError:
            return out
        for line in lines:
            m = _LOG_TIME.match(line)
            if not m or "op=" not in line:
                continue
            if "op=ec2:RunInstances" in line or iid in line:  # the guest's session names the instance
                t = dt.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S").timestamp() + int(m[2]) / 1000
                op = re.search(r"op=(\S+)", line)
                out.append((t - self.wall0, f"eucalite.log: {op[1] if op else '?'} answered"))
        return out

    def _qemu_started(self, iid: str) -> list[tuple[float, str]]:
        """libvirt's per-domain log opens with 'starting up' when it execs QEMU (readable as root)."""
        try:
            first = next(iter(LIBVIRT_LOGS.glob(f"*{iid}.log"))).read_text(errors="replace")[:40]
            t = dt.datetime.strptime(first[:23], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
        except (StopIteration, OSError, ValueError):
            return []
        return [(t.timestamp() - self.wall0, "libvirt log: starting up (QEMU exec)")]

    def report(self, pid: str, iid: str) -> None:
        rows = [(t, label + (f"  [guest clock {g[1] or g[2]} s]" if (g := _GUEST_CLOCK.search(line)) else ""))
                for label, (t, line) in self.seen.items()]
        guest_api = [r for r in self._log_lines(iid) if "RunInstances" not in r[1]][:1]
        runs = [r for r in self._log_lines(iid) if "RunInstances" in r[1]][:1]
        print(f"  {pid} breakdown ({self.kind}; seconds after RunInstances was sent):", flush=True)
        for t, what in sorted(rows + guest_api + runs + self._qemu_started(iid)):
            print(f"    {t:6.1f}  {what}", flush=True)
        console = self.data.parent / f"{self.data.name}.console.txt"
        console.write_text(self.text)
        print(f"    (console saved in {console})", flush=True)


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
        timeline = Timeline(kind, data)
        t0 = timeline.t0
        params = {"ImageId": image_id, "MinCount": 1, "MaxCount": 1,
                  "InstanceType": "m1.small" if kind == "tiny" else "m1.xlarge",
                  "IamInstanceProfile": {"Arn": profile_arn}}
        if kind == "debian":  # the walkthrough's script: role credentials, then the aws CLI, on the console
            params["UserData"] = base64.b64encode(DEBIAN_USER_DATA.format(image_id=image_id).encode()).decode()
        body = call(admin, "ec2", "RunInstances", params)
        iid = tag(body, "instanceId")[0]
        timeline.mark("RunInstances answered")
        try:
            while time.perf_counter() - t0 < timeout:
                out_xml = call(admin, "ec2", "GetConsoleOutput", {"InstanceId": iid})
                text = base64.b64decode((tag(out_xml, "output") or [""])[0] or b"").decode(errors="replace")
                timeline.console(text)
                if re.search(MARKERS[kind], text):
                    secs = time.perf_counter() - t0
                    timeline.report(GOALS[kind][0], iid)
                    return secs
                time.sleep(0.1)
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
