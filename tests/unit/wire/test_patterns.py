"""Model patterns (Java regexes) checked in Python: every pattern of the three models is checkable, and the
Unicode property classes IAM's and STS's tag patterns use mean exactly what unicodedata says."""

from __future__ import annotations

import itertools
import logging
import re
import sys
import unicodedata

import pytest

from eucalite.errors import ServiceError
from eucalite.wire import patterns, specs
from eucalite.wire.parse import parse_params
from eucalite.wire.specs import SERVICE_NAMES, raw_model, service, unchecked_patterns

TAG_KEY = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
TAG_VALUE = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_model_pattern_is_checkable(name: str) -> None:
    raw = raw_model(name)
    found = {s["pattern"] for s in raw["shapes"].values() if "pattern" in s}
    assert found
    assert unchecked_patterns(raw) == {}
    assert [p for p in found if patterns.compiled(p) is None] == []


def test_models_use_unicode_properties() -> None:
    # What this module exists for; if a botocore update drops them, the translation is no longer exercised here.
    iam = {s["pattern"] for s in raw_model("iam")["shapes"].values() if "pattern" in s}
    assert TAG_KEY in iam and TAG_VALUE in iam


@pytest.mark.parametrize("text", ["Cost Center", "é中٣", "日本語", "Ⅻ½", "a\u3000b\u2028c\u00a0", "a-b_c.d:e/f=g+h@i",
                                  "Ωμέγα", "\U0001d518nicode"])
def test_tag_pattern_accepts_letters_separators_numbers(text: str) -> None:
    rx = patterns.compiled(TAG_KEY)
    assert rx is not None and rx.fullmatch(text)


@pytest.mark.parametrize("text", ["bad!#$%", "a,b", "semi;colon", "emoji😀", "tab\tin", "nl\n", "a\x01b", "caf\u0301e",
                                  "", "quote'"])
def test_tag_pattern_refuses_everything_else(text: str) -> None:
    rx = patterns.compiled(TAG_KEY)
    assert rx is not None and not rx.fullmatch(text)


@pytest.mark.parametrize(("prop", "major", "negate"), [("L", "L", False), ("Z", "Z", False), ("N", "N", False),
                                                        ("P", "P", True), ("Nd", "Nd", False)])
def test_properties_match_unicodedata_at_every_code_point(prop: str, major: str, negate: bool) -> None:
    rx = patterns.compiled(f"\\{'P' if negate else 'p'}{{{prop}}}")
    assert rx is not None
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    matched = {m.start() for m in rx.finditer(everything)}
    expected = {cp for cp, ch in enumerate(everything) if unicodedata.category(ch).startswith(major) != negate}
    assert matched == expected


def test_unscanned_planes_hold_what_the_rule_says() -> None:
    """category_runs() reads only some planes from unicodedata; the rest must be what it assumes."""
    full = []
    for category, group in itertools.groupby(range(sys.maxunicode + 1), key=lambda cp: unicodedata.category(chr(cp))):
        cps = list(group)
        full.append((cps[0], cps[-1], category))
    assert list(patterns.category_runs()) == full


@pytest.mark.parametrize("pattern", [r"\pL+", r"\p{IsL}+", r"[\p{L}]+", r"\P{^L}+", r"[\-\p{L}]+"])
def test_java_spellings_of_a_property(pattern: str) -> None:
    rx = patterns.compiled(pattern)
    assert rx is not None and rx.fullmatch("Ωa") and not rx.fullmatch("1")


def test_negated_classes() -> None:
    outside = patterns.compiled(r"[^\p{L}]+")
    inside = patterns.compiled(r"[\P{L}]+")
    assert outside is not None and inside is not None
    assert outside.fullmatch("1 !") and not outside.fullmatch("é")
    assert inside.fullmatch("1 !") and not inside.fullmatch("é")


@pytest.mark.parametrize("pattern", [r"\p{Foo}", r"[a-\p{L}]", r"[\p{L}-z]", r"\p{L", "abc\\p", r"a\Qb\E", "(unclosed"])
def test_uncheckable_patterns_are_named(pattern: str) -> None:
    assert patterns.compiled(pattern) is None
    assert patterns.problem(pattern)
    raw = {"shapes": {"Good": {"type": "string", "pattern": TAG_KEY}, "Bad": {"type": "string", "pattern": pattern},
                      "AlsoBad": {"type": "string", "pattern": pattern}}}
    assert unchecked_patterns(raw) == {pattern: ["Bad", "AlsoBad"]}


def test_uncheckable_pattern_is_logged_once_at_load(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    real = specs.raw_model

    def with_bad_pattern(name: str) -> dict:
        raw = real(name)
        raw["shapes"]["BrokenShape"] = {"type": "string", "pattern": r"\p{InGreek}+"}
        return raw

    monkeypatch.setattr(specs, "raw_model", with_bad_pattern)
    with caplog.at_level(logging.WARNING, logger="eucalite.wire"):
        specs.service.__wrapped__("sts")  # type: ignore[attr-defined]  # the uncached loader
    warnings = [r.getMessage() for r in caplog.records if "cannot be checked" in r.getMessage()]
    assert len(warnings) == 1
    assert "BrokenShape" in warnings[0] and "InGreek" in warnings[0]


def test_loading_the_models_computes_no_unicode_ranges() -> None:
    # Loading must stay cheap: property patterns are checked for syntax with a stand-in at load.
    patterns.category_ranges.cache_clear()
    patterns.compiled.cache_clear()
    for name in SERVICE_NAMES:
        assert unchecked_patterns(raw_model(name)) == {}
    assert patterns.category_ranges.cache_info().currsize == 0


# -- through the parser: AWS's ValidationError wording for a tag that fails the pattern ------------------------------
def test_invalid_tag_key_gets_awss_validation_error() -> None:
    op = service("iam").operation("TagUser")
    with pytest.raises(ServiceError) as err:
        parse_params(op, "query", {"UserName": "u", "Tags.member.1.Key": "bad!#$%", "Tags.member.1.Value": "v"})
    assert err.value.code == "ValidationError"
    assert err.value.message == (
        "1 validation error detected: Value 'bad!#$%' at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")


def test_invalid_tag_value_and_key_are_both_reported() -> None:
    op = service("iam").operation("CreateRole")
    with pytest.raises(ServiceError) as err:
        parse_params(op, "query", {"RoleName": "r", "AssumeRolePolicyDocument": "{}",
                                   "Tags.member.1.Key": "ok", "Tags.member.1.Value": "semi;colon",
                                   "Tags.member.2.Key": "a,b", "Tags.member.2.Value": ""})
    assert err.value.message.startswith("2 validation errors detected: ")
    assert "Value 'semi;colon' at 'tags.1.member.value' failed to satisfy constraint" in err.value.message
    assert "Value 'a,b' at 'tags.2.member.key' failed to satisfy constraint" in err.value.message


def test_unicode_tags_are_accepted() -> None:
    op = service("sts").operation("AssumeRole")
    got = parse_params(op, "query", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "sess",
                                     "Tags.member.1.Key": "Kostenstelle", "Tags.member.1.Value": "Grüße 日本 ٣"})
    assert got["Tags"] == [{"Key": "Kostenstelle", "Value": "Grüße 日本 ٣"}]


def test_pattern_compiles_are_ascii_for_w() -> None:
    rx = patterns.compiled(r"[\w+=,.@-]+")
    assert rx is not None and rx.flags & re.ASCII and not rx.fullmatch("ü")
