"""STS GetCallerIdentity: always allowed (AWS lets even an explicitly denied principal ask who it is)."""

from __future__ import annotations

from typing import Any

from eucalite.services.context import CallContext
from eucalite.services.registry import operation


@operation("sts", "GetCallerIdentity", authorizes_itself=True)
def get_caller_identity(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    c = ctx.caller
    return {"UserId": c.principal_id, "Account": c.account_id, "Arn": c.arn}
