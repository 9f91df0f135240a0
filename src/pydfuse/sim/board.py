"""A virtual STM32 board: pins, reset, boot decision, bootloader and application (layer: sim).

Imports only ``pydfuse.spec`` and sibling sim modules. The board owns the memories (which survive
resets), the clock, the statistics and the armed faults; on every boot it builds the USB device
that is on the bus now: the DfuSe bootloader (§2.9) or the application with its run-time
identity. :meth:`VirtualBoard.control` is the single entry for transports (the pyusb backend).

Boot rule (§2.9, §5.2, issue #3): DFU mode if the DFU-enable pin (GPIOA_0 / BOOT0) is held, the
"stay in DFU" flag is set (a run-time DETACH, kept like a backup register), or there is no valid
application; otherwise jump to the application. An application is valid when word 0 of its
vector table is a stack pointer in [sram_start, sram_end] (or in the part's CCM RAM, where it
has one) and word 1 is a Thumb address (bit 0 set) inside the flash region that holds the
table, from the table's start on. A ROM profile
(app_address None) with the pin released and no valid application also stays in DFU mode, like
the parts whose ROM checks for empty flash; older parts would jump into erased flash instead.

Once started, the application runs on a Cortex-M core (``sim.cortexm``, with the optional
``unicorn`` package) until it reaches its main loop or fails; :attr:`VirtualBoard.app_run`
holds what it did. The run depends only on the memories and the start, so it is kept with a
digest of them and not repeated when a saved board comes back with the same contents.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from pathlib import Path
from typing import Literal, NoReturn

from pydfuse.sim.bootloader import DfuFunction
from pydfuse.sim.clock import Clock, RealTimeClock, VirtualClock
from pydfuse.sim.cortexm import DEFAULT_BUDGET, RunResult, machine_for_profile, run_firmware
from pydfuse.sim.descriptors import application_device, bootloader_device, uid_serial
from pydfuse.sim.faults import Faults
from pydfuse.sim.flash import Memory
from pydfuse.sim.profiles import BoardProfile, get_profile
from pydfuse.sim.protection import Protection
from pydfuse.sim.stats import SimStats, control_transfer_bus_s
from pydfuse.sim.usbdev import NoResponse, Setup, Stall, UsbDevice
from pydfuse.spec import State, Status

__all__ = ["DeviceGone", "Running", "TransferTimeout", "VirtualBoard", "board_serial"]

Running = Literal["bootloader", "application", "off"]

# Each board created without a serial gets its own UID (and so its own serial, §2.9).
_instances = itertools.count(1)


def board_serial(profile: BoardProfile, number: int) -> str:
    """The serial of board ``number`` of ``profile``: its UID with the last word counted up
    (§2.9: ST derives the serial from the UID), so numbered boards keep their serial."""
    uid = profile.uid
    return uid_serial((uid[0], uid[1], (uid[2] + number) & 0xFFFFFFFF))


class DeviceGone(Exception):
    """The device is not on the bus (left, detached, reset, unplugged): the host sees ENODEV."""


class TransferTimeout(Exception):
    """The device did not complete the transfer in time: the host sees ETIMEDOUT."""


class VirtualBoard:
    """One simulated board. See the module docstring for the boot rule."""

    def __init__(
        self,
        profile: BoardProfile | str,
        *,
        serial: str | None = None,
        clock: Clock | None = None,
        realtime: bool = False,
        run_firmware: bool = True,
        budget: int = DEFAULT_BUDGET,
        time_scale: float = 1.0,
    ) -> None:
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        if clock is None:
            clock = RealTimeClock(time_scale) if realtime else VirtualClock()
        self.clock: Clock = clock
        self.realtime = realtime
        if serial is None:
            serial = board_serial(self.profile, next(_instances))
        self.serial = serial
        self.stats = SimStats()
        self.faults = Faults()
        self.memories = [
            Memory(alt, enforce_readonly=self.profile.enforce_readonly)
            for alt in self.profile.alternates
        ]
        options = self.profile.option_bytes
        if options is not None:  # the factory block (sim.optionspec), never 0xFF
            memory = next(m for m in self.memories if m.alt.memory_kind == "option")
            memory.load(memory.sectors[0].address, options.factory)
        self.dfu_pin_held = False
        self.stay_in_dfu = False
        self.running: Running = "off"
        self.vector_table: int | None = None
        self.generation = 0  # bumped at every (re-)enumeration: old handles become stale
        self.usb_connected = False
        self.usb: UsbDevice | None = None
        self.dfu: DfuFunction | None = None
        self.run_firmware = run_firmware
        self.budget = budget
        self.app_run: RunResult | None = None  # what the running application did
        self.run_cache: tuple[str, RunResult] | None = None  # (digest of the start, result)
        self._boot()

    def __repr__(self) -> str:
        return (
            f"VirtualBoard({self.profile.name!r}, serial={self.serial!r}, running={self.running!r})"
        )

    # -- pins and resets ---------------------------------------------------------------------
    def set_dfu_pin(self, held: bool) -> None:
        """Hold (or release) the DFU-enable pin; it is read at the next reset."""
        self.dfu_pin_held = held

    def reset(self) -> None:
        """Press the reset button: drop off the bus and run the boot check again."""
        self._drop_off_bus()
        self._boot()

    def power_cycle(self) -> None:
        """Power off and on: like reset, and the 'stay in DFU' flag is forgotten."""
        self._drop_off_bus()
        self.stay_in_dfu = False
        self.faults.clear()
        self._boot()

    def unplug(self) -> None:
        """Pull the cable: the board is off until :meth:`power_cycle`."""
        self._drop_off_bus()
        self.running = "off"
        self.vector_table = None
        self.app_run = None
        self.dfu = None

    def memory(self, alt: int) -> Memory:
        """The memory behind alternate setting ``alt`` (back door: read/load for set-up)."""
        return self.memories[alt]

    @property
    def app_base(self) -> int:
        """Where the boot check looks for an application (§2.12 'App address')."""
        if self.profile.app_address is not None:
            return self.profile.app_address
        return self.profile.default_pointer

    # -- boot ---------------------------------------------------------------------------------
    def app_valid(self, base: int) -> bool:
        """§5.2 check of the vector table at ``base`` (see module docstring)."""
        flash = self.memories[0]
        if not flash.contains(base, 8):
            return False
        sp, reset_vector = (int(word) for word in struct.unpack("<II", flash.read(base, 8)))
        if not self._stack_ok(sp):
            return False
        if not reset_vector & 1:
            return False
        target = reset_vector & ~1
        region_end = base
        while (sector := flash.sector_at(region_end)) is not None:
            region_end = sector.end
        return base <= target < region_end

    def _stack_ok(self, sp: int) -> bool:
        """An initial stack pointer in SRAM, or in the part's CCM data RAM (F405/407: a
        legitimate stack, §5.5), each up to and including its end (a full descending stack)."""
        ranges = [(self.profile.sram_start, self.profile.sram_end)]
        if self.profile.ccm is not None:
            ranges.append(self.profile.ccm)
        return any(start <= sp <= end for start, end in ranges)

    def _boot(self, *, after_bus_reset: bool = False) -> None:
        self.stats.enumerations += 1
        stay, self.stay_in_dfu = self.stay_in_dfu, False
        app = self.app_valid(self.app_base)
        if self.rdp_level == 2:
            # RM0090 §3.7.3: at level 2 the system-memory bootloader can no longer be entered;
            # the chip runs its flash, and without an application nothing shows up on USB.
            if app:
                self._run_application(self.app_base)
            else:
                self.running, self.vector_table, self.dfu = "off", None, None
            return
        if not self.dfu_pin_held and not stay and app:
            self._run_application(self.app_base)
        else:
            self._start_bootloader(after_bus_reset=after_bus_reset)

    @property
    def rdp_level(self) -> int:
        """Read-protection level in the option bytes (0 when the profile models none)."""
        spec = self.profile.option_bytes
        if spec is None:
            return 0
        return Protection(spec, self.memories).level

    def _start_bootloader(self, *, after_bus_reset: bool = False) -> None:
        # §2.9 / §7.1: the demo starts in dfuERROR/errFIRMWARE; §1.6: after a bus reset
        # without valid firmware a DFU 1.1 device reports errFIRMWARE too.
        in_error = self.profile.starts_in_error or after_bus_reset
        self.dfu = DfuFunction(
            self.profile,
            self.memories,
            clock=self.clock,
            stats=self.stats,
            faults=self.faults,
            hooks=self,
            initial_status=Status.ERR_FIRMWARE if in_error else Status.OK,
            protection=self._protection(),
        )
        self.usb = bootloader_device(self.profile, self.serial, self.dfu)
        self.running = "bootloader"
        self.vector_table = self._bootloader_vectors()
        self.app_run = None
        self._attach()

    def _protection(self) -> Protection | None:
        """Latched at boot from the option bytes, as the chip's option-byte loader does."""
        spec = self.profile.option_bytes
        return None if spec is None else Protection(spec, self.memories)

    def _bootloader_vectors(self) -> int:
        # The demo lives at the start of flash; a ROM bootloader in the chip's system memory
        # (the profile's: F4 0x1FFF0000, F072 0x1FFFC800).
        system_memory = self.profile.system_memory
        rom = self.profile.protected_until == 0 and self.profile.dfuse
        if rom and system_memory is not None:
            return system_memory
        return self.memories[0].sectors[0].address

    def _run_application(self, base: int, *, rom_jump: bool = False) -> None:
        """Start the application at ``base``; ``rom_jump``: entered by a ROM bootloader's jump
        (not through a reset), so address 0 still aliases system memory."""
        runtime = self.profile.runtime
        self.dfu = None
        if runtime.dfu_runtime:
            self.dfu = DfuFunction(
                self.profile,
                self.memories,
                clock=self.clock,
                stats=self.stats,
                faults=self.faults,
                hooks=self,
                runtime=True,
            )
        self.usb = application_device(self.profile, self.serial, self.dfu)
        self.running = "application"
        self.vector_table = base
        self.app_run = self._execute(base, rom_jump=rom_jump) if self.run_firmware else None
        self._attach()

    def _execute(self, base: int, *, rom_jump: bool) -> RunResult:
        """Run the application on the Cortex-M core (or reuse the run of identical contents)."""
        contents = {alt: list(memory.used_sectors()) for alt, memory in enumerate(self.memories)}
        digest = hashlib.sha256(f"{base}:{rom_jump}:{self.budget}".encode())
        for alt, runs in contents.items():
            for address, data in runs:
                digest.update(f"{alt}:{address}:{len(data)}:".encode() + data)
        key = digest.hexdigest()
        if self.run_cache is not None and self.run_cache[0] == key:
            return self.run_cache[1]
        spec = machine_for_profile(self.profile, contents, started_by_rom_jump=rom_jump)
        result = run_firmware(spec, base, budget=self.budget)
        self.run_cache = (key, result)
        return result

    def _attach(self) -> None:
        self.generation += 1
        self.usb_connected = True

    def _drop_off_bus(self) -> None:
        self.usb_connected = False

    # -- BoardHooks (called after the status stage of a transfer) ---------------------------
    def leave(self, address: int) -> None:
        """DfuSe leave (§2.5): disconnect, then jump (ROM: to the pointer) or reset (demo)."""
        self._drop_off_bus()
        if self.profile.app_address is None and self.app_valid(address):
            self._run_application(address, rom_jump=True)
        else:
            # Demo: NVIC system reset re-runs the boot check (§2.9). ROM: a pointer without a
            # vector table resets the chip, which boots per the pins (§2.5).
            self._boot()

    def self_detach(self) -> None:
        """bitWillDetach: the application re-enumerates as the bootloader (or vice versa)."""
        self._drop_off_bus()
        if self.running == "application":
            self.stay_in_dfu = True
        self._boot()

    def system_reset(self) -> None:
        self._drop_off_bus()
        self._boot()

    def bus_reset(self) -> bool:
        """A USB bus reset from the host; True if the device re-enumerated as something else."""
        if not self.usb_connected:
            raise DeviceGone
        dfu = self.dfu
        if dfu is not None:
            dfu.settle()
        if self.running == "application":
            if dfu is not None and dfu.state == State.APP_DETACH:
                self.stay_in_dfu = True  # §1.6 appDETACH: bus reset -> DFU mode
                self.reset()
                return True
            return False
        if dfu is not None and (
            dfu.state == State.DFU_MANIFEST_WAIT_RESET or self.profile.bus_reset_reboots
        ):
            before = self.running
            self._drop_off_bus()
            self._boot(after_bus_reset=True)
            return self.running != before
        return False  # §2.9: the demo re-initialises EP0 only; the DFU state is kept

    # -- transport entry ----------------------------------------------------------------------
    def control(
        self,
        setup: Setup,
        data: bytes = b"",
        timeout_ms: int = 0,
        *,
        generation: int | None = None,
    ) -> bytes:
        """Run one control transfer against the device on the bus now.

        ``generation`` (from the enumeration the caller's handle belongs to) makes a transfer
        through a stale handle fail with :class:`DeviceGone`, also when the device
        re-enumerates while the request is being held. Raises :class:`DeviceGone`,
        :class:`TransferTimeout` or ``Stall`` (usbdev); ``timeout_ms`` 0 = no limit (libusb).
        """
        self._check_live(generation)
        fault = self.faults.before_transfer()
        if fault == "timeout":
            self._wait_timeout(timeout_ms)
        if fault == "stall":
            self.stats.stalls += 1
            raise Stall
        if self.profile.early_poll_stalls and self._busy():
            # §7.3: some STM32L4 ROMs STALL a request that comes before the work is done
            # instead of NAKing it; the state is unchanged and the host must retry.
            self.stats.stalls += 1
            self._charge_bus(0)
            raise Stall
        self._hold(timeout_ms)
        self._check_live(generation)  # the work that just ended may have detached the device
        assert self.usb is not None
        self.stats.transfers += 1
        try:
            reply = self.usb.control(setup, data)
        except Stall:
            self.stats.stalls += 1
            self._charge_bus(0)  # SETUP and the STALL handshake only
            raise
        except NoResponse:
            self._wait_timeout(timeout_ms)
        finally:
            if self.faults.after_transfer():
                self.unplug()
        self._charge_bus(len(reply) if setup.is_in else len(data))
        self._run_after_status()
        return reply

    def _charge_bus(self, payload: int) -> None:
        """§6.5: the transfer's time on the full-speed bus (actual data-stage bytes)."""
        bus_s = control_transfer_bus_s(payload, self.profile.max_packet_size0)
        self.clock.sleep(bus_s)
        self.stats.bus_s += bus_s

    def _check_live(self, generation: int | None) -> None:
        if not self.usb_connected or self.usb is None:
            raise DeviceGone
        if generation is not None and generation != self.generation:
            raise DeviceGone

    def _run_after_status(self) -> None:
        dfu = self.dfu
        if dfu is None:
            return
        actions, dfu.after_status = dfu.after_status, []
        for action in actions:
            action()

    def _wait_timeout(self, timeout_ms: int) -> NoReturn:
        # With no limit (0) a real host would hang; we give up after USB's 5 s (§1.2).
        self.clock.sleep((timeout_ms or 5000) / 1000.0)
        raise TransferTimeout

    def _busy(self) -> bool:
        dfu = self.dfu
        return (
            dfu is not None
            and dfu.busy_until is not None
            and self.clock.monotonic() < dfu.busy_until
        )

    def _hold(self, timeout_ms: int) -> None:
        """The USB peripheral NAKs while the flash is busy (§2.6): wait until it is done."""
        dfu = self.dfu
        if dfu is None:
            return
        busy_until = dfu.busy_until
        now = self.clock.monotonic()
        if busy_until is not None and now < busy_until:
            wait = busy_until - now
            if timeout_ms and wait > timeout_ms / 1000.0:
                self.stats.held_s += timeout_ms / 1000.0
                self._wait_timeout(timeout_ms)
            self.clock.advance_to(busy_until)
            self.stats.held_s += wait
        dfu.settle()

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the board's persistent state to ``path`` atomically (see sim.state)."""
        from pydfuse.sim.boardfile import save_open_board

        save_open_board(self, Path(path))

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        clock: Clock | None = None,
        profile: BoardProfile | None = None,
    ) -> VirtualBoard:
        """A board restored from :meth:`save`'s file, back in the mode it was saved in (with
        the changes a killed command journaled, sim.boardfile)."""
        from pydfuse.sim.boardfile import load_board_file

        return load_board_file(Path(path), clock=clock, profile=profile)
