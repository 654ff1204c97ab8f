"""The composition root: one object that owns the store, the clock, the keys and every service.

Everything long-lived is built here and handed down; there are no module-level singletons, so tests
can run several clouds (one per data dir) in one process.
"""

from __future__ import annotations

import logging
from typing import Any

from eucalite.authz import Authorizer
from eucalite.clock import Clock, iso8601
from eucalite.config import Settings
from eucalite.credentials.minter import Minter
from eucalite.credentials.tokens import Keyring
from eucalite.events import EventBus
from eucalite.store.db import Store
from eucalite.store.identities import Identities
from eucalite.wire.auth import Authenticator

log = logging.getLogger(__name__)


class Cloud:
    def __init__(self, settings: Settings, *, in_memory: bool = False, clock: Clock | None = None) -> None:
        from eucalite import services

        services.load_all()  # handlers register their operations on import
        self.settings = settings
        self.clock = clock or Clock()
        self.events = EventBus()
        if in_memory:
            self.store = Store(None, now=iso8601(self.clock.now()))
            self.keyring = Keyring(None)
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            # mkdir's mode does nothing for a directory that already exists: tighten it too.
            settings.data_dir.chmod(0o700)
            self.store = Store(settings.db_path, now=iso8601(self.clock.now()))
            self.keyring = Keyring(settings.data_dir / "sealing-keys")
        self.identities = Identities(self.store, self.clock)
        self.authenticator = Authenticator(self.identities, self.keyring, self.clock, settings.region,
                                           settings.clock_skew, any_region=settings.test_mode,
                                           lenient_tokens=settings.test_mode)
        self.authorizer = Authorizer(self.store, self.clock, self.keyring, settings.region)
        self.minter = Minter(self.keyring, self.clock)
        # Services that hold state beyond the store attach themselves here (see services.load_all).
        self.extensions: dict[str, Any] = {}
        self._started = False

    async def start(self) -> None:
        """Background work (credential rotation, node reconciliation) starts with the server."""
        from eucalite import services

        if not self._started:
            self._started = True
            await services.start_all(self)

    async def stop(self) -> None:
        from eucalite import services

        if self._started:
            self._started = False
            await services.stop_all(self)

    async def reset(self) -> None:
        """Wipe all state (test mode's /moto-api/reset) and bootstrap again."""
        from eucalite import services
        from eucalite.bootstrap import bootstrap

        await services.stop_all(self)
        with self.store.transaction() as db:
            db.execute("PRAGMA defer_foreign_keys = ON")  # tables are emptied in no particular order
            for table in db.table_names():
                if table != "_migrations" and not table.startswith("sqlite_"):
                    db.execute(f"delete from [{table}]")
        bootstrap(self)
        await services.start_all(self)

    def close(self) -> None:
        self.store.close()
