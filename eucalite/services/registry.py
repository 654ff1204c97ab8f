"""Handlers registered by operation name, with the IAM action, resource ARNs and condition keys each
is authorized by. This table is also what `eucalite ops` prints and what the coverage test reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eucalite.services.context import CallContext

Params = dict[str, Any]
Handler = Callable[["CallContext", Params], Any]
ResourceFn = Callable[["CallContext", Params], list[str]]
KeysFn = Callable[["CallContext", Params], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    service: str
    name: str
    handler: Handler
    action: str
    resources: ResourceFn | None  # None: the action takes no resource ("*")
    condition_keys: KeysFn | None
    # Some operations authorize inside the handler (per resource found, or before a lookup reveals
    # existence); they set this and call ctx.authorize themselves.
    authorizes_itself: bool = False
    cloud_admin_only: bool = False
    # Input members of the model this handler does not honour: a request that sets one is refused
    # instead of succeeding without it (a silently dropped PermissionsBoundary would widen access).
    unsupported: tuple[str, ...] = ()


REGISTRY: dict[tuple[str, str], Operation] = {}


def operation(
    service: str,
    name: str,
    *,
    action: str | None = None,
    resources: ResourceFn | None = None,
    condition_keys: KeysFn | None = None,
    authorizes_itself: bool = False,
    cloud_admin_only: bool = False,
    unsupported: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        key = (service, name)
        if key in REGISTRY:
            raise RuntimeError(f"{service}:{name} registered twice")
        REGISTRY[key] = Operation(service, name, fn, action or f"{service}:{name}", resources, condition_keys,
                                  authorizes_itself, cloud_admin_only, unsupported)
        return fn

    return register


def lookup(service: str, name: str) -> Operation | None:
    return REGISTRY.get((service, name))


def implemented(service: str) -> list[str]:
    return sorted(n for s, n in REGISTRY if s == service)
