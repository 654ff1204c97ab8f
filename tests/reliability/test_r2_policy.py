"""R2: the policy engine's case table and properties (bounded; scripts/stress.py runs thousands each)."""

from __future__ import annotations

import pytest

from tests.reliability import r2_policy


@pytest.mark.parametrize("name", sorted(set(r2_policy.PROPERTIES) - {
    "adding_a_deny_never_widens_access", "allow_on_star_allows_every_resource_unless_denied"}))
def test_property(name: str) -> None:
    # The two issue properties already run in tests/unit/policy; the new ones run here.
    assert r2_policy.check_property(name, examples=60) > 0
