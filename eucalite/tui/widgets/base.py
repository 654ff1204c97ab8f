"""The shape every view shares: a filter input over a table, and a detail pane for the selected row.

Views never fetch anything: the app hands them snapshots (update_snapshot) and clock ticks (tick), and a
view re-renders only when the rows it would show changed, keeping the selected row under the cursor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Input

Row = tuple[str, tuple[Any, ...]]


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


class TableView(Vertical):
    view_name: ClassVar[str] = ""
    columns: ClassVar[tuple[str, ...]] = ()
    # Newest-first feeds: a cursor on the top row stays on the top row as new rows arrive.
    follow_top: ClassVar[bool] = False

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "filter", "Filter")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(id=f"view-{self.view_name}", classes="view", **kwargs)
        self.snapshot: Any = None
        self.now: float = 0.0
        self.selected: str | None = None
        self._shown: list[Row] | None = None
        self._keys: list[str] = []

    # -- composition -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ to filter", id=f"{self.view_name}-filter", classes="filter")
        yield DataTable(id=f"{self.view_name}-table", cursor_type="row", zebra_stripes=True, classes="main")
        yield from self.compose_detail()

    def compose_detail(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.table.add_columns(*self.columns)

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(f"#{self.view_name}-table", DataTable)

    @property
    def filter_text(self) -> str:
        return self.query_one(f"#{self.view_name}-filter", Input).value.strip().lower()

    # -- data in -----------------------------------------------------------------------------------------
    def update_snapshot(self, snapshot: Any, now: float) -> None:
        self.snapshot = snapshot
        self.now = now
        self.render_snapshot()

    def tick(self, now: float) -> None:
        """Clock-only refresh (countdowns, uptimes) from the snapshot already held."""
        self.now = now
        if self.snapshot is not None:
            self.render_snapshot()

    def render_snapshot(self) -> None:
        self._fill(self.table, self.rows(self.snapshot))
        self.show_detail()

    def rows(self, snapshot: Any) -> list[Row]:
        raise NotImplementedError

    def matches(self, cells: Iterable[Any]) -> bool:
        q = self.filter_text
        return not q or q in " ".join(_plain(c) for c in cells).lower()

    def _fill(self, table: DataTable[Any], rows: list[Row]) -> None:
        shown = [r for r in rows if self.matches(r[1])]
        if table is self.table:
            if shown == self._shown:
                return
            self._shown = shown
            self._keys = [k for k, _ in shown]
        fill_table(table, shown, stick_to_top=self.follow_top)
        if table is self.table:
            self.selected = self.key_at_cursor()

    def key_at_cursor(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        row = min(max(table.cursor_row, 0), table.row_count - 1)
        return self._keys[row] if row < len(self._keys) else None

    # -- interaction ---------------------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.snapshot is not None:
            self.render_snapshot()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is not self.table:
            return
        event.stop()
        key = self.key_at_cursor()
        if key != self.selected:
            self.selected = key
            self.show_detail()
            self.selection_changed()

    def action_filter(self) -> None:
        self.query_one(f"#{self.view_name}-filter", Input).focus()

    def focus_table(self) -> None:
        self.table.focus()

    def show_detail(self) -> None:
        """Render the detail pane for self.selected."""

    def selection_changed(self) -> None:
        """The cursor moved to another row (views that fetch per-row data ask the app here)."""


def fill_table(table: DataTable[Any], rows: list[Row], stick_to_top: bool = False) -> None:
    """Replace the rows, keeping the cursor on the same key when it is still there."""
    keep = None
    if table.row_count and not (stick_to_top and table.cursor_row <= 0):
        try:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            keep = None
    table.clear()
    index = 0
    for i, (key, cells) in enumerate(rows):
        table.add_row(*cells, key=key)
        if key == keep:
            index = i
    if rows:
        table.move_cursor(row=index, scroll=True)
