"""R7: concurrent API and metadata clients across rotations (4 s TTL): no error, no expired document."""

from __future__ import annotations

from pathlib import Path

from tests.reliability import r7_load


def test_concurrent_clients_across_rotations(tmp_path: Path) -> None:
    result = r7_load.run(tmp_path, clients=20, seconds=8, ttl="4s", instances=4)
    assert result.failures == 0, result.report()
    assert result.attempts >= 100, result.report()
