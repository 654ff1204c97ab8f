"""Small shared pieces of the EC2 handlers: ARNs, id checks, paging tokens, TagSpecifications."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from eucalite import arns
from eucalite.errors import ServiceError
from eucalite.services.context import CallContext

T = TypeVar("T")

# Eucalyptus ids carry 8 hex digits, AWS ids 17; accept both.
_ID = re.compile(r"^(?P<prefix>[a-z]+(?:-[a-z]+)*)-(?P<hex>[0-9a-f]{8}|[0-9a-f]{17})$")


def arn(ctx: CallContext, kind: str, resource_id: str) -> str:
    return arns.ec2(ctx.cloud.settings.region, ctx.account_id, kind, resource_id)


def image_arn(ctx: CallContext, image_id: str) -> str:
    return arns.ec2_image(ctx.cloud.settings.region, image_id)


def well_formed(resource_id: str, prefixes: Sequence[str]) -> bool:
    m = _ID.match(resource_id or "")
    return m is not None and m.group("prefix") in prefixes


def now(ctx: CallContext) -> str:
    from eucalite.clock import iso8601

    return iso8601(ctx.cloud.clock.now())


def page(items: list[T], params: dict[str, Any], key: str, *, minimum: int = 5,
         maximum: int = 1000) -> tuple[list[T], str | None]:
    """MaxResults/NextToken over a stably sorted list; the token is the position, opaque to clients."""
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))[key])
        except (ValueError, KeyError, TypeError):
            raise ServiceError("InvalidParameterValue", f"The token '{token}' is invalid.") from None
    limit = params.get("MaxResults")
    if limit is None:
        return items[start:], None
    if not minimum <= limit <= maximum:
        raise ServiceError("InvalidParameterValue",
                           f"Value ( {limit} ) for parameter maxResults is invalid. "
                           f"Expecting a value between {minimum} and {maximum}.")
    chunk = items[start:start + limit]
    nxt = start + limit
    if nxt >= len(items):
        return chunk, None
    return chunk, base64.urlsafe_b64encode(json.dumps({key: nxt}).encode()).decode()


def tag_specs(params: dict[str, Any], resource_type: str) -> dict[str, str]:
    """Tags a create call asks for, for one resource type (TagSpecifications for others are refused)."""
    tags: dict[str, str] = {}
    for spec in params.get("TagSpecifications") or []:
        rtype = spec.get("ResourceType")
        if rtype != resource_type:
            raise ServiceError("InvalidParameterValue",
                               f"'{rtype}' is not a valid taggable resource type for this operation.")
        for tag in spec.get("Tags") or []:
            check_tag(tag.get("Key", ""), tag.get("Value", ""))
            tags[tag["Key"]] = tag.get("Value", "")
    if len(tags) > MAX_TAGS:
        raise tag_limit_exceeded()
    return tags


RESERVED_TAG_PREFIXES = ("aws:", "euca:")
MAX_TAGS = 50  # per resource, not counting the system's own (euca:) tags, as AWS does not count aws: ones
MAX_TAG_VALUE = 256


def tag_limit_exceeded() -> ServiceError:
    return ServiceError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")


def check_tag(key: str, value: str | None) -> None:
    check_tag_key(key)
    if value is not None and len(value) > MAX_TAG_VALUE:
        raise ServiceError("InvalidParameterValue",
                           f"Tag value exceeds the maximum length of {MAX_TAG_VALUE} characters")


def check_tag_key(key: str) -> None:
    if not key:
        raise ServiceError("InvalidParameterValue", "Tag keys must not be empty")
    if key.lower().startswith(RESERVED_TAG_PREFIXES):
        raise ServiceError("InvalidParameterValue",
                           f"Tag keys starting with '{key.split(':')[0]}:' are reserved for internal use")
    if len(key) > 128:
        raise ServiceError("InvalidParameterValue", f"Tag key exceeds the maximum length of 128 characters: {key}")
