"""The ASGI application: the API endpoint (all three services) and the test-mode helpers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eucalite.cloud import Cloud
from eucalite.wire.dispatch import Dispatcher
from eucalite.wire.request import WireRequest


def wire_request(request: Request, body: bytes) -> WireRequest:
    headers: dict[str, list[str]] = {}
    for name, value in request.scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    client = request.client.host if request.client else ""
    return WireRequest(request.method, request.url.path, request.scope.get("query_string", b"").decode("latin-1"),
                       headers, body, client)


def build_app(cloud: Cloud) -> Starlette:
    dispatcher = Dispatcher(cloud)

    async def api(request: Request) -> Response:
        resp = await dispatcher.handle(wire_request(request, await request.body()))
        return Response(resp.body, resp.status, resp.headers)

    async def moto_reset(request: Request) -> Response:
        await cloud.reset()
        return JSONResponse({"status": "ok"})

    async def advance_clock(request: Request) -> Response:
        seconds = float(request.query_params.get("seconds", "0"))
        cloud.clock.advance(seconds)
        return JSONResponse({"offset": cloud.clock.offset})

    routes = []
    if cloud.settings.test_mode:
        # Test mode only (never on by default): moto-compatible reset and a movable clock for expiry tests.
        routes += [Route("/moto-api/reset", moto_reset, methods=["POST"]),
                   Route("/_eucalite/clock", advance_clock, methods=["POST"])]
    from eucalite.admin.view import routes as admin_routes

    routes += admin_routes(cloud)  # the admin view `eucalite tui` attaches to (cloud admin only)
    routes.append(Route("/{path:path}", api, methods=["GET", "POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await cloud.start()
        try:
            yield
        finally:
            await cloud.stop()

    return Starlette(routes=routes, lifespan=lifespan)
