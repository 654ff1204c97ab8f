"""Who is calling: the authenticated principal every policy decision and handler works with."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    account_id: str
    account_name: str
    arn: str
    kind: str  # "user" | "assumed-role" | "federated-user"
    principal_id: str  # AIDA... for users, "AROA...:session" for role sessions (aws:userid)
    access_key_id: str
    user_id: str | None = None
    user_name: str | None = None
    is_account_admin: bool = False
    is_cloud_admin: bool = False
    role_id: str | None = None
    role_name: str | None = None
    role_path: str = "/"
    session_name: str | None = None
    session_policy: str | None = None
    session_policy_arns: tuple[str, ...] = ()
    expires: float | None = None
    instance_id: str | None = None  # set for instance-profile sessions
    source_ip: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def principal_type(self) -> str:
        """aws:PrincipalType values as AWS documents them."""
        return {"user": "User", "assumed-role": "AssumedRole", "federated-user": "FederatedUser"}[self.kind]

    @property
    def role_arn(self) -> str | None:
        if self.kind != "assumed-role" or not self.role_name:
            return None
        return f"arn:aws:iam::{self.account_id}:role{self.role_path}{self.role_name}"

    @property
    def is_temporary(self) -> bool:
        return self.access_key_id.startswith("ASIA")


CLOUD_ADMIN_ACCOUNT = "eucalyptus"
ADMIN_USER = "admin"
