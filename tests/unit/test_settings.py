"""load_settings checks every value where it is read, and names the file, variable or flag it came from."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from eucalite.config import (
    MIN_CREDENTIAL_TTL,
    NodeSettings,
    Settings,
    SettingsError,
    _checks,
    load_settings,
)
from eucalite.endpoint import EndpointFileError, read_endpoint, record_endpoint


def load(data: Path, toml: str = "", env: dict[str, str] | None = None, **flags: object) -> Settings:
    data.mkdir(parents=True, exist_ok=True)
    if toml:
        (data / "settings.toml").write_text(toml)
    return load_settings({"data_dir": data, **flags}, environ=env or {}, running=False)


def refused(data: Path, toml: str = "", env: dict[str, str] | None = None, **flags: object) -> str:
    with pytest.raises(SettingsError) as err:
        load(data, toml, env, **flags)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_every_setting_has_a_check() -> None:
    assert set(_checks(False)) == {f.name for f in fields(Settings)}


def test_valid_values_from_every_layer(tmp_path: Path) -> None:
    s = load(tmp_path, 'port = 8774\ncredential_ttl = "2m"\nzones = ["z1", "z2"]\nlog_level = "debug"\n'
                       '[[nodes]]\nname = "a"\nzone = "z2"\nvcpus = 4\n'
                       '[instance_types]\n"m1.small" = [1, 256, 5]\n',
             env={"EUCALITE_ROTATION_LEAD": "30", "EUCALITE_TEST_MODE": "yes", "EUCALITE_OTHER_THING": "x"},
             driver="memory")
    assert (s.port, s.credential_ttl, s.rotation_lead, s.zones, s.log_level) == (8774, 120, 30, ("z1", "z2"), "DEBUG")
    assert s.nodes == (NodeSettings("a", "z2", vcpus=4),) and s.instance_types == {"m1.small": (1, 256, 5)}
    assert s.test_mode and s.accept_unregistered_images


@pytest.mark.parametrize(("toml", "wanted"), [
    ("port = [", "is not valid TOML"),
    ('port = "abc"', "port must be an integer from 1 to 65535, not 'abc'"),
    ("port = 99999", "port must be an integer from 1 to 65535, not 99999"),
    ("bogus_key = 1", "unknown setting bogus_key"),
    ("credential_tll = 60", "unknown setting credential_tll (did you mean credential_ttl?)"),
    ("nodes = 5", "nodes must be [[nodes]] tables, each with a name and a zone, not 5"),
    ('[[nodes]]\nname = "a"\n', "nodes #1 has no zone"),
    ('[[nodes]]\nname = "a"\nzone = "eucalite-1a"\nmemroy_mb = 1\n', "nodes #1: unknown key memroy_mb"),
    ('[[nodes]]\nname = "a"\nzone = "eucalite-1a"\nvcpus = 0\n', "nodes #1: vcpus must be a positive integer"),
    ('[[nodes]]\nname = "a"\nzone = "elsewhere"\n', "nodes #1: zone elsewhere is not one of the zones"),
    ("credential_ttl = 0", "credential_ttl must be a duration from 60 s to 12 h"),
    ("credential_ttl = -60", "credential_ttl must be a duration from 60 s to 12 h"),
    ("credential_ttl = 86400", "credential_ttl must be a duration from 60 s to 12 h"),
    ("rotation_lead = 0", "rotation_lead must be a positive duration"),
    ("clock_skew = -900", "clock_skew must be a positive duration"),
    ("terminated_visible_seconds = -1", "terminated_visible_seconds must be a duration of 0 s or more"),
    ("memory_boot_seconds = -0.5", "memory_boot_seconds must be a number of seconds"),
    ('driver = "vmware"', "driver must be memory or libvirt, not 'vmware'"),
    ("zones = []", "zones must be a list of distinct zone names"),
    ('test_mode = "maybe"', "test_mode must be true or false"),
    ('log_level = "loud"', "log_level must be one of DEBUG, INFO"),
    ("instance_types = { tiny = [1, 2] }", "instance_types.tiny must be [vcpus, memory MiB, disk GiB]"),
    ('data_dir = "/elsewhere"', "data_dir cannot be set in the data dir's own settings file"),
])
def test_bad_settings_file_names_the_file_and_the_key(tmp_path: Path, toml: str, wanted: str) -> None:
    message = refused(tmp_path, toml + "\n")
    assert message.startswith(str(tmp_path / "settings.toml")), message
    assert wanted in message, message


def test_a_bad_file_value_is_refused_even_when_a_flag_overrides_it(tmp_path: Path) -> None:
    assert "settings.toml: port must be" in refused(tmp_path, 'port = "abc"\n', port=8774)


def test_environment_variables_and_flags_are_checked_and_named(tmp_path: Path) -> None:
    assert refused(tmp_path, env={"EUCALITE_PORT": "abc"}).startswith("EUCALITE_PORT must be an integer")
    assert refused(tmp_path, env={"EUCALITE_CREDENTIAL_TTL": "30"}).startswith("EUCALITE_CREDENTIAL_TTL must be")
    assert refused(tmp_path, env={"EUCALITE_NODES": "a"}).startswith("EUCALITE_NODES must be [[nodes]] tables")
    assert refused(tmp_path, port=99999).startswith("--port must be an integer from 1 to 65535")
    assert refused(tmp_path, credential_ttl=0).startswith("--credential-ttl must be a duration from 60 s")
    assert refused(tmp_path, seed_credentials=("nocolon",)).startswith("--seed-credentials must be ACCESS_KEY:")


def test_short_credential_ttls_only_in_test_mode(tmp_path: Path) -> None:
    assert load(tmp_path, credential_ttl=MIN_CREDENTIAL_TTL).credential_ttl == 60
    assert "from 60 s to 12 h" in refused(tmp_path, credential_ttl=4)
    assert load(tmp_path, credential_ttl=4, test_mode=True).credential_ttl == 4
    assert load(tmp_path, "test_mode = true\ncredential_ttl = 4\n").credential_ttl == 4
    assert "from 2 s" in refused(tmp_path, credential_ttl=1, test_mode=True)


def test_endpoint_file_round_trip_keeps_its_mode_and_damage_is_described(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, port=19977)
    record_endpoint(settings)
    path = tmp_path / "endpoint.json"
    path.chmod(0o640)
    record_endpoint(settings)
    assert path.stat().st_mode & 0o777 == 0o640
    assert read_endpoint(tmp_path) == {"host": "127.0.0.1", "port": 19977, "driver": "memory",
                                       "test_mode": False, "pid": read_endpoint(tmp_path)["pid"]}  # type: ignore[index]
    assert [p.name for p in tmp_path.iterdir()] == ["endpoint.json"]  # no temporary file left behind
    assert load_settings({"data_dir": tmp_path}, environ={}).port == 19977
    for text, problem in (("", "is empty"), ('{"port": 1', "is not valid JSON"), ("[]", "no valid host and port"),
                          ('{"host": "h", "port": 0}', "no valid host and port")):
        path.write_text(text)
        with pytest.raises(EndpointFileError, match=problem):
            read_endpoint(tmp_path)
        warnings: list[str] = []
        assert load_settings({"data_dir": tmp_path}, environ={}, warn=warnings.append).port == 8773
        assert len(warnings) == 1 and str(path) in warnings[0] and problem in warnings[0]
    path.unlink()
    assert read_endpoint(tmp_path) is None
