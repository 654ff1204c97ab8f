"""`eucalite demo`: the walkthrough end to end through the real aws CLI, memory driver (and libvirt, when here)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from eucalite.config import load_settings
from eucalite.demo import scenario
from eucalite.demo.cloud import libvirt_problems
from eucalite.demo.runner import parse_exports
from eucalite.demo.scenario import OUTCOMES, Result
from tests.conftest import LiveCloud, free_port


def demo(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EUCALITE_"))}
    env["EUCALITE_HOME"] = str(home)  # no running cloud there unless a test puts one
    return subprocess.run([sys.executable, "-m", "eucalite", "demo", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def assert_all_held(out: str) -> None:
    summary = out.split("== Outcome ==", 1)[1]
    for label in OUTCOMES.values():
        assert f"✓ {label}" in summary, out[-3000:]
    assert "✗" not in out, out[-3000:]


def test_demo_starts_its_own_cloud_with_the_memory_driver(tmp_path: Path) -> None:
    done = demo("--driver", "memory", home=tmp_path / "home")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    out = done.stdout
    assert "node driver: memory, as asked" in out
    assert "(started by the demo, stopped at the end)" in out
    # The commands of the walkthrough, as printed.
    for line in ("$ aws iam create-account --account-name account1",
                 "$ aws iam create-role --role-name ACCT1-EC2-ACTIONS --assume-role-policy-document "
                 "file://ec2-trust.json",
                 "$ aws iam list-role-policies --role-name ACCT1-EC2-ACTIONS",
                 "$ aws iam list-instance-profiles --path-prefix /",
                 "--iam-instance-profile Arn=arn:aws:iam::",
                 "$ aws ec2 describe-availability-zones",
                 "An error occurred (UnauthorizedOperation) when calling the RunInstances operation"):
        assert line in out, line
    assert '"euca:node"' in out and '"State": "running"' in out
    assert "Inside the instance (memory driver" in out
    assert_all_held(out)
    # Secrets are shown shortened only.
    assert '"SecretAccessKey": "' in out and "…" in out
    # The cloud it started is gone: nothing left in /var/tmp for this run.
    data_dir = out.split("data dir ", 1)[1].split(" ", 1)[0]
    assert not Path(data_dir).exists()


def test_demo_uses_a_running_cloud_and_can_run_again(cloud: LiveCloud, tmp_path: Path) -> None:
    first = demo("--data-dir", str(cloud.data_dir), home=tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    assert "(already running)" in first.stdout
    assert "the running cloud at" in first.stdout and "uses the memory driver" in first.stdout
    assert_all_held(first.stdout)
    # Every hint names the data dir, as the eucalite commands it runs are shown with it.
    opt = f"--data-dir {cloud.data_dir}"
    for hint in (f'(admin@eucalyptus: eval "$(eucalite env {opt})")',
                 f'`eval "$(eucalite env --account account1 {opt})"` loads them'):
        assert hint in first.stdout, hint
    assert re.search(r"=\$\(eucalite metadata-url i-\w+ " + re.escape(opt) + r"\)$", first.stdout, re.M), first.stdout
    assert "$(eucalite env)" not in first.stdout
    # account1 exists now; a second run picks the next name and the image registered by the first.
    second = demo("--data-dir", str(cloud.data_dir), home=tmp_path)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr
    assert "$ aws iam create-account --account-name account1-2" in second.stdout
    assert "$ eucalite image import" not in second.stdout
    assert "creates account account1-2 and looks up the image (registering it if missing)" in second.stdout
    assert_all_held(second.stdout)
    assert cloud.proc.poll() is None  # a cloud the demo did not start keeps running


def test_demo_refuses_a_driver_the_running_cloud_does_not_use(cloud: LiveCloud, tmp_path: Path) -> None:
    done = demo("--data-dir", str(cloud.data_dir), "--driver", "libvirt", home=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "uses the memory driver, not libvirt" in done.stdout


@pytest.mark.vm
def test_demo_with_the_tiny_guest_under_libvirt(tmp_path: Path) -> None:
    problems = libvirt_problems(load_settings({"data_dir": tmp_path}), "tiny")
    if problems:
        from tests.vm.conftest import unavailable

        unavailable("; ".join(problems))
    done = demo("--driver", "libvirt", "--image", "tiny", home=tmp_path / "home", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert "$ aws ec2 get-console-output --instance-id i-" in done.stdout
    assert "EUCALITE-CREDS role=ACCT1-EC2-ACTIONS key=ASIA" in done.stdout
    assert "EUCALITE-RUN error=UnauthorizedOperation" in done.stdout
    assert_all_held(done.stdout)


def _demo_process(tmp_path: Path, until: str = "(started by the demo, stopped at the end)",
                  ) -> tuple[subprocess.Popen[str], Path, int, str]:
    """`eucalite demo --driver memory` in its own data dir (on a free port: never 8773), started and
    read until a line with ``until``; a watchdog kills it should it hang."""
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    (data / "settings.toml").write_text(f"port = {port}\n")
    (data / "endpoint.json").write_text("")  # left empty by a crash of an older eucalite: only a warning
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EUCALITE_"))}
    env["EUCALITE_HOME"] = str(tmp_path / "home")
    proc = subprocess.Popen([sys.executable, "-m", "eucalite", "demo", "--driver", "memory", "--data-dir",
                             str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.daemon = True
    watchdog.start()
    assert proc.stdout is not None
    seen = ""
    while line := proc.stdout.readline():
        seen += line
        if until in line:
            return proc, data, port, seen
    raise AssertionError(f"no {until!r} from the demo: {proc.wait()} {seen} {proc.stderr.read() if proc.stderr else ''}")


def _assert_cloud_gone(data: Path, port: int) -> None:
    server_pid = json.loads((data / "endpoint.json").read_text())["pid"]
    with pytest.raises(ProcessLookupError):  # the demo waited for it, so not even a zombie is left
        os.kill(server_pid, 0)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.parametrize("when", ["started", "instance running"])
def test_sigterm_stops_the_demo_and_the_cloud_it_started(tmp_path: Path, when: str) -> None:
    proc, data, port, out = _demo_process(tmp_path, *(("$ aws ec2 describe-instances",) if when != "started" else ()))
    assert proc.stdout is not None and proc.stderr is not None
    proc.send_signal(signal.SIGTERM)
    out += proc.stdout.read()
    err = proc.stderr.read()
    assert proc.wait(90) == 128 + signal.SIGTERM, out + err
    assert "Traceback" not in err, err
    assert "endpoint.json is empty" in err  # the damaged file was described, then rewritten by `up`
    assert "✗ interrupted (SIGTERM): cleaning up" in out and "# stopping the eucalite the demo started" in out
    if when == "instance running":  # the clean-up terminated it while the cloud still served
        assert "$ aws ec2 terminate-instances --instance-ids i-" in out and '"Name": "shutting-down"' in out
    _assert_cloud_gone(data, port)


def test_a_closed_stdout_stops_the_demo_quietly_and_the_cloud_it_started(tmp_path: Path) -> None:
    proc, data, port, _ = _demo_process(tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `eucalite demo | head -3`: head has its lines and exits
    err = proc.stderr.read()
    assert proc.wait(90) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    _assert_cloud_gone(data, port)


# -- the pieces -----------------------------------------------------------------------------------------------
def test_checks_report_what_went_wrong() -> None:
    facts = {"profile_arn": "arn:aws:iam::1:instance-profile/p"}
    assert scenario.refused(Result(0, "{}", ""), facts) is not None
    denied = "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: no"
    assert scenario.refused(Result(254, "", denied), facts) is None
    assert scenario.refused(Result(254, "", "An error occurred (InvalidAMIID.NotFound) when ..."), facts)
    inst = '{"State": "running", "IamInstanceProfile": "arn:aws:iam::1:instance-profile/p", "Tags": []}'
    assert scenario.running_with_profile(Result(0, inst, ""), facts) == "no euca:node tag"
    assert scenario.policy_listed(Result(0, '{"PolicyNames": []}', ""), facts)
    assert scenario.profile_holds_role(Result(0, '{"InstanceProfiles": []}', ""), facts)
    tiny = "EUCALITE-DAZ zones=eucalite-1a\nEUCALITE-RUN error=UnauthorizedOperation status=403\n"
    assert scenario.console_has(r"EUCALITE-DAZ zones=\S", "zones")(Result(0, tiny, ""), facts) is None
    assert scenario.console_has(r"EUCALITE-DAZ error", "x")(Result(0, tiny, ""), facts) == "no x on the console"


def test_secrets_are_masked_and_exports_parsed() -> None:
    masked = scenario.mask_json('{"AccessKeyId": "ASIAXYZ", "SecretAccessKey": "abcdefgh", "Token": "tok12345"}')
    assert '"SecretAccessKey": "abcd…"' in masked and '"Token": "tok1…"' in masked and "ASIAXYZ" in masked
    exports = parse_exports("unset AWS_SESSION_TOKEN\nexport AWS_ACCESS_KEY_ID=AKIA1\n"
                            "export AWS_SECRET_ACCESS_KEY='a/b+c'\nexport AWS_DATA_PATH=/x/models\n")
    assert exports == {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "a/b+c", "AWS_DATA_PATH": "/x/models"}
    assert scenario.mask_exports("export AWS_SECRET_ACCESS_KEY='a/b+cdef'") == "export AWS_SECRET_ACCESS_KEY=a/b+…"
