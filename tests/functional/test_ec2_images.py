"""Images: `eucalite image import`, DescribeImages (filters, Owners, ExecutableBy), launch permissions,
RegisterImage/DeregisterImage, and unknown image ids."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveCloud
from tests.functional.ec2_support import images, import_image  # noqa: F401  (fixture)


def _ids(resp: dict) -> set[str]:  # type: ignore[type-arg]
    return {i["ImageId"] for i in resp["Images"]}


def test_import_registers_public_admin_images(cloud: LiveCloud, images: dict[str, str]) -> None:  # noqa: F811
    assert images["kernel"].startswith("eki-") and images["ramdisk"].startswith("eri-")
    assert images["machine"].startswith("emi-")
    assert (cloud.data_dir / "images" / images["kernel"] / "vmlinuz").is_file()
    admin = cloud.client("ec2")
    emi = admin.describe_images(ImageIds=[images["machine"]])["Images"][0]
    assert emi["ImageType"] == "machine" and emi["Public"] and emi["State"] == "available"
    assert emi["KernelId"] == images["kernel"] and emi["RamdiskId"] == images["ramdisk"]
    kinds = admin.describe_images(Filters=[{"Name": "image-type", "Values": ["kernel"]}])["Images"]
    assert images["kernel"] in {i["ImageId"] for i in kinds} and all(i["ImageType"] == "kernel" for i in kinds)
    # Other accounts see public images, and Owners narrows by owner.
    _, creds = cloud.new_account("img")
    ec2 = cloud.client("ec2", creds)
    assert images["machine"] in _ids(ec2.describe_images(ExecutableUsers=["all"]))
    assert images["machine"] not in _ids(ec2.describe_images(Owners=["self"]))
    assert images["machine"] in _ids(ec2.describe_images(Owners=[emi["OwnerId"]]))


def run_import(data_dir: Path, workdir: Path, name: str) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "vmlinuz").write_bytes(b"\x7fELF not really a kernel")
    (workdir / "initrd.img").write_bytes(b"070701 not really an initramfs")
    return subprocess.run([sys.executable, "-m", "eucalite", "image", "import", "--kernel", str(workdir / "vmlinuz"),
                           "--ramdisk", str(workdir / "initrd.img"), "--name", name, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60)


def test_import_twice_with_the_same_name_fails_naming_the_ami(cloud: LiveCloud, tmp_path: Path) -> None:
    name = f"dup-name-{uuid.uuid4().hex[:6]}"
    emi = import_image(cloud, tmp_path / "a", name)["machine"]
    again = run_import(cloud.data_dir, tmp_path / "b", name)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == f"eucalite: AMI name {name} is already in use by AMI {emi}\n"
    # RegisterImage says the same, as AWS does.
    with pytest.raises(ClientError) as api:
        cloud.client("ec2").register_image(Name=name, ImageLocation="bucket/x.manifest.xml")
    assert api.value.response["Error"]["Code"] == "InvalidAMIName.Duplicate"
    assert api.value.response["Error"]["Message"] == f"AMI name {name} is already in use by AMI {emi}"


def test_import_checks_names_as_register_image_does(cloud: LiveCloud, tmp_path: Path) -> None:
    ec2 = cloud.client("ec2")
    for name in ("", "ab", "x" * 300):
        done = run_import(cloud.data_dir, tmp_path / "files", name)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "for parameter Name is invalid. Member must have length" in done.stderr, done.stderr
        assert not ec2.describe_images(Filters=[{"Name": "name", "Values": [name]}])["Images"]
    with pytest.raises(ClientError) as api:
        ec2.register_image(Name="x" * 300, ImageLocation="bucket/x.manifest.xml")
    assert done.stderr == f"eucalite: {api.value.response['Error']['Message']}\n"  # the very same check
    assert run_import(cloud.data_dir, tmp_path / "files", "x" * 128).returncode == 0
    # AWS's character set: letters, digits, ()[] ./-'@_ only; the API and the command agree.
    malformed = run_import(cloud.data_dir, tmp_path / "files", "a<b>c!")
    assert malformed.returncode == 1 and "AMI names must be between 3 and 128 characters" in malformed.stderr
    with pytest.raises(ClientError) as bad_chars:
        ec2.register_image(Name="a<b>c!", ImageLocation="bucket/x.manifest.xml")
    assert bad_chars.value.response["Error"]["Code"] == "InvalidAMIName.Malformed"
    assert ec2.register_image(Name="Ubuntu (22.04) [x86_64] @home/v1_0 'lts'",
                              ImageLocation="bucket/y.manifest.xml")["ImageId"].startswith("emi-")


def test_import_refuses_a_data_dir_without_a_cloud(tmp_path: Path) -> None:
    typo = tmp_path / "no-such-cloud"
    done = run_import(typo, tmp_path / "files", "typo-image")
    assert done.returncode == 1
    assert done.stderr == f"eucalite: no cloud in {typo}; start one with `eucalite up`\n"
    assert not typo.exists()  # no database, admin or keys made there


def test_private_image_shared_by_launch_permission(cloud: LiveCloud, tmp_path: Path) -> None:
    owner_name, owner = cloud.new_account("owner")
    _, other = cloud.new_account("other")
    own_ec2, other_ec2 = cloud.client("ec2", owner), cloud.client("ec2", other)
    other_id = cloud.client("sts", other).get_caller_identity()["Account"]
    base = import_image(cloud, tmp_path, "shared-kernel", "--private")
    # The cloud admin shares its private kernel and ramdisk with the owner account.
    admin = cloud.client("ec2")
    owner_id = cloud.client("sts", owner).get_caller_identity()["Account"]
    for image_id in (base["kernel"], base["ramdisk"]):
        admin.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": [{"UserId": owner_id}]})
    emi = own_ec2.register_image(Name="mine", KernelId=base["kernel"], RamdiskId=base["ramdisk"],
                                 ImageLocation="bucket/mine.manifest.xml")["ImageId"]
    assert emi.startswith("emi-")
    assert emi not in _ids(other_ec2.describe_images())
    own_ec2.modify_image_attribute(ImageId=emi, LaunchPermission={"Add": [{"UserId": other_id}]})
    assert emi in _ids(other_ec2.describe_images())
    assert emi in _ids(other_ec2.describe_images(ExecutableUsers=["self"]))
    perms = own_ec2.describe_image_attribute(ImageId=emi, Attribute="launchPermission")["LaunchPermissions"]
    assert perms == [{"UserId": other_id}]
    with pytest.raises(ClientError) as not_owner:
        other_ec2.modify_image_attribute(ImageId=emi, LaunchPermission={"Add": [{"Group": "all"}]})
    assert not_owner.value.response["Error"]["Code"] == "AuthFailure"
    own_ec2.modify_image_attribute(ImageId=emi, Attribute="launchPermission", OperationType="add",
                                   UserGroups=["all"])
    assert own_ec2.describe_images(ImageIds=[emi])["Images"][0]["Public"] is True
    own_ec2.reset_image_attribute(ImageId=emi, Attribute="launchPermission")
    assert emi not in _ids(other_ec2.describe_images())
    own_ec2.modify_image_attribute(ImageId=emi, Description={"Value": "my image"})
    assert own_ec2.describe_image_attribute(ImageId=emi, Attribute="description")["Description"]["Value"] == \
        "my image"
    assert owner_name
    own_ec2.deregister_image(ImageId=emi)
    with pytest.raises(ClientError) as gone:
        own_ec2.describe_images(ImageIds=[emi])
    assert gone.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"


def test_unknown_and_malformed_image_ids(cloud: LiveCloud) -> None:
    ec2 = cloud.client("ec2")
    with pytest.raises(ClientError) as unknown:
        ec2.run_instances(ImageId="emi-00000000", MinCount=1, MaxCount=1)
    assert unknown.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"
    with pytest.raises(ClientError) as malformed:
        ec2.describe_images(ImageIds=["banana"])
    assert malformed.value.response["Error"]["Code"] == "InvalidAMIID.Malformed"


def test_unregistered_images_accepted_when_the_setting_is_on(make_cloud, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data0"
    data.mkdir()
    (data / "settings.toml").write_text("accept_unregistered_images = true\nmemory_boot_seconds = 0.05\n")
    live = make_cloud()
    ec2 = live.client("ec2")
    inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]
    assert inst["ImageId"] == "ami-12345678"
    ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])
