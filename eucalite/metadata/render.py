"""Path resolution and rendering of a metadata tree, by the rules cloud-init's Ec2 crawler and the SDKs
read it: directory listings one entry per line with a trailing '/' on entries that have children,
labels like ``0=keyname``, and text leaves served as they are."""

from __future__ import annotations

from dataclasses import dataclass

from eucalite.metadata.tree import VERSIONS, Dir, Lazy


@dataclass(frozen=True)
class Rendered:
    status: int
    body: bytes
    content_type: str = "text/plain"


NOT_FOUND = Rendered(404, b'<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html>\n<html>\n <head>\n'
                     b"  <title>404 - Not Found</title>\n </head>\n <body>\n  <h1>404 - Not Found</h1>\n"
                     b" </body>\n</html>\n", "text/html")


def listing(node: Dir) -> bytes:
    lines = []
    for name, child in node.items():
        label = node.labels.get(name, name)
        is_dir = isinstance(child, Dir) or (isinstance(child, Lazy) and child.is_dir)
        lines.append(label + ("/" if is_dir and label == name else ""))
    return "\n".join(lines).encode()


def _force(node: object) -> object:
    return node.fn() if isinstance(node, Lazy) else node


def resolve(root: Dir, parts: list[str]) -> object | None:
    node: object = root
    for part in parts:
        node = _force(node)
        if not isinstance(node, Dir) or part not in node:
            return None
        node = node[part]
    return _force(node)


def render(root: Dir, parts: list[str]) -> Rendered:
    node = resolve(root, parts)
    if node is None:
        return NOT_FOUND
    if isinstance(node, Dir):
        return Rendered(200, listing(node))
    if isinstance(node, bytes):
        return Rendered(200, node, "application/octet-stream")
    return Rendered(200, str(node).encode())


def versions_listing() -> Rendered:
    return Rendered(200, "\n".join(VERSIONS).encode())


def split_path(path: str) -> tuple[str | None, list[str]]:
    """('latest', ['meta-data', 'iam']) for '/latest/meta-data/iam/'; (None, []) for '/'."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if not parts:
        return None, []
    return parts[0], parts[1:]
