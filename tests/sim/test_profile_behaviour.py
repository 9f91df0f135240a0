"""Behaviour of the other profiles: STM32F4 ROM (§2.8, §5.5, §6.2) and plain DFU 1.1 (§1.7/§1.8)."""

from __future__ import annotations

import dataclasses
import errno
import struct

import pytest
import usb.core

from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import F4_ROM_REPORTED_POLL_MS, ST_DEMO_POLL_MS, get_profile
from pydfuse.spec import Attributes, State, Status
from support.rawdfu import (
    abort,
    dnload,
    erase,
    find,
    getstatus,
    to_idle,
    upload,
    vectors,
    write,
    write_option_block,
)


@pytest.mark.parametrize(
    ("address", "ms"), [(0x08000000, 250), (0x08010000, 550), (0x08020000, 1000)]
)
def test_f4_sector_erase_times(address: int, ms: int) -> None:
    board = VirtualBoard("stm32f4-rom")
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x41" + struct.pack("<I", address))
    assert getstatus(dev).poll_ms == ms  # §6.2 x32 typical


def test_f4_mass_erase_and_get_commands() -> None:
    board = VirtualBoard("stm32f4-rom")
    board.memory(0).load(0x080E0000, b"x")
    dev = find(board)
    to_idle(dev)
    assert upload(dev, 0, 16) == b"\x00\x21\x41\x92"  # §2.4 ROM list
    abort(dev)
    dnload(dev, 0, b"\x41")
    busy = getstatus(dev)
    assert busy.poll_ms == 8000
    board.clock.sleep(8)
    assert getstatus(dev).state == State.DFU_DNLOAD_IDLE
    assert board.memory(0).read(0x080E0000, 1) == b"\xff"


def test_f4_reported_poll_timeouts_opt_in_are_short_but_device_holds() -> None:
    profile = dataclasses.replace(
        get_profile("stm32f4-rom"), reported_poll_timeouts_ms=F4_ROM_REPORTED_POLL_MS
    )
    board = VirtualBoard(profile)
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x41")
    assert getstatus(dev).poll_ms == 100  # what the ROM says (§2.8) ...
    board.clock.sleep(0.1)
    with pytest.raises(usb.core.USBTimeoutError):
        getstatus(dev)  # pyusb's default 1 s control timeout is too short (fwupd #6249)
    t0 = board.clock.monotonic()
    reply = bytes(dev.ctrl_transfer(0xA1, 3, 0, 0, 6, timeout=10_000))  # held, not failed
    assert State(reply[4]) == State.DFU_DNLOAD_IDLE
    assert board.clock.monotonic() - t0 > 6.5


def test_demo_fixed_poll_timeout_switch() -> None:
    profile = dataclasses.replace(
        get_profile("stm3210e-eval"), fixed_poll_timeout_ms=ST_DEMO_POLL_MS
    )
    board = VirtualBoard(profile)
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x21\x00\x30\x00\x08")
    assert getstatus(dev).poll_ms == 50


def test_f4_option_bytes_write_resets_the_device() -> None:
    board = VirtualBoard("stm32f4-rom")
    dev = find(board)
    to_idle(dev)
    # BOR level 2 (bits 3:2 = 01) in the user byte, RDP 0xAA, nWRP 0xFFFF (RM0090 Table 16)
    block = bytes.fromhex("f7aa0855f7aa0855ffff0000ffff0000")
    assert write_option_block(dev, board, 1, 0x1FFFC000, block).state == State.DFU_DNBUSY
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)  # §2.6 / §7.14: no second GETSTATUS
    assert info.value.errno == errno.ENODEV
    assert board.memory(1).read(0x1FFFC000, 16) == bytes.fromhex("f7aa0855f7aa0855ffff0000ffff0000")
    assert board.running == "bootloader"


def test_f4_otp_cannot_be_erased() -> None:
    board = VirtualBoard("stm32f4-rom")
    dev = find(board)
    to_idle(dev)
    dev.set_interface_altsetting(0, 2)
    st = erase(dev, board, 0x1FFF7800)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_TARGET)
    to_idle(dev)
    assert write(dev, board, 0x1FFF7800, b"\x00\x0f").status == Status.OK
    st = write(dev, board, 0x1FFF7800, b"\xff\xff")  # would set bits again
    assert st.status == Status.ERR_PROG


def test_f4_unprotect_mass_erases_a_protected_chip_and_resets() -> None:
    board = VirtualBoard("stm32f4-rom")
    board.memory(0).load(0x08000000, b"secret")
    board.memory(1).load(0x1FFFC000, bytes.fromhex("ffbb0044ffbb0044ffff0000ffff0000"))
    board.reset()  # the option-byte loader latches RDP level 1
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x92")
    assert getstatus(dev).state == State.DFU_DNBUSY
    with pytest.raises(usb.core.USBError):
        getstatus(dev)
    assert board.memory(0).read(0x08000000, 6) == b"\xff" * 6
    assert board.rdp_level == 0


def test_demo_refuses_read_unprotect_as_unknown_command() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x92")
    assert getstatus(dev).status == Status.ERR_STALLEDPKT


# -- plain DFU 1.1 --------------------------------------------------------------------------
APP = vectors(0x20005000, 0x08000131) + bytes(range(256)) * 5  # 1584 bytes, 2 blocks


def _download(dev: object, board: VirtualBoard, image: bytes) -> None:
    size = board.profile.transfer_size
    for block, offset in enumerate(range(0, len(image), size)):
        dnload(dev, block, image[offset : offset + size])
        busy = getstatus(dev)
        assert busy.state == State.DFU_DNBUSY
        board.clock.sleep(busy.poll_ms / 1000)
        assert getstatus(dev).state == State.DFU_DNLOAD_IDLE
    dnload(dev, len(image) // size + 1, b"")


def test_plain_dfu_download_upload_and_tolerant_manifestation() -> None:
    board = VirtualBoard("plain-dfu")
    dev = find(board)
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_IDLE, Status.OK)
    board.memory(0).load(0x08000000, b"\0" * 4)  # old firmware: the device erases itself
    _download(dev, board, APP)
    manifest = getstatus(dev)
    assert manifest.state == State.DFU_MANIFEST
    board.clock.sleep(manifest.poll_ms / 1000)
    assert getstatus(dev).state == State.DFU_IDLE  # §1.7 tolerant: back to dfuIDLE
    blocks = []
    for block in range(100):
        data = upload(dev, block, 1024)
        blocks.append(data)
        if len(data) < 1024:
            break
    image = b"".join(blocks)
    assert len(image) == 64 * 1024 and image.startswith(APP)
    assert getstatus(dev).state == State.DFU_IDLE


def test_plain_dfu_non_tolerant_waits_for_reset_then_runs_app() -> None:
    base = get_profile("plain-dfu")
    board = VirtualBoard(dataclasses.replace(base, attributes=Attributes.CAN_DNLOAD))
    backend = get_backend(board)
    dev = usb.core.find(backend=backend)
    _download(dev, board, APP)
    manifest = getstatus(dev)
    assert manifest.state == State.DFU_MANIFEST
    board.clock.sleep(manifest.poll_ms / 1000)
    with pytest.raises(usb.core.USBTimeoutError):
        getstatus(dev)  # MANIFEST-WAIT-RESET: no response (§1.6)
    with pytest.raises(usb.core.USBError):
        dev.reset()  # comes back as the application: other descriptors
    assert board.running == "application" and board.vector_table == 0x08000000


def test_plain_dfu_bus_reset_without_firmware_reports_errfirmware() -> None:
    board = VirtualBoard("plain-dfu")
    dev = find(board)
    dev.reset()
    st = getstatus(find(board))
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_FIRMWARE)


def test_plain_dfu_block_past_the_end_is_erraddress() -> None:
    board = VirtualBoard("plain-dfu")
    dev = find(board)
    dnload(dev, 64, b"\0" * 16)  # 64 KB / 1 KB blocks: block 64 is past the end
    st = getstatus(dev)
    assert st.state == State.DFU_DNBUSY
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_ADDRESS)


def test_plain_dfu_has_no_dfuse_commands() -> None:
    board = VirtualBoard("plain-dfu")
    dev = find(board)
    dnload(dev, 0, b"\x41")  # just a 1-byte block 0 for a plain device
    getstatus(dev)
    assert getstatus(dev).state == State.DFU_DNLOAD_IDLE
    assert board.memory(0).read(0x08000000, 2) == b"\x41\xff"


def test_early_poll_stall_quirk() -> None:
    """§7.3: an L4-style ROM stalls an early poll; the state survives and a later poll works."""
    profile = dataclasses.replace(get_profile("stm3210e-eval"), early_poll_stalls=True)
    board = VirtualBoard(profile)
    dev = find(board)
    to_idle(dev)
    dnload(dev, 0, b"\x41\x00\x30\x00\x08")
    busy = getstatus(dev)
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)  # too early
    assert info.value.errno == errno.EPIPE
    board.clock.sleep(busy.poll_ms / 1000)
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_DNLOAD_IDLE, Status.OK)


def test_plain_dfu_will_detach_leaves_by_itself_after_manifestation() -> None:
    base = get_profile("plain-dfu")
    attrs = Attributes.CAN_DNLOAD | Attributes.WILL_DETACH
    board = VirtualBoard(dataclasses.replace(base, attributes=attrs))
    dev = find(board)
    _download(dev, board, APP)
    manifest = getstatus(dev)
    assert manifest.state == State.DFU_MANIFEST
    board.clock.sleep(manifest.poll_ms / 1000)
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)  # §1.7: bitWillDetach, the device re-attached as the application
    assert info.value.errno == errno.ENODEV
    assert board.running == "application"


def _demo_requests_board() -> VirtualBoard:
    profile = dataclasses.replace(get_profile("stm3210e-eval"), st_demo_requests=True)
    return VirtualBoard(profile)


def test_st_demo_requests_switch_clrstatus_and_abort_quirks() -> None:
    board = _demo_requests_board()
    dev = find(board)
    abort(dev)  # §7.9: ABORT in dfuERROR is acknowledged and ignored (no stall)
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_FIRMWARE)
    to_idle(dev)
    dev.ctrl_transfer(0x21, 4, 0, 0, None)  # §7.8: CLRSTATUS outside dfuERROR
    st = getstatus(dev)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_UNKNOWN)


def test_st_demo_requests_wrong_state_dnload_stalls_without_error() -> None:
    board = _demo_requests_board()
    dev = find(board)
    to_idle(dev)
    upload(dev, 0, 3)  # -> dfuUPLOAD-IDLE
    with pytest.raises(usb.core.USBError):
        dnload(dev, 2, bytes(4))
    assert getstatus(dev).state == State.DFU_UPLOAD_IDLE  # §2.9: state unchanged
    with pytest.raises(usb.core.USBError):
        dev.ctrl_transfer(0x21, 0, 1000, 0, None)  # DETACH: not implemented (§7.17)
    assert getstatus(dev).state == State.DFU_UPLOAD_IDLE
