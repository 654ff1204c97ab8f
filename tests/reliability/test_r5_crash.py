"""R5: kill -9 during a write load loses no acknowledged write and leaves nothing half-written."""

from __future__ import annotations

from pathlib import Path

from tests.reliability import r5_crash


def test_kill_9_during_writes(tmp_path: Path) -> None:
    result = r5_crash.run(tmp_path, cycles=1, load_seconds=(1.0, 1.5))
    assert result.failures == 0, result.report()
    assert result.attempts > 20, result.report()
