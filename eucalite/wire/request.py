"""The parts of an HTTP request that routing, signing and parsing look at, independent of Starlette."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass
class WireRequest:
    method: str
    path: str
    raw_query: str  # as received, still percent-encoded
    headers: dict[str, list[str]]  # lower-case names, all values in arrival order
    body: bytes
    source_ip: str = "127.0.0.1"
    query_pairs: list[tuple[str, str]] = field(init=False)
    form_pairs: list[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.query_pairs = parse_qsl(self.raw_query, keep_blank_values=True)
        ctype = self.header("content-type") or ""
        if self.body and (not ctype or ctype.startswith("application/x-www-form-urlencoded")):
            self.form_pairs = parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        else:
            self.form_pairs = []

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def params(self) -> dict[str, str]:
        """Operation parameters: query string and form body together (Query APIs accept either)."""
        merged = dict(self.query_pairs)
        merged.update(self.form_pairs)
        return merged
