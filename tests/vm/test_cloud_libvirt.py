"""The real product with real guests: `eucalite up --driver libvirt`, images from `eucalite image build`,
the walkthrough as user01 through boto3, and the guests' own view on GetConsoleOutput.

Each test runs its own cloud in a pytest tmp data dir (0700, unreachable for QEMU under
qemu:///system), so these also prove that the node stages boot files into its own state dir.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eucalite.config import load_settings
from eucalite.nodes import node_state_root
from tests.conftest import LiveCloud, start_cloud
from tests.walkthrough import Walkthrough, set_up

pytestmark = [pytest.mark.vm, pytest.mark.libvirt, pytest.mark.slow]



def under_load(seconds: float) -> float:
    """A deadline scaled by how busy the host's CPUs are: TCG guests slow down with every competing
    process. On an idle host this is the issue's promise as stated (60 s tiny, 5 minutes Debian)."""
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * min(3.0, max(1.0, busy))


CONSOLE_DEADLINE = 60.0  # the promise: zones and the refusal on the console within a minute
DEBIAN_DEADLINE = 300.0  # ... and the Debian guest's aws CLI within five minutes


def build_and_register(image: str, data_dir: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "eucalite", "image", "build", image, "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    emi = re.findall(r"^IMAGE\t(emi-\w+)\tmachine", out.stdout, re.M)
    assert emi, out.stdout
    return emi[0]


class Guests:
    """Clouds started with the libvirt driver, their instances terminated (through the API) at the end."""

    def __init__(self, tmp: Path, uri: str) -> None:
        self.tmp = tmp
        self.uri = uri
        self.clouds: list[LiveCloud] = []
        self.launched: list[tuple[Walkthrough, str]] = []

    def cloud(self, name: str, *args: str, port: int | None = None) -> LiveCloud:
        live = start_cloud(self.tmp / name, "--driver", "libvirt", *args, port=port)
        self.clouds.append(live)
        return live

    def walkthrough(self, live: LiveCloud, image: str = "tiny") -> Walkthrough:
        emi = build_and_register(image, live.data_dir)
        return set_up(live, self.tmp, image_id=emi)

    def launch(self, w: Walkthrough, **extra: Any) -> str:
        iid = w.launch(**extra)
        self.launched.append((w, iid))
        return iid

    def node_dir(self, live: LiveCloud) -> Path:
        settings = load_settings({"data_dir": live.data_dir})
        return node_state_root(settings, self.uri) / "node-1"

    def close(self) -> None:
        for w, iid in self.launched:
            with_cloud = next((c for c in self.clouds if c.data_dir == w.cloud.data_dir and c.proc.poll() is None),
                              None)
            if with_cloud is not None:
                try:
                    w.cloud = with_cloud
                    w.ec2().terminate_instances(InstanceIds=[iid])
                except Exception as exc:  # keep tearing down the rest
                    print(f"terminating {iid}: {exc}")
        for live in self.clouds:
            live.stop()
        for live in self.clouds:
            shutil.rmtree(node_state_root(load_settings({"data_dir": live.data_dir}), self.uri),
                          ignore_errors=True)


@pytest.fixture
def guests(qemu_host: str, tmp_path: Path) -> Iterator[Guests]:
    g = Guests(tmp_path, qemu_host)
    yield g
    g.close()


def console(w: Walkthrough, iid: str) -> str:
    return str(w.ec2().get_console_output(InstanceId=iid).get("Output") or "")  # botocore base64-decodes it


def console_until(w: Walkthrough, iid: str, done: Callable[[str], bool], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = console(w, iid)
        if done(text):
            return text
        time.sleep(1)
    raise AssertionError(f"console of {iid} did not show what was expected within {timeout:.0f} s:\n{text[-3000:]}")


def domain_names(uri: str, iid: str) -> list[str]:
    import libvirt

    conn = libvirt.open(uri)
    try:
        return [d.name() for d in conn.listAllDomains(0) if iid in d.name()]
    finally:
        conn.close()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def metadata_port(w: Walkthrough, iid: str) -> int:
    return int(w.metadata_url(iid).rstrip("/").rsplit(":", 1)[1])


def key_prefixes(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"EUCALITE-CREDS role=\S+ key=(\w{16})\*\*\*\*", text)))


def test_tiny_walkthrough_on_libvirt(guests: Guests) -> None:
    live = guests.cloud("data", "--test-mode", "--credential-ttl", "20s")  # under a minute: test mode
    w = guests.walkthrough(live)
    ec2_admin = w.ec2(live.admin_creds())

    def verbose() -> dict[str, str]:
        zones = ec2_admin.describe_availability_zones(ZoneNames=["verbose"])["AvailabilityZones"]
        return {z["ZoneName"]: z["State"] for z in zones}

    # Capacity is the libvirt host's own (getInfo), per instance type.
    import libvirt

    conn = libvirt.open(guests.uri)
    _, mem_mb, cpus, *_ = conn.getInfo()
    conn.close()
    before = verbose()
    m1_large_max = min(cpus // 1, mem_mb // 512)
    assert before["|- m1.large"].startswith(f"{m1_large_max:04d} / {m1_large_max:04d}")
    assert before["|- c1.xlarge"].split()[2] == f"{min(cpus // 2, mem_mb // 2048):04d}"

    started = time.monotonic()
    iid = guests.launch(w)
    inst = w.wait_state(iid, "running")
    assert {"Key": "euca:node", "Value": "node-1"} in inst["Tags"]
    assert inst["IamInstanceProfile"]["Arn"] == w.profile_arn
    assert verbose()["|- m1.large"].startswith(f"{m1_large_max - 1:04d} / {m1_large_max:04d}")
    assert domain_names(guests.uri, iid) == [f"eucalite-{iid}"]

    text = console_until(w, iid, lambda t: "EUCALITE-DAZ zones=" in t and "EUCALITE-RUN error=" in t,
                         under_load(CONSOLE_DEADLINE))
    first_seen = time.monotonic() - started
    print(f"zones and refusal on the console {first_seen:.1f} s after RunInstances")
    assert re.search(rf"EUCALITE-CREDS role={w.role_arn.rsplit('/', 1)[1]} key=ASIA", text)
    assert "EUCALITE-DAZ zones=eucalite-1a" in text
    assert "EUCALITE-RUN error=UnauthorizedOperation" in text
    assert f"EUCALITE-IMDS instance-id={iid} ami-id={w.image_id} region=eucalite-1" in text

    # A 20 s credential TTL rotates every ~10 s: the guest picks up a new key and keeps succeeding.
    def rotated(t: str) -> bool:
        keys = key_prefixes(t)
        return len(keys) >= 2 and "EUCALITE-DAZ zones=" in t[t.rfind(f"key={keys[-1]}"):]

    text = console_until(w, iid, rotated, 90)
    print(f"rotation on the console {time.monotonic() - started:.1f} s after RunInstances: {key_prefixes(text)}")
    assert "EUCALITE-DAZ error" not in text  # no call with the rotated credentials was refused

    # Terminate: no domain, no overlay, no metadata channel left.
    port = metadata_port(w, iid)
    assert port_open(port)
    w.ec2().terminate_instances(InstanceIds=[iid])
    w.wait_state(iid, "terminated")
    assert domain_names(guests.uri, iid) == []
    assert not port_open(port)
    node_dir = guests.node_dir(live)
    assert not list(node_dir.glob(f"{iid}*.qcow2"))
    assert verbose()["|- m1.large"].startswith(f"{m1_large_max:04d} / {m1_large_max:04d}")


def test_restart_readopts_a_running_guest(guests: Guests) -> None:
    live = guests.cloud("data")
    w = guests.walkthrough(live)
    iid = guests.launch(w)
    console_until(w, iid, lambda t: "EUCALITE-DAZ zones=eucalite-1a" in t, under_load(CONSOLE_DEADLINE))
    port = metadata_port(w, iid)

    live.proc.kill()  # no clean shutdown: the guest must outlive a crashed eucalite
    live.proc.wait()
    assert domain_names(guests.uri, iid) == [f"eucalite-{iid}"]
    time.sleep(3)
    restarted = guests.cloud("data", port=live.port)
    w.cloud = restarted

    inst = w.wait_state(iid, "running")
    assert inst["State"]["Name"] == "running"
    assert domain_names(guests.uri, iid) == [f"eucalite-{iid}"]  # adopted, not duplicated
    assert metadata_port(w, iid) == port and port_open(port)
    count = console(w, iid).count("EUCALITE-DAZ zones=")
    # The guest never stopped calling: its calls failed while eucalite was down and succeed again now,
    # signed with credentials the restarted cloud serves on the same channel.
    console_until(w, iid, lambda t: t.count("EUCALITE-DAZ zones=") >= count + 2, under_load(CONSOLE_DEADLINE))


DEBIAN_USER_DATA = """#cloud-config
runcmd:
  - [ sh, -c, 'aws ec2 describe-availability-zones --query AvailabilityZones[].ZoneName --output text > /dev/ttyS0 2>&1; echo "EUCALITE-AWS-DAZ rc=$?" > /dev/ttyS0; aws ec2 run-instances --image-id {ami} --instance-type m1.small --count 1 > /dev/ttyS0 2>&1; echo "EUCALITE-AWS-RUN rc=$?" > /dev/ttyS0' ]
final_message: "EUCALITE-CLOUDINIT-FINAL after $UPTIME seconds"
"""


def test_debian_walkthrough_cloud_init_and_aws_cli(guests: Guests) -> None:
    live = guests.cloud("data")
    w = guests.walkthrough(live, "debian")
    ec2 = w.ec2()
    ec2.authorize_security_group_ingress(GroupName="default", IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    # The tool that creates a key pair keeps its material; `eucalite ssh` finds it under DATA_DIR/keys.
    material = ec2.create_key_pair(KeyName="walkthrough")["KeyMaterial"]
    key_file = live.data_dir / "keys" / w.account_id / "walkthrough.pem"
    key_file.parent.mkdir(parents=True)
    key_file.write_text(material)
    key_file.chmod(0o600)
    started = time.monotonic()
    iid = guests.launch(w, UserData=DEBIAN_USER_DATA.format(ami=w.image_id), KeyName="walkthrough")
    node_dir = guests.node_dir(live)
    assert (node_dir / f"{iid}.qcow2").exists()

    text = console_until(w, iid, lambda t: "EUCALITE-AWS-RUN rc=" in t, under_load(DEBIAN_DEADLINE))
    print(f"cloud-init ran the aws CLI {time.monotonic() - started:.1f} s after RunInstances")
    assert "EUCALITE-AWS-DAZ rc=0" in text
    assert re.search(r"^eucalite-1a\s*$", text, re.M)
    assert "(UnauthorizedOperation) when calling the RunInstances operation" in text
    assert "EUCALITE-AWS-RUN rc=254" in text

    # SSH: the default group allows tcp/22, so guest port 22 is forwarded from a loopback port, and
    # cloud-init installed the key pair's public key for the default user.
    ssh = [sys.executable, "-m", "eucalite", "ssh", "--data-dir", str(live.data_dir), iid,
           "echo EUCALITE-SSH-$(id -un)"]
    for _ in range(10):
        done = subprocess.run(ssh, capture_output=True, text=True, timeout=60)
        if "EUCALITE-SSH-debian" in done.stdout:
            break
        time.sleep(3)
    assert "EUCALITE-SSH-debian" in done.stdout, done.stdout + done.stderr
    print(f"ssh into the guest {time.monotonic() - started:.1f} s after RunInstances")

    w.ec2().terminate_instances(InstanceIds=[iid])
    w.wait_state(iid, "terminated")
    assert domain_names(guests.uri, iid) == []
    assert not (node_dir / f"{iid}.qcow2").exists()
