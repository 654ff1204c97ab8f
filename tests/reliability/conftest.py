"""Bounded reliability checks (R1-R8 of issue 11): the same code scripts/stress.py runs, at CI size."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.harness import InProcessCloud, in_process


@pytest.fixture(scope="module")
def app_cloud() -> Iterator[InProcessCloud]:
    """The ASGI app in process over a real data dir (fast: no sockets for the API)."""
    with in_process() as cloud:
        yield cloud
