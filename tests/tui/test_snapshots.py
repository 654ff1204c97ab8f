"""Snapshot tests: each view at 80x24 over a deterministic cloud (seeded ids, frozen clock).

Update with `pytest tests/tui/test_snapshots.py --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

import eucalite.admin.operations as operations
from eucalite.events import Event
from eucalite.services.sts import credentials_of
from eucalite.tui.app import EucaliteDashboard
from eucalite.tui.sources import LocalSource
from tests.tui.conftest import FROZEN_AT, FrozenClock, fill, local_cloud

CONSOLE = ("eucalite memory node node-1 (eucalite-1a): booting the instance\n"
           "Linux version 0.0-eucalite (memory driver) vcpus=2 mem=512M\n"
           "cloud-init: fetching meta-data/iam/security-credentials/ACCT1-EC2-ACTIONS\n")


async def _fixed_console(_cloud: Any, _instance_id: str) -> str:
    return CONSOLE


@pytest.fixture
def dashboard(tmp_path: Path, seeded: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An app over a cloud filled when the app starts (so the memory node's timers run on its loop)."""
    monkeypatch.setattr(operations, "console_text", _fixed_console)
    cloud = local_cloud(tmp_path, clock=FrozenClock(FROZEN_AT), ttl=900)
    source = LocalSource(cloud)
    source.label = "http://127.0.0.1:8773  (snapshot)"
    app = EucaliteDashboard(source, live=False)

    def prepare(view_key: str, table: str, rows: int = 1) -> Any:
        async def run_before(pilot: Any) -> None:
            walk = await fill(cloud)
            assert walk.instance_id
            for _ in range(100):  # the memory node boots on a short timer
                row = cloud.store.one("select state from instances where id = ?", [walk.instance_id])
                if row["state"] == "running":
                    break
                await pilot.pause(0.02)
            credentials_of(cloud).current(walk.instance_id)  # minted now, by the frozen clock
            cloud.clock.advance(95)  # 1m35s into the instance's life and the credentials'
            cloud.events.publish(Event("api-call", FROZEN_AT + 90, {
                "service": "ec2", "action": "RunInstances",
                "principal": f"arn:aws:sts::{walk.account_id}:assumed-role/ACCT1-EC2-ACTIONS/{walk.instance_id}",
                "decision": "deny", "status": 403, "error": "UnauthorizedOperation",
                "reason": "no statement allows ec2:RunInstances"}))
            cloud.events.publish(Event("api-call", FROZEN_AT + 91, {
                "service": "ec2", "action": "DescribeAvailabilityZones",
                "principal": f"arn:aws:sts::{walk.account_id}:assumed-role/ACCT1-EC2-ACTIONS/{walk.instance_id}",
                "decision": "allow", "status": 200, "error": "", "reason": ""}))
            await pilot.press(view_key)
            for _ in range(3):
                await app.refresh_now()
                await pilot.pause()
            assert app.query_one(f"#{table}", DataTable).row_count >= rows
            await pilot.pause()
        return run_before

    yield app, prepare
    cloud.close()


@pytest.mark.parametrize(("key", "table", "rows"), [
    ("1", "accounts-table", 3),
    ("2", "roles-table", 1),
    ("3", "profiles-table", 1),
    ("4", "instances-table", 1),
    ("5", "credentials-table", 1),
    ("6", "activity-table", 2),
])
def test_view_snapshot(snap_compare: Any, dashboard: Any, key: str, table: str, rows: int) -> None:
    app, prepare = dashboard
    assert snap_compare(app, terminal_size=(80, 24), run_before=prepare(key, table, rows))


def test_confirm_dialog_snapshot(snap_compare: Any, dashboard: Any) -> None:
    app, prepare = dashboard
    assert snap_compare(app, terminal_size=(80, 24), run_before=prepare("4", "instances-table"), press=["x"])


def test_wide_terminal_snapshot(snap_compare: Any, dashboard: Any) -> None:
    app, prepare = dashboard
    assert snap_compare(app, terminal_size=(132, 36), run_before=prepare("4", "instances-table"))
