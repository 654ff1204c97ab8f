"""Marker/MaxItems/IsTruncated for every IAM List*: one implementation.

Markers are opaque to clients; ours name the sort key of the next item, so a page boundary survives
entities being created or deleted between calls (an offset would skip or repeat items).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from eucalite.errors import validation_error

if TYPE_CHECKING:
    from eucalite.store.db import Store

T = TypeVar("T")
DEFAULT_MAX_ITEMS = 100  # AWS's default when MaxItems is absent


_TAG = "m1:"  # every marker we issue starts so; anything else a client sends is not one of ours


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode((_TAG + key).encode()).decode()


def _decode(marker: str) -> str:
    """The sort key a marker names; AWS's ValidationError "Invalid Marker." for anything we did not issue
    (strict base64: the lenient decoder would drop junk characters and restart from the first page)."""
    try:
        text = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_TAG):
        raise validation_error("Invalid Marker.")
    return text[len(_TAG):]


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


def page_of(store: Store, table: str, where: str, args: Sequence[Any],
            params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``paginate(under_path(rows), params, key=name)`` for the rows of ``table`` matching ``where``, with
    the PathPrefix filter, the Marker position and MaxItems+1 done in SQL (ORDER BY name, which the
    (account_id, name) indexes serve) instead of loading every row of the account for each page.

    Same markers, same errors, same pages: SQLite's default BINARY collation orders UTF-8 text by code
    point, as Python's ``sorted`` does, and ``substr(path, 1, n)`` counts characters as ``startswith`` does.
    """
    marker = params.get("Marker")
    after = _decode(marker) if marker else None
    size = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    prefix = params.get("PathPrefix") or "/"
    sql = f"select * from {table} where ({where}) and substr(path, 1, ?) = ?"
    values: list[Any] = [*args, len(prefix), prefix]
    if size < 1:  # not reachable through the model's validation; keep the old slicing semantics anyway
        return paginate(store.all(sql, values), params, key=lambda r: r["name"])
    if after is not None:
        sql += " and name >= ?"
        values.append(after)
    rows = store.all(sql + " order by name limit ?", [*values, size + 1])
    if len(rows) > size:
        return rows[:size], {"IsTruncated": True, "Marker": _encode(rows[size]["name"])}
    return rows, {"IsTruncated": False}
