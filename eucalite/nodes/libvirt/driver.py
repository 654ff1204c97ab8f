"""LibvirtDriver: eucalite guests as libvirt/QEMU domains on this host.

Every libvirt call blocks, so each runs in a worker thread (asyncio.to_thread); state changes the
driver did not cause (a guest powering itself off, a domain vanishing) are found by a polling task.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import stat
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from eucalite.nodes.base import BootImage, Capability, LaunchSpec, NodeDriver, NodeError, NodeState
from eucalite.nodes.libvirt import states
from eucalite.nodes.libvirt.accel import accel_verdict
from eucalite.nodes.libvirt.domain_xml import DomainConfig, SlirpNet, build_domain_xml, home_of, owner_of

log = logging.getLogger(__name__)
T = TypeVar("T")

PREFIX = "eucalite-"
CONSOLE_TAIL = 64 * 1024  # EC2 returns the most recent 64 KiB of console output


def _libvirt() -> Any:
    try:
        import libvirt  # optional dependency: imported only when a driver is used
    except ImportError as exc:
        raise NodeError("libvirt-python is not installed (run scripts/setup-host.sh)") from exc
    return libvirt


class LibvirtDriver(NodeDriver):
    kind = "libvirt"

    def __init__(
        self,
        name: str,
        zone: str,
        uri: str,
        state_dir: Path,
        accel: str | None = None,
        *,
        poll_interval: float = 0.5,
        stop_grace: float = 10.0,
        accel_cache_dir: Path | None = None,
        reap_abandoned: bool = False,
    ) -> None:
        super().__init__(name, zone)
        if accel not in (None, "kvm", "tcg"):
            raise ValueError(f"accel must be 'kvm', 'tcg' or None (detect), not {accel!r}")
        self.uri = uri
        self.state_dir = Path(state_dir)
        self.poll_interval = poll_interval
        self.stop_grace = stop_grace  # seconds an ACPI shutdown gets before the domain is destroyed
        self._accel = accel
        self.accel_cache_dir = Path(accel_cache_dir) if accel_cache_dir else self.state_dir
        self._digests: dict[str, str] = {}
        # Default system layout only (ROOT/nodes/<hash>/<node>): reap sibling roots of deleted data dirs.
        self.reap_abandoned = reap_abandoned
        self._conn: Any = None
        self._conn_lock = threading.Lock()
        self._node_info: tuple[int, int] | None = None
        # Last state reported per instance, and instances with an operation in flight (the poller
        # leaves those alone so it cannot report a half-done transition).
        self._tracked: dict[str, NodeState] = {}
        self._busy: set[str] = set()
        self._poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _is_test(self) -> bool:
        return self.uri.startswith("test:")

    def _connection(self) -> Any:
        libvirt = _libvirt()
        with self._conn_lock:
            if self._conn is not None:
                try:
                    if self._conn.isAlive():
                        return self._conn
                except libvirt.libvirtError:
                    pass
                self._conn = None
            # libvirt prints every error to stderr by default; ours surface as NodeError instead.
            libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
            try:
                self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise NodeError(f"cannot reach libvirt at {self.uri}: {exc.get_error_message()}") from exc
            return self._conn

    async def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        """Run fn(connection) in a thread; libvirt errors become NodeError naming `what`."""
        libvirt = _libvirt()

        def work() -> T:
            conn = self._connection()
            try:
                return fn(conn)
            except libvirt.libvirtError as exc:
                raise NodeError(f"{what}: {exc.get_error_message()}") from exc

        return await asyncio.to_thread(work)

    @staticmethod
    def domain_name(instance_id: str) -> str:
        return PREFIX + instance_id

    def _lookup(self, conn: Any, instance_id: str) -> Any | None:
        libvirt = _libvirt()
        try:
            return conn.lookupByName(self.domain_name(instance_id))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def overlay_path(self, instance_id: str) -> Path:
        return self.state_dir / f"{instance_id}.qcow2"

    def console_path(self, instance_id: str) -> Path:
        return self.state_dir / f"{instance_id}.console.log"

    def _set(self, instance_id: str, state: NodeState, reason: str = "") -> None:
        self._tracked[instance_id] = state
        self._emit(instance_id, state, reason)

    # -- contract -------------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[Capability]:
        caps = {Capability.STOP, Capability.REBOOT, Capability.CONSOLE, Capability.ADOPT}
        if not self._is_test:  # the test hypervisor runs no code in its "guests"
            caps |= {Capability.REAL_GUESTS, Capability.SSH_FORWARD}
        return frozenset(caps)

    def capacity(self) -> tuple[int, int]:
        # Synchronous by contract; one getInfo at first use, then cached (hosts do not grow).
        if self._node_info is None:
            libvirt = _libvirt()
            try:
                info = self._connection().getInfo()
            except libvirt.libvirtError as exc:
                raise NodeError(f"libvirt node info: {exc.get_error_message()}") from exc
            self._node_info = (int(info[2]), int(info[1]))
        return self._node_info

    async def launch(self, spec: LaunchSpec) -> None:
        iid = spec.instance_id
        image = spec.image
        for label, path in (("kernel", image.kernel), ("ramdisk", image.ramdisk), ("disk", image.disk)):
            if path is not None and not path.exists():
                raise NodeError(f"image {label} {path} does not exist on node {self.name}")
        if image.kernel is None and image.disk is None:
            raise NodeError("image has neither a kernel nor a disk to boot")
        self._make_state_dir()
        spec = await self._staged(spec)
        image = spec.image
        self._check_qemu_can_reach(spec)
        self._busy.add(iid)
        try:
            if await self._call("lookup", lambda c: self._lookup(c, iid)) is not None:
                raise NodeError(f"node {self.name} already has a domain for {iid}")
            self._set(iid, NodeState.PENDING)
            # The log is appended across stop/start, but a new instance starts with a clean console.
            self.console_path(iid).unlink(missing_ok=True)
            xml = build_domain_xml(await self._domain_config(spec))
            if image.disk is not None:
                await self._create_overlay(image.disk, self.overlay_path(iid))
            try:
                await self._call("define and start domain", lambda c: c.defineXML(xml).create())
            except NodeError as exc:
                log.warning("launch of %s failed: %s", iid, exc)
                await self._call("clean up failed launch", lambda c: self._destroy_and_undefine(c, iid))
                self.overlay_path(iid).unlink(missing_ok=True)
                self._set(iid, NodeState.LOST, str(exc))
                return
            self._set(iid, NodeState.RUNNING)
        finally:
            self._busy.discard(iid)
        self._ensure_poller()

    async def stop(self, instance_id: str) -> None:
        dom = await self._require(instance_id)
        if not await asyncio.to_thread(dom.isActive):
            self._set(instance_id, NodeState.STOPPED)
            return
        self._set(instance_id, NodeState.STOPPING)
        # ACPI first so a real OS can shut down cleanly; guests that ignore it are destroyed later.
        with contextlib.suppress(NodeError):
            await self._call("shutdown", lambda _c: dom.shutdown())
        self._spawn(self._finish_stop(instance_id, dom))

    async def _finish_stop(self, instance_id: str, dom: Any) -> None:
        self._busy.add(instance_id)
        try:
            deadline = asyncio.get_running_loop().time() + self.stop_grace
            while asyncio.get_running_loop().time() < deadline:
                if not await self._call("poll", lambda _c: dom.isActive()):
                    break
                await asyncio.sleep(0.2)
            else:
                log.info("%s ignored ACPI shutdown for %.0f s; destroying", instance_id, self.stop_grace)
                await self._call("destroy", lambda _c: dom.destroy() if dom.isActive() else None)
            if self._tracked.get(instance_id) == NodeState.STOPPING:
                self._set(instance_id, NodeState.STOPPED)
        except NodeError as exc:
            log.warning("stopping %s: %s", instance_id, exc)
        finally:
            self._busy.discard(instance_id)

    async def start(self, instance_id: str, spec: LaunchSpec) -> None:
        dom = await self._require(instance_id)
        if await asyncio.to_thread(dom.isActive):
            self._set(instance_id, NodeState.RUNNING)
            return
        self._make_state_dir()
        spec = await self._staged(spec)
        self._busy.add(instance_id)
        try:
            self._set(instance_id, NodeState.PENDING)
            # Redefine: the spec's ports may have changed since launch (e.g. eucalite restarted).
            config = await self._domain_config(spec)
            uuid = await asyncio.to_thread(dom.UUIDString)
            xml = build_domain_xml(dataclasses.replace(config, uuid=uuid))
            overlay = self.overlay_path(instance_id)
            if spec.image.disk is not None and not overlay.exists():
                log.warning("%s: overlay %s vanished; starting from a fresh one", instance_id, overlay)
                await self._create_overlay(spec.image.disk, overlay)
            await self._call("start domain", lambda c: c.defineXML(xml).create())
            self._set(instance_id, NodeState.RUNNING)
        finally:
            self._busy.discard(instance_id)
        self._ensure_poller()

    async def reboot(self, instance_id: str) -> None:
        libvirt = _libvirt()
        dom = await self._require(instance_id)

        def hard_reset(_c: Any) -> None:
            if not dom.isActive():
                raise NodeError(f"{instance_id} is not running")
            # A reset needs no guest cooperation (the tiny guest has no ACPI handling at all).
            try:
                dom.reset(0)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
                dom.reboot(0)

        await self._call("reboot", hard_reset)

    async def terminate(self, instance_id: str) -> None:
        self._busy.add(instance_id)
        try:
            self._set(instance_id, NodeState.SHUTTING_DOWN)
            await self._call("terminate", lambda c: self._destroy_and_undefine(c, instance_id))
            self.overlay_path(instance_id).unlink(missing_ok=True)
            self._set(instance_id, NodeState.TERMINATED)
        finally:
            self._busy.discard(instance_id)

    async def console_output(self, instance_id: str) -> bytes:
        path = self.console_path(instance_id)

        def tail() -> bytes:
            try:
                with path.open("rb") as fh:
                    size = fh.seek(0, 2)
                    fh.seek(max(0, size - CONSOLE_TAIL))
                    return fh.read()
            except FileNotFoundError:
                return b""

        return await asyncio.to_thread(tail)

    async def state(self, instance_id: str) -> NodeState:
        dom = await self._call("lookup", lambda c: self._lookup(c, instance_id))
        if dom is None:
            known = self._tracked.get(instance_id)
            return NodeState.TERMINATED if known == NodeState.TERMINATED else NodeState.LOST
        return states.from_libvirt((await asyncio.to_thread(dom.state))[0])

    async def reconcile(self, known: dict[str, NodeState]) -> dict[str, NodeState]:
        observed = await self._call("list domains", self._list_ours)
        result: dict[str, NodeState] = {}
        for iid, state in known.items():
            if state == NodeState.TERMINATED:
                result[iid] = state
            elif iid in observed:
                result[iid] = observed[iid]
                self._tracked[iid] = observed[iid]
            else:
                result[iid] = NodeState.LOST
                self._tracked.pop(iid, None)
        for iid in observed:
            if known.get(iid, NodeState.TERMINATED) == NodeState.TERMINATED:
                log.warning("destroying domain %s: not an instance eucalite knows", self.domain_name(iid))
                await self._call("remove unknown domain", partial(self._destroy_and_undefine, instance_id=iid))
                self.overlay_path(iid).unlink(missing_ok=True)
        live = {iid for iid, st in known.items() if st != NodeState.TERMINATED} | set(observed)
        await asyncio.to_thread(self._prune_instance_files, live)
        if self.reap_abandoned:
            await self._call("reap abandoned node dirs", self._reap_abandoned)
        self._ensure_poller()
        return result

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for task in list(self._tasks):
            task.cancel()
        with self._conn_lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None

    # -- helpers ----------------------------------------------------------------------------

    async def _require(self, instance_id: str) -> Any:
        dom = await self._call("lookup", lambda c: self._lookup(c, instance_id))
        if dom is None:
            raise NodeError(f"node {self.name} has no domain for {instance_id}")
        return dom

    def _check_qemu_can_reach(self, spec: LaunchSpec) -> None:
        """Fail early, and clearly, when QEMU could not open the guest's files.

        Under qemu:///system QEMU runs as an unprivileged user (libvirt-qemu on Debian). libvirt
        chowns the files it hands over, but not the directories above them, so a state dir or image
        below a 0700 directory (/root, pytest's tmp) makes the domain fail to start with a
        permission error deep inside libvirt.
        """
        if not (self.uri.startswith("qemu") and "/system" in self.uri):
            return
        files = [self.state_dir / "x", *(p for p in (spec.image.kernel, spec.image.ramdisk, spec.image.disk) if p)]
        for file in files:
            for d in file.resolve().parents:
                if not d.stat().st_mode & stat.S_IXOTH:
                    raise NodeError(
                        f"QEMU (an unprivileged user under {self.uri}) cannot reach {file.parent}: "
                        f"{d} is not world-searchable (mode {stat.S_IMODE(d.stat().st_mode):04o}); "
                        "put the node state dir and images under a path like /var/lib/eucalite"
                    )

    def _destroy_and_undefine(self, conn: Any, instance_id: str) -> None:
        dom = self._lookup(conn, instance_id)
        if dom is None:
            return
        if dom.isActive():
            dom.destroy()
        dom.undefine()

    def _list_ours(self, conn: Any) -> dict[str, NodeState]:
        """instance id -> state of every eucalite domain that belongs to this node (or no node)."""
        libvirt = _libvirt()
        found: dict[str, NodeState] = {}
        for dom in conn.listAllDomains(0):
            name = dom.name()
            if not name.startswith(PREFIX):
                continue
            try:
                xml, state = dom.XMLDesc(0), dom.state()[0]
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    continue  # undefined between the listing and now (a terminate): not there any more
                raise
            owner = owner_of(xml)
            if owner is not None and owner[1] not in ("", self.name):
                continue  # another eucalite node sharing this libvirt
            home = home_of(xml)
            if (home != self._home) if home else (self._home + "/" not in xml):
                continue  # another cloud's (another data dir's) node of the same name
            iid = owner[0] if owner and owner[0] else name.removeprefix(PREFIX)
            found[iid] = states.from_libvirt(state)
        return found

    async def _domain_type(self, spec: LaunchSpec) -> str:
        if self._is_test:
            return "test"
        if self._accel is None:
            self._accel, why = await asyncio.to_thread(accel_verdict, self.accel_cache_dir, spec.image.kernel)
            log.info("node %s runs guests with %s: %s", self.name, self._accel, why)
        return "kvm" if self._accel == "kvm" else "qemu"

    async def _domain_config(self, spec: LaunchSpec) -> DomainConfig:
        iid = spec.instance_id
        domain_type = await self._domain_type(spec)
        cmdline = spec.image.kernel_cmdline
        if "console=" not in cmdline:  # console output is the serial port, so make the kernel use it
            cmdline = f"console=ttyS0 {cmdline}".strip()
        net = None
        if domain_type != "test":  # QEMU command-line passthrough means nothing to the test driver
            net = SlirpNet(spec.metadata_port, spec.api_port, spec.ssh_port)
        return DomainConfig(
            name=self.domain_name(iid),
            instance_id=iid,
            node=self.name,
            vcpus=spec.vcpus,
            memory_mb=spec.memory_mb,
            console_log=self.console_path(iid).resolve(),
            kernel=spec.image.kernel.resolve() if spec.image.kernel else None,
            initrd=spec.image.ramdisk.resolve() if spec.image.ramdisk else None,
            cmdline=cmdline,
            disk=self.overlay_path(iid).resolve() if spec.image.disk else None,
            domain_type=domain_type,
            machine=None if domain_type == "test" else "pc",
            net=net,
            home=self._home,
        )

    async def _create_overlay(self, base: Path, overlay: Path) -> None:
        """Copy-on-write overlay: instances share the read-only base image and write only their delta."""
        overlay.unlink(missing_ok=True)
        try:
            proc = await asyncio.create_subprocess_exec(
                "qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base.resolve()), "-F", "qcow2",
                str(overlay), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise NodeError("qemu-img is not installed (run scripts/setup-host.sh)") from exc
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise NodeError(f"creating overlay for {overlay.stem}: {err.decode().strip()}")

    # -- node-local files -------------------------------------------------------------------------

    def _make_state_dir(self) -> None:
        # 0755 whatever the umask: under qemu:///system QEMU (another user) opens files in here. Parents
        # are never loosened; _check_qemu_can_reach names the one that blocks QEMU.
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._is_system and stat.S_IMODE(self.state_dir.stat().st_mode) & 0o055 != 0o055:
            self.state_dir.chmod(0o755)

    @property
    def _home(self) -> str:
        return str(self.state_dir.resolve())

    @property
    def _is_system(self) -> bool:
        return self.uri.startswith("qemu") and "/system" in self.uri

    def staged_dir(self) -> Path:
        return self.state_dir / "images"

    async def _staged(self, spec: LaunchSpec) -> LaunchSpec:
        """The spec with its boot files replaced by copies in the node's own state dir.

        Images live in the data dir (often /root/.eucalite, 0700) where QEMU under qemu:///system cannot
        read them; the node dir is reachable. Files are staged once per content (sha256), as a hard
        link when the data dir shares the filesystem, else a copy; overlays then back onto the staged
        base, so deregistering an image or moving the data dir cannot pull a disk from under a guest.
        """
        if self._is_test:
            return spec
        image = spec.image
        staged = {}
        for label in ("kernel", "ramdisk", "disk"):
            path = getattr(image, label)
            staged[label] = await asyncio.to_thread(self._stage, path) if path is not None else None
        return dataclasses.replace(spec, image=BootImage(kernel=staged["kernel"], ramdisk=staged["ramdisk"],
                                                         disk=staged["disk"], kernel_cmdline=image.kernel_cmdline))

    def _stage(self, src: Path) -> Path:
        src = src.resolve()
        if src.is_relative_to(self.staged_dir()):
            return src
        digest = self._digest(src)
        dest = self.staged_dir() / digest[:32] / src.name
        if dest.exists() and dest.stat().st_size == src.stat().st_size:
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            log.info("staging %s into %s (copy: not on the same filesystem)", src, dest.parent)
            shutil.copyfile(src, tmp)
            tmp.chmod(0o644)
        tmp.replace(dest)
        return dest

    def _digest(self, path: Path) -> str:
        """sha256 of a file, remembered by (device, inode, size, mtime) in staged_dir()/digests.json."""
        st = path.stat()
        key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        index_file = self.staged_dir() / "digests.json"
        if not self._digests:
            with contextlib.suppress(OSError, ValueError):
                self._digests = dict(json.loads(index_file.read_text()))
        if key not in self._digests:
            h = hashlib.sha256()
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            self._digests[key] = h.hexdigest()
            index_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = index_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._digests))
            tmp.replace(index_file)
        return self._digests[key]

    def _prune_instance_files(self, live: set[str]) -> None:
        """Remove overlays and console logs of instances that are neither live nor on the node."""
        if not self.state_dir.is_dir():
            return
        for path in self.state_dir.iterdir():
            name = path.name
            iid = name.split(".", 1)[0]
            if not iid.startswith("i-") or iid in live or not name.endswith((".qcow2", ".console.log")):
                continue
            log.info("node %s: removing %s (instance %s is gone)", self.name, path, iid)
            path.unlink(missing_ok=True)

    def _reap_abandoned(self, conn: Any) -> None:
        """Remove node roots (and their domains) of clouds whose data dir no longer exists.

        A deleted data dir takes the instance records with it, so nothing could ever terminate those
        guests or clean their files: they are orphans, whichever eucalite notices first reaps them.
        """
        from eucalite.nodes import OWNER_FILE

        roots = self.state_dir.parent.parent  # .../nodes/<hash>/<node> -> .../nodes
        own_root = self.state_dir.parent.resolve()
        abandoned = []
        for root in roots.iterdir() if roots.is_dir() else []:
            try:
                owner = (root / OWNER_FILE).read_text().strip()
            except OSError:
                continue
            if root.resolve() != own_root and owner and not Path(owner).exists():
                abandoned.append(root.resolve())
        if not abandoned:
            return
        for dom in conn.listAllDomains(0):
            home = home_of(dom.XMLDesc(0))
            if dom.name().startswith(PREFIX) and home and any(Path(home).is_relative_to(r) for r in abandoned):
                log.warning("destroying domain %s: its cloud's data dir is gone", dom.name())
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
        for root in abandoned:
            log.info("removing %s: its data dir is gone", root)
            shutil.rmtree(root, ignore_errors=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_loop())

    async def _poll_loop(self) -> None:
        # Sleep after each round rather than on a fixed timer: a slow libvirt never stacks polls.
        while True:
            await self.poll_once()
            await asyncio.sleep(self.poll_interval)

    async def poll_once(self) -> None:
        """Compare libvirt with the last reported states and report what changed on its own."""
        before = dict(self._tracked)
        try:
            observed = await self._call("poll domains", self._list_ours)
        except NodeError as exc:
            log.warning("node %s: %s", self.name, exc)
            return
        for iid, previous in before.items():
            if iid in self._busy or self._tracked.get(iid) != previous:
                continue  # an operation moved it while we were listing
            update = states.news(previous, observed.get(iid))
            if update is not None:
                reason = "domain disappeared" if update == NodeState.LOST else "observed on the node"
                self._set(iid, update, reason)
