"""The read model: the same snapshots locally and over JSON, and never a secret in them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eucalite.admin.view import local_snapshot
from eucalite.services.sts import credentials_of
from eucalite.tui import read_model
from tests.tui.conftest import fill, local_cloud


@pytest.mark.asyncio
async def test_snapshots_round_trip_and_hold_no_secrets(tmp_path: Path) -> None:
    cloud = local_cloud(tmp_path)
    walk = await fill(cloud)
    assert walk.instance_id
    cred = credentials_of(cloud).current(walk.instance_id)
    secrets = [cred.secret_access_key, cred.token]  # type: ignore[union-attr]
    secrets += [k.secret for k in (cloud.identities.access_key(r["id"])
                                   for r in cloud.store.all("select id from access_keys")) if k]
    for view in read_model.VIEWS:
        snap = local_snapshot(cloud, view)
        data = read_model.to_json(snap)
        text = json.dumps(data)
        assert not [s for s in secrets if s and s in text], view
        assert read_model.from_json(view, json.loads(text)) == snap
    creds = read_model.credentials(cloud.store, cloud.clock.time())
    assert creds.credentials[0].access_key_id == cred.access_key_id  # type: ignore[union-attr]
    assert [h.event for h in creds.history] == ["minted"]
    profiles = read_model.profiles(cloud.store, cloud.clock.time()).profiles
    assert profiles[0].instances == [f"{walk.instance_id} (pending)"] or \
        profiles[0].instances == [f"{walk.instance_id} (running)"]
    cloud.close()


def test_policy_documents_are_pretty_printed() -> None:
    assert read_model.pretty('{"a":1}') == '{\n  "a": 1\n}'
    assert read_model.pretty("not json") == "not json"
    assert read_model.pretty(None) == ""
