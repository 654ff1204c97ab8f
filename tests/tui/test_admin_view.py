"""The admin view `eucalite tui` attaches to, through a live server: cloud admin only, no secrets."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from textual.widgets import DataTable

from eucalite.tui.app import EucaliteDashboard
from eucalite.tui.sources import RemoteSource, SourceError
from tests.conftest import Creds, LiveCloud
from tests.tui.conftest import ROLE_POLICY, TRUST


def get(live: LiveCloud, path: str, creds: Creds | None, method: str = "GET") -> tuple[int, dict[str, Any]]:
    url = f"{live.url}/_eucalite/admin/{path}"
    req = AWSRequest(method=method, url=url, data=b"")
    if creds is not None:
        SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token), "iam",
                  live.region).add_auth(req)
    http = urllib.request.Request(url, method=method, headers=dict(req.headers.items()),
                                  data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(http, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.fixture
def live(make_cloud: Callable[..., LiveCloud]) -> LiveCloud:
    cloud = make_cloud()
    iam = cloud.client("iam")
    iam.create_account(AccountName="account1")
    acct1 = cloud.client("iam", cloud.admin_creds("account1"))
    acct1.create_role(RoleName="ACCT1-EC2-ACTIONS", AssumeRolePolicyDocument=TRUST)
    acct1.put_role_policy(RoleName="ACCT1-EC2-ACTIONS", PolicyName="describe-zones", PolicyDocument=ROLE_POLICY)
    acct1.create_instance_profile(InstanceProfileName="instance-ec2-actions")
    acct1.add_role_to_instance_profile(InstanceProfileName="instance-ec2-actions", RoleName="ACCT1-EC2-ACTIONS")
    return cloud


def test_snapshot_for_the_cloud_admin(live: LiveCloud) -> None:
    admin = live.admin_creds()
    status, body = get(live, "snapshot?view=accounts", admin)
    assert status == 200, body
    users = {(u["account_name"], u["name"]) for u in body["snapshot"]["users"]}
    assert {("eucalyptus", "admin"), ("account1", "admin")} <= users
    assert admin.secret_access_key not in json.dumps(body)
    status, body = get(live, "snapshot?view=roles", admin)
    role = body["snapshot"]["roles"][0]
    assert role["name"] == "ACCT1-EC2-ACTIONS"
    assert json.loads(role["trust_policy"]) == json.loads(TRUST)
    assert role["inline_policies"][0]["name"] == "describe-zones"
    assert role["profiles"][0].endswith(":instance-profile/instance-ec2-actions")
    for view in ("profiles", "instances", "credentials", "activity"):
        status, body = get(live, f"snapshot?view={view}", admin)
        assert status == 200 and body["view"] == view
    assert get(live, "snapshot?view=nope", admin)[0] == 400


def test_events_feed(live: LiveCloud) -> None:
    status, body = get(live, "events?after=0", live.admin_creds())
    assert status == 200
    actions = [e["data"]["action"] for e in body["events"] if e["kind"] == "api-call"]
    assert "CreateRole" in actions and "AddRoleToInstanceProfile" in actions
    seq = body["sequence"]
    assert get(live, f"events?after={seq}", live.admin_creds())[1]["events"] == []


def test_non_admins_get_403(live: LiveCloud) -> None:
    account_admin = live.admin_creds("account1")  # an account's admin is not the cloud's
    status, body = get(live, "snapshot?view=accounts", account_admin)
    assert status == 403 and body["error"] == "AccessDenied"
    assert get(live, "events?after=0", account_admin)[0] == 403
    assert get(live, "action?action=rotate&instance=i-12345678", account_admin, "POST")[0] == 403
    assert get(live, "snapshot?view=accounts", None)[0] == 403  # unsigned
    wrong = Creds(live.admin_creds().access_key_id, "not-the-secret")
    assert get(live, "snapshot?view=accounts", wrong)[0] == 403


def test_remote_source_and_attached_dashboard(live: LiveCloud) -> None:
    admin = live.admin_creds()

    async def run() -> None:
        source = RemoteSource(live.url, admin.access_key_id, admin.secret_access_key, live.region)
        snap = await source.snapshot("profiles")
        assert snap.profiles[0].name == "instance-ec2-actions"  # type: ignore[union-attr]
        app = EucaliteDashboard(source, poll_interval=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")
            for _ in range(100):
                if app.query_one("#roles-table", DataTable).row_count:
                    break
                await pilot.pause(0.05)
            table = app.query_one("#roles-table", DataTable)
            assert [str(c) for c in table.get_row_at(0)][:2] == ["account1", "ACCT1-EC2-ACTIONS"]
        bad = RemoteSource(live.url, *[live.admin_creds("account1").access_key_id, "x"], live.region)
        with pytest.raises(SourceError, match="403"):
            await bad.snapshot("accounts")
        await bad.close()

    asyncio.run(run())
