"""STS GetAccessKeyInfo: which account a key belongs to (temporary keys carry it in their id)."""

from __future__ import annotations

from typing import Any

from eucalite.credentials.minter import account_of_temporary_key
from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.registry import operation


@operation("sts", "GetAccessKeyInfo")
def get_access_key_info(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    key_id = params["AccessKeyId"]
    account = account_of_temporary_key(key_id)
    if account is None:
        key = ctx.cloud.identities.access_key(key_id)
        account = key.account_id if key else None
    if account is None:
        raise ServiceError("InvalidParameterValue", f"The access key ID {key_id} is not valid.", 400)
    return {"Account": account}
