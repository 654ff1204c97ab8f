"""First start: the cloud admin account, its admin user and key, and client configuration files."""

from __future__ import annotations

import configparser
import io
import os
from pathlib import Path

from eucalite.cloud import Cloud
from eucalite.identity import ADMIN_USER, CLOUD_ADMIN_ACCOUNT
from eucalite.store.identities import AccessKey
from eucalite.wire.specs import write_client_models


def ensure_account(cloud: Cloud, name: str, account_id: str | None = None) -> tuple[dict, dict, AccessKey | None]:
    """The account, its admin user, and the admin's key when one was created now."""
    ids = cloud.identities
    account = ids.account_by_name(name) or ids.create_account(name, account_id)
    admin = ids.user(account["id"], ADMIN_USER) or ids.create_user(account["id"], ADMIN_USER, is_admin=True)
    key = None
    if not ids.access_keys_of(admin["id"]):
        key = ids.create_access_key(admin)
    return account, admin, key


def seed_credentials(cloud: Cloud, specs: tuple[str, ...]) -> None:
    """Test mode: fixed root keys (ACCESS_KEY:SECRET[:ACCOUNT_ID]) so moto-style suites run unchanged."""
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"--seed-credentials wants ACCESS_KEY:SECRET[:ACCOUNT_ID], not {spec!r}")
        key_id, secret = parts[0], parts[1]
        account_id = parts[2] if len(parts) == 3 else "123456789012"
        existing = cloud.identities.access_key(key_id)
        if existing is not None:
            continue
        account = cloud.identities.account(account_id)
        name = account["name"] if account else f"seeded-{account_id}"
        _, admin, _ = ensure_account(cloud, name, account_id)
        cloud.identities.create_access_key(admin, key_id=key_id, secret=secret)


def admin_key(cloud: Cloud, account_name: str = CLOUD_ADMIN_ACCOUNT, user_name: str = ADMIN_USER) -> AccessKey | None:
    account = cloud.identities.account_by_name(account_name)
    if account is None:
        return None
    user = cloud.identities.user(account["id"], user_name)
    if user is None:
        return None
    for row in cloud.identities.access_keys_of(user["id"]):
        if row["status"] == "Active":
            return cloud.identities.access_key(row["id"])
    return None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def write_client_files(cloud: Cloud) -> None:
    """An aws CLI profile `eucalite` and a euca2ools.ini, both in the data dir (never in ~/.aws)."""
    key = admin_key(cloud)
    if key is None:
        return
    s = cloud.settings
    creds = configparser.ConfigParser()
    creds["eucalite"] = {"aws_access_key_id": key.id, "aws_secret_access_key": key.secret}
    config = configparser.ConfigParser()
    config["profile eucalite"] = {"region": s.region, "endpoint_url": s.endpoint_url, "output": "json"}
    euca = configparser.ConfigParser()
    euca[f"region {s.region}"] = {
        "ec2-url": f"{s.endpoint_url}/services/compute/",
        "iam-url": f"{s.endpoint_url}/services/Euare/",
        "sts-url": f"{s.endpoint_url}/services/Tokens/",
        "user": "admin@eucalyptus",
    }
    euca["user admin@eucalyptus"] = {"key-id": key.id, "secret-key": key.secret,
                                     "account-id": key.account_id}
    euca["global"] = {"default-region": s.region}
    for name, parser in (("aws/credentials", creds), ("aws/config", config), ("euca2ools.ini", euca)):
        path = s.data_dir / name
        buf = io.StringIO()
        parser.write(buf)
        _write_private(path, buf.getvalue())


def ensure_keys_dir(data_dir: Path) -> Path:
    """DATA_DIR/keys, where users save CreateKeyPair's material for `eucalite ssh` (eucalite keeps no
    private keys itself): 0700, also when it exists already, as the data dir is."""
    keys = data_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys.chmod(0o700)  # mkdir's mode does nothing for a directory that already exists
    return keys


def bootstrap(cloud: Cloud) -> None:
    ensure_account(cloud, CLOUD_ADMIN_ACCOUNT)
    seed_credentials(cloud, cloud.settings.seed_credentials)
    if cloud.store.path is not None:
        write_client_files(cloud)
        ensure_keys_dir(cloud.settings.data_dir)
        write_client_models(cloud.settings.data_dir / "models")
