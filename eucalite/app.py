"""The ASGI application: the API endpoint (all three services) and the test-mode helpers."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eucalite.cloud import Cloud
from eucalite.wire.dispatch import Dispatcher
from eucalite.wire.request import WireRequest

MAX_CLOCK_STEP = 10 * 365 * 86400  # ten years per call is more than any expiry test needs


def wire_request(request: Request, body: bytes) -> WireRequest:
    headers: dict[str, list[str]] = {}
    for name, value in request.scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    client = request.client.host if request.client else ""
    return WireRequest(request.method, request.url.path, request.scope.get("query_string", b"").decode("latin-1"),
                       headers, body, client)


# Query API bodies are small (the largest legitimate one, EC2 user data, is about 22 KB base64-encoded);
# anything far bigger is refused before it is read into memory.
MAX_BODY = 1024 * 1024


async def _bounded_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> Response:
    from eucalite import ids
    from eucalite.errors import ServiceError
    from eucalite.wire.serialize import serialize_error

    request_id = ids.request_id()
    err = ServiceError("RequestEntityTooLarge", f"Request body exceeds {MAX_BODY} bytes.", 413)
    return Response(serialize_error("iam", "https://iam.amazonaws.com/doc/2010-05-08/", err, request_id), 413,
                    {"x-amzn-RequestId": request_id, "Content-Type": "text/xml", "Connection": "close"})


def build_app(cloud: Cloud) -> Starlette:
    dispatcher = Dispatcher(cloud)

    async def api(request: Request) -> Response:
        body = await _bounded_body(request)
        if body is None:
            return _too_large()
        resp = await dispatcher.handle(wire_request(request, body))
        return Response(resp.body, resp.status, resp.headers)

    async def moto_reset(request: Request) -> Response:
        await cloud.reset()
        return JSONResponse({"status": "ok"})

    async def advance_clock(request: Request) -> Response:
        raw = request.query_params.get("seconds", "0")
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        # Forward only, and by a finite amount: an infinite offset would break every later date.
        if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_CLOCK_STEP:
            return JSONResponse({"error": f"seconds must be a number from 0 to {MAX_CLOCK_STEP}, not {raw!r}"},
                                status_code=400)
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
