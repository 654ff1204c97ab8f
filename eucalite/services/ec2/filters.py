"""EC2 Filter.N.Name / Filter.N.Value.M semantics: names ANDed, values ORed, `*` and `?` wildcards."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from eucalite.errors import ServiceError

T = TypeVar("T")
Getter = Callable[[T], Iterable[str]]


def _matches(values: Iterable[str], wanted: list[str]) -> bool:
    vals = list(values)
    return any(fnmatch.fnmatchcase(v, w) for v in vals for w in wanted)


def apply_filters(items: list[T], filters: list[dict[str, Any]] | None, getters: dict[str, Getter[T]],
                  tags: Callable[[T], dict[str, str]] | None = None) -> list[T]:
    for f in filters or []:
        name = f.get("Name", "")
        wanted = f.get("Values") or []
        if name.startswith("tag:") and tags is not None:
            key = name[4:]
            items = [i for i in items if key in tags(i) and _matches([tags(i)[key]], wanted)]
        elif name == "tag-key" and tags is not None:
            items = [i for i in items if _matches(tags(i).keys(), wanted)]
        elif name == "tag-value" and tags is not None:
            items = [i for i in items if _matches(tags(i).values(), wanted)]
        elif name in getters:
            getter = getters[name]
            items = [i for i in items if _matches(getter(i), wanted)]
        else:
            raise ServiceError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return items
