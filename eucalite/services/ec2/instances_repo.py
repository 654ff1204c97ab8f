"""The instances table: reads, writes and the notifications every state or profile change sends.

Other subsystems (metadata service, credential minter, dashboard) read this table directly; the
column names are theirs too. Every change of state or profile goes through ``changed()`` so the event
bus and the registered instance hooks hear about it exactly once per change.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from eucalite.clock import iso8601, parse_iso8601
from eucalite.events import Event
from eucalite.store.db import Store

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

log = logging.getLogger(__name__)

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
# Instances using node capacity: everything but stopped and gone.
ACTIVE_STATES = ("pending", "running", "stopping", "shutting-down")


def get(store: Store, instance_id: str) -> dict[str, Any] | None:
    return store.one("select * from instances where id = ?", [instance_id])


def of_account(store: Store, account_id: str) -> list[dict[str, Any]]:
    return store.all("select * from instances where account_id = ? order by launch_time, ami_launch_index, id",
                     [account_id])


def visible(cloud: Cloud, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Terminated instances stay visible for settings.terminated_visible_seconds (an hour, like AWS)."""
    horizon = cloud.clock.time() - cloud.settings.terminated_visible_seconds
    out = []
    for r in rows:
        if (r["state"] == "terminated" and r["terminated_at"]
                and parse_iso8601(r["terminated_at"]).timestamp() < horizon):
            continue
        out.append(r)
    return out


def by_client_token(store: Store, account_id: str, token: str) -> list[dict[str, Any]]:
    return store.all("select * from instances where account_id = ? and client_token = ? order by ami_launch_index",
                     [account_id, token])


def live_on_node(store: Store, node: str) -> list[dict[str, Any]]:
    return store.all("select * from instances where node = ? and state != 'terminated'", [node])


def groups(row: dict[str, Any]) -> list[dict[str, str]]:
    return list(json.loads(row["security_groups"] or "[]"))


def set_state(cloud: Cloud, instance_id: str, state: str, reason: str | None = None) -> dict[str, Any] | None:
    """Record a new state (and why); notify when it actually changed."""
    row = get(cloud.store, instance_id)
    if row is None:
        return None
    if row["state"] == state and (reason is None or reason == row["state_reason"]):
        return row
    if row["state"] == "terminated":  # terminal: late reports from a node cannot revive it
        return row
    update: dict[str, Any] = {"state": state}
    if reason is not None:
        update["state_reason"] = reason
    if state == "terminated":
        update["terminated_at"] = iso8601(cloud.clock.now())
    with cloud.store.transaction() as db:
        db.table("instances").update(instance_id, update)
    row.update(update)
    changed(cloud, row)
    return row


def update(cloud: Cloud, instance_id: str, values: dict[str, Any], *, notify: bool = False) -> None:
    with cloud.store.transaction() as db:
        db.table("instances").update(instance_id, values)
    if notify:
        row = get(cloud.store, instance_id)
        if row is not None:
            changed(cloud, row)


def changed(cloud: Cloud, row: dict[str, Any]) -> None:
    cloud.events.publish(Event("instance-state", time.time(), {
        "instance_id": row["id"], "state": row["state"], "account_id": row["account_id"]}))
    for hook in list(cloud.extensions.get("instance-hooks", [])):
        try:
            hook(row["id"])
        except Exception:  # a subscriber's failure must not undo the state change
            log.exception("instance hook %r failed for %s", hook, row["id"])
