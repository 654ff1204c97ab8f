"""Mapping libvirt's domain states onto NodeState, and deciding which changes are news."""

from __future__ import annotations

from eucalite.nodes.base import NodeState

# libvirt's virDomainState values (stable ABI), so this module needs no libvirt import.
NOSTATE, RUNNING, BLOCKED, PAUSED, SHUTDOWN, SHUTOFF, CRASHED, PMSUSPENDED = range(8)

_MAP = {
    NOSTATE: NodeState.PENDING,
    RUNNING: NodeState.RUNNING,
    BLOCKED: NodeState.RUNNING,  # running guest waiting on I/O
    PAUSED: NodeState.RUNNING,  # libvirt pauses briefly around some operations
    SHUTDOWN: NodeState.STOPPING,
    SHUTOFF: NodeState.STOPPED,
    CRASHED: NodeState.LOST,
    PMSUSPENDED: NodeState.RUNNING,
}


def from_libvirt(state: int) -> NodeState:
    return _MAP.get(state, NodeState.LOST)


def news(previous: NodeState, observed: NodeState | None) -> NodeState | None:
    """The state to report when polling sees `observed` (None: the domain is gone), else None.

    Polling races the driver's own operations: right after stop() libvirt still says running, and
    during start() it may still say shut off. Those are the driver's transitions in progress,
    not news; only a change the driver did not ask for is reported.
    """
    if previous in (NodeState.TERMINATED, NodeState.SHUTTING_DOWN, NodeState.LOST):
        return None  # terminal, or the driver is tearing it down itself
    if observed is None:
        return NodeState.LOST
    if observed == previous:
        return None
    if previous == NodeState.STOPPING and observed == NodeState.RUNNING:
        return None
    if previous == NodeState.PENDING and observed == NodeState.STOPPED:
        return None
    return observed
