"""Where the dashboard's data comes from: the cloud in this process, or a running one over its admin view.

Both are awaited on the app's event loop. The local source reads the store directly (fast, synchronous,
and the store connection belongs to this loop's thread); the remote one speaks signed HTTP with httpx.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from eucalite.tui import read_model

if TYPE_CHECKING:
    from eucalite.cloud import Cloud
    from eucalite.events import Event


class SourceError(Exception):
    pass


class Source(Protocol):
    label: str

    def now(self) -> float: ...

    async def snapshot(self, view: str) -> read_model.Snapshot: ...

    async def events_after(self, after: int) -> tuple[int, list[read_model.ActivityRow]]: ...

    async def console(self, instance_id: str) -> str: ...

    async def act(self, action: str, instance_id: str) -> str: ...

    def unavailable_actions(self) -> dict[str, str]: ...

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None]: ...

    async def close(self) -> None: ...


class LocalSource:
    """The cloud of this process (`eucalite up` on a terminal, and the tests)."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.label = f"{cloud.settings.endpoint_url}  ({cloud.settings.data_dir})"

    def now(self) -> float:
        return self.cloud.clock.time()

    async def snapshot(self, view: str) -> read_model.Snapshot:
        from eucalite.admin.view import local_snapshot

        return local_snapshot(self.cloud, view)

    async def events_after(self, after: int) -> tuple[int, list[read_model.ActivityRow]]:
        bus = self.cloud.events
        ring = list(bus.recent)
        rows = [read_model.activity_row(n, e) for n, e in read_model.numbered(ring, bus.sequence, len(ring))
                if n > after and e.kind == "api-call"]
        return bus.sequence, rows

    async def console(self, instance_id: str) -> str:
        from eucalite.admin.operations import console_text

        return await console_text(self.cloud, instance_id)

    async def act(self, action: str, instance_id: str) -> str:
        from eucalite.admin.operations import ActionError, perform

        try:
            return await perform(self.cloud, action, instance_id)
        except ActionError as exc:
            raise SourceError(str(exc)) from exc

    def unavailable_actions(self) -> dict[str, str]:
        from eucalite.admin.operations import unavailable_actions

        return unavailable_actions()

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None]:
        """Call on_change (on the loop that subscribed) when the cloud publishes an event."""
        loop = asyncio.get_running_loop()

        def notify(_event: Event) -> None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                loop.call_soon(on_change)
            else:  # published from another thread (a driver callback): hop onto the app's loop
                loop.call_soon_threadsafe(on_change)

        return self.cloud.events.subscribe(notify)

    async def close(self) -> None:
        return None


class RemoteSource:
    """A running eucalite, through its admin view, signed as the cloud administrator."""

    def __init__(self, url: str, access_key_id: str, secret_access_key: str, region: str,
                 session_token: str | None = None) -> None:
        import httpx
        from botocore.credentials import Credentials

        self.url = url.rstrip("/")
        self.label = f"attached to {self.url}"
        self.region = region
        self._creds = Credentials(access_key_id, secret_access_key, session_token)
        self._client = httpx.AsyncClient(timeout=10.0)
        self._server_now = time.time()
        self._at = time.monotonic()
        self._unavailable: dict[str, str] = {}

    def now(self) -> float:
        # The server's clock (it may be moved in test mode), advanced by our own monotonic time.
        return self._server_now + (time.monotonic() - self._at)

    async def _call(self, method: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        from urllib.parse import urlencode

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = f"{self.url}/_eucalite/admin/{path}?{urlencode(params)}"
        req = AWSRequest(method=method, url=url, data=b"")
        SigV4Auth(self._creds, "iam", self.region).add_auth(req)
        try:
            resp = await self._client.request(method, url, headers=dict(req.headers.items()), content=b"")
        except Exception as exc:
            raise SourceError(f"{self.url}: {exc}") from exc
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {"message": resp.text[:200]}
        if resp.status_code != 200:
            raise SourceError(f"{resp.status_code}: {body.get('message') or body.get('error') or 'failed'}")
        return body

    async def snapshot(self, view: str) -> read_model.Snapshot:
        body = await self._call("GET", "snapshot", {"view": view})
        snap = read_model.from_json(view, body["snapshot"])
        self._server_now, self._at = snap.now, time.monotonic()
        self._unavailable = dict(body.get("unavailable_actions") or {})
        return snap

    async def events_after(self, after: int) -> tuple[int, list[read_model.ActivityRow]]:
        from eucalite.events import Event

        body = await self._call("GET", "events", {"after": str(after)})
        rows = [read_model.activity_row(e["seq"], Event(e["kind"], e["at"], e["data"]))
                for e in body["events"] if e["kind"] == "api-call"]
        return int(body["sequence"]), rows

    async def console(self, instance_id: str) -> str:
        body = await self._call("GET", "console", {"instance": instance_id})
        return str(body.get("text", ""))

    async def act(self, action: str, instance_id: str) -> str:
        body = await self._call("POST", "action", {"action": action, "instance": instance_id})
        return str(body.get("message", "done"))

    def unavailable_actions(self) -> dict[str, str]:
        return self._unavailable

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None]:
        return lambda: None  # the attached dashboard polls

    async def close(self) -> None:
        await self._client.aclose()
