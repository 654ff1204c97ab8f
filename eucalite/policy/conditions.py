"""Condition operators: parsing an operator name and evaluating one condition key.

Semantics follow AWS's "IAM JSON policy elements: Condition operators" page
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
and "Single-valued vs. multivalued context keys" (reference_policies_condition-single-vs-multi-valued-context-keys):

* several keys under one operator, and several operators, are ANDed;
* several policy values for one key are ORed; a negated operator
  (``StringNotEquals``...) is true when *none* of the values matches;
* a key missing from the request makes the condition false, except that the
  docs say "If the policy condition requires that the key is not matched, such
  as StringNotLike or ArnNotLike, and the right key is not present, the
  condition is true" - so negated operators are true on a missing key;
* ``...IfExists`` is true on a missing key; ``Null`` tests presence itself;
* ``ForAllValues:`` is true when the key is missing or empty; ``ForAnyValue:``
  is false then (the set-operator rule wins over the negation rule above).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache

from eucalite.policy.matching import Resolver, compile_glob, compile_template

__all__ = [
    "Condition",
    "ContextLookup",
    "ContextValue",
    "OperatorSpec",
    "Qualifier",
    "UnknownConditionOperator",
    "compile_condition",
    "parse_operator",
]

# What the engine hands a condition: the request's value(s) for a lower-cased key.
ContextValue = str | tuple[str, ...]
ContextLookup = Callable[[str], ContextValue | None]

# A compiled policy value: compares one request value; None = unresolvable variable.
ValueMatcher = Callable[[str, Resolver], bool | None]


class UnknownConditionOperator(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Qualifier(StrEnum):
    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


# --- value matchers, one factory per operator family -------------------------------


def _string_equals(value: str, variables: bool) -> ValueMatcher:
    template = compile_template(value, variables=variables)

    def match(request: str, resolve: Resolver) -> bool | None:
        expected = template.render(resolve)
        return None if expected is None else request == expected

    return match


def _string_equals_ignore_case(value: str, variables: bool) -> ValueMatcher:
    template = compile_template(value, variables=variables)

    def match(request: str, resolve: Resolver) -> bool | None:
        expected = template.render(resolve)
        return None if expected is None else request.casefold() == expected.casefold()

    return match


def _string_like(value: str, variables: bool) -> ValueMatcher:
    glob = compile_glob(value, arn=False, variables=variables)
    return lambda request, resolve: glob.matches(request, resolve)


def _arn_like(value: str, variables: bool) -> ValueMatcher:
    # ArnEquals and ArnLike behave the same: both accept wildcards per ARN field.
    glob = compile_glob(value, arn=True, variables=variables)
    return lambda request, resolve: glob.matches(request, resolve)


def _never(request: str, resolve: Resolver) -> bool | None:
    return False


@lru_cache(maxsize=1024)
def _parse_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _numeric(compare: Callable[[Decimal, Decimal], bool]) -> Callable[[str, bool], ValueMatcher]:
    # Decimal rather than float so "0.1" equals "0.10" exactly and big integers stay exact.
    def factory(value: str, variables: bool) -> ValueMatcher:
        expected = _parse_number(value)
        if expected is None:
            return _never  # AWS accepts the document; the value just never matches

        def match(request: str, resolve: Resolver) -> bool | None:
            actual = _parse_number(request)
            return actual is not None and compare(actual, expected)

        return match

    return factory


@lru_cache(maxsize=1024)
def parse_date(text: str) -> float | None:
    """Seconds since the epoch for an ISO 8601 date/time or an epoch-seconds string."""
    text = text.strip()
    if not text:
        return None
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:  # AWS times are UTC unless an offset says otherwise
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _date(compare: Callable[[float, float], bool]) -> Callable[[str, bool], ValueMatcher]:
    def factory(value: str, variables: bool) -> ValueMatcher:
        expected = parse_date(value)
        if expected is None:
            return _never

        def match(request: str, resolve: Resolver) -> bool | None:
            actual = parse_date(request)
            return actual is not None and compare(actual, expected)

        return match

    return factory


def _bool(value: str, variables: bool) -> ValueMatcher:
    template = compile_template(value, variables=variables)

    def match(request: str, resolve: Resolver) -> bool | None:
        expected = template.render(resolve)
        if expected is None:
            return None
        return request.strip().lower() == expected.strip().lower() and expected.lower() in ("true", "false")

    return match


def _decode_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _binary(value: str, variables: bool) -> ValueMatcher:
    expected = _decode_base64(value)
    if expected is None:
        return _never

    def match(request: str, resolve: Resolver) -> bool | None:
        # Binary context values travel base64-encoded like the policy's; accept raw text too.
        actual = _decode_base64(request)
        return (actual if actual is not None else request.encode()) == expected

    return match


@lru_cache(maxsize=1024)
def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        try:
            return ipaddress.ip_interface(text.strip()).ip
        except ValueError:
            return None


def _ip_address(value: str, variables: bool) -> ValueMatcher:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return _never

    def match(request: str, resolve: Resolver) -> bool | None:
        address = _parse_address(request)
        # Mixing families is simply "not in the range", never an error.
        return address is not None and address.version == network.version and address in network

    return match


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    name: str
    negated: bool
    factory: Callable[[str, bool], ValueMatcher]
    variables: bool  # whether the docs list policy variables as supported


_SPECS: dict[str, OperatorSpec] = {
    spec.name: spec
    for spec in (
        OperatorSpec("StringEquals", False, _string_equals, True),
        OperatorSpec("StringNotEquals", True, _string_equals, True),
        OperatorSpec("StringEqualsIgnoreCase", False, _string_equals_ignore_case, True),
        OperatorSpec("StringNotEqualsIgnoreCase", True, _string_equals_ignore_case, True),
        OperatorSpec("StringLike", False, _string_like, True),
        OperatorSpec("StringNotLike", True, _string_like, True),
        OperatorSpec("NumericEquals", False, _numeric(operator.eq), False),
        OperatorSpec("NumericNotEquals", True, _numeric(operator.eq), False),
        OperatorSpec("NumericLessThan", False, _numeric(operator.lt), False),
        OperatorSpec("NumericLessThanEquals", False, _numeric(operator.le), False),
        OperatorSpec("NumericGreaterThan", False, _numeric(operator.gt), False),
        OperatorSpec("NumericGreaterThanEquals", False, _numeric(operator.ge), False),
        OperatorSpec("DateEquals", False, _date(operator.eq), False),
        OperatorSpec("DateNotEquals", True, _date(operator.eq), False),
        OperatorSpec("DateLessThan", False, _date(operator.lt), False),
        OperatorSpec("DateLessThanEquals", False, _date(operator.le), False),
        OperatorSpec("DateGreaterThan", False, _date(operator.gt), False),
        OperatorSpec("DateGreaterThanEquals", False, _date(operator.ge), False),
        OperatorSpec("Bool", False, _bool, True),
        OperatorSpec("BinaryEquals", False, _binary, False),
        OperatorSpec("IpAddress", False, _ip_address, False),
        OperatorSpec("NotIpAddress", True, _ip_address, False),
        OperatorSpec("ArnEquals", False, _arn_like, True),
        OperatorSpec("ArnNotEquals", True, _arn_like, True),
        OperatorSpec("ArnLike", False, _arn_like, True),
        OperatorSpec("ArnNotLike", True, _arn_like, True),
    )
}

_NULL = "Null"
_IF_EXISTS = "IfExists"


@dataclass(frozen=True, slots=True)
class ParsedOperator:
    spec: OperatorSpec | None  # None for Null
    qualifier: Qualifier | None
    if_exists: bool


@lru_cache(maxsize=256)
def parse_operator(name: str) -> ParsedOperator:
    """Split ``ForAnyValue:StringLikeIfExists`` into its pieces; raise on unknown names.

    Operator names are case-sensitive, as in AWS's grammar.
    """
    qualifier: Qualifier | None = None
    base = name
    prefix, colon, rest = name.partition(":")
    if colon:
        try:
            qualifier = Qualifier(prefix)
        except ValueError:
            raise UnknownConditionOperator(name) from None
        base = rest
    if base == _NULL:
        return ParsedOperator(None, qualifier, False)
    if_exists = base.endswith(_IF_EXISTS) and base != _IF_EXISTS
    if if_exists:
        base = base[: -len(_IF_EXISTS)]
    spec = _SPECS.get(base)
    if spec is None:
        raise UnknownConditionOperator(name)
    return ParsedOperator(spec, qualifier, if_exists)


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key, values) triple of a statement's Condition block."""

    operator: str
    key: str
    values: tuple[str, ...]
    parsed: ParsedOperator
    matchers: tuple[ValueMatcher, ...]
    lookup_key: str  # context keys are case-insensitive; lowered once here

    def holds(self, lookup: ContextLookup, resolve: Resolver) -> bool:
        raw = lookup(self.lookup_key)
        spec = self.parsed.spec
        if spec is not None and self.parsed.qualifier is None and type(raw) is str:
            # The common case (one operator, one single-valued key) without building tuples.
            outcome = self._any_match(raw, resolve)
            return outcome is False if spec.negated else outcome is True
        request: tuple[str, ...] = () if raw is None else (raw,) if isinstance(raw, str) else raw
        if spec is None:
            return self._null_holds(bool(request))
        qualifier = self.parsed.qualifier
        if qualifier is Qualifier.FOR_ALL_VALUES:
            # Vacuously true on an empty set; the docs warn about exactly this.
            return all(self._value_outcome(v, resolve, spec.negated) for v in request)
        if qualifier is Qualifier.FOR_ANY_VALUE:
            if not request:
                return self.parsed.if_exists
            return any(self._value_outcome(v, resolve, spec.negated) for v in request)
        if not request:
            return self.parsed.if_exists or spec.negated
        if spec.negated:
            # "None of the request values equals any policy value"; an unresolvable
            # variable voids the condition rather than silently widening it.
            return all(self._any_match(v, resolve) is False for v in request)
        return any(self._any_match(v, resolve) is True for v in request)

    def _null_holds(self, present: bool) -> bool:
        # {"Null": {"k": "true"}} means "k is absent"; "false" means "k is present".
        return any(
            (value.lower() == "true" and not present) or (value.lower() == "false" and present)
            for value in self.values
        )

    def _any_match(self, request: str, resolve: Resolver) -> bool | None:
        unresolved = False
        for matcher in self.matchers:
            outcome = matcher(request, resolve)
            if outcome:
                return True
            if outcome is None:
                unresolved = True
        return None if unresolved else False

    def _value_outcome(self, request: str, resolve: Resolver, negated: bool) -> bool:
        outcome = self._any_match(request, resolve)
        return outcome is False if negated else outcome is True


def _as_text(value: object) -> str:
    # JSON lets authors write true/10 unquoted; AWS compares their text form.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compile_condition(
    operator_name: str, key: str, values: str | int | float | bool | Sequence[object], *, variables: bool
) -> Condition:
    """Build a Condition; ``variables`` is False for pre-2012-10-17 documents."""
    parsed = parse_operator(operator_name)
    texts = tuple(_as_text(v) for v in values) if isinstance(values, list | tuple) else (_as_text(values),)
    if parsed.spec is None:
        return Condition(operator_name, key, texts, parsed, (), key.lower())
    use_variables = variables and parsed.spec.variables
    matchers = tuple(parsed.spec.factory(text, use_variables) for text in texts)
    return Condition(operator_name, key, texts, parsed, matchers, key.lower())
