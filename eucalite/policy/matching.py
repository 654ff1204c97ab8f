"""Wildcard patterns and policy variables, compiled once and reused.

Three kinds of text appear in a policy and are compared against a request:

* actions (``iam:Create*``): case-insensitive globs, never variables;
* resources and ARN condition values: case-sensitive globs that may hold
  ``${...}`` variables; in an ARN the first five colon-separated fields are
  matched field by field, the resource field may span ``/`` and ``:``;
* string condition values: either literal templates (``StringEquals``) or
  case-sensitive globs (``StringLike``), both with variables.

Parsing a pattern string into parts, and turning a variable-free pattern into a
regex, happens once per distinct string (``functools.lru_cache``), so the
engine only runs ``re.fullmatch`` per decision. Patterns with variables are
rendered per request, but the rendered regex source is cached too, so a user
seen twice costs one dictionary lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

__all__ = [
    "Glob",
    "Resolver",
    "Template",
    "Variable",
    "Wildcard",
    "compile_actions",
    "compile_glob",
    "compile_template",
    "parse_parts",
]

# Returns the single value of a (lower-cased) context key, or None when the key
# is absent or multi-valued: AWS refuses to substitute multi-valued keys.
Resolver = Callable[[str], str | None]

# ARNs have five separators before the resource part (arn:partition:service:region:account:resource).
_ARN_FIELD_SEPARATORS = 5
_CACHE_SIZE = 4096


class Wildcard(Enum):
    STAR = "*"
    QUESTION = "?"


@dataclass(frozen=True, slots=True)
class Variable:
    """A ``${key}`` or ``${key, 'default'}`` reference; key kept lower-case for lookup."""

    key: str
    default: str | None = None

    def resolve(self, resolve: Resolver) -> str | None:
        value = resolve(self.key)
        return self.default if value is None else value


Part = str | Variable | Wildcard

# ${*}, ${?} and ${$} let a policy author write the literal characters.
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _parse_variable(body: str) -> Variable | str | None:
    """Parse what is between ``${`` and ``}``; None means "not a variable, keep the text"."""
    stripped = body.strip()
    if stripped in _ESCAPES:
        return _ESCAPES[stripped]
    key, comma, default = stripped.partition(",")
    key = key.strip()
    if not key or any(ch.isspace() for ch in key):
        return None
    if not comma:
        return Variable(key.lower())
    default = default.strip()
    # AWS writes a quote inside the default as two quotes, SQL style.
    if len(default) < 2 or default[0] != "'" or default[-1] != "'":
        return None
    inner = default[1:-1]
    if "'" in inner.replace("''", ""):
        return None
    return Variable(key.lower(), inner.replace("''", "'"))


def _find_variable_end(text: str, start: int) -> int:
    """Index of the ``}`` closing a variable opened before ``start``; quotes may hide a ``}``."""
    quoted = False
    for index in range(start, len(text)):
        char = text[index]
        if char == "'":
            quoted = not quoted
        elif char == "}" and not quoted:
            return index
    return -1


@lru_cache(maxsize=_CACHE_SIZE)
def parse_parts(text: str, *, wildcards: bool, variables: bool) -> tuple[Part, ...]:
    """Split ``text`` into literal runs, wildcards and variables.

    Malformed ``${`` sequences stay literal text: AWS does the same and the
    pattern then simply fails to match anything that lacks those characters.
    """
    parts: list[Part] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            parts.append("".join(literal))
            literal.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if variables and text.startswith("${", index):
            end = _find_variable_end(text, index + 2)
            parsed = _parse_variable(text[index + 2 : end]) if end >= 0 else None
            if parsed is not None:
                if isinstance(parsed, str):
                    literal.append(parsed)
                else:
                    flush()
                    parts.append(parsed)
                index = end + 1
                continue
        if wildcards and char in "*?":
            flush()
            parts.append(Wildcard.STAR if char == "*" else Wildcard.QUESTION)
        else:
            literal.append(char)
        index += 1
    flush()
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Template:
    """Literal text with variables, for the equality operators."""

    text: str
    parts: tuple[str | Variable, ...]
    static: str | None  # the rendered text when there are no variables

    def render(self, resolve: Resolver) -> str | None:
        """The text with variables substituted; None when one cannot be resolved."""
        if self.static is not None:
            return self.static
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Variable):
                value = part.resolve(resolve)
                if value is None:
                    return None
                out.append(value)
            else:
                out.append(part)
        return "".join(out)


@lru_cache(maxsize=_CACHE_SIZE)
def compile_template(text: str, *, variables: bool) -> Template:
    parts = parse_parts(text, wildcards=False, variables=variables)
    literal_parts = tuple(p for p in parts if not isinstance(p, Wildcard))
    has_vars = any(isinstance(p, Variable) for p in literal_parts)
    static = None if has_vars else "".join(p for p in literal_parts if isinstance(p, str))
    return Template(text, literal_parts, static)


def _glob_source(parts: tuple[Part, ...], *, arn: bool, values: tuple[str, ...] = ()) -> str:
    """Regex source for the parts; ``values`` are the resolved variables, in order."""
    out: list[str] = []
    separators_seen = 0
    value_index = 0
    for part in parts:
        in_arn_field = arn and separators_seen < _ARN_FIELD_SEPARATORS
        if isinstance(part, Wildcard):
            if in_arn_field:
                out.append("[^:]*" if part is Wildcard.STAR else "[^:]")
            else:
                out.append(".*" if part is Wildcard.STAR else ".")
        elif isinstance(part, Variable):
            out.append(re.escape(values[value_index]))
            value_index += 1
        else:
            if arn:
                separators_seen += part.count(":")
            out.append(re.escape(part))
    return "".join(out)


@lru_cache(maxsize=_CACHE_SIZE)
def _regex(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags | re.DOTALL)


@lru_cache(maxsize=_CACHE_SIZE)
def _rendered(text: str, arn: bool, flags: int, values: tuple[str, ...]) -> re.Pattern[str]:
    # Keyed on the pattern text and the variable values, which hash cheaply; only
    # globs with variables get here, so the text is re-split with variables on.
    parts = parse_parts(text, wildcards=True, variables=True)
    return _regex(_glob_source(parts, arn=arn, values=values), flags)


@dataclass(frozen=True, slots=True)
class Glob:
    """A ``*``/``?`` pattern, possibly with variables."""

    text: str
    parts: tuple[Part, ...]
    arn: bool
    flags: int
    static: re.Pattern[str] | None  # compiled up front when there are no variables

    def regex(self, resolve: Resolver) -> re.Pattern[str] | None:
        """The compiled pattern for this request; None when a variable cannot be resolved."""
        if self.static is not None:
            return self.static
        values: list[str] = []
        for part in self.parts:
            if isinstance(part, Variable):
                value = part.resolve(resolve)
                if value is None:
                    return None
                values.append(value)
        return _rendered(self.text, self.arn, self.flags, tuple(values))

    def matches(self, value: str, resolve: Resolver) -> bool | None:
        """True/False, or None when the pattern holds an unresolvable variable."""
        pattern = self.regex(resolve)
        if pattern is None:
            return None
        return pattern.fullmatch(value) is not None


@lru_cache(maxsize=_CACHE_SIZE)
def compile_glob(text: str, *, arn: bool, variables: bool, ignore_case: bool = False) -> Glob:
    """Compile a glob.

    With ``arn=True`` and a pattern starting ``arn:``, wildcards in the first
    five fields stay inside their field (AWS checks "each of the six
    colon-delimited components separately"), while in the resource field ``*``
    spans ``/`` and ``:``. Anything else (``*``, ``my-bucket*``) is a plain glob
    over the whole string.
    """
    parts = parse_parts(text, wildcards=True, variables=variables)
    field_wise = arn and text.startswith("arn:")
    flags = re.IGNORECASE if ignore_case else 0
    has_vars = any(isinstance(p, Variable) for p in parts)
    static = None if has_vars else _regex(_glob_source(parts, arn=field_wise), flags)
    return Glob(text, parts, field_wise, flags, static)


@lru_cache(maxsize=_CACHE_SIZE)
def compile_actions(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex matching any of the action patterns.

    A single alternation keeps the per-statement cost to one ``fullmatch``.
    """
    sources = [_glob_source(parse_parts(p, wildcards=True, variables=False), arn=False) for p in patterns]
    return _regex("(?:" + "|".join(sources) + ")" if sources else "(?!)", re.IGNORECASE)
