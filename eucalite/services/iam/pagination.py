"""Marker/MaxItems/IsTruncated for every IAM List*: one implementation.

Markers are opaque to clients; ours name the sort key of the next item, so a page boundary survives
entities being created or deleted between calls (an offset would skip or repeat items).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from eucalite.errors import validation_error

T = TypeVar("T")
DEFAULT_MAX_ITEMS = 100  # AWS's default when MaxItems is absent


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise validation_error("Invalid Marker.") from None


def paginate(items: Sequence[T], params: dict[str, Any], key: Callable[[T], str]) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` (sorted by ``key``) and the IsTruncated/Marker members of the response."""
    ordered = sorted(items, key=key)
    start = 0
    marker = params.get("Marker")
    if marker:
        after = _decode(marker)
        start = next((i for i, item in enumerate(ordered) if key(item) >= after), len(ordered))
    size = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    page = ordered[start:start + size]
    if start + size < len(ordered):
        return page, {"IsTruncated": True, "Marker": _encode(key(ordered[start + size]))}
    return page, {"IsTruncated": False}


def under_path(rows: Sequence[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """The PathPrefix filter of List* calls (absent means "/", everything)."""
    prefix = params.get("PathPrefix") or "/"
    return [r for r in rows if r["path"].startswith(prefix)]
