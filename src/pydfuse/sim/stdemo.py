"""ST's USB-FS-Device_Lib DFU demo as it really behaves (layer: sim; imports ``pydfuse.spec``
and sibling sim modules).

The DFU function (:mod:`pydfuse.sim.bootloader`) hands these requests to :class:`StDemo` on a
profile with ``st_demo_requests`` (``stm3210e-eval-quirks``). What the demo's ``usb_prop.c`` and
``dfu_mal.c`` do (dfuse-spec.md §2.8, §2.9, §7.7, §7.10; cross-checked with the Spark Core
bootloader's copy of that ``usb_prop.c``, read for behaviour):

- Commands and data blocks run with nothing reported: Set Address (5 bytes), page Erase
  (5 bytes) and Get Commands (1 byte) are decoded, everything else — mass erase, Read Unprotect,
  unknown opcodes, wValue 1 — is ignored; a block goes to the memory its *address* falls in
  (the alternate setting is not used), an address in no memory is ignored, and erase or program
  failures are not reported: every GETSTATUS says OK.
- The poll timeout comes from the media the pointer names *before* the command runs
  (``(pointer >> 26) & 3``: 0 SPI, 1 NOR, 2 internal flash) and from the kind of request (an
  erase command, or anything else): ``BoardProfile.demo_poll_ms``.
- UPLOAD: wValue 0 answers the command list, leaving dfuIDLE when wLength > 3; wValue 1 writes
  errSTALLEDPKT (0x0F) into the *state* byte and stalls (only CLRSTATUS, to dfuERROR/errUNKNOWN,
  gets out of it); wLength 0 goes to dfuIDLE from any state. Reading an address in no memory
  returns 0xFF here (the demo reads another media there; not modeled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydfuse.sim.dfu_table import Cell, Event
from pydfuse.sim.flash import Memory, OpResult
from pydfuse.sim.usbdev import Stall
from pydfuse.spec import DFUSE_DATA_BLOCK_OFFSET, DfuseCommand, State, Status

if TYPE_CHECKING:
    from pydfuse.sim.bootloader import DfuFunction

__all__ = ["CORRUPT_STATE", "StDemo"]

CORRUPT_STATE = 0x0F  # the status value the demo writes into its state byte (§7.7)
_OK = OpResult(Status.OK, 0.0)


def corrupt_cell(event: Event) -> Cell:
    """The demo's answer to ``event`` while its state byte holds 0x0F: it matches no state the
    handlers test for, so transfers stall, CLRSTATUS errs, ABORT is ignored."""
    if event in (Event.GETSTATUS, Event.GETSTATE):
        return Cell.STAY
    if event is Event.CLRSTATUS:
        return Cell.ERROR_UNKNOWN
    if event is Event.ABORT:
        return Cell.IGNORE
    return Cell.STALL


class StDemo:
    """The demo's own handling of commands, blocks and uploads for one DFU function."""

    def __init__(self, function: DfuFunction) -> None:
        self.fn = function

    def memory_at(self, address: int) -> Memory | None:
        """The memory a demo routes ``address`` to: the one holding it, whatever the alt."""
        return next((m for m in self.fn.memories if m.contains(address)), None)

    def poll_ms(self, pointer: int, block: int, data: bytes) -> int:
        """``MAL_GetStatus``: by the media of the pointer before the command, erase or not."""
        erase = block == 0 and data[:1] == bytes((DfuseCommand.ERASE,))
        times = self.fn.profile.demo_poll_ms.get((pointer >> 26) & 3)
        if times is None:
            return self.fn.profile.fixed_poll_timeout_ms or 0
        return times[0] if erase else times[1]

    def execute(self, block: int, data: bytes) -> OpResult:
        """``DFU_Status_Out``: run a command or a data block; failures are never reported."""
        fn = self.fn
        if block == 0:
            return self._command(data)
        if block == 1:
            return _OK
        address = fn.pointer + (block - DFUSE_DATA_BLOCK_OFFSET) * fn.profile.transfer_size
        injected = fn.faults.take_failure("program", address, len(data))
        if injected is not None:  # an armed test fault is reported, demo or not
            return OpResult(injected, 0.0, address=address)
        memory = self.memory_at(address)
        if memory is None:
            return _OK
        result = memory.program(address, data)
        fn.stats.program_s += result.duration_s
        fn.stats.program_units += result.units
        return _silenced(result)

    def _command(self, data: bytes) -> OpResult:
        fn = self.fn
        opcode, args = data[0], data[1:]
        address = int.from_bytes(args, "little") if len(args) == 4 else None
        erase = opcode == DfuseCommand.ERASE and address is not None
        injected = fn.faults.take_failure("erase" if erase else "command", address)
        if injected is not None:
            return OpResult(injected, 0.0, address=address)
        if opcode == DfuseCommand.SET_ADDRESS_POINTER and address is not None:
            fn.pointer = address
        elif erase and address is not None:
            fn.pointer = address  # the demo loads the pointer, then erases there
            memory = self.memory_at(address)
            if memory is not None:
                result = memory.erase(address)
                fn.stats.erase_s += result.duration_s
                fn.stats.erases += result.units
                return _silenced(result)
        return _OK

    def upload(self, block: int, length: int) -> bytes:
        """``UPLOAD``: command list, memory, or the 0x0F state byte and a stall."""
        fn = self.fn
        if block == 0:
            fn.state = State.DFU_IDLE if length > 3 else State.DFU_UPLOAD_IDLE
            return fn.profile.get_commands[:length]
        if block == 1:
            fn.corrupt = True
            raise Stall
        fn.state = State.DFU_UPLOAD_IDLE
        address = fn.pointer + (block - DFUSE_DATA_BLOCK_OFFSET) * fn.profile.transfer_size
        injected = fn.faults.take_failure("upload", address, length)
        if injected is not None:
            fn.fail(injected)
            raise Stall
        memory = self.memory_at(address)
        if memory is None:
            return b"\xff" * length
        readable = memory.readable_length(address, length)
        data = memory.read(address, readable) + b"\xff" * (length - readable)
        fn.stats.bytes_uploaded += len(data)
        return data

    def upload_nothing(self) -> bytes:
        """An UPLOAD with wLength 0 is a no-data request to the demo: dfuIDLE, from any state."""
        self.fn.corrupt = False
        self.fn.state = State.DFU_IDLE
        return b""


def _silenced(result: OpResult) -> OpResult:
    """The demo's answer to any erase or program: OK, whatever the flash did."""
    return OpResult(Status.OK, result.duration_s, result.units, result.address)
