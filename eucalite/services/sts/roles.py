"""Role lookup and the trust-policy check shared by AssumeRole and instance-profile credentials."""

from __future__ import annotations

from typing import Any

from eucalite import arns
from eucalite.authz import parsed
from eucalite.policy import MalformedPolicy, PolicyKind, Principal, Reason, evaluate_trust
from eucalite.services.iam import documents
from eucalite.store.db import Store


def role_by_arn(store: Store, arn: str) -> dict[str, Any] | None:
    try:
        service, _, account, kind, rest = arns.split(arn)
    except ValueError:
        return None
    if service != "iam" or kind != "role" or not rest:
        return None
    name = rest.rsplit("/", 1)[-1]
    role = store.one("select * from roles where account_id = ? and name = ?", [account, name])
    if role is None or arns.role(account, role["name"], role["path"]) != arn:
        return None
    return role


def trust_allows(store: Store, role: dict[str, Any], caller: Principal, keys: dict[str, Any],
                 action: str = "sts:AssumeRole") -> Reason | None:
    """The trust policy's verdict, or None when the stored document cannot be read (never trusted)."""
    try:
        doc = parsed(role["trust_policy"], PolicyKind.TRUST)
    except MalformedPolicy:
        return None
    return evaluate_trust(doc, action, caller, keys, stale=frozenset(documents.stale_principals(store, role)))
