"""Instance-profile credentials: for each running instance whose profile holds a role, the cloud
assumes the role as the service principal ec2.amazonaws.com (session name = instance id).

The same credentials are served until their rotation point, which comes at least ``rotation_lead``
seconds before they expire (AWS serves new ones >= 5 minutes early); old ones stay valid until their
own expiry, because validation is by the sealed token, not by this table.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eucalite.events import Event
from eucalite.policy import Principal, PrincipalKind
from eucalite.services.sts.roles import trust_allows

if TYPE_CHECKING:
    from eucalite.cloud import Cloud

log = logging.getLogger(__name__)
EC2_SERVICE = "ec2.amazonaws.com"
_EC2_PRINCIPAL = Principal(arn=EC2_SERVICE, account="", kind=PrincipalKind.SERVICE, service=EC2_SERVICE)
SERVING_STATES = frozenset({"pending", "running"})


@dataclass(frozen=True)
class InstanceCredential:
    instance_id: str
    role_name: str
    role_arn: str
    profile_arn: str
    profile_id: str
    access_key_id: str
    secret_access_key: str
    token: str
    issued: float
    expires: float
    code: str = "Success"
    message: str = ""


@dataclass(frozen=True)
class NoCredential:
    instance_id: str
    profile_arn: str
    profile_id: str
    code: str
    message: str
    at: float


class InstanceCredentials:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    # -- reading ---------------------------------------------------------------------------------------
    def _instance(self, instance_id: str) -> dict[str, Any] | None:
        if "instances" not in self.cloud.store.db.table_names():
            return None
        return self.cloud.store.one("select * from instances where id = ?", [instance_id])

    def _role_of_profile(self, profile_id: str) -> dict[str, Any] | None:
        return self.cloud.store.one(
            "select r.* from instance_profile_roles pr join roles r on r.id = pr.role_id where pr.profile_id = ?",
            [profile_id])

    def current(self, instance_id: str) -> InstanceCredential | NoCredential | None:
        """What the metadata service serves now; mints or rotates on demand. None: no profile/role."""
        inst = self._instance(instance_id)
        if inst is None or inst["state"] not in SERVING_STATES or not inst.get("profile_id"):
            self.revoke(instance_id, "instance has no profile or is not running")
            return None
        role = self._role_of_profile(inst["profile_id"])
        if role is None:
            self.revoke(instance_id, "instance profile holds no role")
            return None
        role_arn = f"arn:aws:iam::{role['account_id']}:role{role['path']}{role['name']}"
        row = self.cloud.store.one("select * from instance_credentials where instance_id = ?", [instance_id])
        now = self.cloud.clock.time()
        if row and row["role_arn"] == role_arn and row["profile_arn"] == inst["profile_arn"]:
            if row["code"] != "Success" and now < row["rotate_at"]:
                return NoCredential(instance_id, inst["profile_arn"], inst["profile_id"], row["code"],
                                    row["message"], row["issued"])
            if row["code"] == "Success" and now < row["rotate_at"]:
                return self._from_row(row, role["name"], inst["profile_id"])
        return self._mint(inst, role, role_arn, rotation=row is not None and row["code"] == "Success")

    def _from_row(self, row: dict[str, Any], role_name: str, profile_id: str) -> InstanceCredential:
        box = self.cloud.store.box
        return InstanceCredential(row["instance_id"], role_name, row["role_arn"], row["profile_arn"], profile_id,
                                  row["access_key_id"], box.open(row["secret"], row["access_key_id"]),
                                  row["token"], row["issued"], row["expires"])

    # -- minting ---------------------------------------------------------------------------------------
    def _mint(self, inst: dict[str, Any], role: dict[str, Any], role_arn: str,
              rotation: bool) -> InstanceCredential | NoCredential:
        cloud = self.cloud
        now = cloud.clock.time()
        keys = {"aws:SourceIdentity": inst["id"], "ec2:SourceInstanceARN":
                f"arn:aws:ec2:{cloud.settings.region}:{inst['account_id']}:instance/{inst['id']}"}
        verdict = trust_allows(cloud.store, role, _EC2_PRINCIPAL, keys)
        if verdict is None or not verdict.allowed:
            message = (f"The trust policy of role {role['name']} does not allow {EC2_SERVICE} to assume it"
                       if verdict is not None else f"The trust policy of role {role['name']} cannot be read")
            self._record_failure(inst, role_arn, "AssumeRoleUnauthorizedAccess", message, now)
            return NoCredential(inst["id"], inst["profile_arn"], inst["profile_id"], "AssumeRoleUnauthorizedAccess",
                                message, now)
        ttl = cloud.settings.credential_ttl
        minted = cloud.minter.mint(account_id=role["account_id"], kind="assumed-role", duration=ttl,
                                   role_id=role["id"], role_name=role["name"], session_name=inst["id"],
                                   instance_id=inst["id"], role_path=role["path"])
        issued, expires = minted.claims.issued, minted.claims.expires
        rotate_at = expires - cloud.settings.rotation_lead_for(ttl)
        event = "rotated" if rotation else "minted"
        with cloud.store.transaction() as db:
            db.table("instance_credentials").upsert({
                "instance_id": inst["id"], "account_id": inst["account_id"], "role_arn": role_arn,
                "profile_arn": inst["profile_arn"], "access_key_id": minted.access_key_id,
                "secret": cloud.store.box.seal(minted.secret_access_key, minted.access_key_id),
                "token": minted.token, "issued": issued, "expires": expires, "rotate_at": rotate_at,
                "code": "Success", "message": "",
            }, pk="instance_id")
            db.table("credential_history").insert({"instance_id": inst["id"], "account_id": inst["account_id"],
                                             "event": event, "access_key_id": minted.access_key_id,
                                             "issued": issued, "expires": expires, "at": now, "reason": ""})
        log.info("credentials %s for %s role %s key %s expires %s", event, inst["id"], role["name"],
                 minted.access_key_id, time.strftime("%H:%M:%S", time.gmtime(expires)))
        cloud.events.publish(Event(f"credentials-{event}", time.time(), {
            "instance_id": inst["id"], "role": role["name"], "access_key_id": minted.access_key_id,
            "issued": issued, "expires": expires}))
        return InstanceCredential(inst["id"], role["name"], role_arn, inst["profile_arn"], inst["profile_id"],
                                  minted.access_key_id, minted.secret_access_key, minted.token, issued, expires)

    def _record_failure(self, inst: dict[str, Any], role_arn: str, code: str, message: str, now: float) -> None:
        # Retry soon rather than never: the admin may fix the trust policy.
        with self.cloud.store.transaction() as db:
            db.table("instance_credentials").upsert({
                "instance_id": inst["id"], "account_id": inst["account_id"], "role_arn": role_arn,
                "profile_arn": inst["profile_arn"], "access_key_id": "", "secret": "", "token": "",
                "issued": now, "expires": now, "rotate_at": now + 30, "code": code, "message": message,
            }, pk="instance_id")
            db.table("credential_history").insert({"instance_id": inst["id"], "account_id": inst["account_id"],
                                             "event": "failed", "access_key_id": "", "issued": now,
                                             "expires": now, "at": now, "reason": message})
        log.warning("no credentials for %s: %s", inst["id"], message)
        self.cloud.events.publish(Event("credentials-failed", time.time(), {"instance_id": inst["id"],
                                                                            "reason": message}))

    def revoke(self, instance_id: str, reason: str) -> None:
        """Stop serving (the credentials already handed out stay valid until their own expiry)."""
        row = self.cloud.store.one("select account_id, access_key_id from instance_credentials "
                                   "where instance_id = ?", [instance_id])
        if row is None:
            return
        now = self.cloud.clock.time()
        with self.cloud.store.transaction() as db:
            db.table("instance_credentials").delete(instance_id)
            db.table("credential_history").insert({"instance_id": instance_id, "account_id": row["account_id"],
                                             "event": "revoked", "access_key_id": row["access_key_id"],
                                             "issued": now, "expires": now, "at": now, "reason": reason})
        self.cloud.events.publish(Event("credentials-revoked", time.time(), {"instance_id": instance_id,
                                                                             "reason": reason}))

    def refresh(self, instance_id: str) -> None:
        """Instance hook: state or profile changed, so re-decide what is minted, at once."""
        self.current(instance_id)

    def rotate_now(self, instance_id: str) -> None:
        with self.cloud.store.transaction() as db:
            db.execute("update instance_credentials set rotate_at = 0 where instance_id = ?", [instance_id])
        self.current(instance_id)

    def sweep(self) -> None:
        """Rotate everything due, so rotations happen (and show) even when no guest is asking."""
        if "instances" not in self.cloud.store.db.table_names():
            return
        now = self.cloud.clock.time()
        due = self.cloud.store.all(
            "select i.id from instances i left join instance_credentials c on c.instance_id = i.id "
            "where (i.state in ('pending', 'running') and i.profile_id is not null and i.profile_id != '' "
            "and (c.instance_id is null or c.rotate_at <= ?)) "
            "or (c.instance_id is not null and i.state not in ('pending', 'running'))", [now])
        for row in due:
            try:
                self.current(row["id"])
            except Exception:  # one broken instance must not stop rotation for the rest
                log.exception("credential rotation failed for %s", row["id"])
