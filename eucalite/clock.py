"""The cloud's one clock. Every expiry, rotation and signature-skew check reads it.

Tests and demos can move it forward (an offset, never backwards in real time), so a 900 s session can be
shown expiring without a 15-minute sleep.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = offset_seconds
        self._lock = threading.Lock()

    def time(self) -> float:
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset


def iso8601(ts: datetime) -> str:
    """AWS's second-precision UTC form, e.g. 2013-10-11T19:07:37Z (metadata credentials, IAM dates)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso8601_from_epoch(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def parse_iso8601(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def after(ts: datetime, seconds: float) -> datetime:
    return ts + timedelta(seconds=seconds)
