"""The eucalite dashboard: six views over the read model, refreshed by a clock tick and by cloud events.

Data flow: a 1 s interval ticks the visible view's clocks (pure rendering) and asks for a refresh; a
refresh runs as one worker at a time (a request during a refresh is coalesced into one more pass), reads
the source, and posts messages that the app turns into widget updates. Workers never touch widgets.
When started by `eucalite up`, the API server runs as a task on this app's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Header, TabbedContent, TabPane

from eucalite.tui import read_model
from eucalite.tui.sources import LocalSource, Source, SourceError
from eucalite.tui.widgets.accounts import AccountsView
from eucalite.tui.widgets.activity import ActivityView
from eucalite.tui.widgets.base import TableView
from eucalite.tui.widgets.confirm import Confirm
from eucalite.tui.widgets.credentials import CredentialsView
from eucalite.tui.widgets.instances import InstancesView
from eucalite.tui.widgets.profiles import ProfilesView
from eucalite.tui.widgets.roles import RolesView

if TYPE_CHECKING:
    import uvicorn

    from eucalite.cloud import Cloud

log = logging.getLogger(__name__)

W = TypeVar("W", bound=Widget)

TABS = (("accounts", "1 Accounts", AccountsView), ("roles", "2 Roles", RolesView),
        ("profiles", "3 Profiles", ProfilesView), ("instances", "4 Instances", InstancesView),
        ("credentials", "5 Credentials", CredentialsView), ("activity", "6 Activity", ActivityView))
ACTION_VERBS = {"reboot": "Reboot", "stop": "Stop", "start": "Start", "terminate": "Terminate",
                "rotate": "Rotate the credentials of"}


class SnapshotReady(Message):
    def __init__(self, view: str, snapshot: read_model.Snapshot, now: float) -> None:
        super().__init__()
        self.view, self.snapshot, self.now = view, snapshot, now


class CallsReady(Message):
    def __init__(self, calls: list[read_model.ActivityRow], now: float) -> None:
        super().__init__()
        self.calls, self.now = calls, now


class ConsoleReady(Message):
    def __init__(self, instance_id: str, text: str) -> None:
        super().__init__()
        self.instance_id, self.text = instance_id, text


class SourceFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class EucaliteDashboard(App[int]):
    CSS_PATH = "eucalite.tcss"
    TITLE = "eucalite"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"show('{name}')", label, show=False) for n, (name, label, _) in enumerate(TABS, 1)),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, source: Source, *, server: uvicorn.Server | None = None, poll_interval: float = 1.0,
                 live: bool = True) -> None:
        super().__init__()
        self.source = source
        self.server = server
        self.poll_interval = poll_interval
        self.live = live  # False: no timers (snapshot tests refresh by hand)
        self.sub_title = source.label
        self._refreshing = False
        self._again = False
        self._event_seq = 0
        self._server_task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._quitting = False
        self.last_error = ""

    # -- layout ----------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs", initial="accounts"):
            for name, label, cls in TABS:
                with TabPane(label, id=name):
                    yield cls()
        yield Footer()

    @overload
    def main(self, selector: type[W]) -> W: ...

    @overload
    def main(self, selector: str, expect: type[W]) -> W: ...

    def main(self, selector: str | type[W], expect: type[W] | None = None) -> W | Widget:
        """Query the dashboard screen, also while a dialog is on top (App.query_one asks the top screen)."""
        screen = self.screen_stack[0]
        if isinstance(selector, str):
            return screen.query_one(selector, expect) if expect else screen.query_one(selector)
        return screen.query_one(selector)

    def view(self, name: str | None = None) -> TableView:
        return self.main(f"#view-{name or self.current}", TableView)

    @property
    def current(self) -> str:
        return self.main(TabbedContent).active or "accounts"

    def _alive(self) -> bool:
        """False while starting up or tearing down (late worker messages find no widgets then)."""
        return self.is_running and bool(self.screen_stack) and bool(self.screen_stack[0].query(TabbedContent))

    # -- life cycle --------------------------------------------------------------------------------------
    async def on_mount(self) -> None:
        if self.server is not None:
            self._server_task = asyncio.get_running_loop().create_task(self._serve(), name="api-server")
        self.main(InstancesView).unavailable = self.source.unavailable_actions()
        self._unsubscribe = self.source.subscribe(self.request_refresh)
        if self.live:
            self.set_interval(self.poll_interval, self._tick, name="dashboard-tick")
        self.view().focus_table()
        self.request_refresh()

    async def _serve(self) -> None:
        assert self.server is not None
        try:
            await self.server.serve()
        except (Exception, SystemExit) as exc:  # uvicorn exits the process on a bind failure
            log.exception("API server failed")
            if not self._quitting:
                self.exit(1, message=f"eucalite: API server stopped: {exc!r} (see eucalite.log)")
            return
        if not self._quitting:
            self.exit(1, message="eucalite: the API server stopped (see eucalite.log in the data dir)")

    async def action_quit(self) -> None:
        self._quitting = True
        if self.server is not None:
            self.server.should_exit = True
        if self._server_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._server_task), timeout=10)
        self.exit(0)

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.source.close()

    # -- refreshing --------------------------------------------------------------------------------------
    def _tick(self) -> None:
        if not self._alive():
            return
        self.view().tick(self.source.now())
        self.request_refresh()

    def request_refresh(self) -> None:
        """Start a refresh unless one is running; then one more pass runs after it (never overlapping)."""
        if not self._alive():
            return
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        self._again = False
        self.run_worker(self._refresh(self.current, self._console_target()), group="refresh",
                        exit_on_error=False)

    def _console_target(self) -> str | None:
        return self.main(InstancesView).selected if self.current == "instances" else None

    async def _refresh(self, view: str, console_for: str | None) -> None:
        try:
            if view != "activity":
                snap = await self.source.snapshot(view)
                self.post_message(SnapshotReady(view, snap, self.source.now()))
            seq, calls = await self.source.events_after(self._event_seq)
            self._event_seq = seq
            self.post_message(CallsReady(calls, self.source.now()))
            if console_for is not None:
                self.post_message(ConsoleReady(console_for, await self.source.console(console_for)))
            self.post_message(SourceFailed(""))
        except SourceError as exc:
            self.post_message(SourceFailed(str(exc)))
        except Exception as exc:
            log.exception("dashboard refresh failed")
            self.post_message(SourceFailed(repr(exc)))
        finally:
            self._refreshing = False
            if self._again:
                self.call_later(self.request_refresh)

    async def refresh_now(self) -> None:
        """Refresh the visible view and wait for it (tests, and after an action)."""
        while self._refreshing:
            await asyncio.sleep(0.01)
        self._refreshing = True
        await self._refresh(self.current, self._console_target())
        await asyncio.sleep(0)

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        if not self._alive():
            return
        self.view(message.view).update_snapshot(message.snapshot, message.now)
        if message.view == "instances":
            self.main(InstancesView).unavailable = self.source.unavailable_actions()

    def on_calls_ready(self, message: CallsReady) -> None:
        if not self._alive():
            return
        self.main(ActivityView).add_calls(message.calls, message.now)

    def on_console_ready(self, message: ConsoleReady) -> None:
        if not self._alive():
            return
        view = self.main(InstancesView)
        if view.selected == message.instance_id:
            view.set_console(message.instance_id, message.text)

    def on_source_failed(self, message: SourceFailed) -> None:
        if message.error and message.error != self.last_error:
            self.notify(message.error, title="eucalite", severity="error")
        self.last_error = message.error
        self.sub_title = f"{self.source.label}  [{message.error}]" if message.error else self.source.label

    # -- navigation and actions -----------------------------------------------------------------------------
    def action_show(self, name: str) -> None:
        self.main(TabbedContent).active = name
        self.view(name).focus_table()
        self.request_refresh()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.request_refresh()

    def confirm_action(self, action: str, instance_id: str | None) -> None:
        if not instance_id:
            self.notify("select an instance first", severity="warning")
            return
        question = f"{ACTION_VERBS.get(action, action)} {instance_id}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._act(action, instance_id), group="action", exit_on_error=False)

        self.push_screen(Confirm(question), answered)

    async def _act(self, action: str, instance_id: str) -> None:
        try:
            message = await self.source.act(action, instance_id)
        except SourceError as exc:
            self.notify(str(exc), title=f"{action} failed", severity="error", timeout=8)
            return
        self.notify(message, title=action)
        self.request_refresh()


def run_dashboard(cloud: Cloud, server: uvicorn.Server) -> int:
    """`eucalite up` on a terminal: the dashboard, with the API served from the same event loop."""
    app = EucaliteDashboard(LocalSource(cloud), server=server)
    code = app.run()
    cloud.close()
    return int(code or 0)

