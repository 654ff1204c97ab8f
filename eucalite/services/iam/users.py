"""IAM GetUser (the rest of user management arrives with the IAM issue)."""

from __future__ import annotations

from typing import Any

from eucalite.services.context import CallContext
from eucalite.services.iam.common import require_user, target_user_name, user_arn_of, user_shape
from eucalite.services.registry import operation


@operation("iam", "GetUser", resources=user_arn_of)
def get_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    user = require_user(ctx, target_user_name(ctx, params))
    return {"User": user_shape(user)}
