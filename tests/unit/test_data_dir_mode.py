"""The data dir holds keys: it is owner-only even when it existed before eucalite first ran."""

from __future__ import annotations

from pathlib import Path

from eucalite.cloud import Cloud
from eucalite.config import Settings


def test_existing_data_dir_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    cloud = Cloud(Settings(data_dir=data))
    try:
        assert data.stat().st_mode & 0o777 == 0o700
        assert (data / "secret.key").stat().st_mode & 0o777 == 0o600
    finally:
        cloud.close()
