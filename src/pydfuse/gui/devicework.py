"""The Device panel's work (DfuSe Demo): list devices with their memories, check a file against
one, upgrade, back up, leave DFU mode (layer: gui).

Every operation is one :mod:`pydfuse.ops` call — the functions ``dfuse list``, ``check``,
``flash``, ``upload`` and ``leave`` make — run on the device worker thread
(:mod:`pydfuse.gui.jobs`). The environment is USB (libusb) or, with ``--sim``, one virtual
board: kept in memory for the server's lifetime, or with ``--sim-state`` loaded from the file
(locked) for each operation and saved and let go when it ends, so a ``dfuse`` command on the
same file runs between two operations of the page instead of waiting for the server to stop.
Imports ``pydfuse.ops``, ``pydfuse.formats``, ``pydfuse.errors``, the board profiles of
``pydfuse.sim`` (data only) and the sibling gui modules.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydfuse import ops
from pydfuse.errors import DfuseError
from pydfuse.formats import DfuseFile, describe_dfu, image_from_bytes, parse_dfu
from pydfuse.gui.filework import file_kind
from pydfuse.gui.jobs import Job
from pydfuse.gui.maps import legend, memory_views
from pydfuse.gui.store import FileStore, StoredFile
from pydfuse.sim.profiles import get_profile


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """Which device the page means: its bus path and serial, as the device list gave them."""

    path: str | None = None
    serial: str | None = None

    def selector(self, alt: int | None = None) -> ops.DeviceSelector:
        return ops.DeviceSelector(serial=self.serial, path=self.path, alt=alt)


def _maps_of(alternates: tuple[ops.AltInfo, ...]) -> list[dict[str, Any]]:
    memories = {a.alt: a.memory_map for a in alternates if a.memory_map is not None}
    return memory_views(memories)


class DeviceHub:
    """The devices the page works on: USB hardware, or one ``--sim`` board. Used from the
    device worker thread only."""

    def __init__(
        self,
        store: FileStore,
        *,
        sim_profile: str | None = None,
        sim_state: Path | None = None,
        sim_realtime: bool = False,
    ) -> None:
        self.store = store
        self.sim_profile = get_profile(sim_profile).name if sim_profile is not None else None
        self.sim_state = sim_state
        self.sim_realtime = sim_realtime
        self._stack = ExitStack()
        self._env: ops.Environment | None = None

    # -- environment ----------------------------------------------------------------------
    def environment(self) -> ops.Environment:
        """USB through libusb, or the virtual board (created, or loaded from --sim-state, on
        first use)."""
        if self._env is not None:
            return self._env
        if self.sim_profile is None:
            self._env = ops.usb_environment()
            return self._env
        env = self._stack.enter_context(
            ops.sim_environment(self.sim_profile, self.sim_state, realtime=self.sim_realtime)
        )
        loaded = env.board.profile.name
        if loaded != self.sim_profile:
            self._stack.close()
            raise DfuseError(
                f"{self.sim_state} holds a {loaded!r} board, not {self.sim_profile!r}",
                hint=f"use --sim {loaded}, or another --sim-state file",
            )
        self._env = env
        return env

    def close(self) -> None:
        """Save and let go of the virtual board (nothing to do on USB)."""
        self._stack.close()
        self._env = None

    def release(self) -> None:
        """After each operation: a board kept in a ``--sim-state`` file is saved and its lock
        let go (the next operation loads it again, with what other commands did meanwhile); a
        board without a file stays in memory, and USB needs nothing."""
        if self.sim_state is not None:
            self.close()

    def _saved(self) -> None:
        board = getattr(self._env, "board", None)
        if board is not None and self.sim_state is not None:
            board.save(self.sim_state)

    def board(self) -> dict[str, Any] | None:
        """What the virtual board runs now (None on USB), with what the running application's
        run showed (``run``, as after ``dfuse flash --leave``)."""
        board = getattr(self._env, "board", None)
        return None if board is None else ops.board_summary(board)

    # -- short operations -----------------------------------------------------------------
    def devices(self) -> dict[str, Any]:
        """Every DFU device with each alternate drawn as a memory map."""
        env = self.environment()
        found = ops.list_devices(env)
        return {
            "devices": [{**d.to_dict(), "maps": _maps_of(d.alternates)} for d in found],
            "sim": self.board(),
            "legend": legend(),
        }

    def firmware(self, stored: StoredFile, *, address: int | None, alt: int | None) -> Any:
        """The stored file as flash takes it: a parsed .dfu, a raw .bin loaded by ops as a .bin
        file is (its DFU suffix stripped and said; without an address, a payload for a plain
        DFU device), or one image for ``alt`` (None: the alternate whose memory holds its first
        byte, as ``dfuse flash`` picks it — see :meth:`_with_alt`)."""
        if file_kind(stored) == "dfu" or stored.data.startswith(b"DfuSe"):
            return parse_dfu(stored.data, path=stored.name)
        kind = file_kind(stored) or "bin"
        if kind == "bin":
            loaded = ops.raw_firmware(stored.name, stored.data, address=address)
            if alt is None or not loaded.jobs:
                return loaded
            return replace(loaded, jobs=tuple(replace(job, alt=alt) for job in loaded.jobs))
        notes: list[str] = []  # identical overlapping bytes merged: flash says so
        image = image_from_bytes(stored.data, kind, path=stored.name, notes=notes)  # type: ignore[arg-type]
        return ops.ImageSource(image, alt=alt, notes=tuple(notes))

    def _with_alt(self, ref: DeviceRef, source: Any, alt: int | None) -> tuple[Any, int | None]:
        """``source`` for the alternate ``alt``, or (a single image, no alt given) for the one
        whose memory holds its first byte on the device."""
        image = None
        if isinstance(source, ops.ImageSource):
            image = source.image
        elif isinstance(source, ops.Firmware) and len(source.jobs) == 1:
            image = source.jobs[0].image
        if alt is not None or not image:
            return source, alt
        devices = [
            d
            for d in ops.list_devices(self.environment())
            if d.mode == "dfu" and ref.selector().matches(d)
        ]
        if len(devices) != 1:
            return source, None
        holding = ops.alternate_holding(devices[0].alternates, image.start)
        if holding is None:
            return source, None
        if isinstance(source, ops.ImageSource):
            return ops.ImageSource(image, alt=holding.alt), holding.alt
        jobs = tuple(replace(job, alt=holding.alt) for job in source.jobs)
        return replace(source, jobs=jobs), holding.alt

    def check(
        self, ref: DeviceRef, file_id: str, *, address: int | None, alt: int | None
    ) -> dict[str, Any]:
        """Every pre-flight finding for the file on the device, drawn on its memories."""
        stored = self.store.get(file_id)
        source, alt = self._with_alt(ref, self.firmware(stored, address=address, alt=alt), alt)
        result = ops.check_firmware(self.environment(), ref.selector(alt), source)
        images = {t.info.alt: t.image for t in result.targets}
        findings: dict[int, list[Any]] = {}
        for target in result.report.targets:
            findings.setdefault(target.alt, []).extend(target.findings)
        memories = {a.alt: a.memory_map for a in result.alternates if a.memory_map is not None}
        self._saved()
        return {
            **result.to_dict(),
            "ok": result.ok,
            "file": {"id": stored.id, "name": stored.name},
            "alt": alt,
            "maps": memory_views(memories, images, findings),
            "legend": legend(),
        }

    def leave(self, ref: DeviceRef, address: int | None) -> dict[str, Any]:
        """Leave DFU mode (start the application at ``address``, or the device's default)."""
        left = ops.leave(self.environment(), ref.selector(), address)
        self._saved()
        return {"left": left, "sim": self.board()}

    def detach(self, ref: DeviceRef) -> dict[str, Any]:
        """Switch a device running its application into its DFU bootloader."""
        info = ops.detach(self.environment(), ref.selector())
        self._saved()
        return {"device": info.to_dict(), "sim": self.board()}

    # -- long operations (jobs) -----------------------------------------------------------
    def upgrade(
        self,
        job: Job,
        ref: DeviceRef,
        file_id: str,
        *,
        address: int | None,
        alt: int | None,
        leave: bool,
    ) -> dict[str, Any]:
        """Flash the file (checked again by flash itself: nothing is written when it is
        unsafe), verify it, and leave DFU mode if asked."""
        stored = self.store.get(file_id)
        source, alt = self._with_alt(ref, self.firmware(stored, address=address, alt=alt), alt)
        try:
            result = ops.flash(
                self.environment(),
                ref.selector(alt),
                source,
                leave=leave,
                progress=job.progress,
            )
        finally:
            self._saved()
        return {"result": result.to_dict(), "sim": self.board()}

    def backup(self, job: Job, ref: DeviceRef) -> dict[str, Any]:
        """Read every alternate into one .dfu (kept on the server for download)."""
        env = self.environment()
        selector = ref.selector()
        try:
            found = ops.upload_all(env, selector, progress=job.progress)
            infos = [d for d in ops.list_devices(env) if d.mode == "dfu" and selector.matches(d)]
        finally:
            self._saved()
        dfu = ops.backup_file(infos[0] if len(infos) == 1 else None, selector, found)
        data = dfu.to_bytes()
        serial = (infos[0].serial if len(infos) == 1 else None) or "device"
        stored = self.store.add(f"backup-{serial}.dfu", data, origin="backup")
        summary = describe_dfu(dfu, len(data), int.from_bytes(data[-4:], "little"))
        kind = "dfuse" if isinstance(dfu, DfuseFile) else "plain"
        return {
            "file": {"id": stored.id, "name": stored.name, "size": stored.size},
            "kind": kind,
            "summary": summary,
            "sim": self.board(),
        }
