"""Key pairs: CreateKeyPair (rsa, ed25519), ImportKeyPair, DescribeKeyPairs, DeleteKeyPair.

Fingerprints as AWS documents them: a created RSA key is the SHA-1 of its PKCS#8 DER private key, an
imported RSA key the MD5 of its DER public key (what `openssl ... -pubout -outform DER | openssl md5 -c`
prints), and ED25519 keys either way the base64 SHA-256 of the OpenSSH public key blob.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from eucalite import ids
from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.ec2.common import arn, now, tag_specs
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.ec2.tags import put_tags, tag_list, tags_of
from eucalite.services.registry import operation


def _colons(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def _ssh_blob(openssh_public: bytes) -> bytes:
    return base64.b64decode(openssh_public.split()[1])


def ed25519_fingerprint(openssh_public: bytes) -> str:
    return base64.b64encode(hashlib.sha256(_ssh_blob(openssh_public)).digest()).decode()


def created_rsa_fingerprint(key: rsa.RSAPrivateKey) -> str:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return _colons(hashlib.sha1(der).digest())


def imported_rsa_fingerprint(key: rsa.RSAPublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _colons(hashlib.md5(der).digest())


def generate(key_type: str) -> tuple[str, str, str]:
    """(private key PEM, OpenSSH public key, fingerprint) of a new key."""
    if key_type == "ed25519":
        ed = ed25519.Ed25519PrivateKey.generate()
        private = ed.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                   serialization.NoEncryption())
        public = ed.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return private.decode(), public.decode(), ed25519_fingerprint(public)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # AWS hands out the traditional "BEGIN RSA PRIVATE KEY" form that ssh and euca2ools read.
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private.decode(), public.decode(), created_rsa_fingerprint(key)


def parse_public(material: bytes) -> tuple[str, str, str]:
    """(key type, OpenSSH public key, fingerprint) of imported material; InvalidKey.Format otherwise."""
    text = material.strip()
    try:
        if text.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(text)
        elif text.startswith(b"ssh-rsa ") or text.startswith(b"ssh-ed25519 "):
            key = serialization.load_ssh_public_key(b" ".join(text.split()[:2]))
        else:
            key = serialization.load_der_public_key(text)
    except (ValueError, IndexError, TypeError):
        raise ServiceError("InvalidKey.Format",
                           "Key is not in valid OpenSSH public key format") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 1024:
            raise ServiceError("InvalidKey.Format", "RSA keys must be at least 1024 bits")
        openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return "rsa", openssh.decode(), imported_rsa_fingerprint(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return "ed25519", openssh.decode(), ed25519_fingerprint(openssh)
    raise ServiceError("InvalidKey.Format", "Only RSA and ED25519 keys are supported")


def find(ctx: CallContext, name: str) -> dict[str, Any] | None:
    return ctx.cloud.store.one("select * from key_pairs where account_id = ? and name = ?", [ctx.account_id, name])


def _key_arn(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    return [arn(ctx, "key-pair", params.get("KeyName") or params.get("KeyPairId") or "*")]


def _insert(ctx: CallContext, name: str, key_type: str, public: str, fingerprint: str,
            tags: dict[str, str]) -> dict[str, Any]:
    if len(name) > 255 or not name.strip():
        raise ServiceError("InvalidParameterValue", f"Value ({name}) for parameter keyName is invalid.")
    row = {"id": ids.long_resource_id("key"), "account_id": ctx.account_id, "name": name, "key_type": key_type,
           "public_key": public, "fingerprint": fingerprint, "created": now(ctx)}
    with ctx.cloud.store.transaction() as db:
        if find(ctx, name) is not None:
            raise ServiceError("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.")
        db.table("key_pairs").insert(row)
        put_tags(db, row["id"], "key-pair", ctx.account_id, tags)
    return row


@operation("ec2", "CreateKeyPair", resources=_key_arn)
def create_key_pair(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    key_type = params.get("KeyType", "rsa")
    if key_type not in ("rsa", "ed25519"):
        raise ServiceError("InvalidParameterValue", f"Value ({key_type}) for parameter keyType is invalid.")
    if params.get("KeyFormat", "pem") != "pem":
        raise ServiceError("Unsupported", "eucalite creates key material in pem format only")
    tags = tag_specs(params, "key-pair")
    private, public, fingerprint = generate(key_type)
    row = _insert(ctx, params["KeyName"], key_type, public, fingerprint, tags)
    return {"KeyName": row["name"], "KeyFingerprint": fingerprint, "KeyMaterial": private, "KeyPairId": row["id"],
            "Tags": tag_list(tags)}


@operation("ec2", "ImportKeyPair", resources=_key_arn)
def import_key_pair(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = tag_specs(params, "key-pair")
    key_type, public, fingerprint = parse_public(params["PublicKeyMaterial"])
    row = _insert(ctx, params["KeyName"], key_type, public, fingerprint, tags)
    return {"KeyName": row["name"], "KeyFingerprint": fingerprint, "KeyPairId": row["id"], "Tags": tag_list(tags)}


@operation("ec2", "DescribeKeyPairs")
def describe_key_pairs(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = ctx.cloud.store.all("select * from key_pairs where account_id = ? order by name", [ctx.account_id])
    for field, column, what in (("KeyNames", "name", "key pair"), ("KeyPairIds", "id", "key pair ID")):
        wanted = params.get(field)
        if wanted:
            have = {r[column] for r in rows}
            missing = [w for w in wanted if w not in have]
            if missing:
                raise ServiceError("InvalidKeyPair.NotFound", f"The {what} '{missing[0]}' does not exist")
            rows = [r for r in rows if r[column] in wanted]
    tags = tags_of(ctx.cloud.store, [r["id"] for r in rows])
    rows = apply_filters(rows, params.get("Filters"), {
        "key-name": lambda r: [r["name"]], "fingerprint": lambda r: [r["fingerprint"]],
        "key-pair-id": lambda r: [r["id"]], "key-type": lambda r: [r["key_type"]]},
        tags=lambda r: tags[r["id"]])
    out = []
    for r in rows:
        item = {"KeyPairId": r["id"], "KeyName": r["name"], "KeyFingerprint": r["fingerprint"],
                "KeyType": r["key_type"], "CreateTime": r["created"], "Tags": tag_list(tags[r["id"]])}
        if params.get("IncludePublicKey"):
            item["PublicKey"] = r["public_key"]
        out.append(item)
    return {"KeyPairs": out}


@operation("ec2", "DeleteKeyPair", resources=_key_arn)
def delete_key_pair(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("KeyName") and not params.get("KeyPairId"):
        raise ServiceError("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
    row = (find(ctx, params["KeyName"]) if params.get("KeyName") else
           ctx.cloud.store.one("select * from key_pairs where account_id = ? and id = ?",
                               [ctx.account_id, params["KeyPairId"]]))
    if row is None:
        if params.get("KeyPairId"):
            raise ServiceError("InvalidKeyPair.NotFound", f"The key pair '{params['KeyPairId']}' does not exist")
        return {"Return": True}  # AWS deletes a missing key by name without complaint
    with ctx.cloud.store.transaction() as db:
        db.execute("delete from key_pairs where id = ?", [row["id"]])
        db.execute("delete from tags where resource_id = ?", [row["id"]])
    return {"Return": True, "KeyPairId": row["id"]}
