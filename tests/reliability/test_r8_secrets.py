"""R8: data dir modes, and no secret in the log, the server output or the dashboard's read model."""

from __future__ import annotations

from pathlib import Path

from tests.reliability import r8_secrets


def test_secrets_stay_private(tmp_path: Path) -> None:
    result = r8_secrets.run(tmp_path)
    assert result.failures == 0, result.report()
