"""View 5: instance-profile credentials (access key ids only), a live countdown to expiry, and the
rotation history growing as rotations happen. Action: rotate now (confirmed)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Label, ProgressBar

from eucalite.tui.read_model import CredentialRow, CredentialsSnapshot
from eucalite.tui.widgets.base import Row, TableView
from eucalite.tui.widgets.format import bar, duration, hms

EVENT_STYLES = {"minted": "green", "rotated": "cyan", "revoked": "yellow", "failed": "bold red"}


def _left(c: CredentialRow, now: float) -> float | None:
    return None if c.expires is None or c.code != "Success" else max(0.0, c.expires - now)


class CredentialsView(TableView):
    view_name = "credentials"
    columns: ClassVar[tuple[str, ...]] = ("Instance", "Access key id", "Issued", "Expires", "Left", "TTL")
    BINDINGS: ClassVar[list[BindingType]] = [*TableView.BINDINGS, Binding("n", "act('rotate')", "Rotate now")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._history_shown: list[Row] | None = None

    def compose_detail(self) -> ComposeResult:
        with Horizontal(id="countdown"):
            yield Label("", id="countdown-label", markup=False)
            yield ProgressBar(total=1, show_eta=False, show_percentage=False, id="countdown-bar")
        yield Label("Rotation history", id="history-title")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True, classes="history")

    def on_mount(self) -> None:
        # (TableView.on_mount runs too: Textual calls the handler of every class in the MRO)
        self.query_one("#history-table", DataTable).add_columns("At", "Instance", "Event", "Access key id",
                                                                "Expires", "Reason")

    def rows(self, snapshot: CredentialsSnapshot) -> list[Row]:
        out: list[Row] = []
        for c in snapshot.credentials:
            left = _left(c, self.now)
            if c.code and c.code != "Success":
                cells: tuple[Any, ...] = (c.instance_id, Text(c.code, style="bold red"), "-", "-", "-", "")
            elif not c.access_key_id:
                cells = (c.instance_id, Text("(not minted yet)", style="dim"), "-", "-", "-", "")
            else:
                total = (c.expires or 0) - (c.issued or 0)
                cells = (c.instance_id, c.access_key_id, hms(c.issued), hms(c.expires), duration(left),
                         bar(left or 0.0, total))
            out.append((c.instance_id, cells))
        return out

    def history_rows(self, snapshot: CredentialsSnapshot) -> list[Row]:
        return [(str(h.id), (hms(h.at), h.instance_id, Text(h.event, style=EVENT_STYLES.get(h.event, "")),
                             h.access_key_id or "-", hms(h.expires) if h.event in ("minted", "rotated") else "-",
                             h.reason))
                for h in snapshot.history]

    def render_snapshot(self) -> None:
        super().render_snapshot()
        history = [r for r in self.history_rows(self.snapshot) if self.matches(r[1])]
        if history != self._history_shown:
            self._history_shown = history
            from eucalite.tui.widgets.base import fill_table

            fill_table(self.query_one("#history-table", DataTable), history, stick_to_top=True)
        self.query_one("#history-title", Label).update(f"Rotation history ({len(self.snapshot.history)})")

    def show_detail(self) -> None:
        snap: CredentialsSnapshot | None = self.snapshot
        cred = next((c for c in snap.credentials if c.instance_id == self.selected), None) if snap else None
        label = self.query_one("#countdown-label", Label)
        progress = self.query_one("#countdown-bar", ProgressBar)
        if cred is None or cred.code != "Success" or cred.expires is None or cred.issued is None:
            label.update(cred.message if cred and cred.message else "no credentials selected")
            progress.update(total=1, progress=0)
            return
        left = _left(cred, self.now) or 0.0
        rotate_in = max(0.0, (cred.rotate_at or cred.expires) - self.now)
        label.update(f"{cred.instance_id}: expires in {duration(left)}, rotates in {duration(rotate_in)} ")
        progress.update(total=max(1.0, cred.expires - cred.issued), progress=left)

    def action_act(self, action: str) -> None:
        self.app.confirm_action(action, self.selected)  # type: ignore[attr-defined]
