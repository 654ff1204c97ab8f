"""What a user sees when a setting, a flag or a data-dir file is wrong: the real `eucalite` command, one
`eucalite: ...` line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eucalite.bootstrap import bootstrap
from eucalite.cloud import Cloud
from eucalite.config import Settings
from tests.conftest import free_port


def eucalite(*args: str, home: Path, env: dict[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EUCALITE_"))}
    clean["EUCALITE_HOME"] = str(home)  # never ~/.eucalite, whatever a test forgets to pass
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "eucalite", *args], capture_output=True, text=True,
                          env=clean, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *wanted: str) -> None:
    err = proc.stderr
    assert proc.returncode != 0, (proc.stdout, err)
    assert "Traceback" not in err, err
    assert err.startswith("eucalite: ") and err.count("\n") == 1, err
    for text in wanted:
        assert text in err, err


def made_cloud(data: Path) -> Path:
    """A data dir with a cloud in it (what `eucalite up` leaves), without running a server."""
    cloud = Cloud(Settings(data_dir=data))
    bootstrap(cloud)
    cloud.close()
    return data


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1"])
def test_up_refuses_a_port_out_of_range(tmp_path: Path, port: str) -> None:
    proc = eucalite("up", "--no-tui", "--data-dir", str(tmp_path / "d"), "--port", port, home=tmp_path)
    assert_one_line_error(proc, f"--port must be an integer from 1 to 65535, not {port}")
    assert not (tmp_path / "d").exists()  # refused before anything was created


@pytest.mark.parametrize(("ttl", "shown"), [("0", "0"), ("-60", "-60"), ("59s", "59"), ("13h", "46800")])
def test_up_refuses_a_credential_ttl_out_of_range(tmp_path: Path, ttl: str, shown: str) -> None:
    proc = eucalite("up", "--no-tui", "--data-dir", str(tmp_path / "d"), "--port", str(free_port()),
                    "--credential-ttl", ttl, home=tmp_path)
    assert_one_line_error(proc, f"--credential-ttl must be a duration from 60 s to 12 h (e.g. 90s, 2m, 1h), not {shown}")


@pytest.mark.parametrize(("toml", "wanted"), [
    ("port = [", "settings.toml is not valid TOML: "),
    ('port = "abc"', "settings.toml: port must be an integer from 1 to 65535, not 'abc'"),
    ("bogus_key = 1", "settings.toml: unknown setting bogus_key"),
    ("nodes = 5", "settings.toml: nodes must be [[nodes]] tables, each with a name and a zone, not 5"),
    ("credential_ttl = 0", "settings.toml: credential_ttl must be a duration from 60 s to 12 h"),
    ("rotation_lead = -1", "settings.toml: rotation_lead must be a positive duration"),
    ("clock_skew = 0", "settings.toml: clock_skew must be a positive duration"),
])
def test_a_bad_settings_file_stops_env_and_up_with_one_line(tmp_path: Path, toml: str, wanted: str) -> None:
    data = made_cloud(tmp_path / "d")
    (data / "settings.toml").write_text(toml + "\n")
    for args in (("env",), ("up", "--no-tui", "--port", str(free_port()))):
        proc = eucalite(*args, "--data-dir", str(data), home=tmp_path, timeout=30)
        assert_one_line_error(proc, str(data / "settings.toml"), wanted)


def test_a_bad_environment_variable_is_named(tmp_path: Path) -> None:
    data = made_cloud(tmp_path / "d")
    proc = eucalite("env", "--data-dir", str(data), home=tmp_path, env={"EUCALITE_PORT": "abc"})
    assert_one_line_error(proc, "EUCALITE_PORT must be an integer from 1 to 65535, not 'abc'")
    proc = eucalite("up", "--no-tui", "--data-dir", str(data), "--port", str(free_port()), home=tmp_path,
                    env={"EUCALITE_CREDENTIAL_TTL": "5"}, timeout=30)
    assert_one_line_error(proc, "EUCALITE_CREDENTIAL_TTL must be a duration from 60 s to 12 h")


@pytest.mark.parametrize(("content", "problem"), [("", "is empty"), ('{"host": "127.0.0.1", "po', "is not valid JSON"),
                                                   ('{"host": "127.0.0.1", "port": "x"}', "no valid host and port")])
def test_a_damaged_endpoint_file_is_described_not_a_traceback(tmp_path: Path, content: str, problem: str) -> None:
    data = made_cloud(tmp_path / "d")
    (data / "settings.toml").write_text("port = 19977\n")
    (data / "endpoint.json").write_text(content)
    env = eucalite("env", "--data-dir", str(data), home=tmp_path)
    assert env.returncode == 0, env.stderr
    assert "Traceback" not in env.stderr
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:19977" in env.stdout  # from settings.toml instead
    assert env.stderr.startswith(f"eucalite: warning: {data / 'endpoint.json'} ") and env.stderr.count("\n") == 1
    assert problem in env.stderr and env.stderr.endswith("so the host and port come from the settings "
                                                         "(the next `eucalite up` rewrites it)\n")
    url = eucalite("metadata-url", "i-12345678", "--data-dir", str(data), home=tmp_path)
    assert url.returncode == 1 and "Traceback" not in url.stderr
    assert url.stderr.splitlines()[-1] == f"eucalite: no instance i-12345678 in {data}"
    assert problem in url.stderr.splitlines()[0]


def _cloud_with_an_ssh_instance(data: Path, iid: str = "i-47353451") -> Path:
    """A data dir whose instance (as a libvirt node records it) has guest port 22 on host port 2222 and a
    key pair `demo` whose material is saved where README says."""
    made_cloud(data)
    cloud = Cloud(Settings(data_dir=data))
    with cloud.store.transaction() as db:
        db.table("instances").insert({"id": iid, "account_id": "000000000001", "state": "running",
                                      "key_name": "demo", "ssh_port": 2222, "metadata_port": 0})
    cloud.close()
    (data / "keys" / "demo.pem").write_text("not a real key\n")
    return data


@pytest.mark.parametrize("args", [
    ("ssh", "i-47353451", "--data-dir", "{data}", "--print"),  # options after the instance id
    ("ssh", "--data-dir", "{data}", "--print", "i-47353451"),  # and before it
    ("ssh", "--print", "i-47353451", "--data-dir={data}", "-l", "root"),
])
def test_ssh_takes_options_after_the_instance_id(tmp_path: Path, args: tuple[str, ...]) -> None:
    data = _cloud_with_an_ssh_instance(tmp_path / "d")
    proc = eucalite(*(a.format(data=data) for a in args), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[:5] == ["ssh", "-i", str(data / "keys" / "demo.pem"), "-p", "2222"], proc.stdout
    user = "root" if "root" in args else "debian"
    assert words[-1] == f"{user}@127.0.0.1", proc.stdout  # no remote command


@pytest.mark.parametrize(("after", "remote"), [
    (("--", "cloud-init", "status"), ["cloud-init", "status"]),
    (("--print", "--", "cloud-init", "status", "--long"), ["cloud-init", "status", "--long"]),
    (("--print", "uptime", "-p"), ["uptime", "-p"]),  # without `--`, the command starts at its first word
])
def test_ssh_remote_command_follows_the_options(tmp_path: Path, after: tuple[str, ...], remote: list[str]) -> None:
    data = _cloud_with_an_ssh_instance(tmp_path / "d")
    extra = () if "--print" in after else ("--print",)
    proc = eucalite("ssh", *extra, "i-47353451", "--data-dir", str(data), *after, home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[-len(remote) - 1:] == ["debian@127.0.0.1", *remote], proc.stdout


def test_ssh_and_metadata_url_name_the_data_dir_they_searched(tmp_path: Path) -> None:
    data = _cloud_with_an_ssh_instance(tmp_path / "d")
    for command in ("ssh", "metadata-url"):
        proc = eucalite(command, "i-00000bad", "--data-dir", str(data), home=tmp_path / "home")
        assert_one_line_error(proc, f"eucalite: no instance i-00000bad in {data}")
    # Found in the data dir given after the id, not looked up in the default one ($EUCALITE_HOME here).
    home = made_cloud(tmp_path / "home")
    proc = eucalite("metadata-url", "i-47353451", "--data-dir", str(data), home=home)
    assert_one_line_error(proc, "has no metadata channel")
    proc = eucalite("ssh", "i-47353451", home=home)
    assert_one_line_error(proc, f"no instance i-47353451 in {home}")


def test_output_to_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EUCALITE_"))}
    env["EUCALITE_HOME"] = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "eucalite", "ops"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `eucalite ops | head -0` would, before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141, err
    assert err == ""
