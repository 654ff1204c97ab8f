"""What a handler gets besides its parameters: the caller, the cloud, and a way to authorize."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eucalite.errors import ServiceError
from eucalite.identity import Caller

if TYPE_CHECKING:
    from eucalite.cloud import Cloud


@dataclass
class CallContext:
    cloud: Cloud
    caller: Caller
    service: str
    operation: str
    request_id: str
    region: str
    decisions: list[str] = field(default_factory=list)  # reasons, for the request log
    dry_run: bool = False

    def authorize(self, action: str, resources: list[str] | None = None,
                  keys: dict[str, Any] | None = None, cross_account: bool = False) -> None:
        """Raise the service's access-denied error unless the caller may do ``action`` on ``resources``."""
        self.cloud.authorizer.require(self, action, resources or ["*"], keys or {}, cross_account)
        if self.dry_run:
            raise ServiceError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)

    @property
    def account_id(self) -> str:
        return self.caller.account_id

    def arn(self, service: str, resource: str, region: str = "") -> str:
        return f"arn:aws:{service}:{region}:{self.caller.account_id}:{resource}"
