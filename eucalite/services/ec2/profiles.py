"""IAM instance profiles on instances: lookup for RunInstances, and the association operations.

Profiles and roles are IAM's tables (instance_profiles, instance_profile_roles, roles); EC2 reads them
directly. Handing a profile to an instance passes its role, so iam:PassRole is checked every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eucalite import arns, ids
from eucalite.errors import ServiceError
from eucalite.services.context import CallContext
from eucalite.services.ec2 import instances_repo as repo
from eucalite.services.ec2.common import arn, page
from eucalite.services.ec2.filters import apply_filters
from eucalite.services.registry import operation


@dataclass(frozen=True)
class Profile:
    id: str
    arn: str
    name: str
    role_arn: str


def _invalid(spec: dict[str, Any]) -> ServiceError:
    if spec.get("Arn"):
        return ServiceError("InvalidParameterValue", f"Value ({spec['Arn']}) for parameter iamInstanceProfile.arn "
                            "is invalid. Invalid IAM Instance Profile ARN")
    return ServiceError("InvalidParameterValue", f"Value ({spec.get('Name')}) for parameter iamInstanceProfile.name "
                        "is invalid. Invalid IAM Instance Profile name")


def resolve(ctx: CallContext, spec: dict[str, Any]) -> Profile:
    """The profile named by {Arn} or {Name}, with its role, and the caller allowed to pass that role."""
    store = ctx.cloud.store
    if "instance_profiles" not in store.db.table_names():
        raise _invalid(spec)
    row = None
    if spec.get("Arn") and spec.get("Name"):
        raise ServiceError("InvalidParameterCombination", "The parameter 'iamInstanceProfile.name' may not be used "
                           "in combination with 'iamInstanceProfile.arn'")
    if spec.get("Arn"):
        try:
            service, _, account, kind, rest = arns.split(spec["Arn"])
        except ValueError:
            raise _invalid(spec) from None
        name = rest.rsplit("/", 1)[-1]
        path = "/" + rest[: -len(name)] if "/" in rest else "/"
        if service == "iam" and kind == "instance-profile" and account == ctx.account_id:
            row = store.one("select * from instance_profiles where account_id = ? and name = ? and path = ?",
                            [account, name, path])
        if row is None:
            raise _invalid(spec)
    elif spec.get("Name"):
        row = store.one("select * from instance_profiles where account_id = ? and name = ?",
                        [ctx.account_id, spec["Name"]])
        if row is None:
            raise _invalid(spec)
    else:
        raise ServiceError("MissingParameter", "The request must contain the parameter iamInstanceProfile.arn "
                           "or iamInstanceProfile.name")
    role = store.one("select r.* from roles r join instance_profile_roles p on p.role_id = r.id "
                     "where p.profile_id = ? order by r.name", [row["id"]])
    profile_arn = arns.instance_profile(row["account_id"], row["name"], row["path"])
    if role is None:
        raise ServiceError("InvalidParameterValue", f"Value ({spec.get('Arn') or spec.get('Name')}) for parameter "
                           f"iamInstanceProfile is invalid. The instance profile {row['name']} has no role")
    role_arn = arns.role(role["account_id"], role["name"], role["path"])
    ctx.authorize("iam:PassRole", [role_arn], {"iam:PassedToService": "ec2.amazonaws.com"})
    return Profile(row["id"], profile_arn, row["name"], role_arn)


def association_shape(row: dict[str, Any], state: str = "associated") -> dict[str, Any]:
    return {"AssociationId": row["association_id"], "InstanceId": row["id"], "State": state,
            "IamInstanceProfile": {"Arn": row["profile_arn"], "Id": row["profile_id"]}}


def _instance(ctx: CallContext, instance_id: str) -> dict[str, Any]:
    from eucalite.services.ec2.instances import require_instances

    return require_instances(ctx, [instance_id])[0]


def _by_association(ctx: CallContext, association_id: str) -> dict[str, Any]:
    row = ctx.cloud.store.one("select * from instances where account_id = ? and association_id = ?",
                              [ctx.account_id, association_id])
    if row is None:
        raise ServiceError("InvalidAssociationID.NotFound",
                           f"An association with ID '{association_id}' does not exist")
    return row


def _instance_arn(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    return [arn(ctx, "instance", params.get("InstanceId") or "*")]


@operation("ec2", "AssociateIamInstanceProfile", resources=_instance_arn)
def associate(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = _instance(ctx, params["InstanceId"])
    if row["state"] not in ("pending", "running", "stopping", "stopped"):
        raise ServiceError("IncorrectState", f"The instance '{row['id']}' is not in a valid state for this "
                           "operation.")
    if row["association_id"]:
        raise ServiceError("IncorrectState", f"There is an existing association for instance {row['id']}")
    profile = resolve(ctx, params["IamInstanceProfile"])
    values = {"profile_arn": profile.arn, "profile_id": profile.id,
              "association_id": ids.long_resource_id("iip-assoc")}
    repo.update(ctx.cloud, row["id"], values, notify=True)
    row.update(values)
    return {"IamInstanceProfileAssociation": association_shape(row, "associating")}


@operation("ec2", "ReplaceIamInstanceProfileAssociation", authorizes_itself=True)
def replace(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = _by_association(ctx, params["AssociationId"])
    ctx.authorize("ec2:ReplaceIamInstanceProfileAssociation", [arn(ctx, "instance", row["id"])])
    profile = resolve(ctx, params["IamInstanceProfile"])
    values = {"profile_arn": profile.arn, "profile_id": profile.id,
              "association_id": ids.long_resource_id("iip-assoc")}
    repo.update(ctx.cloud, row["id"], values, notify=True)
    row.update(values)
    return {"IamInstanceProfileAssociation": association_shape(row, "associating")}


@operation("ec2", "DisassociateIamInstanceProfile", authorizes_itself=True)
def disassociate(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    row = _by_association(ctx, params["AssociationId"])
    ctx.authorize("ec2:DisassociateIamInstanceProfile", [arn(ctx, "instance", row["id"])])
    shape = association_shape(row, "disassociating")
    repo.update(ctx.cloud, row["id"], {"profile_arn": None, "profile_id": None, "association_id": None},
                notify=True)
    return {"IamInstanceProfileAssociation": shape}


@operation("ec2", "DescribeIamInstanceProfileAssociations")
def describe(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = [r for r in repo.visible(ctx.cloud, repo.of_account(ctx.cloud.store, ctx.account_id))
            if r["association_id"] and r["state"] != "terminated"]
    wanted = params.get("AssociationIds")
    if wanted:
        have = {r["association_id"] for r in rows}
        for a in wanted:
            if a not in have:
                raise ServiceError("InvalidAssociationID.NotFound", f"An association with ID '{a}' does not exist")
        rows = [r for r in rows if r["association_id"] in wanted]
    rows = apply_filters(rows, params.get("Filters"), {
        "instance-id": lambda r: [r["id"]], "state": lambda r: ["associated"]})
    chunk, token = page(rows, params, "assoc")
    out: dict[str, Any] = {"IamInstanceProfileAssociations": [association_shape(r) for r in chunk]}
    if token:
        out["NextToken"] = token
    return out
