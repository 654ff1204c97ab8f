"""Small text helpers shared by the views. Times are cloud-clock epochs rendered in UTC."""

from __future__ import annotations

import time

from rich.text import Text

STATE_STYLES = {"running": "green", "pending": "yellow", "stopping": "yellow", "stopped": "red",
                "shutting-down": "yellow", "terminated": "dim"}
DECISION_STYLES = {"allow": "green", "deny": "bold red", "error": "yellow"}


def hms(epoch: float | None) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(max(0, seconds))
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600:02d}h"
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s"


def bar(left: float, total: float, width: int = 8) -> str:
    """A text countdown bar for table cells (the selected row gets a real ProgressBar)."""
    frac = 0.0 if total <= 0 else min(1.0, max(0.0, left / total))
    filled = round(frac * width)
    return "█" * filled + "░" * (width - filled)


def styled(value: str, styles: dict[str, str]) -> Text:
    return Text(value, style=styles.get(value.split(":")[0], ""))


def short_arn(arn: str) -> str:
    """arn:aws:iam::123456789012:user/admin -> 123456789012:user/admin (tables are narrow)."""
    return arn.split("::", 1)[1] if arn.startswith("arn:aws:") and "::" in arn else arn
