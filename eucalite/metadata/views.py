"""Builds an InstanceView from the store: the one place the metadata service reads cloud state."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from eucalite.credentials.instance_profile import InstanceCredential, InstanceCredentials, NoCredential
from eucalite.metadata.identity_document import IdentitySigner, document
from eucalite.metadata.tree import Credential, IamView, Identity, InstanceView

if TYPE_CHECKING:
    from eucalite.cloud import Cloud


def _public_key(cloud: Cloud, inst: dict[str, Any]) -> tuple[str, str] | None:
    if not inst.get("key_name"):
        return None
    tables = cloud.store.db.table_names()
    table = next((t for t in ("key_pairs", "keypairs") if t in tables), None)
    if table is None:
        return None
    row = cloud.store.one(f"select * from {table} where account_id = ? and name = ?",
                          [inst["account_id"], inst["key_name"]])
    if row is None:
        return None
    return inst["key_name"], row.get("public_key") or row.get("public_key_material") or ""


def _iam(creds: InstanceCredentials, inst: dict[str, Any]) -> IamView | None:
    current = creds.current(inst["id"])
    if current is None:
        return None
    if isinstance(current, NoCredential):
        return IamView(current.profile_arn, current.profile_id, current.code, current.message, current.at, None)
    assert isinstance(current, InstanceCredential)
    return IamView(current.profile_arn, current.profile_id, "Success", "", current.issued,
                   Credential(current.role_name, current.access_key_id, current.secret_access_key, current.token,
                              current.issued, current.expires))


def _identity(signer: IdentitySigner, inst: dict[str, Any], region: str) -> Identity:
    doc = document(inst, region)
    pkcs7 = signer.pkcs7(doc)
    return Identity(doc, signer.signature(doc), pkcs7, pkcs7)


def instance_view(cloud: Cloud, creds: InstanceCredentials, signer: IdentitySigner,
                  inst: dict[str, Any]) -> InstanceView:
    region = cloud.settings.region
    return InstanceView(inst, region, _public_key(cloud, inst), lambda: _iam(creds, inst),
                        lambda: _identity(signer, inst, region))


def user_data(inst: dict[str, Any]) -> bytes | None:
    return base64.b64decode(inst["user_data"]) if inst.get("user_data") else None
