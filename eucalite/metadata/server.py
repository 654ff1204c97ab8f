"""The metadata service: one loopback listener per instance (its channel), speaking HTTP/1.1 via h11.

Why a port per instance: the listener a connection arrives on is the only identity the service
trusts, and host-side clients (botocore with AWS_EC2_METADATA_SERVICE_ENDPOINT) can use a plain URL.
Nothing a guest sends -- headers, paths, its own address -- can make it another instance. A local
process on the host can connect to any channel; see the README's security notes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING

import h11

from eucalite.credentials.instance_profile import InstanceCredentials
from eucalite.metadata import imds_tokens
from eucalite.metadata.identity_document import IdentitySigner
from eucalite.metadata.render import NOT_FOUND, Rendered, render, split_path, versions_listing
from eucalite.metadata.tree import VERSIONS, version_root
from eucalite.metadata.views import instance_view, user_data
from eucalite.store.secretbox import load_or_create_key

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

log = logging.getLogger(__name__)
TOKEN_HEADER = "x-aws-ec2-metadata-token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
_IDLE_SECONDS = 60.0
_MAX_BODY = 64 * 1024


class MetadataService:
    def __init__(self, cloud: Cloud, creds: InstanceCredentials) -> None:
        self.cloud = cloud
        self.creds = creds
        data_dir = None if cloud.store.path is None else cloud.settings.data_dir
        self.signer = IdentitySigner(data_dir)
        self.token_key = (load_or_create_key(data_dir / "imds-token.key") if data_dir else b"\1" * 32)
        self.servers: dict[str, asyncio.Server] = {}

    # -- channels --------------------------------------------------------------------------------------
    async def open_channel(self, instance_id: str, port: int = 0) -> int:
        """Listen for this instance on 127.0.0.1; reuse ``port`` when re-adopting after a restart."""
        if instance_id in self.servers:
            return int(self.servers[instance_id].sockets[0].getsockname()[1])

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve_connection(instance_id, reader, writer)

        try:
            server = await asyncio.start_server(client, "127.0.0.1", port)
        except OSError:
            if not port:
                raise
            log.warning("metadata port %d for %s is taken; using a new one", port, instance_id)
            server = await asyncio.start_server(client, "127.0.0.1", 0)
        self.servers[instance_id] = server
        return int(server.sockets[0].getsockname()[1])

    async def close_channel(self, instance_id: str) -> None:
        server = self.servers.pop(instance_id, None)
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def close(self) -> None:
        for iid in list(self.servers):
            await self.close_channel(iid)

    def port_of(self, instance_id: str) -> int | None:
        server = self.servers.get(instance_id)
        return int(server.sockets[0].getsockname()[1]) if server else None

    # -- HTTP ------------------------------------------------------------------------------------------
    async def _serve_connection(self, instance_id: str, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_BODY)
        try:
            while True:
                request, body = await self._read_request(conn, reader)
                if request is None:
                    break
                result, extra = self.respond(instance_id, request, body)
                headers = [("Content-Type", result.content_type), ("Content-Length", str(len(result.body))),
                           ("Server", "EC2ws"), *extra]
                writer.write(conn.send(h11.Response(status_code=result.status, headers=headers,
                                                    reason=HTTPStatus(result.status).phrase.encode())) or b"")
                if request.method != b"HEAD":
                    writer.write(conn.send(h11.Data(data=result.body)) or b"")
                writer.write(conn.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
        except (TimeoutError, h11.RemoteProtocolError, ConnectionError):
            pass
        except Exception:
            log.exception("metadata connection for %s failed", instance_id)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, conn: h11.Connection,
                            reader: asyncio.StreamReader) -> tuple[h11.Request | None, bytes]:
        request: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(65536), _IDLE_SECONDS)
                conn.receive_data(data)
                if not data and conn.their_state in (h11.IDLE, h11.DONE):
                    return None, b""
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > _MAX_BODY:
                    return None, b""
            elif isinstance(event, h11.EndOfMessage):
                return request, body
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""

    def respond(self, instance_id: str, request: h11.Request, body: bytes) -> tuple[Rendered, list[tuple[str, str]]]:
        headers = {k.decode().lower(): v.decode(errors="replace") for k, v in request.headers}
        method = request.method.decode()
        path = request.target.decode(errors="replace")
        inst = self.cloud.store.one("select * from instances where id = ?", [instance_id]) \
            if "instances" in self.cloud.store.db.table_names() else None
        if inst is None or inst["state"] == "terminated":
            return NOT_FOUND, []
        if (inst.get("metadata_http_endpoint") or "enabled") == "disabled":
            return Rendered(403, b"Forbidden"), []
        now = self.cloud.clock.time()
        if method == "PUT":
            return self._token(instance_id, path, headers, now)
        if method not in ("GET", "HEAD"):
            return Rendered(405, b"Method Not Allowed"), [("Allow", "GET, HEAD, PUT")]
        token = headers.get(TOKEN_HEADER)
        required = (inst.get("metadata_http_tokens") or "optional") == "required"
        # A presented token must be valid even when tokens are optional (AWS behaves so).
        if (token is not None and not imds_tokens.valid(self.token_key, token, instance_id, now)) or \
                (token is None and required):
            return Rendered(401, b"Unauthorized"), []
        version, parts = split_path(path)
        if version is None:
            return versions_listing(), []
        if version not in VERSIONS:
            return NOT_FOUND, []
        view = instance_view(self.cloud, self.creds, self.signer, inst)
        return render(version_root(view, user_data(inst)), parts), []

    def _token(self, instance_id: str, path: str, headers: dict[str, str],
               now: float) -> tuple[Rendered, list[tuple[str, str]]]:
        if path.split("?")[0].rstrip("/") != "/latest/api/token":
            return NOT_FOUND, []
        if "x-forwarded-for" in headers:
            # AWS refuses token requests that went through a proxy, so a relay cannot mint tokens.
            return Rendered(403, b"Forbidden"), []
        ttl_text = headers.get(TTL_HEADER, "")
        # ASCII digits only: str.isdigit() also takes "²" or "٦", which int() then refuses or reads.
        if not (ttl_text.isascii() and ttl_text.isdigit()) or not imds_tokens.MIN_TTL <= int(ttl_text) <= imds_tokens.MAX_TTL:
            return Rendered(400, b"Bad Request"), []
        ttl = int(ttl_text)
        token = imds_tokens.issue(self.token_key, instance_id, now, ttl)
        return Rendered(200, token.encode()), [("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))]
