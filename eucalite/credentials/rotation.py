"""The background task that keeps instance credentials fresh. One loop, re-armed after each pass,
so passes never overlap however slow the store is."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from eucalite.credentials.instance_profile import InstanceCredentials

log = logging.getLogger(__name__)


class Rotator:
    def __init__(self, creds: InstanceCredentials, interval: float = 1.0) -> None:
        self.creds = creds
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="credential-rotation")

    async def _run(self) -> None:
        while True:
            try:
                self.creds.sweep()
            except Exception:
                log.exception("credential sweep failed")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
