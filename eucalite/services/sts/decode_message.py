"""STS DecodeAuthorizationMessage: opens the sealed messages EC2 puts in UnauthorizedOperation errors."""

from __future__ import annotations

import json
from typing import Any

from eucalite.authz import AUTH_MESSAGE_AAD
from eucalite.credentials.tokens import InvalidToken, unseal_message
from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.registry import operation


@operation("sts", "DecodeAuthorizationMessage")
def decode_authorization_message(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    try:
        message = unseal_message(ctx.cloud.keyring, params["EncodedMessage"], AUTH_MESSAGE_AAD)
    except (InvalidToken, ValueError) as exc:
        raise ServiceError("InvalidAuthorizationMessageException", "The encoded message is invalid.", 400) from exc
    principal = message.get("context", {})
    account = str(principal.get("principal", {}).get("arn", "")).split(":")[4:5] if isinstance(principal, dict) else []
    if account and account[0] != ctx.account_id:
        # Messages are only readable inside the account they were issued to.
        raise ServiceError("InvalidAuthorizationMessageException", "The encoded message is invalid.", 400)
    return {"DecodedMessage": json.dumps(message)}
