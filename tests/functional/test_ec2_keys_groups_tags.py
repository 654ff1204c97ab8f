"""Key pairs (fingerprints as AWS computes them), security groups and tags, through boto3."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.conftest import LiveCloud


@pytest.fixture
def ec2(cloud: LiveCloud):  # type: ignore[no-untyped-def]
    _, creds = cloud.new_account("keys")
    return cloud.client("ec2", creds)


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_created_rsa_key_fingerprint_is_sha1_of_pkcs8_der(ec2) -> None:  # type: ignore[no-untyped-def]
    key = ec2.create_key_pair(KeyName="k1")
    private = serialization.load_pem_private_key(key["KeyMaterial"].encode(), password=None)
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert key["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    assert key["KeyPairId"].startswith("key-")
    listed = ec2.describe_key_pairs(KeyNames=["k1"], IncludePublicKey=True)["KeyPairs"][0]
    assert listed["KeyFingerprint"] == key["KeyFingerprint"] and listed["KeyType"] == "rsa"
    assert listed["PublicKey"].startswith("ssh-rsa ")


def test_imported_rsa_key_fingerprint_is_md5_of_public_der(ec2) -> None:  # type: ignore[no-untyped-def]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    openssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    got = ec2.import_key_pair(KeyName="imported", PublicKeyMaterial=openssh + b" me@laptop")
    assert got["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())


def test_ed25519_fingerprints_are_base64_sha256_of_the_openssh_blob(ec2) -> None:  # type: ignore[no-untyped-def]
    created = ec2.create_key_pair(KeyName="ed", KeyType="ed25519")
    assert created["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    pub = serialization.load_ssh_private_key(created["KeyMaterial"].encode(), None).public_key()
    blob = base64.b64decode(pub.public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).split()[1])
    assert created["KeyFingerprint"] == base64.b64encode(hashlib.sha256(blob).digest()).decode()
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    line = other.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    imported = ec2.import_key_pair(KeyName="ed-imported", PublicKeyMaterial=line)
    expected = base64.b64encode(hashlib.sha256(base64.b64decode(line.split()[1])).digest()).decode()
    assert imported["KeyFingerprint"] == expected


def test_key_pair_errors(ec2) -> None:  # type: ignore[no-untyped-def]
    ec2.create_key_pair(KeyName="dup")
    with pytest.raises(ClientError) as dup:
        ec2.create_key_pair(KeyName="dup")
    assert _code(dup) == "InvalidKeyPair.Duplicate"
    with pytest.raises(ClientError) as missing:
        ec2.describe_key_pairs(KeyNames=["nope"])
    assert _code(missing) == "InvalidKeyPair.NotFound"
    with pytest.raises(ClientError) as bad:
        ec2.import_key_pair(KeyName="bad", PublicKeyMaterial=b"not a key")
    assert _code(bad) == "InvalidKey.Format"
    ec2.delete_key_pair(KeyName="dup")
    ec2.delete_key_pair(KeyName="dup")  # deleting a missing key by name succeeds, as on AWS
    assert ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["dup"]}])["KeyPairs"] == []


def test_key_pairs_are_per_account(cloud: LiveCloud, ec2) -> None:  # type: ignore[no-untyped-def]
    ec2.create_key_pair(KeyName="mine")
    _, other = cloud.new_account("other")
    other_ec2 = cloud.client("ec2", other)
    assert other_ec2.describe_key_pairs()["KeyPairs"] == []
    other_ec2.create_key_pair(KeyName="mine")  # same name, other account: no clash


def test_default_group_and_rules(ec2) -> None:  # type: ignore[no-untyped-def]
    groups = ec2.describe_security_groups()["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    gid = groups[0]["GroupId"]
    assert gid.startswith("sg-")
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    with pytest.raises(ClientError) as dup:
        ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22, ToPort=22,
                                             CidrIp="0.0.0.0/0")
    assert _code(dup) == "InvalidPermission.Duplicate"
    found = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.from-port", "Values": ["22"]}])
    assert [g["GroupId"] for g in found["SecurityGroups"]] == [gid]
    ec2.revoke_security_group_ingress(GroupId=gid, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0")
    with pytest.raises(ClientError) as gone:
        ec2.revoke_security_group_ingress(GroupId=gid, IpProtocol="tcp", FromPort=22, ToPort=22,
                                          CidrIp="0.0.0.0/0")
    assert _code(gone) == "InvalidPermission.NotFound"
    with pytest.raises(ClientError) as default:
        ec2.delete_security_group(GroupName="default")
    assert _code(default) == "CannotDelete"


def test_group_lifecycle_and_errors(ec2) -> None:  # type: ignore[no-untyped-def]
    gid = ec2.create_security_group(GroupName="web", Description="web servers",
                                    TagSpecifications=[{"ResourceType": "security-group",
                                                        "Tags": [{"Key": "tier", "Value": "front"}]}])["GroupId"]
    with pytest.raises(ClientError) as dup:
        ec2.create_security_group(GroupName="web", Description="again")
    assert _code(dup) == "InvalidGroup.Duplicate"
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "UserIdGroupPairs": [{"GroupName": "default"}], "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    web = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    perm = web["IpPermissions"][0]
    assert perm["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    assert perm["UserIdGroupPairs"][0]["GroupName"] == "default"
    assert web["Tags"] == [{"Key": "tier", "Value": "front"}]
    with pytest.raises(ClientError) as missing:
        ec2.describe_security_groups(GroupNames=["nope"])
    assert _code(missing) == "InvalidGroup.NotFound"
    ec2.delete_security_group(GroupId=gid)
    assert "web" not in [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]


def test_tags(ec2) -> None:  # type: ignore[no-untyped-def]
    gid = ec2.create_security_group(GroupName="tagged", Description="t")["GroupId"]
    key_id = ec2.create_key_pair(KeyName="tagged")["KeyPairId"]
    ec2.create_tags(Resources=[gid, key_id], Tags=[{"Key": "env", "Value": "dev"}, {"Key": "owner", "Value": "me"}])
    tags = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert {(t["ResourceId"], t["ResourceType"]) for t in tags} == {(gid, "security-group"), (key_id, "key-pair")}
    first = ec2.describe_tags(MaxResults=1)
    assert len(first["Tags"]) == 1 and first["NextToken"]
    rest = ec2.describe_tags(MaxResults=10, NextToken=first["NextToken"])["Tags"]
    assert len(rest) == 3
    ec2.delete_tags(Resources=[gid], Tags=[{"Key": "env", "Value": "prod"}])  # value differs: kept
    ec2.delete_tags(Resources=[gid], Tags=[{"Key": "owner"}])
    left = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [gid]}])["Tags"]
    assert [(t["Key"], t["Value"]) for t in left] == [("env", "dev")]
    with pytest.raises(ClientError) as reserved:
        ec2.create_tags(Resources=[gid], Tags=[{"Key": "euca:node", "Value": "x"}])
    assert _code(reserved) == "InvalidParameterValue"
    with pytest.raises(ClientError) as foreign:
        ec2.create_tags(Resources=["sg-12345678"], Tags=[{"Key": "a", "Value": "b"}])
    assert _code(foreign) == "InvalidGroup.NotFound"  # AWS names the kind of a well-formed id
