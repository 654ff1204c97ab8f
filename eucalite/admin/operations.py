"""What the dashboard may do besides reading: instance actions, rotate-now, and reading a console.

Instance actions run the EC2 service's own registered handlers (the code path of the EC2 API), as the
instance's account administrator, authorized by the same step as API calls (services.invoke); they are
published as api-call events so the activity view shows them. When the EC2 service does not implement an
action, the action is unavailable and says so, rather than touching the instances table by hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from eucalite import ids
from eucalite.errors import ServiceError
from eucalite.events import Event
from eucalite.identity import ADMIN_USER
from eucalite.services import registry
from eucalite.services.context import CallContext
from eucalite.services.invoke import invoke

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

log = logging.getLogger("eucalite.api")  # the request log: dashboard actions are calls too
CONSOLE_TAIL = 64 * 1024
INSTANCE_ACTIONS = {"reboot": "RebootInstances", "stop": "StopInstances", "start": "StartInstances",
                    "terminate": "TerminateInstances"}
ACTIONS = (*INSTANCE_ACTIONS, "rotate")


class ActionError(Exception):
    """The action could not be done; the message is meant for the operator."""


def unavailable_actions() -> dict[str, str]:
    """Instance actions the running EC2 service does not implement, with the reason to show."""
    from eucalite import services

    services.load_all()
    return {name: f"{op} is not implemented by the EC2 service yet" for name, op in INSTANCE_ACTIONS.items()
            if registry.lookup("ec2", op) is None}


def _instance(cloud: Cloud, instance_id: str) -> dict[str, Any]:
    if "instances" not in cloud.store.db.table_names():
        raise ActionError("this cloud has no instances table (EC2 service not loaded)")
    row = cloud.store.one("select id, account_id, node, state from instances where id = ?", [instance_id])
    if row is None:
        raise ActionError(f"no instance {instance_id}")
    return row


async def perform(cloud: Cloud, action: str, instance_id: str) -> str:
    """Run one dashboard action; returns a line to show, raises ActionError."""
    if action == "rotate":
        from eucalite.services.sts import credentials_of

        _instance(cloud, instance_id)
        credentials_of(cloud).rotate_now(instance_id)
        row = cloud.store.one("select access_key_id, code, message from instance_credentials where instance_id = ?",
                              [instance_id])
        if row is None:
            raise ActionError(f"{instance_id} has no instance-profile credentials to rotate")
        if row["code"] != "Success":
            raise ActionError(f"{instance_id}: {row['code']}: {row['message']}")
        return f"{instance_id}: new credentials {row['access_key_id']}"
    op_name = INSTANCE_ACTIONS.get(action)
    if op_name is None:
        raise ActionError(f"unknown action {action!r}")
    op = registry.lookup("ec2", op_name)
    if op is None:
        raise ActionError(f"{action} is unavailable: {op_name} is not implemented by the EC2 service yet")
    inst = _instance(cloud, instance_id)
    caller = _account_admin(cloud, inst["account_id"])
    ctx = CallContext(cloud, caller, "ec2", op_name, ids.request_id(), cloud.settings.region)
    params: dict[str, Any] = {"InstanceIds": [instance_id]}
    started = time.perf_counter()
    decision, status, error = "allow", 200, ""
    try:
        await invoke(op, ctx, params)
    except ServiceError as err:
        decision = "deny" if err.code in ("AccessDenied", "UnauthorizedOperation") else "error"
        status, error = err.status, err.code
        raise ActionError(f"{op_name} {instance_id}: {err.code}: {err.message}") from err
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        reason = ctx.decisions[-1] if ctx.decisions else ""
        # The same line the API dispatcher logs for every call, so the log has dashboard actions too.
        log.info("op=ec2:%s principal=%s (dashboard) decision=%s status=%d ms=%.1f%s%s", op_name, caller.arn,
                 decision, status, elapsed, f" error={error}" if error else "", f" reason={reason!r}" if reason else "")
        cloud.events.publish(Event("api-call", time.time(), {
            "service": "ec2", "action": op_name, "principal": f"{caller.arn} (dashboard)", "decision": decision,
            "status": status, "ms": round(elapsed, 2), "error": error,
            "reason": reason if decision == "deny" else "", "request_id": ctx.request_id}))
    return f"{op_name} {instance_id}: done"


def _account_admin(cloud: Cloud, account_id: str):  # type: ignore[no-untyped-def]
    from eucalite.wire.auth import Authenticator

    account = cloud.identities.account(account_id)
    user = cloud.identities.user(account_id, ADMIN_USER) if account else None
    if account is None or user is None:
        raise ActionError(f"account {account_id} has no administrator to act as")
    return Authenticator.user_caller(user, account, "")


# -- console ---------------------------------------------------------------------------------------------
def _drivers(value: Any) -> Iterable[Any]:
    if hasattr(value, "console_output"):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            if hasattr(v, "console_output"):
                yield v
    elif isinstance(value, list | tuple):
        for v in value:
            if hasattr(v, "console_output"):
                yield v
    elif hasattr(value, "drivers"):
        yield from _drivers(value.drivers)


def _driver_for(cloud: Cloud, node: str) -> Any:
    runtime = cloud.extensions.get("ec2")  # services/ec2/runtime.py: Ec2Runtime.driver(name)
    if runtime is not None and hasattr(runtime, "driver") and runtime.driver(node) is not None:
        return runtime.driver(node)
    candidates = [d for v in cloud.extensions.values() for d in _drivers(v)]
    named = [d for d in candidates if getattr(d, "name", None) == node]
    return (named or candidates or [None])[0]


async def console_text(cloud: Cloud, instance_id: str) -> str:
    """The instance's console log (tail), from its node driver, else DATA_DIR/consoles/<id>.log."""
    node = ""
    if "instances" in cloud.store.db.table_names():
        row = cloud.store.one("select node from instances where id = ?", [instance_id])
        node = (row or {}).get("node") or ""
    driver = _driver_for(cloud, node)
    if driver is not None:
        try:
            data = await driver.console_output(instance_id)
        except Exception:  # an unknown guest on this node: fall back to the file
            data = b""
        if data:
            return bytes(data[-CONSOLE_TAIL:]).decode("utf-8", "replace").replace("\r\n", "\n")
    path = cloud.settings.data_dir / "consoles" / f"{instance_id}.log"
    if cloud.store.path is not None and path.exists():
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - CONSOLE_TAIL))
            return fh.read().decode("utf-8", "replace").replace("\r\n", "\n")
    return ""
