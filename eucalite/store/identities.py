"""Accounts, users and access keys: the records authentication stands on.

IAM's handlers, the bootstrap and the authenticator all go through this repository, so a user or key
is created, found and deleted one way only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eucalite import ids
from eucalite.clock import Clock, iso8601
from eucalite.store.db import Memo, Store


@dataclass(frozen=True)
class AccessKey:
    id: str
    secret: str
    user_id: str
    account_id: str
    status: str
    created: str


class Identities:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        # Authentication reads these three on every request; decrypting the secret is the costly part.
        self._keys = Memo(store, ("access_keys",))
        self._users = Memo(store, ("users",))
        self._accounts = Memo(store, ("accounts",))

    def now(self) -> str:
        return iso8601(self.clock.now())

    # -- accounts ------------------------------------------------------------------------------------------
    def create_account(self, name: str, account_id: str | None = None) -> dict[str, Any]:
        row = {"id": account_id or self._free_account_id(), "name": name, "created": self.now()}
        with self.store.transaction() as db:
            db.table("accounts").insert(row)
        return row

    def _free_account_id(self) -> str:
        while True:
            candidate = ids.account_id()
            if not self.account(candidate):
                return candidate

    def account(self, account_id: str) -> dict[str, Any] | None:
        row = self._accounts.get(account_id, lambda: self.store.one("select * from accounts where id = ?",
                                                                    [account_id]))
        return dict(row) if row is not None else None

    def account_by_name(self, name: str) -> dict[str, Any] | None:
        return self.store.one("select * from accounts where name = ?", [name])

    def accounts(self) -> list[dict[str, Any]]:
        return self.store.all("select * from accounts order by name")

    # -- users ---------------------------------------------------------------------------------------------
    def create_user(self, account_id: str, name: str, path: str = "/", is_admin: bool = False) -> dict[str, Any]:
        row = {
            "id": ids.iam_unique_id("AIDA"),
            "account_id": account_id,
            "name": name,
            "path": path,
            "created": self.now(),
            "is_admin": int(is_admin),
        }
        with self.store.transaction() as db:
            db.table("users").insert(row)
        return row

    def user(self, account_id: str, name: str) -> dict[str, Any] | None:
        return self.store.one("select * from users where account_id = ? and name = ?", [account_id, name])

    def user_by_id(self, user_id: str) -> dict[str, Any] | None:
        row = self._users.get(user_id, lambda: self.store.one("select * from users where id = ?", [user_id]))
        return dict(row) if row is not None else None

    # -- access keys ---------------------------------------------------------------------------------------
    def create_access_key(self, user: dict[str, Any], key_id: str | None = None,
                          secret: str | None = None) -> AccessKey:
        key = AccessKey(
            id=key_id or ids.access_key_id(),
            secret=secret or ids.secret_access_key(),
            user_id=user["id"],
            account_id=user["account_id"],
            status="Active",
            created=self.now(),
        )
        with self.store.transaction() as db:
            db.table("access_keys").insert({
                "id": key.id,
                "user_id": key.user_id,
                "account_id": key.account_id,
                "secret": self.store.box.seal(key.secret, key.id),
                "status": key.status,
                "created": key.created,
                "last_used": None,
                "last_used_service": None,
                "last_used_region": None,
            })
        return key

    def access_key(self, key_id: str) -> AccessKey | None:
        return self._keys.get(key_id, lambda: self._access_key(key_id))  # type: ignore[no-any-return]

    def _access_key(self, key_id: str) -> AccessKey | None:
        row = self.store.one("select * from access_keys where id = ?", [key_id])
        if row is None:
            return None
        return AccessKey(row["id"], self.store.box.open(row["secret"], row["id"]), row["user_id"],
                         row["account_id"], row["status"], row["created"])

    def access_keys_of(self, user_id: str) -> list[dict[str, Any]]:
        return self.store.all(
            "select id, user_id, account_id, status, created, last_used, last_used_service, last_used_region "
            "from access_keys where user_id = ? order by created", [user_id])

    def mark_key_used(self, key_id: str, service: str, region: str) -> None:
        with self.store.transaction() as db:
            db.table("access_keys").update(key_id, {"last_used": self.now(), "last_used_service": service,
                                              "last_used_region": region})
