"""STS GetSessionToken: temporary credentials for an IAM user, acting with the user's own permissions."""

from __future__ import annotations

from typing import Any

from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.registry import operation

DEFAULT_DURATION = 43200
MAX_DURATION = 129600
ADMIN_MAX_DURATION = 3600  # AWS caps root-like callers at one hour


@operation("sts", "GetSessionToken", authorizes_itself=True)
def get_session_token(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    caller = ctx.caller
    if caller.is_temporary:
        raise ServiceError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
    ctx.authorize("sts:GetSessionToken")
    duration = params.get("DurationSeconds", DEFAULT_DURATION)
    if duration > MAX_DURATION:
        raise ServiceError("ValidationError", f"1 validation error detected: Value '{duration}' at 'durationSeconds' "
                           f"failed to satisfy constraint: Member must have value less than or equal to {MAX_DURATION}")
    minted = ctx.cloud.minter.mint(account_id=caller.account_id, kind="session", duration=duration,
                                   user_id=caller.user_id)
    return {"Credentials": minted.as_sts()}
