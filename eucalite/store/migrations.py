"""Schema migrations, applied in order and recorded in _migrations. Append only: never edit a
migration that has shipped; add a new one."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def _m001_identity(db: sqlite_utils.Database) -> None:
    db.table("accounts").create({"id": str, "name": str, "created": str}, pk="id")
    db.table("accounts").create_index(["name"], unique=True)
    db.table("users").create(
        {"id": str, "account_id": str, "name": str, "path": str, "created": str, "is_admin": int},
        pk="id",
        foreign_keys=[("account_id", "accounts", "id")],
    )
    db.table("users").create_index(["account_id", "name"], unique=True)
    db.table("access_keys").create(
        {
            "id": str,
            "user_id": str,
            "account_id": str,
            "secret": str,  # sealed by SecretBox
            "status": str,
            "created": str,
            "last_used": str,
            "last_used_service": str,
            "last_used_region": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("access_keys").create_index(["user_id"])


def _m002_iam(db: sqlite_utils.Database) -> None:
    db.table("groups").create({"id": str, "account_id": str, "name": str, "path": str, "created": str}, pk="id")
    db.table("groups").create_index(["account_id", "name"], unique=True)
    db.table("group_members").create({"group_id": str, "user_id": str}, pk=("group_id", "user_id"))
    db.table("roles").create(
        {
            "id": str,
            "account_id": str,
            "name": str,
            "path": str,
            "created": str,
            "trust_policy": str,
            "description": str,
            "max_session_duration": int,
            "last_used": str,
        },
        pk="id",
    )
    db.table("roles").create_index(["account_id", "name"], unique=True)
    db.table("role_tags").create({"role_id": str, "key": str, "value": str}, pk=("role_id", "key"))
    # Inline policies of users, groups and roles: principal_type in (user, group, role).
    db.table("inline_policies").create(
        {"principal_type": str, "principal_id": str, "name": str, "document": str},
        pk=("principal_type", "principal_id", "name"),
    )
    db.table("instance_profiles").create(
        {"id": str, "account_id": str, "name": str, "path": str, "created": str}, pk="id"
    )
    db.table("instance_profiles").create_index(["account_id", "name"], unique=True)
    db.table("instance_profile_roles").create({"profile_id": str, "role_id": str}, pk=("profile_id", "role_id"))
    db.table("managed_policies").create(
        {
            "id": str,
            "account_id": str,
            "name": str,
            "path": str,
            "description": str,
            "created": str,
            "updated": str,
            "default_version": str,
            "next_version": int,
        },
        pk="id",
    )
    db.table("managed_policies").create_index(["account_id", "name"], unique=True)
    db.table("policy_versions").create(
        {"policy_id": str, "version_id": str, "document": str, "created": str},
        pk=("policy_id", "version_id"),
    )
    db.table("policy_attachments").create(
        {"policy_id": str, "principal_type": str, "principal_id": str},
        pk=("policy_id", "principal_type", "principal_id"),
    )


def _m003_instance_credentials(db: sqlite_utils.Database) -> None:
    # What the metadata service serves now, per instance (one row), and every mint/rotation/revocation.
    db.table("instance_credentials").create(
        {
            "instance_id": str,
            "account_id": str,
            "role_arn": str,
            "profile_arn": str,
            "access_key_id": str,
            "secret": str,  # sealed by SecretBox
            "token": str,  # itself sealed (tokens.py); kept so the same credentials are served until rotation
            "issued": float,
            "expires": float,
            "rotate_at": float,
            "code": str,  # "Success" or the reason there are none (e.g. AssumeRoleUnauthorizedAccess)
            "message": str,
        },
        pk="instance_id",
    )
    db.table("credential_history").create(
        {"id": int, "instance_id": str, "account_id": str, "event": str, "access_key_id": str, "issued": float,
         "expires": float, "at": float, "reason": str},
        pk="id",
    )
    db.table("credential_history").create_index(["instance_id", "at"])


MIGRATIONS: list[tuple[str, Migration]] = [
    ("001_identity", _m001_identity),
    ("002_iam", _m002_iam),
    ("003_instance_credentials", _m003_instance_credentials),
]


def register(name: str, fn: Migration) -> None:
    """Service packages append their own migrations at import time (EC2, credentials, ...)."""
    if any(n == name for n, _ in MIGRATIONS):
        return
    MIGRATIONS.append((name, fn))


def apply(db: sqlite_utils.Database, now: str) -> list[str]:
    if "_migrations" not in db.table_names():
        db.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
    done = {r["name"] for r in db.table("_migrations").rows}
    applied = []
    for name, fn in sorted(MIGRATIONS, key=lambda m: m[0]):
        if name in done:
            continue
        with db.conn:  # one transaction per migration: all of it or none
            fn(db)
            db.table("_migrations").insert({"name": name, "applied_at": now})
        applied.append(name)
    return applied
