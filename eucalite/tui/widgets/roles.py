"""View 2: roles with their trust policy, inline and attached policies, and the profiles holding them."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from eucalite.tui.read_model import RolesSnapshot
from eucalite.tui.widgets.base import Row, TableView


class RolesView(TableView):
    view_name = "roles"
    columns: ClassVar[tuple[str, ...]] = ("Account", "Role", "Path", "Inline", "Attached", "Profiles")

    def compose_detail(self) -> ComposeResult:
        with VerticalScroll(id="roles-scroll", classes="detail"):
            yield Static(id="roles-detail", markup=False)

    def rows(self, snapshot: RolesSnapshot) -> list[Row]:
        return [(r.role_id, (r.account_name, r.name, r.path, str(len(r.inline_policies)),
                             str(len(r.attached_policies)),
                             ", ".join(p.rsplit("/", 1)[-1] for p in r.profiles) or "-"))
                for r in snapshot.roles]

    def show_detail(self) -> None:
        snap: RolesSnapshot | None = self.snapshot
        role = next((r for r in snap.roles if r.role_id == self.selected), None) if snap else None
        text = Text()
        if role is None:
            text.append("no role selected", style="dim")
        else:
            text.append(role.arn, style="bold")
            text.append(f"\nid {role.role_id}  created {role.created}")
            if role.description:
                text.append(f"\n{role.description}")
            text.append("\ninstance profiles: ", style="bold")
            text.append(", ".join(role.profiles) or "none")
            text.append("\n\ntrust policy\n", style="bold underline")
            text.append(role.trust_policy or "(none)")
            for doc in role.inline_policies:
                text.append(f"\n\ninline policy {doc.name}\n", style="bold underline")
                text.append(doc.document)
            for doc in role.attached_policies:
                text.append(f"\n\nattached policy {doc.name}\n", style="bold underline")
                text.append(doc.document)
        self.query_one("#roles-detail", Static).update(text)
