"""R1: no mutated signed request is accepted (bounded; scripts/stress.py runs 10,000+)."""

from __future__ import annotations

from tests.reliability import r1_auth
from tests.reliability.harness import InProcessCloud


def test_no_mutated_request_is_accepted(app_cloud: InProcessCloud) -> None:
    result = r1_auth.run(app_cloud, attempts=330, seed=11)
    assert result.attempts == 330
    assert result.failures == 0, result.report()
