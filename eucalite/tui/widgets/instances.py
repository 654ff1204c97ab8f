"""View 4: instances, and the console log of the selected one, following live. Actions: reboot, stop,
start, terminate (each confirmed; run through the EC2 service's own handlers)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Log, Static

from eucalite.tui.read_model import InstancesSnapshot
from eucalite.tui.widgets.base import Row, TableView
from eucalite.tui.widgets.format import STATE_STYLES, duration, styled


class InstancesView(TableView):
    view_name = "instances"
    columns: ClassVar[tuple[str, ...]] = ("Instance", "State", "Type", "Uptime", "Profile", "Image", "Node",
                                          "Zone", "Metadata URL")
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableView.BINDINGS,
        Binding("b", "act('reboot')", "Reboot"),
        Binding("s", "act('stop')", "Stop"),
        Binding("a", "act('start')", "Start"),
        Binding("x", "act('terminate')", "Terminate"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unavailable: dict[str, str] = {}
        self._console_for: str | None = None
        self._console_text = ""

    def compose_detail(self) -> ComposeResult:
        yield Static(id="instances-detail", classes="detail-line", markup=False)
        yield Log(id="instances-console", classes="console", max_lines=2000)

    def rows(self, snapshot: InstancesSnapshot) -> list[Row]:
        return [(i.id, (i.id, styled(i.state, STATE_STYLES), i.instance_type, duration(i.uptime),
                        i.profile_arn.rsplit("/", 1)[-1] if i.profile_arn else "-", i.image_id, i.node or "-",
                        i.zone or "-", i.metadata_url or "-"))
                for i in snapshot.instances]

    def show_detail(self) -> None:
        snap: InstancesSnapshot | None = self.snapshot
        inst = next((i for i in snap.instances if i.id == self.selected), None) if snap else None
        text = Text()
        if inst is None:
            text.append("no instance selected", style="dim")
        else:
            text.append(f"{inst.id} ", style="bold")
            text.append(f"{inst.state}{' (' + inst.state_reason + ')' if inst.state_reason else ''}  "
                        f"ip {inst.private_ip or '-'}  metadata {inst.metadata_url or '-'}")
            if inst.profile_arn:
                text.append(f"\nprofile {inst.profile_arn}")
        if self.unavailable:
            text.append("\nunavailable: " + "; ".join(sorted(set(self.unavailable.values()))), style="yellow")
        self.query_one("#instances-detail", Static).update(text)
        if self.selected != self._console_for:
            self.set_console(self.selected, "")

    def set_console(self, instance_id: str | None, text: str) -> None:
        """Show the console of instance_id; appends when the log only grew, so it follows live."""
        log = self.query_one("#instances-console", Log)
        if instance_id != self._console_for or not text.startswith(self._console_text):
            log.clear()
            self._console_for, self._console_text = instance_id, ""
            if instance_id is not None and not text:
                log.write_line(f"(no console output from {instance_id} yet)")
                return
        new = text[len(self._console_text):]
        if new:
            if not self._console_text:
                log.clear()
            log.write(new)
            self._console_text = text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act" and parameters and parameters[0] in self.unavailable:
            return None  # shown dimmed in the footer; the reason is in the detail line
        return True

    def action_act(self, action: str) -> None:
        self.app.confirm_action(action, self.selected)  # type: ignore[attr-defined]
