"""The models' ``pattern`` constraints, which are Java regexes, made checkable with Python's ``re``.

Nearly all of them are valid Python as they stand. The exception is Unicode property classes: IAM's and
STS's tag patterns (``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+``) use ``\\p{..}``, which ``re`` refuses. Each
``\\p{X}`` / ``\\P{X}`` (and Java's ``\\pL``, ``\\p{IsL}``, ``\\p{^L}`` spellings) naming a Unicode general
category is translated exactly into the code-point ranges of that category in this Python's Unicode
database: inline inside a character class, as a class of its own outside one.

The ranges are built once, lazily, the first time a pattern needs them (tens of milliseconds), so loading a
model stays cheap: ``problem()``, which the model loader runs on every pattern to log the ones that still
cannot be checked, compiles property patterns with a one-character stand-in for the ranges (same syntax,
so the same compile errors).
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable

# AWS evaluates model patterns with ASCII classes: \w is [A-Za-z0-9_], not any Unicode letter.
FLAGS = re.DOTALL | re.ASCII

_MAJOR = {"L", "M", "N", "P", "S", "Z", "C"}
_MINOR = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf",
          "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"}
_ALIASES = {"LC": frozenset({"Lu", "Ll", "Lt"}), "L&": frozenset({"Lu", "Ll", "Lt"})}

# Planes the Unicode database is scanned in. The others hold no assigned character but private use: planes
# 4-13 are unassigned (Cn), 15 and 16 private use (Co) but for their last two code points (noncharacters, Cn).
# tests/unit/wire/test_patterns.py checks this against a scan of every code point.
SCANNED_PLANES = (0, 1, 2, 3, 14)

Ranges = list[tuple[int, int]]
RangesFn = Callable[[frozenset[str], bool], Ranges]


class UnsupportedPattern(ValueError):
    """A Java regex construct this translation does not know (the pattern is then not checked)."""


def _plane_runs(plane: int) -> list[tuple[int, int, str]]:
    start = plane << 16
    if plane in SCANNED_PLANES:
        runs = []
        first = start
        for category, group in itertools.groupby(map(unicodedata.category, map(chr, range(start, start + 0x10000)))):
            size = sum(1 for _ in group)
            runs.append((first, first + size - 1, category))
            first += size
        return runs
    if plane >= 15:
        return [(start, start + 0xFFFD, "Co"), (start + 0xFFFE, start + 0xFFFF, "Cn")]
    return [(start, start + 0xFFFF, "Cn")]


@functools.cache
def category_runs() -> tuple[tuple[int, int, str], ...]:
    """Every code point as (first, last, general category) runs, in order."""
    runs: list[tuple[int, int, str]] = []
    for plane in range((sys.maxunicode >> 16) + 1):
        for first, last, category in _plane_runs(plane):
            if runs and runs[-1][2] == category and runs[-1][1] + 1 == first:
                runs[-1] = (runs[-1][0], last, category)
            else:
                runs.append((first, last, category))
    return tuple(runs)


@functools.cache
def category_ranges(categories: frozenset[str], negate: bool) -> Ranges:
    """Code-point ranges of the characters in (or, negated, not in) the two-letter ``categories``."""
    out: Ranges = []
    for first, last, category in category_runs():
        if (category in categories) != negate:
            if out and out[-1][1] + 1 == first:
                out[-1] = (out[-1][0], last)
            else:
                out.append((first, last))
    return out


def _categories(name: str) -> frozenset[str]:
    if name.startswith("Is") and len(name) > 2:  # Java: \p{IsL} is \p{L}
        name = name[2:]
    if name in _ALIASES:
        return _ALIASES[name]
    if name in _MINOR:
        return frozenset({name})
    if name in _MAJOR:
        return frozenset(m for m in _MINOR if m[0] == name)
    raise UnsupportedPattern(f"unknown Unicode property \\p{{{name}}}")


def _class_items(ranges: Ranges) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


def _stand_in(categories: frozenset[str], negate: bool) -> Ranges:
    return [(0x61, 0x61)]


def _dash_before(pattern: str, at: int) -> bool:
    """Whether the property at ``at`` closes a range (``a-\\p{L}``): a '-' before it that is not the class's first."""
    return at >= 2 and pattern[at - 1] == "-" and pattern[at - 2] not in "[^\\"


def translate(pattern: str, ranges: RangesFn = category_ranges) -> tuple[str, bool]:
    """``pattern`` in Python's syntax, and whether it used a Unicode property (only those are rewritten)."""
    out: list[str] = []
    in_class = False
    used = False
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            start, nxt = i, pattern[i + 1]
            if nxt not in "pP":
                out.append(pattern[i:i + 2])
                i += 2
                continue
            if i + 2 < n and pattern[i + 2] == "{":
                close = pattern.find("}", i + 3)
                if close < 0:
                    raise UnsupportedPattern(f"unterminated \\{nxt}{{ at {i}")
                name, i = pattern[i + 3:close], close + 1
            elif i + 2 < n:
                name, i = pattern[i + 2], i + 3
            else:
                raise UnsupportedPattern(f"dangling \\{nxt} at the end")
            negate = nxt == "P"
            if name.startswith("^"):  # Java: \p{^L} is \P{L}
                name, negate = name[1:], not negate
            dash_after = pattern[i:i + 1] == "-" and pattern[i + 1:i + 2] not in ("", "]")
            if in_class and (_dash_before(pattern, start) or dash_after):
                raise UnsupportedPattern("a Unicode property cannot bound a range")
            items = _class_items(ranges(_categories(name), negate))
            out.append(items if in_class else f"[{items}]")
            used = True
            continue
        if c == "[" and not in_class:
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ] is a literal, not the end of the class
                out.append("]")
                i += 1
            continue
        if c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out), used


@functools.lru_cache(maxsize=4096)
def compiled(pattern: str) -> re.Pattern[str] | None:
    """The pattern ready to match, or None when it cannot be checked in Python (see ``problem``)."""
    try:
        python, _ = translate(pattern)
        return re.compile(python, FLAGS)
    except (re.error, UnsupportedPattern):
        return None


def problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be checked, or None when it can; cheap (see the module docstring)."""
    try:
        python, used = translate(pattern, _stand_in)
    except UnsupportedPattern as err:
        return str(err)
    if not used and compiled(pattern) is not None:  # the real thing, cached for the parser
        return None
    try:
        re.compile(python, FLAGS)
    except re.error as err:
        return str(err)
    return None
