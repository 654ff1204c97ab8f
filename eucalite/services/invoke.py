"""Running one registered operation for a caller: authorization as the registry declares it, then the
handler. The API dispatcher and the dashboard's actions both come through here, so a dashboard action
is authorized exactly as the same API call would be."""

from __future__ import annotations

import inspect
from typing import Any

from eucalite.errors import ServiceError, parameter_not_implemented
from eucalite.services.context import CallContext
from eucalite.services.registry import Operation


async def invoke(op: Operation, ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    for name in op.unsupported:
        if args.get(name) not in (None, "", [], {}):  # an empty list on the wire asks for nothing
            raise parameter_not_implemented(name, op.name, op.service)
    if op.cloud_admin_only and not ctx.caller.is_cloud_admin:
        raise ServiceError("AccessDenied", f"User: {ctx.caller.arn} is not authorized to perform: {op.action} "
                           "(only the cloud administrator may)", 403)
    # EC2's DryRun: authorize, then stop before anything happens. Handlers that authorize themselves
    # see ctx.dry_run and stop at their own first successful check (CallContext.authorize).
    ctx.dry_run = bool(args.pop("DryRun", False)) and ctx.service == "ec2"
    if not op.authorizes_itself:
        resources = op.resources(ctx, args) if op.resources else ["*"]
        keys = op.condition_keys(ctx, args) if op.condition_keys else {}
        ctx.authorize(op.action, resources, keys)
    result = op.handler(ctx, args)
    if inspect.isawaitable(result):
        result = await result
    return dict(result or {})
