"""IAM (Euare): accounts, users, keys, groups, roles, instance profiles, policies, simulation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlite_utils

from eucalite.services.iam import (  # noqa: F401  (registers operations)
    access_keys,
    accounts,
    groups,
    inline_policies,
    instance_profiles,
    managed_policies,
    policy_attachments,
    roles,
    simulate,
    tags,
    users,
)

if TYPE_CHECKING:
    from eucalite.cloud import Cloud


def _delete_account_tags(db: sqlite_utils.Database, account_id: str) -> None:
    """DeleteAccount's hook: the tag tables this package added (role_tags is handled by accounts.py)."""
    for entity_table, (table, column) in tags.TAG_TABLES.items():
        if entity_table != "roles":
            db.execute(f"delete from {table} where {column} in (select id from {entity_table} where account_id = ?)",
                       [account_id])


async def start(cloud: Cloud) -> None:
    deleters = cloud.extensions.setdefault("account-deleters", [])
    if _delete_account_tags not in deleters:
        deleters.append(_delete_account_tags)
