"""Eucalyptus account operations (Euare extension), for the cloud admin only."""

from __future__ import annotations

from typing import Any

from eucalite.bootstrap import ensure_account
from eucalite.errors import delete_conflict, entity_exists, no_such_entity
from eucalite.identity import CLOUD_ADMIN_ACCOUNT
from eucalite.services.context import CallContext
from eucalite.services.registry import operation


@operation("iam", "CreateAccount", cloud_admin_only=True)
def create_account(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["AccountName"]
    if ctx.cloud.identities.account_by_name(name):
        raise entity_exists(f"Account {name} already exists.")
    account, _, _ = ensure_account(ctx.cloud, name)
    return {"Account": {"AccountName": account["name"], "AccountId": account["id"]}}


@operation("iam", "ListAccounts", cloud_admin_only=True)
def list_accounts(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"Accounts": [{"AccountName": a["name"], "AccountId": a["id"]} for a in ctx.cloud.identities.accounts()]}


_OWNED_TABLES = ("roles", "groups", "instance_profiles", "managed_policies")


@operation("iam", "DeleteAccount", cloud_admin_only=True)
async def delete_account(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["AccountName"]
    account = ctx.cloud.identities.account_by_name(name)
    if account is None:
        raise no_such_entity(f"Can not find account {name}")
    if name == CLOUD_ADMIN_ACCOUNT:
        raise delete_conflict("The cloud administrator account cannot be deleted.")
    store = ctx.cloud.store
    aid = account["id"]
    non_admin = store.one("select count(*) as n from users where account_id = ? and is_admin = 0", [aid])
    owned = 0
    for t in _OWNED_TABLES:
        if t in store.db.table_names():
            row = store.one(f"select count(*) as n from {t} where account_id = ?", [aid])
            owned += row["n"] if row else 0
    if not params.get("Recursive") and ((non_admin and non_admin["n"]) or owned):
        raise delete_conflict(f"Account {name} still has users or resources; use Recursive=true.")
    # What lives outside the database (guests on nodes, metadata channels) goes first, so that no
    # guest keeps running, holding capacity and a channel, once its rows are gone.
    for release in ctx.cloud.extensions.get("account-releasers", []):
        await release(ctx.cloud, aid)
    with store.transaction() as db:
        for hook in ctx.cloud.extensions.get("account-deleters", []):
            hook(db, aid)
        db.execute("delete from access_keys where account_id = ?", [aid])
        db.execute("delete from inline_policies where principal_id in (select id from users where account_id = ?)"
                   " or principal_id in (select id from roles where account_id = ?)"
                   " or principal_id in (select id from groups where account_id = ?)", [aid, aid, aid])
        db.execute("delete from group_members where user_id in (select id from users where account_id = ?)", [aid])
        db.execute("delete from policy_attachments where policy_id in "
                   "(select id from managed_policies where account_id = ?)", [aid])
        db.execute("delete from policy_versions where policy_id in "
                   "(select id from managed_policies where account_id = ?)", [aid])
        db.execute("delete from instance_profile_roles where profile_id in "
                   "(select id from instance_profiles where account_id = ?)", [aid])
        db.execute("delete from role_tags where role_id in (select id from roles where account_id = ?)", [aid])
        for t in (*_OWNED_TABLES, "users"):
            db.execute(f"delete from {t} where account_id = ?", [aid])
        db.execute("delete from accounts where id = ?", [aid])
    return {}
