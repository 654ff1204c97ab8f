"""Identifier formats: lengths and alphabets clients rely on, and random draws without bias."""

from __future__ import annotations

import collections
import re

from eucalite import ids
from eucalite.credentials.minter import account_of_temporary_key, temporary_key_id


def test_formats() -> None:
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", ids.access_key_id())
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", ids.access_key_id(temporary=True))
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", ids.secret_access_key())
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", ids.iam_unique_id("AROA"))
    key = temporary_key_id("123456789012")
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", key) and account_of_temporary_key(key) == "123456789012"


def test_random_text_is_uniform_and_fresh() -> None:
    # Three letters: 256 % 3 != 0, so the rejection step is what keeps 'a' from being favoured.
    counts = collections.Counter(ids.random_text("abc", 60_000))
    assert set(counts) == {"a", "b", "c"}
    assert all(abs(n - 20_000) < 600 for n in counts.values()), counts  # > 6 sigma either way
    secrets_drawn = {ids.secret_access_key() for _ in range(1000)}
    assert len(secrets_drawn) == 1000
