"""The dashboard's read model: pure queries over the store (and the event ring), one snapshot per view.

The same functions back the local dashboard, the admin snapshot endpoint that an attached `eucalite tui`
reads, and any admin CLI. No Textual here. Secrets never leave this module: the queries name their
columns, and the secret/token columns of access_keys and instance_credentials are never selected.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eucalite import arns
from eucalite.clock import parse_iso8601
from eucalite.events import Event
from eucalite.store.db import Store

VIEWS = ("accounts", "roles", "profiles", "instances", "credentials", "activity")
SERVING_STATES = ("pending", "running")
HISTORY_LIMIT = 200
ACTIVITY_LIMIT = 500


def pretty(document: str | None) -> str:
    """Policy documents as indented JSON; anything unparseable is shown as stored."""
    if not document:
        return ""
    try:
        return json.dumps(json.loads(document), indent=2, sort_keys=False)
    except (ValueError, TypeError):
        return document


def _has(store: Store, table: str) -> bool:
    return table in store.db.table_names()


# -- accounts & users ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserRow:
    account_id: str
    account_name: str
    user_id: str
    name: str
    path: str
    arn: str
    is_admin: bool
    created: str
    access_keys: list[str] = field(default_factory=list)  # "AKIA... (Active)"; ids only, never secrets


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str
    created: str
    users: int


@dataclass(frozen=True)
class AccountsSnapshot:
    now: float
    accounts: list[AccountRow]
    users: list[UserRow]


def accounts(store: Store, now: float) -> AccountsSnapshot:
    accts = store.all("select a.id, a.name, a.created, (select count(*) from users u where u.account_id = a.id) "
                      "as n from accounts a order by a.name")
    keys: dict[str, list[str]] = {}
    for k in store.all("select id, user_id, status from access_keys order by created, id"):
        keys.setdefault(k["user_id"], []).append(f"{k['id']} ({k['status']})")
    users = store.all("select u.id, u.account_id, a.name as account_name, u.name, u.path, u.is_admin, u.created "
                      "from users u join accounts a on a.id = u.account_id order by a.name, u.name")
    return AccountsSnapshot(
        now=now,
        accounts=[AccountRow(a["id"], a["name"], a["created"] or "", a["n"]) for a in accts],
        users=[UserRow(u["account_id"], u["account_name"], u["id"], u["name"], u["path"] or "/",
                       arns.user(u["account_id"], u["name"], u["path"] or "/"), bool(u["is_admin"]),
                       u["created"] or "", keys.get(u["id"], [])) for u in users],
    )


# -- roles ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NamedDocument:
    name: str  # policy name (inline) or ARN (attached)
    document: str  # pretty-printed JSON


@dataclass(frozen=True)
class RoleRow:
    account_id: str
    account_name: str
    role_id: str
    name: str
    path: str
    arn: str
    created: str
    description: str
    trust_policy: str
    inline_policies: list[NamedDocument]
    attached_policies: list[NamedDocument]
    profiles: list[str]  # ARNs of the instance profiles holding the role


@dataclass(frozen=True)
class RolesSnapshot:
    now: float
    roles: list[RoleRow]


def _attached(store: Store, principal_type: str) -> dict[str, list[NamedDocument]]:
    out: dict[str, list[NamedDocument]] = {}
    rows = store.all(
        "select pa.principal_id, p.account_id, p.name, p.path, v.document from policy_attachments pa "
        "join managed_policies p on p.id = pa.policy_id "
        "left join policy_versions v on v.policy_id = p.id and v.version_id = p.default_version "
        "where pa.principal_type = ? order by p.name", [principal_type])
    for r in rows:
        out.setdefault(r["principal_id"], []).append(
            NamedDocument(arns.policy(r["account_id"], r["name"], r["path"] or "/"), pretty(r["document"])))
    return out


def roles(store: Store, now: float) -> RolesSnapshot:
    inline: dict[str, list[NamedDocument]] = {}
    for r in store.all("select principal_id, name, document from inline_policies where principal_type = 'role' "
                       "order by name"):
        inline.setdefault(r["principal_id"], []).append(NamedDocument(r["name"], pretty(r["document"])))
    attached = _attached(store, "role")
    profiles: dict[str, list[str]] = {}
    for p in store.all("select pr.role_id, p.account_id, p.name, p.path from instance_profile_roles pr "
                       "join instance_profiles p on p.id = pr.profile_id order by p.name"):
        profiles.setdefault(p["role_id"], []).append(
            arns.instance_profile(p["account_id"], p["name"], p["path"] or "/"))
    rows = store.all("select r.id, r.account_id, a.name as account_name, r.name, r.path, r.created, "
                     "r.description, r.trust_policy from roles r join accounts a on a.id = r.account_id "
                     "order by a.name, r.name")
    return RolesSnapshot(now, [
        RoleRow(r["account_id"], r["account_name"], r["id"], r["name"], r["path"] or "/",
                arns.role(r["account_id"], r["name"], r["path"] or "/"), r["created"] or "", r["description"] or "",
                pretty(r["trust_policy"]), inline.get(r["id"], []), attached.get(r["id"], []),
                profiles.get(r["id"], []))
        for r in rows])


# -- instance profiles ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileRow:
    account_id: str
    account_name: str
    profile_id: str
    name: str
    path: str
    arn: str
    created: str
    roles: list[str]  # role ARNs (IAM allows one)
    instances: list[str]  # "i-... (state)" of instances launched with the profile, terminated ones left out


@dataclass(frozen=True)
class ProfilesSnapshot:
    now: float
    profiles: list[ProfileRow]


def profiles(store: Store, now: float) -> ProfilesSnapshot:
    roles_of: dict[str, list[str]] = {}
    for r in store.all("select pr.profile_id, r.account_id, r.name, r.path from instance_profile_roles pr "
                       "join roles r on r.id = pr.role_id order by r.name"):
        roles_of.setdefault(r["profile_id"], []).append(arns.role(r["account_id"], r["name"], r["path"] or "/"))
    users_of: dict[str, list[str]] = {}
    if _has(store, "instances"):
        for i in store.all("select id, state, profile_id from instances where profile_id is not null and "
                           "profile_id != '' and state != 'terminated' order by launch_time, id"):
            users_of.setdefault(i["profile_id"], []).append(f"{i['id']} ({i['state']})")
    rows = store.all("select p.id, p.account_id, a.name as account_name, p.name, p.path, p.created "
                     "from instance_profiles p join accounts a on a.id = p.account_id order by a.name, p.name")
    return ProfilesSnapshot(now, [
        ProfileRow(p["account_id"], p["account_name"], p["id"], p["name"], p["path"] or "/",
                   arns.instance_profile(p["account_id"], p["name"], p["path"] or "/"), p["created"] or "",
                   roles_of.get(p["id"], []), users_of.get(p["id"], []))
        for p in rows])


# -- instances -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstanceRow:
    id: str
    account_id: str
    state: str
    instance_type: str
    image_id: str
    node: str
    zone: str
    profile_arn: str
    metadata_url: str  # host-side URL of the instance's metadata channel; "" when it has none
    launch_time: str
    uptime: float | None  # seconds since launch by the cloud clock, while pending/running
    private_ip: str
    state_reason: str


@dataclass(frozen=True)
class InstancesSnapshot:
    now: float
    instances: list[InstanceRow]


def _uptime(launch_time: str | None, state: str, now: float) -> float | None:
    if not launch_time or state not in SERVING_STATES:
        return None
    try:
        return max(0.0, now - parse_iso8601(launch_time).timestamp())
    except ValueError:
        return None


def instances(store: Store, now: float) -> InstancesSnapshot:
    if not _has(store, "instances"):
        return InstancesSnapshot(now, [])
    rows = store.all("select id, account_id, state, instance_type, image_id, node, zone, profile_arn, "
                     "metadata_port, launch_time, private_ip, state_reason from instances "
                     "order by launch_time, id")
    return InstancesSnapshot(now, [
        InstanceRow(r["id"], r["account_id"] or "", r["state"] or "", r["instance_type"] or "", r["image_id"] or "",
                    r["node"] or "", r["zone"] or "", r["profile_arn"] or "",
                    f"http://127.0.0.1:{r['metadata_port']}" if r["metadata_port"] and r["state"] != "terminated"
                    else "",
                    r["launch_time"] or "", _uptime(r["launch_time"], r["state"] or "", now), r["private_ip"] or "",
                    r["state_reason"] or "")
        for r in rows])


# -- credentials ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CredentialRow:
    instance_id: str
    state: str
    profile_arn: str
    role_arn: str
    access_key_id: str  # ASIA...; the secret and session token are never read
    issued: float | None
    expires: float | None
    rotate_at: float | None
    code: str  # "Success", a failure code, or "" when nothing is minted yet
    message: str


@dataclass(frozen=True)
class HistoryRow:
    id: int
    instance_id: str
    event: str  # minted | rotated | revoked | failed
    access_key_id: str
    issued: float | None
    expires: float | None
    at: float
    reason: str


@dataclass(frozen=True)
class CredentialsSnapshot:
    now: float
    credentials: list[CredentialRow]
    history: list[HistoryRow]  # newest first


def credentials(store: Store, now: float, history_limit: int = HISTORY_LIMIT) -> CredentialsSnapshot:
    creds: list[CredentialRow] = []
    if _has(store, "instances"):
        rows = store.all(
            "select i.id, i.state, i.profile_arn, c.role_arn, c.access_key_id, c.issued, c.expires, c.rotate_at, "
            "c.code, c.message from instances i left join instance_credentials c on c.instance_id = i.id "
            "where i.state in ('pending', 'running') and i.profile_id is not null and i.profile_id != '' "
            "order by i.launch_time, i.id")
        creds = [CredentialRow(r["id"], r["state"], r["profile_arn"] or "", r["role_arn"] or "",
                               r["access_key_id"] or "", r["issued"], r["expires"], r["rotate_at"], r["code"] or "",
                               r["message"] or "") for r in rows]
    history = store.all("select id, instance_id, event, access_key_id, issued, expires, at, reason "
                        "from credential_history order by at desc, id desc limit ?", [history_limit])
    return CredentialsSnapshot(now, creds, [
        HistoryRow(h["id"], h["instance_id"], h["event"], h["access_key_id"] or "", h["issued"], h["expires"],
                   h["at"], h["reason"] or "") for h in history])


# -- activity ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityRow:
    seq: int
    at: float
    service: str
    action: str
    principal: str
    decision: str  # allow | deny | error | authn:<problem> | -
    status: int
    error: str
    reason: str  # why a request was denied (the policy engine's last word)


@dataclass(frozen=True)
class ActivitySnapshot:
    now: float
    calls: list[ActivityRow]  # newest first


def activity_row(seq: int, event: Event) -> ActivityRow:
    d = event.data
    return ActivityRow(seq, event.at, str(d.get("service", "")), str(d.get("action", "")),
                       str(d.get("principal", "")), str(d.get("decision", "")), int(d.get("status", 0) or 0),
                       str(d.get("error", "")), str(d.get("reason", "")))


def numbered(events: Iterable[Event], last_seq: int, count: int) -> list[tuple[int, Event]]:
    """Sequence numbers for the ring's contents: the newest is last_seq (EventBus.sequence)."""
    first = last_seq - count + 1
    return [(first + i, e) for i, e in enumerate(events)]


def activity(events: list[tuple[int, Event]], now: float, limit: int = ACTIVITY_LIMIT) -> ActivitySnapshot:
    calls = [activity_row(seq, e) for seq, e in events if e.kind == "api-call"]
    return ActivitySnapshot(now, list(reversed(calls[-limit:])))


# -- one entry point per view, and JSON both ways ------------------------------------------------------
Snapshot = AccountsSnapshot | RolesSnapshot | ProfilesSnapshot | InstancesSnapshot | CredentialsSnapshot | \
    ActivitySnapshot
SNAPSHOT_TYPES: dict[str, type] = {
    "accounts": AccountsSnapshot, "roles": RolesSnapshot, "profiles": ProfilesSnapshot,
    "instances": InstancesSnapshot, "credentials": CredentialsSnapshot, "activity": ActivitySnapshot,
}


def store_snapshot(store: Store, view: str, now: float) -> Snapshot:
    """Every view but activity (which reads the event ring, see activity())."""
    readers: dict[str, Callable[[Store, float], Snapshot]] = {
        "accounts": accounts, "roles": roles, "profiles": profiles, "instances": instances,
        "credentials": credentials}
    fn = readers.get(view)
    if fn is None:
        raise KeyError(view)
    return fn(store, now)


def to_json(snapshot: Snapshot) -> dict[str, Any]:
    return dataclasses.asdict(snapshot)  # type: ignore[call-overload, no-any-return]


def _build(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is list:
        (inner,) = typing.get_args(tp)
        return [_build(inner, v) for v in value]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)
                     if f.name in value})
    return value


def from_json(view: str, data: dict[str, Any]) -> Snapshot:
    return _build(SNAPSHOT_TYPES[view], data)  # type: ignore[no-any-return]

