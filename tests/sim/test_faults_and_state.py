"""Fault injection, persistence and statistics."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import usb.core

from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.stats import control_transfer_bus_s
from pydfuse.spec import State, Status
from support.rawdfu import (
    dnload,
    erase,
    find,
    getstatus,
    read,
    set_address,
    to_idle,
    upload,
    vectors,
    write,
)


@pytest.mark.parametrize("status", [Status.ERR_PROG, Status.ERR_WRITE, Status.ERR_VERIFY])
def test_fail_next_program_reports_the_status(status: Status) -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    board.faults.fail_next("program", status)
    st = write(dev, board, 0x08004000, b"\x11" * 32)
    assert (st.state, st.status) == (State.DFU_ERROR, status)
    assert board.memory(0).read(0x08004000, 2) == b"\xff\xff"  # nothing written
    to_idle(dev)
    assert write(dev, board, 0x08004000, b"\x11" * 32).status == Status.OK  # one-shot


def test_fail_next_erase_at_address_only_matches_that_page() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    board.faults.fail_next("erase", Status.ERR_ERASE, address=0x08005000)
    assert erase(dev, board, 0x08004000).status == Status.OK
    st = erase(dev, board, 0x08005000)
    assert (st.state, st.status) == (State.DFU_ERROR, Status.ERR_ERASE)


def test_fail_next_upload() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    board.faults.fail_next("upload", Status.ERR_VERIFY)
    with pytest.raises(usb.core.USBError):
        read(dev, board, 0x08003000, 64)
    assert getstatus(dev).status == Status.ERR_VERIFY


def test_stall_and_timeout_next() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    board.faults.stall_next()
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)
    assert info.value.errno == errno.EPIPE
    board.faults.timeout_next()
    t0 = board.clock.monotonic()
    with pytest.raises(usb.core.USBTimeoutError):
        dev.ctrl_transfer(0xA1, 3, 0, 0, 6, timeout=250)
    assert board.clock.monotonic() - t0 == pytest.approx(0.25)
    assert getstatus(dev).state == State.DFU_ERROR  # the device itself was untouched


def test_disconnect_mid_download() -> None:
    board = VirtualBoard("stm3210e-eval")
    backend = get_backend(board)
    dev = usb.core.find(backend=backend)
    to_idle(dev)
    set_address(dev, board, 0x08004000)
    board.faults.disconnect_after(2)
    dnload(dev, 2, b"\x22" * 64)
    getstatus(dev)  # DNBUSY; the cable goes after this one
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)
    assert info.value.errno == errno.ENODEV
    assert board.running == "off"
    assert usb.core.find(backend=backend) is None
    board.power_cycle()
    assert usb.core.find(backend=backend) is not None


def test_fault_arguments_are_checked() -> None:
    board = VirtualBoard("plain-dfu")
    with pytest.raises(ValueError, match="unknown fault operation"):
        board.faults.fail_next("format", Status.ERR_PROG)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        board.faults.fail_next("program", Status.OK)


def test_save_load_round_trip(tmp_path: Path) -> None:
    board = VirtualBoard("stm3210e-eval")
    board.memory(0).load(0x08003000, b"application" * 100)
    board.memory(1).load(0x00700000, b"spi data")
    board.memory(2).load(0x64000010, b"nor")
    board.set_dfu_pin(True)
    path = tmp_path / "board.json"
    board.save(path)
    doc = json.loads(path.read_text())
    assert path.stat().st_size < 4096  # sparse: 24 MB of memories, three used sectors
    assert [len(m) for m in doc["memories"]] == [1, 1, 1]
    again = VirtualBoard.load(path)
    assert again.serial == board.serial and again.profile.name == "stm3210e-eval"
    assert again.dfu_pin_held and again.running == "bootloader"
    for alt in range(3):
        assert list(again.memory(alt).used_sectors()) == list(board.memory(alt).used_sectors())
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_load_rejects_foreign_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a pydfuse virtual board"):
        VirtualBoard.load(bad)
    bad.write_text("not json")
    with pytest.raises(ValueError, match="cannot read"):
        VirtualBoard.load(bad)


def test_stats_bus_time_model() -> None:
    """§6.5: ~45 bytes per control transfer, ~13 per extra packet, at 1.5 MB/s."""
    assert control_transfer_bus_s(0) == pytest.approx(45 / 1.5e6)
    assert control_transfer_bus_s(64) == pytest.approx(109 / 1.5e6)
    assert control_transfer_bus_s(1024) == pytest.approx((45 + 1024 + 15 * 13) / 1.5e6)
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    before = (board.stats.transfers, board.stats.bus_s, board.clock.monotonic())
    getstatus(dev)
    assert board.stats.transfers == before[0] + 1
    assert board.stats.bus_s - before[1] == pytest.approx(control_transfer_bus_s(6))
    assert board.clock.monotonic() - before[2] == pytest.approx(control_transfer_bus_s(6))


def test_upload_counts_bytes_and_dnload_counts_bytes() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    set_address(dev, board, 0x08003000)
    dnload(dev, 2, bytes(100))
    assert board.stats.bytes_downloaded == 5 + 100
    getstatus(dev)
    getstatus(dev)
    dev.ctrl_transfer(0x21, 6, 0, 0, None)
    upload(dev, 2, 64)
    assert board.stats.bytes_uploaded == 64


def test_load_resumes_the_mode_it_was_saved_in(tmp_path: Path) -> None:
    board = VirtualBoard("stm3210e-eval")
    board.memory(0).load(0x08003000, vectors(0x20010000, 0x08003131))
    board.reset()
    assert board.running == "application"
    board.save(tmp_path / "app.json")
    assert VirtualBoard.load(tmp_path / "app.json").running == "application"
    board.set_dfu_pin(True)
    board.reset()
    board.set_dfu_pin(False)  # released: a later reset would run the app ...
    board.save(tmp_path / "dfu.json")
    resumed = VirtualBoard.load(tmp_path / "dfu.json")
    assert resumed.running == "bootloader"  # ... but the board stayed powered (§7.27)
    resumed.reset()
    assert resumed.running == "application"


def test_stats_reset_in_place() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    getstatus(dev)
    assert board.stats.transfers > 0
    stats = board.stats
    stats.reset()
    assert stats is board.stats and stats.transfers == 0 and stats.bus_s == 0.0
    getstatus(dev)
    assert board.stats.transfers == 1
