"""Which IAM operations of the model eucalite implements; every one the IAM issue names must be there."""

from __future__ import annotations

from eucalite import services
from eucalite.services import registry
from eucalite.wire.specs import service

ISSUE_OPERATIONS = [
    "CreateAccount", "ListAccounts", "DeleteAccount",
    "CreateUser", "GetUser", "ListUsers", "UpdateUser", "DeleteUser",
    "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "GetAccessKeyLastUsed",
    "PutUserPolicy", "GetUserPolicy", "ListUserPolicies", "DeleteUserPolicy",
    "CreateGroup", "GetGroup", "ListGroups", "AddUserToGroup", "RemoveUserFromGroup", "DeleteGroup",
    "PutGroupPolicy", "GetGroupPolicy", "ListGroupPolicies", "DeleteGroupPolicy",
    "CreateRole", "GetRole", "ListRoles", "UpdateRole", "UpdateAssumeRolePolicy", "DeleteRole",
    "TagRole", "UntagRole", "ListRoleTags",
    "PutRolePolicy", "GetRolePolicy", "ListRolePolicies", "DeleteRolePolicy",
    "CreateInstanceProfile", "GetInstanceProfile", "ListInstanceProfiles", "ListInstanceProfilesForRole",
    "AddRoleToInstanceProfile", "RemoveRoleFromInstanceProfile", "DeleteInstanceProfile",
    "CreatePolicy", "GetPolicy", "ListPolicies", "DeletePolicy",
    "CreatePolicyVersion", "GetPolicyVersion", "ListPolicyVersions", "SetDefaultPolicyVersion", "DeletePolicyVersion",
    "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy", "AttachRolePolicy", "DetachRolePolicy",
    "ListAttachedUserPolicies", "ListAttachedGroupPolicies", "ListAttachedRolePolicies",
    "SimulatePrincipalPolicy", "SimulateCustomPolicy",
]


def test_every_operation_the_issue_names_is_implemented() -> None:
    services.load_all()
    implemented = set(registry.implemented("iam"))
    model = service("iam").operation_names
    missing = sorted(set(ISSUE_OPERATIONS) - implemented)
    assert not missing, f"not implemented: {missing}"
    assert implemented <= model, f"registered but not in the model: {sorted(implemented - model)}"
    print(f"IAM: {len(implemented)} of {len(model)} model operations implemented")
    print("not implemented:", ", ".join(sorted(model - implemented)))


def test_every_operation_names_an_iam_action() -> None:
    services.load_all()
    for name in registry.implemented("iam"):
        op = registry.lookup("iam", name)
        assert op is not None
        if op.cloud_admin_only or op.authorizes_itself:
            continue
        assert op.action.startswith("iam:"), name
        assert op.action == f"iam:{name}", f"{name} is authorized as {op.action}"


def test_resource_arns_are_aws_shaped() -> None:
    from types import SimpleNamespace

    from eucalite.services.iam import common

    ctx = SimpleNamespace(account_id="123456789012", cloud=None)
    assert common.list_arn("role")(ctx, {}) == ["arn:aws:iam::123456789012:role/"]  # type: ignore[arg-type]
    assert common.list_arn("user")(ctx, {"PathPrefix": "/dev/"}) == [  # type: ignore[arg-type]
        "arn:aws:iam::123456789012:user/dev/"]
