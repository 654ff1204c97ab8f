"""View 1: accounts and their users (with access key ids, never secrets)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from eucalite.tui.read_model import AccountsSnapshot
from eucalite.tui.widgets.base import Row, TableView


class AccountsView(TableView):
    view_name = "accounts"
    columns: ClassVar[tuple[str, ...]] = ("Account", "Account id", "User", "Admin", "Access keys", "Created")

    def compose_detail(self) -> ComposeResult:
        yield Static(id="accounts-detail", classes="detail short", markup=False)

    def rows(self, snapshot: AccountsSnapshot) -> list[Row]:
        return [(u.user_id, (u.account_name, u.account_id, u.name, "yes" if u.is_admin else "",
                             ", ".join(k.split(" ")[0] for k in u.access_keys) or "-", u.created))
                for u in snapshot.users]

    def show_detail(self) -> None:
        snap: AccountsSnapshot | None = self.snapshot
        text = Text()
        if snap is not None:
            text.append(f"{len(snap.accounts)} accounts, {len(snap.users)} users", style="bold")
            user = next((u for u in snap.users if u.user_id == self.selected), None)
            if user is not None:
                text.append(f"\n{user.arn}\n")
                text.append(f"user id {user.user_id}  path {user.path}\n")
                text.append("keys: " + (", ".join(user.access_keys) or "none"))
        self.query_one("#accounts-detail", Static).update(text)
