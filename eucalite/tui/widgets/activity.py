"""View 6: API calls as they happen: principal, action, decision, and why a request was denied."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from eucalite.tui.read_model import ActivityRow, ActivitySnapshot
from eucalite.tui.widgets.base import Row, TableView
from eucalite.tui.widgets.format import DECISION_STYLES, hms, short_arn, styled

KEEP = 1000


class ActivityView(TableView):
    view_name = "activity"
    follow_top = True
    columns: ClassVar[tuple[str, ...]] = ("Time", "Principal", "Action", "Decision", "Status", "Reason")

    def compose_detail(self) -> ComposeResult:
        yield Static(id="activity-detail", classes="detail short", markup=False)

    def add_calls(self, calls: list[ActivityRow], now: float) -> None:
        """New calls from the event feed (oldest first); the view keeps the newest KEEP."""
        if not calls:
            return
        known = self.snapshot.calls if self.snapshot is not None else []
        seen = {c.seq for c in known}
        merged = list(reversed([c for c in calls if c.seq not in seen])) + known
        self.update_snapshot(ActivitySnapshot(now, merged[:KEEP]), now)

    def rows(self, snapshot: ActivitySnapshot) -> list[Row]:
        return [(str(c.seq), (hms(c.at), short_arn(c.principal), f"{c.service}:{c.action or '-'}",
                              styled(c.decision, DECISION_STYLES), str(c.status),
                              c.reason if c.decision == "deny" else c.error))
                for c in snapshot.calls]

    def show_detail(self) -> None:
        snap: ActivitySnapshot | None = self.snapshot
        call = next((c for c in snap.calls if str(c.seq) == self.selected), None) if snap else None
        text = Text()
        if snap is not None:
            denied = sum(1 for c in snap.calls if c.decision == "deny")
            text.append(f"{len(snap.calls)} calls, {denied} denied", style="bold")
        if call is not None:
            text.append(f"\n{call.principal}\n{call.service}:{call.action} -> {call.decision} {call.status} "
                        f"{call.error}")
            if call.reason:
                text.append(f"\n{call.reason}", style="red" if call.decision == "deny" else "dim")
        self.query_one("#activity-detail", Static).update(text)
