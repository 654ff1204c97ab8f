"""The admin view an attached `eucalite tui` reads: read-model snapshots, recent events, consoles, and the
dashboard's few actions. Requests are SigV4-signed like any API call (service scope "iam") and only the
cloud administrator is let in; everyone else gets 403.

    GET  /_eucalite/admin/snapshot?view=NAME      -> read-model snapshot as JSON
    GET  /_eucalite/admin/events?after=SEQ        -> {"sequence": N, "events": [{seq, kind, at, data}]}
    GET  /_eucalite/admin/console?instance=ID     -> {"instance": ID, "text": "..."}
    POST /_eucalite/admin/action?action=A&instance=ID  (reboot|stop|start|terminate|rotate)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eucalite.admin.operations import ActionError, console_text, perform, unavailable_actions
from eucalite.tui import read_model
from eucalite.wire.auth_errors import AuthFailure

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

PREFIX = "/_eucalite/admin"
EVENTS_LIMIT = 1000


def local_snapshot(cloud: Cloud, view: str) -> read_model.Snapshot:
    now = cloud.clock.time()
    if view == "activity":
        bus = cloud.events
        ring = list(bus.recent)
        return read_model.activity(read_model.numbered(ring, bus.sequence, len(ring)), now)
    return read_model.store_snapshot(cloud.store, view, now)


def events_after(cloud: Cloud, after: int, limit: int = EVENTS_LIMIT) -> tuple[int, list[dict[str, Any]]]:
    bus = cloud.events
    ring = list(bus.recent)
    seq = bus.sequence
    out = [{"seq": n, "kind": e.kind, "at": e.at, "data": e.data}
           for n, e in read_model.numbered(ring, seq, len(ring)) if n > after]
    return seq, out[-limit:]


def routes(cloud: Cloud) -> list[Route]:
    from eucalite.app import wire_request

    Handler = Callable[[Request], Awaitable[Response]]

    def admin_only(fn: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            req = wire_request(request, await request.body())
            try:
                authn = cloud.authenticator.authenticate(req, req.params, "iam")
            except AuthFailure as failure:
                return JSONResponse({"error": "AccessDenied", "message": f"not authenticated: "
                                     f"{failure.problem.value}"}, 403)
            if not authn.caller.is_cloud_admin:
                return JSONResponse({"error": "AccessDenied", "message": f"{authn.caller.arn} is not the cloud "
                                     "administrator"}, 403)
            return await fn(request)
        return guarded

    async def snapshot(request: Request) -> Response:
        view = request.query_params.get("view", "")
        if view not in read_model.VIEWS:
            return JSONResponse({"error": "InvalidParameterValue",
                                 "message": f"view must be one of {', '.join(read_model.VIEWS)}"}, 400)
        return JSONResponse({"view": view, "snapshot": read_model.to_json(local_snapshot(cloud, view)),
                             "unavailable_actions": unavailable_actions()})

    async def events(request: Request) -> Response:
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return JSONResponse({"error": "InvalidParameterValue", "message": "after must be an integer"}, 400)
        seq, items = events_after(cloud, after)
        return JSONResponse({"sequence": seq, "events": items})

    async def console(request: Request) -> Response:
        instance = request.query_params.get("instance", "")
        return JSONResponse({"instance": instance, "text": await console_text(cloud, instance)})

    async def action(request: Request) -> Response:
        name = request.query_params.get("action", "")
        instance = request.query_params.get("instance", "")
        try:
            message = await perform(cloud, name, instance)
        except ActionError as exc:
            return JSONResponse({"ok": False, "message": str(exc)}, 409)
        return JSONResponse({"ok": True, "message": message})

    return [
        Route(f"{PREFIX}/snapshot", admin_only(snapshot), methods=["GET"]),
        Route(f"{PREFIX}/events", admin_only(events), methods=["GET"]),
        Route(f"{PREFIX}/console", admin_only(console), methods=["GET"]),
        Route(f"{PREFIX}/action", admin_only(action), methods=["POST"]),
    ]
