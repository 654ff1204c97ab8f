"""R6: fuzzed Query parameters and policy documents for every implemented operation never give a 500."""

from __future__ import annotations

from tests.reliability import r6_fuzz
from tests.reliability.harness import InProcessCloud


def test_no_fuzzed_request_gives_500(app_cloud: InProcessCloud) -> None:
    result = r6_fuzz.run(app_cloud, total=len(r6_fuzz.operations()) * 4)
    assert result.attempts >= 300
    assert result.failures == 0, result.report()
