"""Pilot tests: every view, one key away, showing what the store holds."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Log, Static, TabbedContent

from eucalite.tui import read_model
from eucalite.tui.app import EucaliteDashboard
from eucalite.tui.sources import LocalSource
from eucalite.tui.widgets.confirm import Confirm
from tests.tui.conftest import call, fill, local_cloud

pytestmark = pytest.mark.asyncio


def cells(app: EucaliteDashboard, table_id: str) -> list[list[str]]:
    table = app.query_one(f"#{table_id}", DataTable)
    out = []
    for row in range(table.row_count):
        out.append([getattr(c, "plain", str(c)) for c in table.get_row_at(row)])
    return out


def text_of(app: EucaliteDashboard, selector: str) -> str:
    widget = app.query_one(selector, Static)
    content: Any = widget.content  # type: ignore[attr-defined]
    return str(getattr(content, "plain", content))


async def until(pilot: Any, predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


async def test_every_view_shows_the_store(tmp_path: Path) -> None:
    cloud = local_cloud(tmp_path)
    await cloud.start()
    try:
        walk = await fill(cloud)
        assert walk.instance_id
        app = EucaliteDashboard(LocalSource(cloud), poll_interval=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            # 1: accounts and users, straight from the store
            await pilot.press("1")
            await until(pilot, lambda: app.query_one("#accounts-table", DataTable).row_count >= 3)
            rows = cells(app, "accounts-table")
            users = read_model.accounts(cloud.store, 0).users
            assert {(r[0], r[2]) for r in rows} == {(u.account_name, u.name) for u in users}
            assert ["account1", walk.account_id, "user01"] == rows[[r[2] for r in rows].index("user01")][:3]
            assert all("secret" not in " ".join(r).lower() for r in rows)

            # 2: roles, with the trust policy and the role policy as JSON, and the profile holding it
            await pilot.press("2")
            assert app.query_one(TabbedContent).active == "roles"
            await until(pilot, lambda: app.query_one("#roles-table", DataTable).row_count == 1)
            assert cells(app, "roles-table")[0][:2] == ["account1", "ACCT1-EC2-ACTIONS"]
            await until(pilot, lambda: "trust policy" in text_of(app, "#roles-detail"))
            detail = text_of(app, "#roles-detail")
            assert '"Service": [\n' in detail and "ec2.amazonaws.com" in detail
            assert "inline policy describe-zones" in detail and "ec2:DescribeAvailabilityZones" in detail
            assert f"arn:aws:iam::{walk.account_id}:instance-profile/instance-ec2-actions" in detail

            # 3: instance profiles, with the role and the instance using it
            await pilot.press("3")
            await until(pilot, lambda: app.query_one("#profiles-table", DataTable).row_count == 1)
            assert cells(app, "profiles-table")[0] == ["account1", "instance-ec2-actions", "/", "ACCT1-EC2-ACTIONS",
                                                       "1"]
            await until(pilot, lambda: walk.instance_id in text_of(app, "#profiles-detail"))

            # 4: instances, with the metadata URL and the console of the selected one
            await pilot.press("4")
            await until(pilot, lambda: app.query_one("#instances-table", DataTable).row_count == 1)
            await until(pilot, lambda: cells(app, "instances-table")[0][1] == "running")
            row = cells(app, "instances-table")[0]
            port = cloud.store.one("select metadata_port from instances where id = ?", [walk.instance_id])
            assert row[0] == walk.instance_id and row[2] == "m1.large" and row[4] == "instance-ec2-actions"
            assert row[8] == f"http://127.0.0.1:{port['metadata_port']}"
            console = app.query_one("#instances-console", Log)
            await until(pilot, lambda: walk.instance_id in "\n".join(console.lines))

            # 5: credentials: the ASIA key the minter issued (never the secret), and its mint in the history
            await pilot.press("5")
            await until(pilot, lambda: cells(app, "credentials-table") and
                        cells(app, "credentials-table")[0][1].startswith("ASIA"))
            key = cloud.store.one("select access_key_id from instance_credentials where instance_id = ?",
                                  [walk.instance_id])
            assert cells(app, "credentials-table")[0][:2] == [walk.instance_id, key["access_key_id"]]
            assert ["minted", key["access_key_id"]] == cells(app, "history-table")[-1][2:4]

            # 6: activity: the dashboard's own calls are not there, but a denied API call is
            await pilot.press("6")
            assert app.query_one(TabbedContent).active == "activity"
    finally:
        await cloud.stop()
        cloud.close()


async def test_filter_narrows_each_table(tmp_path: Path) -> None:
    cloud = local_cloud(tmp_path)
    await fill(cloud, launch=False)
    app = EucaliteDashboard(LocalSource(cloud), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query_one("#accounts-table", DataTable).row_count == 3)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"user0")
        await until(pilot, lambda: app.query_one("#accounts-table", DataTable).row_count == 1)
        assert cells(app, "accounts-table")[0][2] == "user01"
        await pilot.press("enter")
        assert isinstance(app.focused, DataTable)
        await pilot.press("2", "slash", *"nomatch")
        await until(pilot, lambda: app.query_one("#roles-table", DataTable).row_count == 0)
    cloud.close()


async def test_actions_are_confirmed_and_go_through_ec2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="eucalite.api")
    cloud = local_cloud(tmp_path)
    await cloud.start()
    try:
        walk = await fill(cloud)
        app = EucaliteDashboard(LocalSource(cloud), poll_interval=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            await until(pilot, lambda: cells(app, "instances-table") and
                        cells(app, "instances-table")[0][1] == "running")
            await pilot.press("s")
            assert isinstance(app.screen, Confirm)
            await pilot.press("n")  # declined: nothing happens
            assert not isinstance(app.screen, Confirm)
            await pilot.pause(0.2)
            assert cloud.store.one("select state from instances where id = ?", [walk.instance_id])["state"] == \
                "running"
            await pilot.press("s", "y")
            await until(pilot, lambda: cells(app, "instances-table")[0][1] == "stopped")
            calls = [c for c in app.query_one("#activity-table", DataTable).rows]
            assert calls  # the action was recorded as an api-call
            assert any("op=ec2:StopInstances" in r.getMessage() and "(dashboard) decision=allow" in r.getMessage()
                       for r in caplog.records)  # and logged like any API call
            await pilot.press("a", "y")
            await until(pilot, lambda: cells(app, "instances-table")[0][1] == "running")
            await pilot.press("x", "y")
            await until(pilot, lambda: cells(app, "instances-table")[0][1] == "terminated")
    finally:
        await cloud.stop()
        cloud.close()


async def test_rotation_shows_live_without_a_key_press(tmp_path: Path) -> None:
    cloud = local_cloud(tmp_path, ttl=4)  # rotates at half-life: every 2 s
    await cloud.start()
    try:
        walk = await fill(cloud)
        app = EucaliteDashboard(LocalSource(cloud), poll_interval=0.25)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")
            await until(pilot, lambda: cells(app, "credentials-table") and
                        cells(app, "credentials-table")[0][1].startswith("ASIA"))
            first = cells(app, "credentials-table")[0][1]
            history = len(cells(app, "history-table"))
            await until(pilot, lambda: cells(app, "credentials-table")[0][1] != first, timeout=8)
            assert cells(app, "credentials-table")[0][1].startswith("ASIA")
            await until(pilot, lambda: len(cells(app, "history-table")) > history)
            assert cells(app, "history-table")[0][2] == "rotated"
            assert walk.instance_id in cells(app, "history-table")[0][1]
    finally:
        await cloud.stop()
        cloud.close()


async def test_rotate_now_from_the_dashboard(tmp_path: Path) -> None:
    cloud = local_cloud(tmp_path)
    await cloud.start()
    try:
        walk = await fill(cloud)
        app = EucaliteDashboard(LocalSource(cloud), poll_interval=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")
            await until(pilot, lambda: cells(app, "credentials-table") and
                        cells(app, "credentials-table")[0][1].startswith("ASIA"))
            first = cells(app, "credentials-table")[0][1]
            await pilot.press("n")
            assert isinstance(app.screen, Confirm)
            await pilot.press("y")
            await until(pilot, lambda: cells(app, "credentials-table")[0][1] != first)
            events = [r[2] for r in cells(app, "history-table")]
            assert events[:2] == ["rotated", "minted"]
            assert walk.instance_id
    finally:
        await cloud.stop()
        cloud.close()


async def test_denied_api_call_shows_in_activity(tmp_path: Path) -> None:
    from urllib.parse import urlencode

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from eucalite.wire.dispatch import Dispatcher
    from eucalite.wire.request import WireRequest

    cloud = local_cloud(tmp_path)
    walk = await fill(cloud, launch=False)
    user = cloud.identities.user(walk.account_id, "user01")
    assert user is not None
    key = cloud.identities.access_key(cloud.identities.access_keys_of(user["id"])[0]["id"])
    assert key is not None

    app = EucaliteDashboard(LocalSource(cloud), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        # A real signed request that user01's policy does not allow, through the API's own pipeline.
        body = urlencode({"Action": "CreateRole", "Version": "2010-05-08", "RoleName": "nope",
                          "AssumeRolePolicyDocument": "{}"})
        signed = AWSRequest(method="POST", url="http://127.0.0.1:8773/", data=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        SigV4Auth(Credentials(key.id, key.secret), "iam", cloud.settings.region).add_auth(signed)
        headers = {k.lower(): [v] for k, v in signed.headers.items()}
        headers["host"] = ["127.0.0.1:8773"]
        reply = await Dispatcher(cloud).handle(WireRequest("POST", "/", "", headers, body.encode()))
        assert reply.status == 403
        await until(pilot, lambda: app.query_one("#activity-table", DataTable).row_count == 1)
        row = cells(app, "activity-table")[0]
        assert row[1].endswith("user/user01") and row[2:5] == ["iam:CreateRole", "deny", "403"]
        assert "no statement" in row[5] or "allow" in row[5]
        await call(cloud, "iam", "ListUsers", {}, account="account1")
    cloud.close()
