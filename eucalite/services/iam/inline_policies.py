"""Inline policies of users, groups and roles: Put/Get/List/Delete{User,Group,Role}Policy.

One implementation, registered once per principal type; documents are stored as the client sent them
(the serializer URL-encodes them once on the way out).
"""

from __future__ import annotations

import functools
from typing import Any

from eucalite.errors import no_such_entity
from eucalite.services.context import CallContext
from eucalite.services.iam import documents
from eucalite.services.iam.common import PRINCIPAL_TYPES, Params, PrincipalType, Row
from eucalite.services.iam.pagination import paginate
from eucalite.services.registry import operation


def _policies_of(ctx: CallContext, kind: PrincipalType, principal: Row) -> list[Row]:
    return ctx.cloud.store.all("select name, document from inline_policies where principal_type = ? and "
                               "principal_id = ?", [kind.type, principal["id"]])


def _missing(kind: PrincipalType, name: str) -> Exception:
    return no_such_entity(f"The {kind.type} policy with name {name} cannot be found.")


def put_policy(kind: PrincipalType, ctx: CallContext, params: Params) -> dict[str, Any]:
    principal = kind.row(ctx, params)
    name, text = params["PolicyName"], params["PolicyDocument"]
    others = sum(documents.size(p["document"]) for p in _policies_of(ctx, kind, principal) if p["name"] != name)
    documents.check_inline(text, kind.type, principal["name"], others)
    with ctx.cloud.store.transaction() as db:
        db.table("inline_policies").upsert({"principal_type": kind.type, "principal_id": principal["id"], "name": name,
                                      "document": text}, pk=("principal_type", "principal_id", "name"))
    return {}


def get_policy(kind: PrincipalType, ctx: CallContext, params: Params) -> dict[str, Any]:
    principal = kind.row(ctx, params)
    name = params["PolicyName"]
    row = next((p for p in _policies_of(ctx, kind, principal) if p["name"] == name), None)
    if row is None:
        raise _missing(kind, name)
    return {kind.name_param: principal["name"], "PolicyName": name, "PolicyDocument": row["document"]}


def list_policies(kind: PrincipalType, ctx: CallContext, params: Params) -> dict[str, Any]:
    principal = kind.row(ctx, params)
    names = [p["name"] for p in _policies_of(ctx, kind, principal)]
    page, more = paginate(names, params, key=lambda n: n)
    return {"PolicyNames": page, **more}


def delete_policy(kind: PrincipalType, ctx: CallContext, params: Params) -> dict[str, Any]:
    principal = kind.row(ctx, params)
    name = params["PolicyName"]
    with ctx.cloud.store.transaction() as db:
        if not ctx.cloud.store.one("select 1 from inline_policies where principal_type = ? and principal_id = ? "
                                   "and name = ?", [kind.type, principal["id"], name]):
            raise _missing(kind, name)
        db.execute("delete from inline_policies where principal_type = ? and principal_id = ? and name = ?",
                   [kind.type, principal["id"], name])
    return {}


for _kind in PRINCIPAL_TYPES:
    for _verb, _fn in (("Put", put_policy), ("Get", get_policy), ("Delete", delete_policy)):
        operation("iam", f"{_verb}{_kind.noun}Policy", resources=_kind.resources)(functools.partial(_fn, _kind))
    operation("iam", f"List{_kind.noun}Policies", resources=_kind.resources)(functools.partial(list_policies, _kind))
