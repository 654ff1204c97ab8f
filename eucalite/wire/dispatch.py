"""The one request pipeline: route, authenticate, parse, authorize, handle, serialize, log.

Every exit is a well-formed AWS response: ServiceErrors in the service's envelope, anything
unexpected as a 500 with a request id (and a logged traceback that never reaches the client).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eucalite import ids
from eucalite.errors import ServiceError, internal_error, invalid_action, not_implemented
from eucalite.events import Event
from eucalite.services import registry
from eucalite.services.context import CallContext
from eucalite.services.invoke import invoke
from eucalite.wire import sigv2
from eucalite.wire.auth_errors import AuthFailure, to_service_error
from eucalite.wire.parse import parse_params
from eucalite.wire.request import WireRequest
from eucalite.wire.route import service_for
from eucalite.wire.serialize import serialize_error, serialize_result
from eucalite.wire.specs import service as load_service

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

log = logging.getLogger("eucalite.api")
_AUTH_PARAMS = sigv2.AUTH_PARAMS | {"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                                    "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
                                    "X-Amz-Security-Token"}


@dataclass
class WireResponse:
    status: int
    body: bytes
    headers: dict[str, str]


class Dispatcher:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    async def handle(self, req: WireRequest) -> WireResponse:
        started = time.perf_counter()
        request_id = ids.request_id()
        params = req.params
        svc_name = service_for(req, params) or "iam"
        svc = load_service(svc_name)
        action = params.get("Action", "")
        principal = "-"
        decision = "-"
        reasons: list[str] = []
        try:
            try:
                authn = self.cloud.authenticator.authenticate(req, params, svc_name)
            except AuthFailure as failure:
                decision = f"authn:{failure.problem.value}"
                raise to_service_error(failure, svc_name) from None
            principal = authn.caller.arn
            if not action:
                raise ServiceError("MissingAction", "Missing Action", 400)
            model_op = svc.operation(action)
            if model_op is None:
                raise invalid_action(action, svc_name)
            op = registry.lookup(svc_name, action)
            if op is None:
                raise not_implemented(action, svc_name)
            args = parse_params(model_op, svc.protocol, {k: v for k, v in params.items() if k not in _AUTH_PARAMS})
            ctx = CallContext(self.cloud, authn.caller, svc_name, action, request_id, authn.region)
            reasons = ctx.decisions
            result = await invoke(op, ctx, args)
            decision = "allow"
            body = serialize_result(svc, model_op, result, request_id)
            status, headers = 200, {}
        except ServiceError as err:
            if decision in ("-", "allow") and err.code in ("AccessDenied", "UnauthorizedOperation"):
                decision = "deny"
            elif decision == "-":
                decision = "error" if principal != "-" else decision
            body = serialize_error(svc_name, svc.xml_namespace, err, request_id)
            status, headers = err.status, dict(err.headers)
            error_code = err.code
        except Exception:
            log.exception("unexpected error in %s:%s (request %s)", svc_name, action, request_id)
            internal = internal_error(request_id)
            body = serialize_error(svc_name, svc.xml_namespace, internal, request_id)
            status, headers, error_code, decision = 500, {}, internal.code, "error"
        else:
            error_code = ""
        elapsed = (time.perf_counter() - started) * 1000
        reason = reasons[-1] if reasons else ""
        log.info("op=%s:%s principal=%s decision=%s status=%d ms=%.1f%s%s", svc_name, action or "-", principal,
                 decision, status, elapsed, f" error={error_code}" if error_code else "",
                 f" reason={reason!r}" if reason else "")  # every decision with what decided it
        self.cloud.events.publish(Event("api-call", time.time(), {
            "service": svc_name, "action": action, "principal": principal, "decision": decision,
            "status": status, "ms": round(elapsed, 2), "error": error_code, "reason": reason,
            "request_id": request_id}))
        headers.update({"x-amzn-RequestId": request_id, "Content-Type": "text/xml"})
        return WireResponse(status, body, headers)
