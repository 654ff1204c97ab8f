"""View 3: instance profiles, the role each holds, and the instances launched with it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from eucalite.tui.read_model import ProfilesSnapshot
from eucalite.tui.widgets.base import Row, TableView


class ProfilesView(TableView):
    view_name = "profiles"
    columns: ClassVar[tuple[str, ...]] = ("Account", "Instance profile", "Path", "Role", "Instances")

    def compose_detail(self) -> ComposeResult:
        yield Static(id="profiles-detail", classes="detail short", markup=False)

    def rows(self, snapshot: ProfilesSnapshot) -> list[Row]:
        return [(p.profile_id, (p.account_name, p.name, p.path,
                                ", ".join(r.rsplit("/", 1)[-1] for r in p.roles) or "-",
                                str(len(p.instances))))
                for p in snapshot.profiles]

    def show_detail(self) -> None:
        snap: ProfilesSnapshot | None = self.snapshot
        prof = next((p for p in snap.profiles if p.profile_id == self.selected), None) if snap else None
        text = Text()
        if prof is None:
            text.append("no instance profile selected", style="dim")
        else:
            text.append(prof.arn, style="bold")
            text.append(f"\nid {prof.profile_id}  created {prof.created}")
            text.append("\nrole: ", style="bold")
            text.append(", ".join(prof.roles) or "none")
            text.append("\ninstances: ", style="bold")
            text.append(", ".join(prof.instances) or "none")
        self.query_one("#profiles-detail", Static).update(text)
