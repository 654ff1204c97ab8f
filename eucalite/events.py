"""In-process events: API calls, mints, rotations, state changes. The dashboard and the log subscribe.

Publishing never blocks the request path: subscribers are plain callables that must be quick, and a
bounded ring keeps the recent history for late subscribers (a dashboard attached after start-up).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: str  # "api-call", "credentials-minted", "credentials-rotated", "instance-state", ...
    at: float
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self, history: int = 2000) -> None:
        self._subscribers: list[Subscriber] = []
        self.recent: deque[Event] = deque(maxlen=history)
        self._seq = 0

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def publish(self, event: Event) -> None:
        self.recent.append(event)
        self._seq += 1
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception:  # a broken subscriber must not break the request that published
                log.exception("event subscriber failed for %s", event.kind)

    @property
    def sequence(self) -> int:
        return self._seq
