"""Which observed libvirt states the poller reports."""

from __future__ import annotations

import pytest

from eucalite.nodes.base import NodeState as S
from eucalite.nodes.libvirt import states


def test_libvirt_state_mapping() -> None:
    assert states.from_libvirt(states.RUNNING) == S.RUNNING
    assert states.from_libvirt(states.PAUSED) == S.RUNNING
    assert states.from_libvirt(states.SHUTOFF) == S.STOPPED
    assert states.from_libvirt(states.SHUTDOWN) == S.STOPPING
    assert states.from_libvirt(states.CRASHED) == S.LOST
    assert states.from_libvirt(99) == S.LOST


@pytest.mark.parametrize(
    ("previous", "observed", "expected"),
    [
        (S.RUNNING, S.RUNNING, None),
        (S.RUNNING, S.STOPPED, S.STOPPED),  # guest powered itself off
        (S.RUNNING, None, S.LOST),  # domain vanished
        (S.STOPPING, S.RUNNING, None),  # our own stop still in progress
        (S.PENDING, S.STOPPED, None),  # our own start still in progress
        (S.STOPPED, S.RUNNING, S.RUNNING),
        (S.TERMINATED, None, None),
        (S.SHUTTING_DOWN, None, None),
        (S.LOST, None, None),
    ],
)
def test_news(previous: S, observed: S | None, expected: S | None) -> None:
    assert states.news(previous, observed) == expected
